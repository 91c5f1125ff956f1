//! One small SQL layer over Spin's two databases: `spin:sqlite/sqlite@3.0.0` (the `default` database) and
//! `spin:postgres/postgres@4.0.0`. Statements are written once, with Postgres' `$1, $2...` placeholders (turned
//! into SQLite's `?1, ?2...`), over columns of the few types both share: BIGINT, TEXT, BYTEA/BLOB, BOOLEAN
//! (SQLite stores 0/1). Times are Unix seconds in BIGINT columns.

use spin_sdk::{pg4, sqlite3};

/// A parameter or column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// NULL.
    Null,
    /// An integer (BIGINT).
    Int(i64),
    /// A boolean (BOOLEAN; 0/1 in SQLite).
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes (BYTEA / BLOB).
    Blob(Vec<u8>),
}

impl SqlValue {
    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean (SQLite's 0/1 included), if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            Self::Int(i) => Some(*i != 0),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// A column value as a Rust value: `None` when the column holds something else (a NULL for a required value).
pub trait FromValue: Sized {
    /// The value of `value`, if it has this type.
    fn from_value(value: &SqlValue) -> Option<Self>;
}

impl FromValue for String {
    fn from_value(value: &SqlValue) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
}

impl FromValue for i64 {
    fn from_value(value: &SqlValue) -> Option<Self> {
        value.as_i64()
    }
}

impl FromValue for bool {
    fn from_value(value: &SqlValue) -> Option<Self> {
        value.as_bool()
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &SqlValue) -> Option<Self> {
        match value {
            SqlValue::Blob(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }
}

/// A nullable column: `None` for NULL (or a value of another type).
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &SqlValue) -> Option<Self> {
        Some(T::from_value(value))
    }
}

/// A row as a Rust value: `None` when the row does not have the expected shape.
pub trait FromRow: Sized {
    /// The value of `row`, if it has this shape.
    fn from_row(row: &[SqlValue]) -> Option<Self>;
}

/// Rows of one to eight columns read as tuples, in column order.
macro_rules! tuple_rows {
    ($($name:ident),+) => {
        impl<$($name: FromValue),+> FromRow for ($($name,)+) {
            #[allow(non_snake_case)]
            fn from_row(row: &[SqlValue]) -> Option<Self> {
                match row {
                    [$($name),+] => Some(($($name::from_value($name)?,)+)),
                    _ => None,
                }
            }
        }
    };
}
tuple_rows!(A);
tuple_rows!(A, B);
tuple_rows!(A, B, C);
tuple_rows!(A, B, C, D);
tuple_rows!(A, B, C, D, E);
tuple_rows!(A, B, C, D, E, F);
tuple_rows!(A, B, C, D, E, F, G);
tuple_rows!(A, B, C, D, E, F, G, H);

/// Text parameters, for statements whose parameters are all text.
pub fn texts(values: &[&str]) -> Vec<SqlValue> {
    values.iter().map(|value| SqlValue::Text((*value).to_owned())).collect()
}

/// `$first, $first+1, ...`: `count` numbered parameters, for a list (`IN (...)`) of any length.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DbError {
    /// The database could not be reached.
    #[error("the database cannot be reached: {0}")]
    Connect(String),
    /// A uniqueness constraint refused the write.
    #[error("a unique value already exists")]
    Conflict,
    /// What the write refers to is gone (a foreign key found no row): the account was erased meanwhile.
    #[error("the account this refers to no longer exists")]
    Gone,
    /// Any other failure of a statement.
    #[error("a database statement failed: {0}")]
    Statement(String),
}

/// The configured database, connected at its first statement (so a request that never needs it, such as an
/// introspection answered from Redis, never takes a Postgres session).
pub struct Db {
    target: Target,
    connection: std::cell::OnceCell<Connection>,
}

/// Where the database is.
enum Target {
    /// The app's SQLite database.
    Sqlite,
    /// Postgres, by connection string.
    Postgres(String),
}

/// An open connection.
enum Connection {
    /// The app's SQLite database.
    Sqlite(sqlite3::Connection),
    /// One Postgres session, held for the connection's life (so transactions span calls).
    Postgres(pg4::Connection),
}

/// `$1` placeholders as SQLite's `?1`.
fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_error(error: pg4::PgError) -> DbError {
    match &error {
        pg4::PgError::QueryFailed(pg4::QueryError::DbError(db)) if db.code == "23505" => DbError::Conflict,
        pg4::PgError::QueryFailed(pg4::QueryError::DbError(db)) if db.code == "23503" => DbError::Gone,
        pg4::PgError::QueryFailed(pg4::QueryError::DbError(db)) => {
            DbError::Statement(format!("{} ({})", db.message, db.code))
        }
        other => DbError::Statement(format!("{other:?}")),
    }
}

fn sqlite_error(error: sqlite3::Error) -> DbError {
    match error {
        sqlite3::Error::Io(message) if message.contains("UNIQUE constraint failed") => DbError::Conflict,
        sqlite3::Error::Io(message) if message.contains("FOREIGN KEY constraint failed") => DbError::Gone,
        other => DbError::Statement(format!("{other:?}")),
    }
}

impl Db {
    /// The app's SQLite database (connected when first used).
    pub fn sqlite() -> Self {
        Self { target: Target::Sqlite, connection: std::cell::OnceCell::new() }
    }

    /// The Postgres database at `address`, a `key=value` connection string (connected when first used).
    pub fn postgres(address: String) -> Self {
        Self { target: Target::Postgres(address), connection: std::cell::OnceCell::new() }
    }

    fn connection(&self) -> Result<&Connection, DbError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection);
        }
        let connection = match &self.target {
            Target::Sqlite => {
                let connection =
                    sqlite3::Connection::open_default().map_err(|e| DbError::Connect(format!("SQLite: {e:?}")))?;
                // SQLite checks foreign keys only when asked, per connection: a write for an erased account must fail
                // here as it does on Postgres.
                connection
                    .execute("PRAGMA foreign_keys = ON", &[])
                    .map_err(|e| DbError::Connect(format!("SQLite: {e:?}")))?;
                Connection::Sqlite(connection)
            }
            Target::Postgres(address) => {
                pg4::Connection::open(address).map(Connection::Postgres).map_err(|e| match e {
                    pg4::PgError::ConnectionFailed(message) => DbError::Connect(message),
                    other => DbError::Connect(format!("{other:?}")),
                })?
            }
        };
        Ok(self.connection.get_or_init(|| connection))
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError> {
        match self.connection()? {
            Connection::Sqlite(connection) => {
                let params: Vec<sqlite3::Value> = params.iter().map(to_sqlite).collect();
                connection.execute(&sqlite_placeholders(sql), &params).map_err(sqlite_error)?;
                Ok(connection.changes())
            }
            Connection::Postgres(connection) => {
                let params: Vec<pg4::ParameterValue> = params.iter().map(to_pg).collect();
                connection.execute(sql, &params).map_err(pg_error)
            }
        }
    }

    /// Runs a query; returns its rows.
    pub fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, DbError> {
        match self.connection()? {
            Connection::Sqlite(connection) => {
                let params: Vec<sqlite3::Value> = params.iter().map(to_sqlite).collect();
                let result = connection.execute(&sqlite_placeholders(sql), &params).map_err(sqlite_error)?;
                Ok(result.rows.into_iter().map(|row| row.values.into_iter().map(from_sqlite).collect()).collect())
            }
            Connection::Postgres(connection) => {
                let params: Vec<pg4::ParameterValue> = params.iter().map(to_pg).collect();
                let result = connection.query(sql, &params).map_err(pg_error)?;
                Ok(result.rows.into_iter().map(|row| row.into_iter().map(from_pg).collect()).collect())
            }
        }
    }

    /// The rows of a query, each read as `T` (rows of another shape are skipped).
    pub fn rows<T: FromRow>(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<T>, DbError> {
        Ok(self.query(sql, params)?.iter().filter_map(|row| T::from_row(row)).collect())
    }

    /// The first row of a query read as `T`, if there is one of that shape.
    pub fn row<T: FromRow>(&self, sql: &str, params: &[SqlValue]) -> Result<Option<T>, DbError> {
        Ok(self.query(sql, params)?.first().and_then(|row| T::from_row(row)))
    }

    /// Whether a query finds any row.
    pub fn exists(&self, sql: &str, params: &[SqlValue]) -> Result<bool, DbError> {
        Ok(!self.query(sql, params)?.is_empty())
    }

    /// Whether this is the Postgres backend.
    pub fn is_postgres(&self) -> bool {
        matches!(self.target, Target::Postgres(_))
    }

    /// Runs `work` in one transaction (on SQLite `BEGIN IMMEDIATE`, which takes the write lock at once): committed
    /// when it succeeds, rolled back when it fails.
    pub fn transaction<T, E: From<DbError>>(&self, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let begin = if self.is_postgres() { "BEGIN" } else { "BEGIN IMMEDIATE" };
        self.bracket(begin, "COMMIT", "ROLLBACK", work)
    }

    /// Runs `work` as one step of the transaction in progress (a savepoint): when it fails its statements are
    /// undone and the transaction goes on, where on Postgres a failed statement would otherwise abort it.
    pub fn step<T, E: From<DbError>>(&self, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.bracket("SAVEPOINT step", "RELEASE SAVEPOINT step", "ROLLBACK TO SAVEPOINT step", work)
    }

    /// Runs `work` between `open` and `keep`, or `undo` when it fails.
    fn bracket<T, E: From<DbError>>(
        &self,
        open: &str,
        keep: &str,
        undo: &str,
        work: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.execute(open, &[])?;
        match work() {
            Ok(value) => {
                self.execute(keep, &[])?;
                Ok(value)
            }
            Err(error) => {
                let _ = self.execute(undo, &[]);
                Err(error)
            }
        }
    }
}

fn to_sqlite(value: &SqlValue) -> sqlite3::Value {
    match value {
        SqlValue::Null => sqlite3::Value::Null,
        SqlValue::Int(i) => sqlite3::Value::Integer(*i),
        SqlValue::Bool(b) => sqlite3::Value::Integer(i64::from(*b)),
        SqlValue::Text(s) => sqlite3::Value::Text(s.clone()),
        SqlValue::Blob(b) => sqlite3::Value::Blob(b.clone()),
    }
}

fn from_sqlite(value: sqlite3::Value) -> SqlValue {
    match value {
        sqlite3::Value::Null => SqlValue::Null,
        sqlite3::Value::Integer(i) => SqlValue::Int(i),
        // No REAL columns in the schema; keep the text form rather than lose it.
        sqlite3::Value::Real(r) => SqlValue::Text(r.to_string()),
        sqlite3::Value::Text(s) => SqlValue::Text(s),
        sqlite3::Value::Blob(b) => SqlValue::Blob(b),
    }
}

fn to_pg(value: &SqlValue) -> pg4::ParameterValue {
    match value {
        SqlValue::Null => pg4::ParameterValue::DbNull,
        SqlValue::Int(i) => pg4::ParameterValue::Int64(*i),
        SqlValue::Bool(b) => pg4::ParameterValue::Boolean(*b),
        SqlValue::Text(s) => pg4::ParameterValue::Str(s.clone()),
        SqlValue::Blob(b) => pg4::ParameterValue::Binary(b.clone()),
    }
}

fn from_pg(value: pg4::DbValue) -> SqlValue {
    match value {
        pg4::DbValue::DbNull => SqlValue::Null,
        pg4::DbValue::Boolean(b) => SqlValue::Bool(b),
        pg4::DbValue::Int16(i) => SqlValue::Int(i.into()),
        pg4::DbValue::Int32(i) => SqlValue::Int(i.into()),
        pg4::DbValue::Int64(i) => SqlValue::Int(i),
        pg4::DbValue::Str(s) => SqlValue::Text(s),
        pg4::DbValue::Binary(b) => SqlValue::Blob(b),
        other => SqlValue::Text(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlites() {
        assert_eq!(
            sqlite_placeholders("SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '$x'"),
            "SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '$x'"
        );
    }

    #[test]
    fn rows_read_as_tuples_of_the_right_shape() {
        let row = [SqlValue::Text("a".into()), SqlValue::Null, SqlValue::Int(3)];
        assert_eq!(<(String, Option<String>, i64)>::from_row(&row), Some(("a".into(), None, 3)));
        assert_eq!(<(String, String, i64)>::from_row(&row), None, "a NULL is not text");
        assert_eq!(<(String, Option<String>)>::from_row(&row), None, "a row of another width");
    }

    #[test]
    fn booleans_read_from_either_backend() {
        assert_eq!(SqlValue::Int(1).as_bool(), Some(true));
        assert_eq!(SqlValue::Bool(false).as_bool(), Some(false));
        assert_eq!(SqlValue::Text("1".into()).as_bool(), None);
    }
}
