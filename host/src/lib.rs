//! mfa-host: a native wasmtime runner of this project's `spin.toml`, behaving as Spin 3.x does for everything the
//! app uses (see `../shared/DESIGN.md`, "Boundaries").
//!
//! The pure parts are unit-tested without any Wasm: reading the manifest with every unknown key refused
//! ([`manifest`]), Spin's route matching ([`routes`]), `{{ variable }}` templates ([`template`]), variable
//! resolution from `SPIN_VARIABLE_*` and defaults ([`variables`]), `allowed_outbound_hosts` ([`allowed_hosts`]),
//! and `mfa-host build` ([`build`]). Serving ([`server`]) runs each request in a fresh store ([`state`]) with
//! WASI 0.2, `wasi:http` with Spin's outbound policy ([`outbound_http`]), `fermyon:spin/variables@2.0.0`
//! ([`variables_host`]), `spin:sqlite/sqlite@3.0.0` ([`sqlite_host`], databases from the [`runtime_config`]),
//! `fermyon:spin/redis@2.0.0` ([`redis_host`], connections reused through [`redis_pool`]) and `spin:postgres/postgres@4.0.0` ([`postgres_host`], values
//! in [`postgres_values`]); Prometheus [`metrics`] go to a separate admin listener; the answers the host makes
//! itself are in [`answers`]. `[component.X.dependencies]` are
//! plugged in by composing the components at load time ([`compose`]).

pub mod allowed_hosts;
pub mod answers;
pub mod build;
pub mod compose;
pub mod manifest;
pub mod metrics;
pub mod outbound_http;
pub mod postgres_host;
pub mod postgres_values;
pub mod redis_host;
pub mod redis_pool;
pub mod routes;
pub mod runtime_config;
pub mod server;
pub mod sqlite_host;
pub mod state;
pub mod template;
pub mod variables;
pub mod variables_host;
