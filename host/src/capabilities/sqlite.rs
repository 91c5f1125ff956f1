//! `spin:sqlite/sqlite@3.0.0` with rusqlite (SQLite bundled), as Spin's in-process SQLite behaves: one database
//! per label; every `open` is a connection of its own (so a transaction belongs to the request that began it, and
//! concurrent writers wait for SQLite's lock, up to rusqlite's 5 s busy timeout); `default` lives at
//! `.spin/sqlite_db.db` beside `spin.toml` unless the runtime config names another path; a component may open only
//! the labels in its `sqlite_databases` (`access-denied` otherwise, checked first), and a label the host has no
//! database for is `no-such-database`.
//!
//! A connection is closed when the guest drops it or its request ends (SQLite rolls back whatever transaction it
//! left open), so no session state (PRAGMAs, TEMP tables, ATTACHed files) carries over to another request.
//! Statements run on tokio's blocking pool, so a request waiting for the write lock never holds up the others.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::app::runtime_config::Location;

/// Bindings generated from `host/wit/sqlite.wit` (Spin's `spin:sqlite/sqlite@3.0.0`).
#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/sqlite.wit",
        world: "sqlite-host",
        imports: { default: async },
        with: { "spin:sqlite/sqlite.connection": super::Connection },
    });
}

use bindings::spin::sqlite::sqlite::{Error, Host, HostConnection, QueryResult, RowResult, Value};

/// One database: where it is.
struct Database {
    location: Location,
    /// For an in-memory database: one connection kept open for the host's life, so the data outlives requests.
    _anchor: Option<Mutex<rusqlite::Connection>>,
}

impl Database {
    fn connect(&self) -> rusqlite::Result<rusqlite::Connection> {
        match &self.location {
            Location::File(path) => rusqlite::Connection::open(path),
            Location::Memory(name) => rusqlite::Connection::open_with_flags(
                format!("file:{name}?mode=memory&cache=shared"),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                    | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            ),
        }
    }
}

/// The app's SQLite databases, by label.
#[derive(Default)]
pub struct Databases {
    by_label: BTreeMap<String, Arc<Database>>,
}

impl std::fmt::Debug for Databases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_label.keys()).finish()
    }
}

impl Databases {
    /// Opens every database in `locations` (creating files and directories as needed).
    pub fn open(locations: &BTreeMap<String, Location>) -> anyhow::Result<Self> {
        let mut by_label = BTreeMap::new();
        for (label, location) in locations {
            if let Location::File(path) = location
                && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent)?;
            }
            let mut database = Database { location: location.clone(), _anchor: None };
            // Opening once at start reports a bad path now rather than at the first request.
            let first = database.connect()?;
            if matches!(location, Location::Memory(_)) {
                database._anchor = Some(Mutex::new(first));
            }
            by_label.insert(label.clone(), Arc::new(database));
        }
        Ok(Self { by_label })
    }

    /// Whether the host has a database labelled `label`.
    pub fn contains(&self, label: &str) -> bool {
        self.by_label.contains_key(label)
    }
}

/// An open connection, as the guest holds it: the guest's own rusqlite connection (out on loan to the blocking
/// pool while a statement runs), closed when dropped.
pub struct Connection {
    connection: Option<rusqlite::Connection>,
}

/// What `spin:sqlite/sqlite` needs of a request: its resource table, the app's databases and the labels its
/// component may open.
pub struct SqliteView<'a> {
    /// The request's resources (its open connections).
    pub table: &'a mut ResourceTable,
    /// The app's databases.
    pub databases: &'a Databases,
    /// The labels the component may open (`sqlite_databases`).
    pub labels: &'a [String],
}

impl SqliteView<'_> {
    fn with_database<T>(
        &mut self,
        connection: &Resource<Connection>,
        read: impl FnOnce(&rusqlite::Connection) -> T,
    ) -> Option<T> {
        self.table.get(connection).ok()?.connection.as_ref().map(read)
    }
}

fn io(error: impl std::fmt::Display) -> Error {
    Error::Io(error.to_string())
}

/// Runs one statement on `database`.
fn run(database: &rusqlite::Connection, statement: &str, parameters: Vec<Value>) -> Result<QueryResult, Error> {
    let mut prepared = database.prepare(statement).map_err(io)?;
    let columns: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
    let parameters = parameters.into_iter().map(|value| match value {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(r) => SqlValue::Real(r),
        Value::Text(t) => SqlValue::Text(t),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    });
    let mut rows = prepared.query(rusqlite::params_from_iter(parameters)).map_err(io)?;
    let mut results = Vec::new();
    while let Some(row) = rows.next().map_err(io)? {
        let values = (0..columns.len())
            .map(|index| {
                Ok(match row.get_ref(index).map_err(io)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => Value::Integer(i),
                    ValueRef::Real(r) => Value::Real(r),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        results.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: results })
}

impl HostConnection for SqliteView<'_> {
    async fn open(&mut self, database: String) -> Result<Resource<Connection>, Error> {
        if !self.labels.contains(&database) {
            return Err(Error::AccessDenied);
        }
        let database = self.databases.by_label.get(&database).cloned().ok_or(Error::NoSuchDatabase)?;
        let connection = tokio::task::spawn_blocking(move || database.connect()).await.map_err(io)?.map_err(io)?;
        self.table.push(Connection { connection: Some(connection) }).map_err(|_| io("too many connections opened"))
    }

    async fn execute(
        &mut self,
        connection: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        let database = self
            .table
            .get_mut(&connection)
            .map_err(|_| Error::InvalidConnection)?
            .connection
            .take()
            .ok_or(Error::InvalidConnection)?;
        let (database, result) = tokio::task::spawn_blocking(move || {
            let result = run(&database, &statement, parameters);
            (database, result)
        })
        .await
        .map_err(io)?;
        if let Ok(held) = self.table.get_mut(&connection) {
            held.connection = Some(database);
        }
        result
    }

    /// 0 for a handle that is not an open connection (where Spin would trap).
    async fn last_insert_rowid(&mut self, connection: Resource<Connection>) -> i64 {
        self.with_database(&connection, rusqlite::Connection::last_insert_rowid).unwrap_or(0)
    }

    /// 0 for a handle that is not an open connection (where Spin would trap).
    async fn changes(&mut self, connection: Resource<Connection>) -> u64 {
        self.with_database(&connection, rusqlite::Connection::changes).unwrap_or(0)
    }

    async fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl Host for SqliteView<'_> {}

/// The interface's data in the store: a [`SqliteView`].
struct Sqlite;

impl HasData for Sqlite {
    type Data<'a> = SqliteView<'a>;
}

/// Adds `spin:sqlite/sqlite@3.0.0` to `linker`, served through the view `view` takes from the store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> SqliteView<'_>,
) -> wasmtime::Result<()> {
    bindings::spin::sqlite::sqlite::add_to_linker::<T, Sqlite>(linker, view)
}
