//! mfa-host: a native wasmtime runner of this project's `spin.toml`, behaving as Spin does for everything the app
//! uses (see `../shared/DESIGN.md`, "Boundaries").
//!
//! Four layers, each importing only the ones after it (a test, `tests/e2e/layers.rs`, keeps it so):
//!
//! - [`serve`]: `mfa-host up`'s HTTP server, each request's dispatch, the answers the host makes itself, metrics;
//! - [`runtime`]: the wasmtime engine, the linker, the per-request store state, the components loaded at startup;
//! - [`capabilities`]: the Spin host interfaces (variables, SQLite, Redis, Postgres, outbound HTTP), each on a small
//!   view of the request state;
//! - [`app`]: the manifest, routes, variables, allowed hosts, runtime config, `mfa-host build` and composition, all
//!   unit-tested without any Wasm.

pub mod app;
pub mod capabilities;
pub mod runtime;
pub mod serve;
