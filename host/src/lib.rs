//! mfa-host: a native wasmtime runner of this project's `spin.toml`, behaving as Spin 3.x does for everything the
//! app uses (see `../shared/DESIGN.md`, "Boundaries").
//!
//! This first part is the pure groundwork, unit-tested without any Wasm: reading the manifest with every unknown
//! key refused ([`manifest`]), Spin's route matching ([`routes`]), `{{ variable }}` templates ([`template`]),
//! variable resolution from `SPIN_VARIABLE_*` and defaults ([`variables`]), `allowed_outbound_hosts`
//! ([`allowed_hosts`]), and `mfa-host build` ([`build`]).

pub mod allowed_hosts;
pub mod build;
pub mod manifest;
pub mod routes;
pub mod template;
pub mod variables;
