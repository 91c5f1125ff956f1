//! Where state lives (the `storage` variable) and how to reach it: Postgres' connection string and Redis' URL with
//! its key prefix.

use super::variables::{ConfigError, Lookup};

/// Where state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// One SQLite database through `sqlite_databases = ["default"]`: nothing to install, one instance.
    Sqlite,
    /// Redis for hot, expiring state and Postgres for durable state.
    RedisPostgres {
        /// Postgres' `key=value` connection string.
        postgres: PostgresConfig,
        /// Redis' URL.
        redis_url: String,
        /// The prefix of every Redis key the app writes.
        redis_prefix: String,
    },
}

/// Postgres connection settings.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password (secret; may be empty).
    password: String,
    /// Database name.
    pub database: String,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl PostgresConfig {
    /// The `key=value` connection string (values quoted, so any password works).
    pub fn connection_string(&self) -> String {
        let quote = |value: &str| format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut text = format!(
            "host={} port={} user={} dbname={}",
            quote(&self.host),
            self.port,
            quote(&self.user),
            quote(&self.database)
        );
        if !self.password.is_empty() {
            text.push_str(&format!(" password={}", quote(&self.password)));
        }
        text
    }
}

fn text(get: Lookup<'_>, name: &'static str) -> Result<String, ConfigError> {
    get(name).ok_or(ConfigError::Unreadable(name))
}

fn port(get: Lookup<'_>, name: &'static str) -> Result<u16, ConfigError> {
    text(get, name)?.trim().parse().map_err(|_| ConfigError::Invalid { name, expected: "a port number" })
}

/// The storage the variables describe.
pub fn read(get: Lookup<'_>) -> Result<Storage, ConfigError> {
    match text(get, "storage")?.trim() {
        "sqlite" => Ok(Storage::Sqlite),
        "redis-postgres" => Ok(Storage::RedisPostgres {
            postgres: postgres(get)?,
            redis_url: redis_url(get)?,
            redis_prefix: redis_key_prefix(get)?,
        }),
        _ => Err(ConfigError::Invalid { name: "storage", expected: "\"sqlite\" or \"redis-postgres\"" }),
    }
}

fn postgres(get: Lookup<'_>) -> Result<PostgresConfig, ConfigError> {
    Ok(PostgresConfig {
        host: text(get, "postgres_host")?,
        port: port(get, "postgres_port")?,
        user: text(get, "postgres_user")?,
        password: text(get, "postgres_password")?,
        database: text(get, "postgres_database")?,
    })
}

/// The Redis URL (`redis://[:password@]host:port`).
fn redis_url(get: Lookup<'_>) -> Result<String, ConfigError> {
    let host = text(get, "redis_host")?;
    let port = port(get, "redis_port")?;
    let password = text(get, "redis_password")?;
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    Ok(if password.is_empty() {
        format!("redis://{host}:{port}")
    } else {
        let encoded: String = password
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        format!("redis://:{encoded}@{host}:{port}")
    })
}

/// The prefix of every Redis key the app writes (`redis_key_prefix`; `mfa:` when empty or unset), so that
/// several deployments can share one Redis.
fn redis_key_prefix(get: Lookup<'_>) -> Result<String, ConfigError> {
    let prefix = get("redis_key_prefix").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match prefix {
        None => Ok("mfa:".to_owned()),
        Some(prefix) if prefix.len() <= 64 && prefix.chars().all(|c| c.is_ascii_graphic()) => Ok(prefix),
        Some(_) => Err(ConfigError::Invalid {
            name: "redis_key_prefix",
            expected: "at most 64 printable ASCII characters without spaces",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn storage(pairs: &[(&'static str, &str)]) -> Result<Storage, ConfigError> {
        Settings::from_pairs(pairs).storage()
    }

    #[test]
    fn backends_are_named_exactly() {
        assert_eq!(storage(&[("storage", "sqlite")]), Ok(Storage::Sqlite));
        assert!(matches!(storage(&[("storage", "mysql")]), Err(ConfigError::Invalid { name: "storage", .. })));
        assert_eq!(storage(&[]), Err(ConfigError::Unreadable("storage")));
    }

    #[test]
    fn connection_strings_quote_everything_and_hide_the_password_from_debug() {
        let found = storage(&[
            ("storage", "redis-postgres"),
            ("postgres_host", "db.internal"),
            ("postgres_port", "5433"),
            ("postgres_user", "app"),
            ("postgres_password", "it's\\secret"),
            ("postgres_database", "mfa"),
            ("redis_host", "cache"),
            ("redis_port", "6380"),
            ("redis_password", "p@ss word"),
        ])
        .unwrap();
        let Storage::RedisPostgres { postgres, redis_url, redis_prefix } = found else { panic!("{found:?}") };
        assert_eq!(
            postgres.connection_string(),
            "host='db.internal' port=5433 user='app' dbname='mfa' password='it\\'s\\\\secret'"
        );
        assert!(!format!("{postgres:?}").contains("secret"));
        assert_eq!(redis_url, "redis://:p%40ss%20word@cache:6380");
        assert_eq!(redis_prefix, "mfa:");
        let v6 = storage(&[
            ("storage", "redis-postgres"),
            ("postgres_host", "db"),
            ("postgres_port", "5432"),
            ("postgres_user", "app"),
            ("postgres_password", ""),
            ("postgres_database", "mfa"),
            ("redis_host", "::1"),
            ("redis_port", "6379"),
            ("redis_password", ""),
            ("redis_key_prefix", " tenant-a: "),
        ]);
        assert!(
            matches!(v6, Ok(Storage::RedisPostgres { ref redis_url, ref redis_prefix, .. })
                if redis_url == "redis://[::1]:6379" && redis_prefix == "tenant-a:"),
            "{v6:?}"
        );
        let bad = |name: &'static str| if name == "redis_port" { Some("x".to_owned()) } else { None };
        assert!(matches!(port(&bad, "redis_port"), Err(ConfigError::Invalid { .. })));
    }
}
