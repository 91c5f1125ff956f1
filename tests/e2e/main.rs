//! The end-to-end suite: one test binary, a module per feature (as in zero-to-production's `tests/api/`).
//!
//! Every test loads the BUILT components through `mfa_e2e` (build them first with
//! `cargo build --target wasm32-wasip2 --release -p mfa-core -p session-policy`), makes its own store and
//! instance, and calls the exports through the Wasm boundary. A trap is a failure (`?` on the outer
//! `wasmtime::Result`); the WIT `result` is compared with `assert_eq!`, or, in table-driven tests, with
//! `support::check!`, which lists every mismatching row before failing.
//!
//! Modules: `mfa_core` (world `mfa:core/mfa-core`), `session_policy` (world `mfa:session/session-policy`), `jco`
//! (mfa-core transpiled by jco and run in Node), `api` (the Spin app served by mfa-host, on both storage backends),
//! `docs` (the documentation checked against what it describes);
//! further features get a module of their own here.

// Test code: a failed `unwrap`/index IS the test failing, with a clear panic message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

mod api;
mod docs;
mod jco;
mod layers;
mod mfa_core;
#[path = "../servers/mod.rs"]
mod servers;
mod session_policy;
