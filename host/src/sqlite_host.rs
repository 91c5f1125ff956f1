//! `spin:sqlite/sqlite@3.0.0` with rusqlite (SQLite bundled), as Spin's in-process SQLite behaves: one database
//! per label, shared by every request; `default` lives at `.spin/sqlite_db.db` beside `spin.toml` unless the
//! runtime config names another path; a component may open only the labels in its `sqlite_databases`
//! (`access-denied` otherwise, checked first), and a label the host has no database for is `no-such-database`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::{Linker, Resource};

use crate::state::RequestState;

/// Bindings generated from `host/wit/sqlite.wit` (Spin's `spin:sqlite/sqlite@3.0.0`).
#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/sqlite.wit",
        world: "sqlite-host",
        with: { "spin:sqlite/sqlite.connection": super::Connection },
    });
}

use bindings::spin::sqlite::sqlite::{Error, Host, HostConnection, QueryResult, RowResult, Value};

/// The app's SQLite databases, by label.
#[derive(Default)]
pub struct Databases {
    by_label: BTreeMap<String, Arc<Mutex<rusqlite::Connection>>>,
}

impl std::fmt::Debug for Databases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_label.keys()).finish()
    }
}

/// Where a database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file (its parent directories are created).
    File(PathBuf),
    /// Memory only, gone when the host stops.
    Memory,
}

impl Databases {
    /// Opens every database in `locations`.
    pub fn open(locations: &BTreeMap<String, Location>) -> anyhow::Result<Self> {
        let mut by_label = BTreeMap::new();
        for (label, location) in locations {
            let connection = match location {
                Location::File(path) => {
                    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                        std::fs::create_dir_all(parent)?;
                    }
                    rusqlite::Connection::open(path)?
                }
                Location::Memory => rusqlite::Connection::open_in_memory()?,
            };
            by_label.insert(label.clone(), Arc::new(Mutex::new(connection)));
        }
        Ok(Self { by_label })
    }

    /// Whether the host has a database labelled `label`.
    pub fn contains(&self, label: &str) -> bool {
        self.by_label.contains_key(label)
    }
}

/// The default database's file for an app whose manifest is in `dir`, as Spin places it.
pub fn default_location(dir: &Path) -> Location {
    Location::File(dir.join(".spin").join("sqlite_db.db"))
}

/// An open connection, as the guest holds it.
pub struct Connection {
    database: Arc<Mutex<rusqlite::Connection>>,
}

impl RequestState {
    fn database(&mut self, connection: &Resource<Connection>) -> Result<Arc<Mutex<rusqlite::Connection>>, Error> {
        self.table().get(connection).map(|c| c.database.clone()).map_err(|_| Error::InvalidConnection)
    }
}

impl RequestState {
    fn with_database<T>(
        &mut self,
        connection: &Resource<Connection>,
        read: impl FnOnce(&rusqlite::Connection) -> T,
    ) -> Option<T> {
        let database = self.database(connection).ok()?;
        let database = database.lock().ok()?;
        Some(read(&database))
    }
}

fn io(error: impl std::fmt::Display) -> Error {
    Error::Io(error.to_string())
}

impl HostConnection for RequestState {
    fn open(&mut self, database: String) -> Result<Resource<Connection>, Error> {
        if !self.config.sqlite_labels.contains(&database) {
            return Err(Error::AccessDenied);
        }
        let shared = self.config.sqlite.by_label.get(&database).cloned().ok_or(Error::NoSuchDatabase)?;
        self.table().push(Connection { database: shared }).map_err(|_| io("too many connections opened"))
    }

    fn execute(
        &mut self,
        connection: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        let database = self.database(&connection)?;
        let database = database.lock().map_err(|_| io("the database lock is poisoned"))?;
        let mut prepared = database.prepare(&statement).map_err(io)?;
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

    /// 0 for a handle that is not an open connection (where Spin would trap).
    fn last_insert_rowid(&mut self, connection: Resource<Connection>) -> i64 {
        self.with_database(&connection, |database| database.last_insert_rowid()).unwrap_or(0)
    }

    /// 0 for a handle that is not an open connection (where Spin would trap).
    fn changes(&mut self, connection: Resource<Connection>) -> u64 {
        self.with_database(&connection, |database| database.changes()).unwrap_or(0)
    }

    fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table().delete(connection)?;
        Ok(())
    }
}

impl Host for RequestState {}

/// Adds `spin:sqlite/sqlite@3.0.0` to `linker`.
pub fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    bindings::spin::sqlite::sqlite::add_to_linker::<RequestState, RequestState>(linker, |state| state)
}
