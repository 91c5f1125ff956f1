//! `spin:postgres/postgres@4.0.0` with tokio-postgres and a deadpool pool per address, as Spin's outbound
//! Postgres behaves:
//!
//! - `open` parses the address (`postgres://` URL or `key=value` string) and checks every TCP host in it against
//!   the component's `allowed_outbound_hosts` (scheme `postgres`, port 5432 when none is given), refusing with
//!   `connection-failed("address postgres://host[:port] is not permitted")`; Unix sockets are refused too;
//! - an open `connection` holds ONE pooled session for its whole life, so `BEGIN ... COMMIT`, `SET` and advisory
//!   locks work across calls; when the guest drops it (or its request ends) the session goes back to the pool,
//!   at once any transaction it left open is rolled back (so its locks are released), and before anyone reuses it
//!   the pool resets the session (cursors, settings, `LISTEN`s, advisory locks, temporary tables);
//! - `query` and `execute` prepare the statement (the server infers parameter types), bind the converted
//!   parameters ([`crate::postgres_values`]) and run it; a parameter that cannot be converted is `bad-parameter`
//!   for `query` and `value-conversion-failed` for `execute` (as in Spin); server errors are `query-failed` with
//!   the server's structured fields; a result over 128 MiB is refused.
//!
//! Differences from Spin, on purpose: waiting for a pooled session is capped (30 s) and so is connecting (10 s),
//! both `connection-failed`; TLS is not implemented (`sslmode=require` fails to connect; `prefer`, the default,
//! connects without TLS).

// The error type is the WIT's; boxing it would only add a copy at the boundary.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt;
use tokio_postgres::NoTls;
use tokio_postgres::config::Host as PgHost;
use wasmtime::component::{Linker, Resource};

use crate::postgres_values::{SqlParameter, data_type, parameter, size_of, value};
use crate::state::RequestState;

/// Bindings generated from `host/wit/postgres.wit` (Spin's `spin:postgres/postgres@4.0.0`).
#[allow(missing_docs, clippy::all)]
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/postgres.wit",
        world: "postgres-host",
        imports: { default: async },
        additional_derives: [PartialEq],
        with: { "spin:postgres/postgres.connection": super::Connection },
    });
}

use bindings::spin::postgres::postgres::{
    Column, DbError, Error, Host, HostConnection, ParameterValue, QueryError, RowSet,
};

/// Sessions in one address's pool.
const POOL_SIZE: usize = 64;
/// How long `open` waits for a free pooled session.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting a new session may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest result `query` buffers, as in Spin.
const MAX_RESULT_BYTES: usize = 128 << 20;
/// Run on a pooled session before it is handed out again: whatever the previous holder left behind is undone.
const RESET_SESSION: &str = "ROLLBACK; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
                             SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;";

/// The app's pools, one per distinct address, created on first use.
#[derive(Default)]
pub struct Pools {
    pools: Mutex<HashMap<String, Pool>>,
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pools").finish_non_exhaustive()
    }
}

impl Pools {
    fn pool(&self, address: &str, config: tokio_postgres::Config) -> Result<Pool, Error> {
        let mut pools = self.pools.lock().map_err(|_| Error::Other("the pool registry is unavailable".to_owned()))?;
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Custom(RESET_SESSION.to_owned()) },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| Error::Other(error.to_string()))?;
        pools.insert(address.to_owned(), pool.clone());
        Ok(pool)
    }
}

/// An open connection: one pooled session, returned to the pool when dropped.
pub struct Connection {
    client: Arc<deadpool_postgres::Object>,
}

impl Drop for Connection {
    /// Ends whatever transaction the guest left open (releasing its locks) right away, before the session goes
    /// back to the pool, instead of at its next checkout; the full reset still runs at checkout.
    fn drop(&mut self) {
        let (client, Ok(runtime)) = (self.client.clone(), tokio::runtime::Handle::try_current()) else { return };
        runtime.spawn(async move {
            if let Err(error) = client.batch_execute("ROLLBACK").await {
                tracing::debug!(%error, "a returned Postgres session could not roll back");
            }
        });
    }
}

/// Checks every TCP host of `config` against the component's allowed hosts.
fn check_address(state: &RequestState, config: &tokio_postgres::Config) -> Result<(), Error> {
    let ports = config.get_ports();
    for (index, host) in config.get_hosts().iter().enumerate() {
        let host = match host {
            PgHost::Tcp(host) => host,
            #[cfg(unix)]
            PgHost::Unix(_) => {
                return Err(Error::ConnectionFailed("Unix sockets are not supported on WebAssembly".to_owned()));
            }
        };
        let port = ports.get(index).or(if ports.len() == 1 { ports.first() } else { None }).copied();
        if !state.config.outbound_http.allowed_hosts().allows("postgres", host, port.or(Some(5432))) {
            let shown = if host.contains(':') { format!("[{host}]") } else { host.clone() };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            tracing::error!("outbound Postgres destination not allowed");
            return Err(Error::ConnectionFailed(format!("address postgres://{shown}{port} is not permitted")));
        }
    }
    Ok(())
}

/// Spin's mapping of a driver error: the server's structured error when there is one, else its text.
fn query_failed(error: tokio_postgres::Error) -> Error {
    let as_text = format!("{error:?}");
    let Some(db) = error.as_db_error() else { return Error::QueryFailed(QueryError::Text(as_text)) };
    let line = db.line().map(|line| line.to_string());
    let extras = [
        ("column", db.column()),
        ("constraint", db.constraint()),
        ("routine", db.routine()),
        ("hint", db.hint()),
        ("table", db.table()),
        ("datatype", db.datatype()),
        ("schema", db.schema()),
        ("file", db.file()),
        ("line", line.as_deref()),
        ("where_", db.where_()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_owned(), value?.to_owned())))
    .collect();
    Error::QueryFailed(QueryError::DbError(DbError {
        as_text,
        severity: db.severity().to_owned(),
        code: db.code().code().to_owned(),
        message: db.message().to_owned(),
        detail: db.detail().map(str::to_owned),
        extras,
    }))
}

fn parameters(params: Vec<ParameterValue>) -> Result<Vec<SqlParameter>, String> {
    params.into_iter().map(parameter).collect::<anyhow::Result<_>>().map_err(|error| format!("{error:#}"))
}

impl RequestState {
    fn postgres(&mut self, connection: &Resource<Connection>) -> Result<Arc<deadpool_postgres::Object>, Error> {
        self.table()
            .get(connection)
            .map(|c| c.client.clone())
            .map_err(|_| Error::ConnectionFailed("no connection found".to_owned()))
    }
}

impl HostConnection for RequestState {
    async fn open(&mut self, address: String) -> Result<Resource<Connection>, Error> {
        let config: tokio_postgres::Config =
            address.parse().map_err(|error: tokio_postgres::Error| Error::ConnectionFailed(error.to_string()))?;
        check_address(self, &config)?;
        let pool = self.config.postgres.pool(&address, config)?;
        let client =
            pool.get().await.map_err(|error| Error::ConnectionFailed(format!("{:#}", anyhow::Error::new(error))))?;
        self.table()
            .push(Connection { client: Arc::new(client) })
            .map_err(|_| Error::ConnectionFailed("too many connections".to_owned()))
    }

    async fn query(
        &mut self,
        connection: Resource<Connection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        let params = parameters(params).map_err(Error::BadParameter)?;
        let client = self.postgres(&connection)?;
        let mut stream = std::pin::pin!(client.query_raw(statement.as_str(), params).await.map_err(query_failed)?);
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        let mut size = std::mem::size_of::<RowSet>();
        while let Some(row) = stream.next().await {
            let row = row.map_err(query_failed)?;
            if columns.is_empty() {
                columns = row
                    .columns()
                    .iter()
                    .map(|c| Column { name: c.name().to_owned(), data_type: data_type(c.type_()) })
                    .collect();
            }
            let values = (0..row.len())
                .map(|index| value(&row, index))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| Error::QueryFailed(QueryError::Text(format!("{:#}", anyhow::Error::new(error)))))?;
            size += values.iter().map(size_of).sum::<usize>();
            if size > MAX_RESULT_BYTES {
                return Err(Error::QueryFailed(QueryError::Text(format!(
                    "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
                ))));
            }
            rows.push(values);
        }
        Ok(RowSet { columns, rows })
    }

    async fn execute(
        &mut self,
        connection: Resource<Connection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        let params = parameters(params).map_err(Error::ValueConversionFailed)?;
        let client = self.postgres(&connection)?;
        client.execute_raw(statement.as_str(), params).await.map_err(query_failed)
    }

    async fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table().delete(connection)?;
        Ok(())
    }
}

impl Host for RequestState {}

/// Adds `spin:postgres/postgres@4.0.0` to `linker`.
pub fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    bindings::spin::postgres::postgres::add_to_linker::<_, RequestState>(linker, |state| state)
}
