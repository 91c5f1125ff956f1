//! `spin:postgres/postgres@4.0.0` with tokio-postgres and a deadpool pool per address, as Spin's outbound
//! Postgres behaves:
//!
//! - `open` parses the address (`postgres://` URL or `key=value` string) and checks every TCP host in it against
//!   the component's `allowed_outbound_hosts` (scheme `postgres`, port 5432 when none is given), refusing with
//!   `connection-failed("address postgres://host[:port] is not permitted")`; Unix sockets are refused too;
//! - an open `connection` holds ONE pooled session for its whole life, so `BEGIN ... COMMIT`, `SET` and advisory
//!   locks work across calls; when the guest drops it (or its request ends) the session goes back to the pool,
//!   at once any transaction it left open is rolled back (so its locks are released), and before anyone reuses it
//!   the pool resets the session (cursors, settings, `LISTEN`s, advisory locks, temporary tables) ([`pool`]);
//! - `query` and `execute` prepare the statement (the server infers parameter types), bind the converted
//!   parameters ([`values`]) and run it; unlike Spin, which prepares it anew every time (two round trips), a
//!   pooled session keeps what it prepared (up to [`MAX_CACHED_STATEMENTS`]), so running it again is one round
//!   trip; a statement whose table changed shape since is prepared again (outside a transaction transparently;
//!   inside one the server has aborted the transaction, and the guest sees that error); a parameter that cannot
//!   be converted is `bad-parameter` for `query` and `value-conversion-failed` for `execute` (as in Spin); server
//!   errors are `query-failed` with the server's structured fields; a result over 128 MiB is refused.
//!
//! Differences from Spin, on purpose: the pool's size and the wait for a session are the runtime config's
//! `[outbound_postgres]` budget, connecting is capped (10 s), and a server with too many
//! clients is asked again within the wait (each a `connection-failed` when it runs out). TLS is Spin's: plain TCP
//! only with `sslmode=disable`, otherwise TLS verified against the trusted roots ([`crate::capabilities::tls`]),
//! rustls where Spin has native-tls (a failed handshake is a `connection-failed` naming the certificate's fault).

// The error type is the WIT's; boxing it would only add a copy at the boundary.
#![allow(clippy::result_large_err)]

mod bindings;
mod pool;
mod values;

use std::sync::Arc;

use futures_util::StreamExt;
use tokio_postgres::Statement;
use tokio_postgres::config::Host as PgHost;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::app::allowed_hosts::AllowedHosts;
use bindings::spin::postgres::postgres::{
    Column, DbError, Error, Host, HostConnection, ParameterValue, QueryError, RowSet,
};
use pool::Connection;
pub use pool::Pools;
use values::{SqlParameter, data_type, parameter, size_of, value};

/// The largest result `query` buffers, as in Spin.
const MAX_RESULT_BYTES: usize = 128 << 20;

/// How many prepared statements one pooled session keeps; past that its cache is emptied (and the server forgets
/// them), so a guest that writes literals into its SQL cannot grow the server's memory without bound.
pub const MAX_CACHED_STATEMENTS: usize = 256;

/// `statement` prepared on `client`'s session, reused from its cache when the session prepared it before.
async fn prepared(client: &deadpool_postgres::Object, statement: &str) -> Result<Statement, tokio_postgres::Error> {
    if client.statement_cache.size() >= MAX_CACHED_STATEMENTS {
        client.statement_cache.clear();
    }
    client.prepare_cached(statement).await
}

/// Runs `run` with `statement` prepared (from the session's cache when it can); once more, prepared afresh, when
/// the cached one no longer fits its table ("cached plan must not change result type", SQLSTATE 0A000).
async fn with_prepared<T, F>(
    client: &deadpool_postgres::Object,
    statement: &str,
    run: impl Fn(Statement) -> F,
) -> Result<T, tokio_postgres::Error>
where
    F: Future<Output = Result<T, tokio_postgres::Error>>,
{
    match run(prepared(client, statement).await?).await {
        Err(error) if error.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED) => {
            client.statement_cache.remove(statement, &[]);
            run(prepared(client, statement).await?).await
        }
        answer => answer,
    }
}

/// The parameters as the driver takes them.
fn borrowed(params: &[SqlParameter]) -> impl ExactSizeIterator<Item = &(dyn ToSql + Sync)> {
    params.iter().map(|param| param.as_ref() as &(dyn ToSql + Sync))
}

/// Checks every TCP host of `config` against the component's allowed hosts.
fn check_address(allowed_hosts: &AllowedHosts, config: &tokio_postgres::Config) -> Result<(), Error> {
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
        if !allowed_hosts.allows("postgres", host, port.or(Some(5432))) {
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

/// What `spin:postgres/postgres` needs of a request: its resource table, the app's pools and its component's
/// `allowed_outbound_hosts`.
pub struct PostgresView<'a> {
    /// The request's resources (its open connections).
    pub table: &'a mut ResourceTable,
    /// The app's pools.
    pub pools: &'a Pools,
    /// Where the component may connect.
    pub allowed_hosts: &'a AllowedHosts,
}

impl PostgresView<'_> {
    fn client(&mut self, connection: &Resource<Connection>) -> Result<Arc<deadpool_postgres::Object>, Error> {
        self.table
            .get(connection)
            .map(|c| c.client.clone())
            .map_err(|_| Error::ConnectionFailed("no connection found".to_owned()))
    }
}

impl HostConnection for PostgresView<'_> {
    async fn open(&mut self, address: String) -> Result<Resource<Connection>, Error> {
        let config: tokio_postgres::Config =
            address.parse().map_err(|error: tokio_postgres::Error| Error::ConnectionFailed(error.to_string()))?;
        check_address(self.allowed_hosts, &config)?;
        let client = self.pools.session(&address, config).await.map_err(Error::ConnectionFailed)?;
        self.table
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
        let client = self.client(&connection)?;
        let stream = with_prepared(&client, &statement, |prepared| {
            let (client, params) = (&client, &params);
            async move { client.query_raw(&prepared, borrowed(params)).await }
        });
        let mut stream = std::pin::pin!(stream.await.map_err(query_failed)?);
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
        let client = self.client(&connection)?;
        with_prepared(&client, &statement, |prepared| {
            let (client, params) = (&client, &params);
            async move { client.execute_raw(&prepared, borrowed(params)).await }
        })
        .await
        .map_err(query_failed)
    }

    async fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl Host for PostgresView<'_> {}

/// The interface's data in the store: a [`PostgresView`].
struct Postgres;

impl HasData for Postgres {
    type Data<'a> = PostgresView<'a>;
}

/// Adds `spin:postgres/postgres@4.0.0` to `linker`, served through the view `view` takes from the store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> PostgresView<'_>,
) -> wasmtime::Result<()> {
    bindings::spin::postgres::postgres::add_to_linker::<T, Postgres>(linker, view)
}
