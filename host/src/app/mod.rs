//! The app as `spin.toml` and the runtime config describe it, read and checked as Spin checks them, without running
//! any Wasm: the manifest with every unknown key refused ([`manifest`]), Spin's route matching ([`routes`]),
//! variables resolved from `SPIN_VARIABLE_*` and defaults with their `{{ name }}` templates ([`variables`]),
//! `allowed_outbound_hosts` ([`allowed_hosts`]), the runtime config's databases ([`runtime_config`]), `mfa-host build`
//! ([`build`]), and `[component.X.dependencies]` composed into one component at load time ([`compose`]).
//!
//! The bottom layer: it imports nothing else of this crate.

pub mod allowed_hosts;
pub mod build;
pub mod compose;
pub mod manifest;
pub mod routes;
pub mod runtime_config;
pub mod variables;
