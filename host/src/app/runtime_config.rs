//! The runtime config file (`mfa-host up --runtime-config-file F`), as far as this host supports Spin's: only
//! `[sqlite_database.<label>]` tables with `type = "spin"` and an optional `path` (relative to the current
//! directory, as Spin resolves it; no path means an in-memory database). Any other key is an error naming it.
//! The `default` database lives at `.spin/sqlite_db.db` beside `spin.toml` unless the runtime config says otherwise
//! ([`RuntimeConfig::sqlite_locations`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// What the runtime config says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// SQLite databases by label.
    pub sqlite_databases: BTreeMap<String, Location>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawDatabase>,
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
        Ok(Self { sqlite_databases })
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
