//! Where state lives (the `storage` variable) and how to reach it: Postgres' connection string (with its
//! `sslmode`) and Redis' URL (`rediss://` for TLS) with its key prefix.

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
    /// Whether and how to use TLS.
    pub ssl_mode: SslMode,
}

/// The `sslmode` carried into Postgres' connection string (`postgres_sslmode`), with the meaning Spin's client
/// (tokio-postgres) gives it: whenever TLS is used, the server's certificate is verified, host name included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain TCP when it has no TLS at all (the default, as in Spin).
    Prefer,
    /// TLS or no connection.
    Require,
}

impl SslMode {
    /// The connection string's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
        }
    }
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("database", &self.database)
            .field("ssl_mode", &self.ssl_mode)
            .finish_non_exhaustive()
    }
}

impl PostgresConfig {
    /// The `key=value` connection string (values quoted, so any password works).
    pub fn connection_string(&self) -> String {
        let quote = |value: &str| format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut text = format!(
            "host={} port={} user={} dbname={} sslmode={}",
            quote(&self.host),
            self.port,
            quote(&self.user),
            quote(&self.database),
            self.ssl_mode.as_str()
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
        ssl_mode: ssl_mode(get)?,
    })
}

/// `postgres_sslmode`: `disable`, `prefer` (also when empty or unset) or `require`.
fn ssl_mode(get: Lookup<'_>) -> Result<SslMode, ConfigError> {
    match get("postgres_sslmode").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "prefer") => Ok(SslMode::Prefer),
        Some("disable") => Ok(SslMode::Disable),
        Some("require") => Ok(SslMode::Require),
        Some(_) => Err(ConfigError::Invalid { name: "postgres_sslmode", expected: "disable, prefer or require" }),
    }
}

/// `redis_tls`: whether Redis is reached over TLS (`rediss://`); off when empty or unset.
fn redis_tls(get: Lookup<'_>) -> Result<bool, ConfigError> {
    match get("redis_tls").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(_) => Err(ConfigError::Invalid { name: "redis_tls", expected: "true or false" }),
    }
}

/// The Redis URL (`redis://[:password@]host:port`, `rediss://` with `redis_tls`).
fn redis_url(get: Lookup<'_>) -> Result<String, ConfigError> {
    let scheme = if redis_tls(get)? { "rediss" } else { "redis" };
    let host = text(get, "redis_host")?;
    let port = port(get, "redis_port")?;
    let password = text(get, "redis_password")?;
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    Ok(if password.is_empty() {
        format!("{scheme}://{host}:{port}")
    } else {
        let encoded: String = password
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        format!("{scheme}://:{encoded}@{host}:{port}")
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

    /// Redis + Postgres on `db:5432` and `cache:6380` (password `pw`), with `changes` on top.
    fn redis_postgres(changes: &[(&'static str, &str)]) -> Result<Storage, ConfigError> {
        let mut pairs = vec![
            ("storage", "redis-postgres"),
            ("postgres_host", "db"),
            ("postgres_port", "5432"),
            ("postgres_user", "app"),
            ("postgres_password", ""),
            ("postgres_database", "mfa"),
            ("redis_host", "cache"),
            ("redis_port", "6380"),
            ("redis_password", "pw"),
        ];
        pairs.retain(|(name, _)| !changes.iter().any(|(changed, _)| changed == name));
        pairs.extend_from_slice(changes);
        storage(&pairs)
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
            "host='db.internal' port=5433 user='app' dbname='mfa' sslmode=prefer password='it\\'s\\\\secret'"
        );
        assert!(!format!("{postgres:?}").contains("secret"));
        assert_eq!(redis_url, "redis://:p%40ss%20word@cache:6380");
        assert_eq!(redis_prefix, "mfa:");
        let v6 = redis_postgres(&[
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

    #[test]
    fn tls_is_carried_into_the_addresses_and_a_mistyped_mode_is_refused() {
        let with = |sslmode: &str, tls: &str| redis_postgres(&[("postgres_sslmode", sslmode), ("redis_tls", tls)]);
        let Ok(Storage::RedisPostgres { postgres, redis_url, .. }) = with(" Require ", "true") else { panic!() };
        assert_eq!(postgres.connection_string(), "host='db' port=5432 user='app' dbname='mfa' sslmode=require");
        assert_eq!(redis_url, "rediss://:pw@cache:6380");
        let Ok(Storage::RedisPostgres { postgres, redis_url, .. }) = with("disable", "") else { panic!() };
        assert_eq!(postgres.ssl_mode, SslMode::Disable);
        assert_eq!(redis_url, "redis://:pw@cache:6380");
        let Ok(Storage::RedisPostgres { postgres, .. }) = with("", "no") else { panic!() };
        assert_eq!(postgres.ssl_mode, SslMode::Prefer);
        assert_eq!(
            with("verify-full", "").unwrap_err(),
            ConfigError::Invalid { name: "postgres_sslmode", expected: "disable, prefer or require" }
        );
        assert!(matches!(with("require", "maybe"), Err(ConfigError::Invalid { name: "redis_tls", .. })));
    }
}
