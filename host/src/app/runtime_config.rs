//! The runtime config file (`mfa-host up --runtime-config-file F`), as far as this host supports Spin's:
//! `[sqlite_database.<label>]` tables with `type = "spin"` and an optional `path` (relative to the current
//! directory, as Spin resolves it; no path means an in-memory database), and this host's own
//! `[outbound_postgres]` budget ([`PostgresBudget`]: `pool_size`, `wait_timeout_ms`). Any other key is an error
//! naming it. The `default` database lives at `.spin/sqlite_db.db` beside `spin.toml` unless the runtime config says
//! otherwise ([`RuntimeConfig::sqlite_locations`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::app::manifest::Manifest;

/// Where a database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file (its parent directories are created).
    File(PathBuf),
    /// Memory only, gone when the host stops; the name tells databases apart.
    Memory(String),
}

/// How many Postgres sessions one host instance keeps per address, and how long a request waits for one.
///
/// Budget: instances x `pool_size` must stay under the server's `max_connections` minus what others need (psql,
/// migrations, superuser slots). A request holds one session for its life; when all are taken it waits up to
/// `wait_timeout`, and a server that answers "too many clients" (SQLSTATE 53300) is tried again within that time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresBudget {
    /// Sessions per address (default: 2 per core, at least 4).
    pub pool_size: usize,
    /// How long a request waits for a session, connecting included (default 20 s).
    pub wait_timeout: Duration,
}

impl Default for PostgresBudget {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self { pool_size: cores.saturating_mul(2).max(4), wait_timeout: Duration::from_secs(20) }
    }
}

/// What the runtime config says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// SQLite databases by label.
    pub sqlite_databases: BTreeMap<String, Location>,
    /// The Postgres connection budget.
    pub postgres: PostgresBudget,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawDatabase>,
    outbound_postgres: Option<RawPostgres>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostgres {
    pool_size: Option<usize>,
    wait_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    #[serde(rename = "type")]
    kind: String,
    path: Option<PathBuf>,
}

/// Why the runtime config cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeConfigError {
    /// Unreadable file.
    #[error("cannot read runtime config {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// Not TOML, or a key this host does not support (named in the message).
    #[error("runtime config: {0}")]
    Toml(String),
    /// A database type other than `spin`.
    #[error("runtime config: sqlite_database.{label}: type {kind:?} is not supported (only \"spin\")")]
    UnsupportedType {
        /// The label.
        label: String,
        /// The type given.
        kind: String,
    },
    /// `outbound_postgres.pool_size` of 0.
    #[error("runtime config: outbound_postgres.pool_size must be at least 1")]
    EmptyPool,
    /// A component names a database label that is neither `default` nor in the runtime config.
    #[error(
        "component.{component}.sqlite_databases: no database {label:?} is defined (the runtime config defines \
         databases other than \"default\")"
    )]
    UndefinedDatabase {
        /// The component.
        component: String,
        /// The label.
        label: String,
    },
}

impl RuntimeConfig {
    /// Reads the runtime config at `path`; relative database paths are resolved against `cwd`.
    pub fn load(path: &Path, cwd: &Path) -> Result<Self, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| RuntimeConfigError::Read {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        Self::parse(&text, cwd)
    }

    /// Parses runtime config text.
    pub fn parse(text: &str, cwd: &Path) -> Result<Self, RuntimeConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|error| RuntimeConfigError::Toml(error.to_string()))?;
        let sqlite_databases = raw
            .sqlite_database
            .into_iter()
            .map(|(label, database)| {
                if database.kind != "spin" {
                    return Err(RuntimeConfigError::UnsupportedType { label, kind: database.kind });
                }
                let location = match database.path {
                    Some(path) => Location::File(cwd.join(path)),
                    None => Location::Memory(memory_name(&label)),
                };
                Ok((label, location))
            })
            .collect::<Result<_, _>>()?;
        let mut postgres = PostgresBudget::default();
        if let Some(raw) = raw.outbound_postgres {
            if raw.pool_size == Some(0) {
                return Err(RuntimeConfigError::EmptyPool);
            }
            postgres.pool_size = raw.pool_size.unwrap_or(postgres.pool_size);
            postgres.wait_timeout = raw.wait_timeout_ms.map_or(postgres.wait_timeout, Duration::from_millis);
        }
        Ok(Self { sqlite_databases, postgres })
    }
}

impl RuntimeConfig {
    /// Where each database the components of `manifest` use lives: as the runtime config says, `default` beside the
    /// manifest otherwise. A label defined nowhere is an error naming the component.
    pub fn sqlite_locations(&self, manifest: &Manifest) -> Result<BTreeMap<String, Location>, RuntimeConfigError> {
        let mut locations = self.sqlite_databases.clone();
        locations.entry("default".to_owned()).or_insert_with(|| default_location(&manifest.dir));
        manifest
            .components
            .values()
            .flat_map(|component| component.sqlite_databases.iter().map(move |label| (label, &component.id)))
            .map(|(label, id)| match locations.get(label) {
                Some(location) => Ok((label.clone(), location.clone())),
                None => Err(RuntimeConfigError::UndefinedDatabase { component: id.clone(), label: label.clone() }),
            })
            .collect()
    }
}

/// The default database's file for an app whose manifest is in `dir`, as Spin places it.
pub fn default_location(dir: &Path) -> Location {
    Location::File(dir.join(".spin").join("sqlite_db.db"))
}

/// A name for an in-memory database no other database of this process has.
fn memory_name(label: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("mfa-host-{}-{n}-{label}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sqlite_databases() {
        let config = RuntimeConfig::parse(
            "[sqlite_database.default]\ntype = \"spin\"\npath = \"data/app.db\"\n\
             [sqlite_database.cache]\ntype = \"spin\"\n",
            Path::new("/work"),
        )
        .unwrap();
        assert_eq!(config.sqlite_databases["default"], Location::File("/work/data/app.db".into()));
        assert!(matches!(&config.sqlite_databases["cache"], Location::Memory(name) if name.ends_with("-cache")));
        assert_eq!(RuntimeConfig::parse("", Path::new("/")).unwrap(), RuntimeConfig::default());
    }

    #[test]
    fn reads_the_postgres_budget() {
        let config =
            RuntimeConfig::parse("[outbound_postgres]\npool_size = 3\nwait_timeout_ms = 1500\n", Path::new("/"))
                .unwrap();
        assert_eq!(config.postgres, PostgresBudget { pool_size: 3, wait_timeout: Duration::from_millis(1500) });
        let default = PostgresBudget::default();
        assert!(default.pool_size >= 4 && default.pool_size < 64, "{default:?}");
        let only_size = RuntimeConfig::parse("[outbound_postgres]\npool_size = 9\n", Path::new("/")).unwrap();
        assert_eq!(only_size.postgres.wait_timeout, default.wait_timeout);
        assert_eq!(
            RuntimeConfig::parse("[outbound_postgres]\npool_size = 0\n", Path::new("/")),
            Err(RuntimeConfigError::EmptyPool)
        );
        let error = RuntimeConfig::parse("[outbound_postgres]\nmax = 3\n", Path::new("/")).unwrap_err();
        assert!(error.to_string().contains("unknown field `max`"), "{error}");
    }

    #[test]
    fn anything_else_is_named() {
        let error = RuntimeConfig::parse("[key_value_store.default]\ntype = \"spin\"\n", Path::new("/")).unwrap_err();
        assert!(error.to_string().contains("unknown field `key_value_store`"), "{error}");
        let error = RuntimeConfig::parse("[sqlite_database.default]\ntype = \"spin\"\nurl = \"x\"\n", Path::new("/"))
            .unwrap_err();
        assert!(error.to_string().contains("unknown field `url`"), "{error}");
        assert_eq!(
            RuntimeConfig::parse("[sqlite_database.remote]\ntype = \"libsql\"\n", Path::new("/")),
            Err(RuntimeConfigError::UnsupportedType { label: "remote".into(), kind: "libsql".into() })
        );
        assert!(matches!(
            RuntimeConfig::load(Path::new("/nonexistent.toml"), Path::new("/")),
            Err(RuntimeConfigError::Read { .. })
        ));
    }

    #[test]
    fn default_lives_beside_the_manifest_and_other_labels_must_be_defined() {
        let text = "spin_manifest_version = 2\n[application]\nname = \"t\"\n\
                    [component.a]\nsource = \"a.wasm\"\nsqlite_databases = [\"default\", \"cache\"]\n";
        let manifest = Manifest::parse(text, "/app".into()).unwrap();
        assert_eq!(
            RuntimeConfig::default().sqlite_locations(&manifest),
            Err(RuntimeConfigError::UndefinedDatabase { component: "a".into(), label: "cache".into() })
        );
        let config =
            RuntimeConfig::parse("[sqlite_database.cache]\ntype = \"spin\"\npath = \"c.db\"\n", Path::new("/w"))
                .unwrap();
        let locations = config.sqlite_locations(&manifest).unwrap();
        assert_eq!(locations["default"], Location::File("/app/.spin/sqlite_db.db".into()));
        assert_eq!(locations["cache"], Location::File("/w/c.db".into()));
    }
}
