//! The app's configuration, from Spin variables (`[variables]` in spin.toml, `SPIN_VARIABLE_*` under mfa-host and
//! Spin). Read per request: instances keep nothing between requests.

/// Where state lives (the `storage` variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite database through `sqlite_databases = ["default"]`: nothing to install, one instance.
    Sqlite,
    /// Redis for hot, expiring state and Postgres for durable state.
    RedisPostgres,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A variable the app needs has no value or cannot be read.
    #[error("variable {0:?} cannot be read")]
    Unreadable(&'static str),
    /// A variable with a value the app does not understand.
    #[error("variable {name:?} must be {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
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

/// Reads variable `name` through `get` (Spin's variables in the app; a map in tests).
pub type Lookup<'a> = &'a dyn Fn(&'static str) -> Option<String>;

fn text(get: Lookup<'_>, name: &'static str) -> Result<String, ConfigError> {
    get(name).ok_or(ConfigError::Unreadable(name))
}

fn port(get: Lookup<'_>, name: &'static str) -> Result<u16, ConfigError> {
    text(get, name)?.trim().parse().map_err(|_| ConfigError::Invalid { name, expected: "a port number" })
}

/// The storage backend.
pub fn backend(get: Lookup<'_>) -> Result<Backend, ConfigError> {
    match text(get, "storage")?.trim() {
        "sqlite" => Ok(Backend::Sqlite),
        "redis-postgres" => Ok(Backend::RedisPostgres),
        _ => Err(ConfigError::Invalid { name: "storage", expected: "\"sqlite\" or \"redis-postgres\"" }),
    }
}

/// The Postgres settings.
pub fn postgres(get: Lookup<'_>) -> Result<PostgresConfig, ConfigError> {
    Ok(PostgresConfig {
        host: text(get, "postgres_host")?,
        port: port(get, "postgres_port")?,
        user: text(get, "postgres_user")?,
        password: text(get, "postgres_password")?,
        database: text(get, "postgres_database")?,
    })
}

/// The Redis URL (`redis://[:password@]host:port`).
pub fn redis_url(get: Lookup<'_>) -> Result<String, ConfigError> {
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
pub fn redis_key_prefix(get: Lookup<'_>) -> Result<String, ConfigError> {
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

/// The service API key, if one is set (an empty value disables the service API).
pub fn api_key(get: Lookup<'_>) -> Option<String> {
    get("api_key").filter(|key| !key.is_empty())
}

/// The pepper one-time codes (backup codes, SMS codes) are hashed under: `code_pepper`, at least 16 bytes.
pub fn code_pepper(get: Lookup<'_>) -> Result<Vec<u8>, ConfigError> {
    match get("code_pepper").map(|v| v.trim().to_owned()) {
        Some(pepper) if pepper.len() >= 16 => Ok(pepper.into_bytes()),
        _ => Err(ConfigError::Invalid { name: "code_pepper", expected: "a secret of at least 16 characters" }),
    }
}

/// Spin's variables, as the app reads them.
pub fn spin_variables(name: &'static str) -> Option<String> {
    spin_sdk::variables::get(name).ok()
}

/// Variables from `pairs`, as a [`Lookup`] for unit tests.
#[cfg(test)]
pub fn test_variables(pairs: &[(&'static str, &str)]) -> impl Fn(&'static str) -> Option<String> + use<> {
    let map: std::collections::HashMap<&'static str, String> =
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::test_variables as with;
    use super::*;

    #[test]
    fn backends_are_named_exactly() {
        assert_eq!(backend(&with(&[("storage", "sqlite")])), Ok(Backend::Sqlite));
        assert_eq!(backend(&with(&[("storage", "redis-postgres")])), Ok(Backend::RedisPostgres));
        assert!(matches!(backend(&with(&[("storage", "mysql")])), Err(ConfigError::Invalid { name: "storage", .. })));
        assert_eq!(backend(&with(&[])), Err(ConfigError::Unreadable("storage")));
    }

    #[test]
    fn connection_strings_quote_everything_and_hide_the_password_from_debug() {
        let get = with(&[
            ("postgres_host", "db.internal"),
            ("postgres_port", "5433"),
            ("postgres_user", "app"),
            ("postgres_password", "it's\\secret"),
            ("postgres_database", "mfa"),
        ]);
        let config = postgres(&get).unwrap();
        assert_eq!(
            config.connection_string(),
            "host='db.internal' port=5433 user='app' dbname='mfa' password='it\\'s\\\\secret'"
        );
        assert!(!format!("{config:?}").contains("secret"));
        let redis = with(&[("redis_host", "cache"), ("redis_port", "6380"), ("redis_password", "p@ss word")]);
        assert_eq!(redis_url(&redis).unwrap(), "redis://:p%40ss%20word@cache:6380");
        let v6 = with(&[("redis_host", "::1"), ("redis_port", "6379"), ("redis_password", "")]);
        assert_eq!(redis_url(&v6).unwrap(), "redis://[::1]:6379");
        assert!(matches!(port(&with(&[("redis_port", "x")]), "redis_port"), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn an_empty_api_key_disables_the_service_api() {
        assert_eq!(api_key(&with(&[("api_key", "")])), None);
        assert_eq!(api_key(&with(&[("api_key", "k")])), Some("k".to_owned()));
    }
}
