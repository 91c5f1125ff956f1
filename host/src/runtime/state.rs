//! The per-request store state: one flat struct holding the WASI and WASI-HTTP contexts, the resource table, the
//! memory limits, and the component's configuration (variables, allowed outbound hosts, databases, pools), as
//! wasmtime's `serve` keeps one flat host state per request. Each Spin interface reaches it only through a view
//! that borrows what that interface needs ([`RequestState::variables`], [`RequestState::sqlite`],
//! [`RequestState::redis`], [`RequestState::postgres`]), as WASI reaches it through [`WasiView`].

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::memory::MemoryWatch;
use crate::app::variables::ComponentVariables;
use crate::capabilities::outbound_http::OutboundHttp;
use crate::capabilities::postgres::{Pools, PostgresView};
use crate::capabilities::redis::{RedisPool, RedisView};
use crate::capabilities::sqlite::{Databases, SqliteView};
use crate::capabilities::variables::VariablesView;

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
    /// Memory caps for the instance, and how large its memory grew.
    pub limits: MemoryWatch,
    /// The component's configuration.
    pub config: Arc<ComponentConfig>,
    hooks: OutboundHttp,
}

impl RequestState {
    /// A fresh state for a request to the component configured by `config`. The guest gets no arguments,
    /// environment or files; stdout and stderr go to the host's.
    pub fn new(config: Arc<ComponentConfig>, limits: MemoryWatch) -> Self {
        let wasi = WasiCtx::builder().inherit_stdout().inherit_stderr().build();
        let hooks = config.outbound_http.clone();
        Self { wasi, http: WasiHttpCtx::new(), table: ResourceTable::new(), limits, config, hooks }
    }

    /// Ready for another request in the same instance: a fresh WASI-HTTP context (the resource table is empty, or
    /// the instance would not have been kept).
    pub fn next_request(&mut self) {
        self.http = WasiHttpCtx::new();
    }

    /// Whether no host resource (request, response, stream, connection) is open: the instance may be reused.
    pub fn is_idle(&self) -> bool {
        self.table.is_empty()
    }

    /// Whether the instance's memory is small enough to keep it ([`MemoryWatch::small`]).
    pub fn is_small(&self) -> bool {
        self.limits.small()
    }

    /// What `fermyon:spin/variables` sees: the component's variables.
    pub fn variables(&mut self) -> VariablesView<'_> {
        VariablesView { variables: &self.config.variables }
    }

    /// What `spin:sqlite/sqlite` sees: the table, the app's databases, the labels the component may open.
    pub fn sqlite(&mut self) -> SqliteView<'_> {
        SqliteView { table: &mut self.table, databases: &self.config.sqlite, labels: &self.config.sqlite_labels }
    }

    /// What `fermyon:spin/redis` sees: the table, the app's idle connections, the component's allowed hosts.
    pub fn redis(&mut self) -> RedisView<'_> {
        let allowed_hosts = self.config.outbound_http.allowed_hosts();
        RedisView { table: &mut self.table, pool: &self.config.redis, allowed_hosts }
    }

    /// What `spin:postgres/postgres` sees: the table, the app's pools, the component's allowed hosts.
    pub fn postgres(&mut self) -> PostgresView<'_> {
        let allowed_hosts = self.config.outbound_http.allowed_hosts();
        PostgresView { table: &mut self.table, pools: &self.config.postgres, allowed_hosts }
    }
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
