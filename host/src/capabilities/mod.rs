//! The Spin host interfaces a component may import, one file each, with real clients: `wasi:http/outgoing-handler`
//! with Spin's outbound policy ([`outbound_http`]), `fermyon:spin/variables@2.0.0` ([`variables`]),
//! `spin:sqlite/sqlite@3.0.0` ([`sqlite`]), `fermyon:spin/redis@2.0.0` ([`redis`], connections reused through its
//! pool) and `spin:postgres/postgres@4.0.0` ([`postgres`], with its value conversions); both speak TLS verified against
//! the roots [`tls`] reads as Spin's clients read them.
//!
//! Each interface is implemented on a small view, as wasmtime-wasi implements WASI on `WasiCtxView`: a struct that
//! borrows just what the interface needs of a request (its resource table, the app's databases or pools, its
//! component's variables or allowed hosts). Its `add_to_linker(linker, view)` links the interface for any store
//! data from which `view` takes that struct, so nothing here knows the per-request state.
//!
//! Imports only [`crate::app`].

pub mod outbound_http;
pub mod postgres;
pub mod redis;
pub mod sqlite;
pub mod tls;
pub mod variables;
