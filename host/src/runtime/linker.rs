//! The linker every component is instantiated with: exactly what this host implements (WASI 0.2, `wasi:http`, and
//! Spin's variables, SQLite, Redis and Postgres, each added through its view of the [`RequestState`]), so a
//! component with any other import fails to load, naming it.

use anyhow::{Context, Result};
use wasmtime::Engine;
use wasmtime::component::Linker;

use super::state::RequestState;
use crate::capabilities::{postgres, redis, sqlite, variables};

/// A linker with every interface this host provides.
pub fn new(engine: &Engine) -> Result<Linker<RequestState>> {
    let mut linker = Linker::<RequestState>::new(engine);
    let l = &mut linker;
    added(wasmtime_wasi::p2::add_to_linker_async(l), "WASI 0.2")?;
    added(wasmtime_wasi_http::p2::add_only_http_to_linker_async(l), "wasi:http")?;
    added(variables::add_to_linker(l, RequestState::variables), "fermyon:spin/variables")?;
    added(sqlite::add_to_linker(l, RequestState::sqlite), "spin:sqlite")?;
    added(redis::add_to_linker(l, RequestState::redis), "fermyon:spin/redis")?;
    added(postgres::add_to_linker(l, RequestState::postgres), "spin:postgres/postgres")?;
    Ok(linker)
}

/// The outcome of adding `what` to the linker, as an error naming it.
fn added(outcome: wasmtime::Result<()>, what: &str) -> Result<()> {
    outcome.map_err(anyhow::Error::from).with_context(|| format!("adding {what}"))
}
