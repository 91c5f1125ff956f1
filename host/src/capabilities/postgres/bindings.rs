//! Bindings generated from `host/wit/postgres.wit` (Spin's `spin:postgres/postgres@4.0.0`); an open `connection` is
//! a [`super::pool::Connection`].

#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "wit/postgres.wit",
    world: "postgres-host",
    imports: { default: async },
    additional_derives: [PartialEq],
    with: { "spin:postgres/postgres.connection": super::pool::Connection },
});
