//! The per-request store state: one flat struct holding the WASI and WASI-HTTP contexts, the resource table, the
//! memory limits, and the component's configuration (variables, allowed outbound hosts), as wasmtime's `serve`
//! keeps one flat host state per request.

use std::sync::Arc;

use wasmtime::StoreLimits;
use wasmtime::component::{HasData, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::outbound_http::OutboundHttp;
use crate::postgres_host::Pools;
use crate::redis_pool::RedisPool;
use crate::sqlite_host::Databases;
use crate::variables::ComponentVariables;

/// Everything one component may use, fixed at startup and shared by its requests.
#[derive(Debug)]
pub struct ComponentConfig {
    /// The component id.
    pub id: String,
    /// Its `fermyon:spin/variables` view.
    pub variables: ComponentVariables,
    /// Its outbound HTTP policy.
    pub outbound_http: OutboundHttp,
    /// The app's SQLite databases.
    pub sqlite: Arc<Databases>,
    /// The labels it may open (`sqlite_databases`).
    pub sqlite_labels: Vec<String>,
    /// The app's Postgres pools.
    pub postgres: Arc<Pools>,
    /// The app's idle Redis connections.
    pub redis: Arc<RedisPool>,
}

/// The state of one request's store.
pub struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    /// Memory caps for the instance.
    pub limits: StoreLimits,
    /// The component's configuration.
    pub config: Arc<ComponentConfig>,
    hooks: OutboundHttp,
}

impl RequestState {
    /// A fresh state for a request to the component configured by `config`. The guest gets no arguments,
    /// environment or files; stdout and stderr go to the host's.
    pub fn new(config: Arc<ComponentConfig>, limits: StoreLimits) -> Self {
        let wasi = WasiCtx::builder().inherit_stdout().inherit_stderr().build();
        let hooks = config.outbound_http.clone();
        Self { wasi, http: WasiHttpCtx::new(), table: ResourceTable::new(), limits, config, hooks }
    }
}

impl RequestState {
    /// The store's resource table.
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

/// The Spin host interfaces (variables, SQLite, Redis) are all implemented on the request state itself.
impl HasData for RequestState {
    type Data<'a> = &'a mut RequestState;
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}
