//! `spin.toml` (manifest version 2), read with serde and checked as Spin checks it at load time.
//!
//! Only what this project's app uses is supported; every other key is a startup error that names it (serde's
//! `deny_unknown_fields` on every table), never silently ignored. Supported: `[application]` (`name`, `version`,
//! `description`, `authors`), `[variables.X]` (`description`, `required`, `default`, `secret`),
//! `[[trigger.http]]` (`route` as a pattern or `{ private = true }`, `component`, `id`), and `[component.X]`
//! (`source` as a local path, `description`, `allowed_outbound_hosts`, `sqlite_databases`, `variables`,
//! `build`, `dependencies` as `{ path }` or `{ component }` with optional `export` and `inherit_configuration`,
//! `dependencies_inherit_configuration`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::routes::{Route, RouteError};
use crate::template::{Template, TemplateError};
use crate::variables::{Declaration, NameError, validate_name};

/// A checked manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The directory holding `spin.toml`: component sources and build directories are relative to it.
    pub dir: PathBuf,
    /// `[application]`.
    pub application: Application,
    /// `[variables]`, by name.
    pub variables: BTreeMap<String, Declaration>,
    /// `[[trigger.http]]`, in manifest order.
    pub http_triggers: Vec<HttpTrigger>,
    /// `[component.X]`, by id.
    pub components: BTreeMap<String, Component>,
}

/// `[application]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The app's name.
    pub name: String,
    /// Its version.
    pub version: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// Its authors.
    #[serde(default)]
    pub authors: Vec<String>,
}

/// One `[[trigger.http]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTrigger {
    /// The route, or none for a private component (reachable only from other components).
    pub route: Option<Route>,
    /// The component it runs.
    pub component: String,
    /// Its optional id.
    pub id: Option<String>,
}

/// One `[component.X]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// Its id.
    pub id: String,
    /// The `.wasm` file, relative to the manifest directory.
    pub source: PathBuf,
    /// A description.
    pub description: Option<String>,
    /// `allowed_outbound_hosts`, as templates over application variables.
    pub allowed_outbound_hosts: Vec<Template>,
    /// The SQLite database labels it may open.
    pub sqlite_databases: Vec<String>,
    /// Its variables, as templates over application variables.
    pub variables: BTreeMap<String, Template>,
    /// How `mfa-host build` builds it.
    pub build: Option<Build>,
    /// Its dependencies, by import name.
    pub dependencies: BTreeMap<String, Dependency>,
    /// Whether every dependency inherits this component's configuration (capabilities).
    pub dependencies_inherit_configuration: bool,
}

/// `[component.X.build]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    /// Shell commands, run in order.
    pub commands: Vec<String>,
    /// The directory to run them in, relative to the manifest directory.
    pub workdir: Option<String>,
    /// Files that trigger a rebuild (kept for Spin compatibility; `mfa-host` does not watch).
    pub watch: Vec<String>,
}

/// One `[component.X.dependencies]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// Where the dependency comes from.
    pub source: DependencySource,
    /// The export of the dependency that satisfies the import (default: the export with the import's name).
    pub export: Option<String>,
    /// Whether this dependency inherits the component's configuration.
    pub inherit_configuration: bool,
}

/// Where a dependency comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DependencySource {
    /// A `.wasm` file, relative to the manifest directory.
    Path(PathBuf),
    /// Another component of this app, by id.
    Component(String),
}

/// Why a manifest cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// Not TOML, a wrong type, or an unsupported key (the message names it).
    #[error("{0}")]
    Toml(String),
    /// `spin_manifest_version` is not 2.
    #[error("spin_manifest_version must be 2")]
    UnsupportedVersion,
    /// A key Spin accepts but this host does not support.
    #[error("{key}: {reason}")]
    Unsupported {
        /// The key, dotted from the top.
        key: String,
        /// Why, and what to write instead.
        reason: String,
    },
    /// An invalid component id.
    #[error("component id {0:?} is not kebab-case (words of letters and digits, each starting with a letter)")]
    InvalidComponentId(String),
    /// An invalid variable name.
    #[error("variables.{name}: {error}")]
    InvalidVariableName {
        /// The name as written.
        name: String,
        /// What is wrong.
        error: NameError,
    },
    /// A variable that is neither required nor has a default, or both.
    #[error("variables.{0}: a variable must be `required` OR have a `default`")]
    RequiredOrDefault(String),
    /// A route pattern Spin would refuse.
    #[error("trigger.http route {route:?}: {error}")]
    Route {
        /// The route as written.
        route: String,
        /// What is wrong.
        error: RouteError,
    },
    /// `route = { private = false }`.
    #[error("route must be a string pattern or '{{ private = true }}': {0:?} has {{ private = false }}")]
    PrivateFalse(String),
    /// A trigger naming no component of the app.
    #[error("trigger.http route {route:?} names component {component:?}, which is not defined")]
    UnknownComponent {
        /// The trigger's route.
        route: String,
        /// The missing component.
        component: String,
    },
    /// A template that cannot be used.
    #[error("{key}: {error}")]
    Template {
        /// Where it is.
        key: String,
        /// What is wrong.
        error: TemplateError,
    },
    /// A dependency that cannot be used.
    #[error("component.{component}.dependencies.{name}: {reason}")]
    Dependency {
        /// The component.
        component: String,
        /// The dependency name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An invalid SQLite database label.
    #[error("component.{component}.sqlite_databases: {label:?} is not a valid label")]
    InvalidDatabaseLabel {
        /// The component.
        component: String,
        /// The label.
        label: String,
    },
}

impl Manifest {
    /// Reads and checks the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ManifestError::Read { path: path.display().to_string(), message: error.to_string() })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, dir)
    }

    /// Parses and checks manifest text; `dir` is the directory relative paths start from.
    pub fn parse(text: &str, dir: PathBuf) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|error| ManifestError::Toml(error.to_string()))?;
        if raw.spin_manifest_version != 2 {
            return Err(ManifestError::UnsupportedVersion);
        }
        let variables = raw
            .variables
            .into_iter()
            .map(|(name, raw)| {
                validate_name(&name)
                    .map_err(|error| ManifestError::InvalidVariableName { name: name.clone(), error })?;
                let declaration =
                    raw.into_declaration().ok_or_else(|| ManifestError::RequiredOrDefault(name.clone()))?;
                Ok((name, declaration))
            })
            .collect::<Result<BTreeMap<_, _>, ManifestError>>()?;
        let components = raw
            .component
            .into_iter()
            .map(|(id, raw)| {
                let component = raw.check(&id, &variables)?;
                Ok((id, component))
            })
            .collect::<Result<BTreeMap<_, _>, ManifestError>>()?;
        let http_triggers =
            raw.trigger.http.into_iter().map(|trigger| trigger.check(&components)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { dir, application: raw.application, variables, http_triggers, components })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: i64,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    required: bool,
    default: Option<String>,
    #[serde(default)]
    secret: bool,
}

impl RawVariable {
    /// The declaration, if exactly one of `required` and `default` is given.
    fn into_declaration(self) -> Option<Declaration> {
        match (self.required, self.default) {
            (true, None) => Some(Declaration { default: None, secret: self.secret }),
            (false, Some(default)) => Some(Declaration { default: Some(default), secret: self.secret }),
            _ => None,
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    route: toml::Value,
    component: String,
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateRoute {
    private: bool,
}

impl RawHttpTrigger {
    fn check(self, components: &BTreeMap<String, Component>) -> Result<HttpTrigger, ManifestError> {
        let (route, shown) = match self.route {
            toml::Value::String(pattern) => {
                let route =
                    Route::parse(&pattern).map_err(|error| ManifestError::Route { route: pattern.clone(), error })?;
                (Some(route), pattern)
            }
            other => {
                let private = PrivateRoute::deserialize(other).map_err(|error| {
                    ManifestError::Toml(format!("trigger.http route must be a string or {{ private = true }}: {error}"))
                })?;
                if !private.private {
                    return Err(ManifestError::PrivateFalse(self.component));
                }
                (None, "{ private = true }".to_owned())
            }
        };
        if !components.contains_key(&self.component) {
            return Err(ManifestError::UnknownComponent { route: shown, component: self.component });
        }
        Ok(HttpTrigger { route, component: self.component, id: self.id })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    source: toml::Value,
    description: Option<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    build: Option<RawBuild>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies_inherit_configuration: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    command: RawCommands,
    workdir: Option<String>,
    #[serde(default)]
    watch: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCommands {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDependency {
    path: Option<String>,
    component: Option<String>,
    export: Option<String>,
    #[serde(default)]
    inherit_configuration: bool,
}

impl RawComponent {
    fn check(self, id: &str, variables: &BTreeMap<String, Declaration>) -> Result<Component, ManifestError> {
        if !is_component_id(id) {
            return Err(ManifestError::InvalidComponentId(id.to_owned()));
        }
        let source = match self.source {
            toml::Value::String(path) => PathBuf::from(path),
            _ => {
                return Err(ManifestError::Unsupported {
                    key: format!("component.{id}.source"),
                    reason: "only a local path (source = \"file.wasm\") is supported; build or download it first"
                        .into(),
                });
            }
        };
        // Templates may only name application variables, as in Spin.
        let template = |key: String, text: &str| -> Result<Template, ManifestError> {
            let template =
                Template::parse(text).map_err(|error| ManifestError::Template { key: key.clone(), error })?;
            if let Some(unknown) = template.variables().find(|name| !variables.contains_key(*name)) {
                return Err(ManifestError::Template { key, error: TemplateError::UnknownVariable(unknown.to_owned()) });
            }
            Ok(template)
        };
        let allowed_outbound_hosts = self
            .allowed_outbound_hosts
            .iter()
            .map(|entry| template(format!("component.{id}.allowed_outbound_hosts"), entry))
            .collect::<Result<_, _>>()?;
        let component_variables = self
            .variables
            .iter()
            .map(|(name, value)| {
                validate_name(name).map_err(|error| ManifestError::InvalidVariableName {
                    name: format!("component.{id}.variables.{name}"),
                    error,
                })?;
                Ok((name.clone(), template(format!("component.{id}.variables.{name}"), value)?))
            })
            .collect::<Result<_, ManifestError>>()?;
        if let Some(label) = self.sqlite_databases.iter().find(|label| !is_database_label(label)) {
            return Err(ManifestError::InvalidDatabaseLabel { component: id.to_owned(), label: label.clone() });
        }
        let dependencies = self
            .dependencies
            .into_iter()
            .map(|(name, value)| Ok((name.clone(), check_dependency(id, &name, value)?)))
            .collect::<Result<_, ManifestError>>()?;
        let build = self.build.map(|build| Build {
            commands: match build.command {
                RawCommands::One(command) => vec![command],
                RawCommands::Many(commands) => commands,
            },
            workdir: build.workdir,
            watch: build.watch,
        });
        Ok(Component {
            id: id.to_owned(),
            source,
            description: self.description,
            allowed_outbound_hosts,
            sqlite_databases: self.sqlite_databases,
            variables: component_variables,
            build,
            dependencies,
            dependencies_inherit_configuration: self.dependencies_inherit_configuration,
        })
    }
}

fn check_dependency(component: &str, name: &str, value: toml::Value) -> Result<Dependency, ManifestError> {
    let error =
        |reason: String| ManifestError::Dependency { component: component.to_owned(), name: name.to_owned(), reason };
    let raw = match value {
        toml::Value::String(_) => {
            return Err(error(
                "registry dependencies are not supported by mfa-host; use { path = \"file.wasm\" }".into(),
            ));
        }
        table => RawDependency::deserialize(table).map_err(|e| {
            error(format!("{e} (mfa-host supports {{ path = \"...\" }} and {{ component = \"...\" }})"))
        })?,
    };
    let source = match (raw.path, raw.component) {
        (Some(path), None) => DependencySource::Path(PathBuf::from(path)),
        (None, Some(component)) => DependencySource::Component(component),
        _ => return Err(error("give exactly one of `path` and `component`".into())),
    };
    Ok(Dependency { source, export: raw.export, inherit_configuration: raw.inherit_configuration })
}

/// Kebab-case: words of ASCII letters and digits separated by single `-`, each starting with a letter and either
/// all lower-case or all upper-case.
fn is_component_id(id: &str) -> bool {
    id.split('-').all(|word| {
        word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && word.chars().all(|c| c.is_ascii_alphanumeric())
            && (word.chars().all(|c| !c.is_ascii_uppercase()) || word.chars().all(|c| !c.is_ascii_lowercase()))
    })
}

/// A database label: lower-case letters, digits, `-` and `_`, starting with a letter.
fn is_database_label(label: &str) -> bool {
    label.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
spin_manifest_version = 2

[application]
name = "mfa"
version = "0.1.0"
authors = ["A <a@example.com>"]

[variables]
api_key = { required = true, secret = true }
redis_host = { default = "127.0.0.1" }

[[trigger.http]]
route = "/..."
component = "api"

[[trigger.http]]
route = { private = true }
component = "worker"

[component.api]
source = "target/wasm32-wasip2/release/api.wasm"
allowed_outbound_hosts = ["redis://{{ redis_host }}:6379"]
sqlite_databases = ["default"]
variables = { api_key = "{{ api_key }}" }
dependencies_inherit_configuration = false
[component.api.build]
command = "cargo build --target wasm32-wasip2 --release"
watch = ["src/**/*.rs"]
[component.api.dependencies]
"mfa:core/otp" = { path = "target/wasm32-wasip2/release/mfa_core.wasm" }
"mfa:session/tokens" = { component = "worker", export = "mfa:session/tokens@0.1.0", inherit_configuration = true }

[component.worker]
source = "worker.wasm"
"#;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, PathBuf::from("/app"))
    }

    #[test]
    fn reads_everything_the_app_uses() {
        let manifest = parse(GOOD).unwrap();
        assert_eq!(manifest.application.name, "mfa");
        assert_eq!(manifest.variables["api_key"], Declaration { default: None, secret: true });
        assert_eq!(manifest.variables["redis_host"].default.as_deref(), Some("127.0.0.1"));
        assert_eq!(manifest.http_triggers.len(), 2);
        assert_eq!(manifest.http_triggers[0].component, "api");
        assert!(manifest.http_triggers[0].route.is_some());
        assert_eq!(manifest.http_triggers[1].route, None);
        let api = &manifest.components["api"];
        assert_eq!(api.source, PathBuf::from("target/wasm32-wasip2/release/api.wasm"));
        assert_eq!(api.sqlite_databases, ["default"]);
        assert_eq!(api.variables["api_key"].variables().collect::<Vec<_>>(), ["api_key"]);
        assert_eq!(api.build.as_ref().unwrap().commands, ["cargo build --target wasm32-wasip2 --release"]);
        assert_eq!(
            api.dependencies["mfa:core/otp"],
            Dependency {
                source: DependencySource::Path("target/wasm32-wasip2/release/mfa_core.wasm".into()),
                export: None,
                inherit_configuration: false,
            }
        );
        assert!(api.dependencies["mfa:session/tokens"].inherit_configuration);
    }

    #[test]
    fn unsupported_keys_are_named() {
        for (from, to, key) in [
            ("name = \"mfa\"", "name = \"mfa\"\ncolour = \"red\"", "colour"),
            (
                "source = \"worker.wasm\"",
                "source = \"worker.wasm\"\nkey_value_stores = [\"default\"]",
                "key_value_stores",
            ),
            ("source = \"worker.wasm\"", "source = \"worker.wasm\"\nfiles = [\"a\"]", "files"),
            ("component = \"api\"", "component = \"api\"\nexecutor = { type = \"wagi\" }", "executor"),
            ("[variables]", "[variables]\nx = { default = \"1\", sensitive = true }", "sensitive"),
            ("watch = [\"src/**/*.rs\"]", "watch = [\"src/**/*.rs\"]\nenvironment = 1", "environment"),
            (
                "[[trigger.http]]\nroute = \"/...\"",
                "[[trigger.redis]]\nchannel = \"x\"\n\n[[trigger.http]]\nroute = \"/...\"",
                "redis",
            ),
        ] {
            let text = GOOD.replacen(from, to, 1);
            assert_ne!(text, GOOD, "{from}");
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains(&format!("unknown field `{key}`")), "{key}: {error}");
        }
    }

    #[test]
    fn semantic_errors_are_specific() {
        let cases: Vec<(String, ManifestError)> = vec![
            (GOOD.replace("spin_manifest_version = 2", "spin_manifest_version = 1"), ManifestError::UnsupportedVersion),
            (
                GOOD.replace("api_key = { required = true, secret = true }", "api_key = { secret = true }"),
                ManifestError::RequiredOrDefault("api_key".into()),
            ),
            (
                GOOD.replace(
                    "redis_host = { default = \"127.0.0.1\" }",
                    "redis_host = { default = \"x\", required = true }",
                ),
                ManifestError::RequiredOrDefault("redis_host".into()),
            ),
            (
                GOOD.replace("[component.worker]", "[component.Bad_Id]").replace("\"worker\"", "\"Bad_Id\""),
                ManifestError::InvalidComponentId("Bad_Id".into()),
            ),
            (
                GOOD.replace("component = \"worker\"", "component = \"missing\""),
                ManifestError::UnknownComponent { route: "{ private = true }".into(), component: "missing".into() },
            ),
            (GOOD.replace("{ private = true }", "{ private = false }"), ManifestError::PrivateFalse("worker".into())),
            (
                GOOD.replace("{{ redis_host }}:6379", "{{ nope }}:6379"),
                ManifestError::Template {
                    key: "component.api.allowed_outbound_hosts".into(),
                    error: TemplateError::UnknownVariable("nope".into()),
                },
            ),
            (
                GOOD.replace("sqlite_databases = [\"default\"]", "sqlite_databases = [\"Default\"]"),
                ManifestError::InvalidDatabaseLabel { component: "api".into(), label: "Default".into() },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(&text), Err(expected));
        }
        assert!(matches!(
            parse(&GOOD.replace("source = \"worker.wasm\"", "source = { url = \"https://x\", digest = \"sha256:0\" }")),
            Err(ManifestError::Unsupported { key, .. }) if key == "component.worker.source"
        ));
        assert!(matches!(
            parse(&GOOD.replace("{ path = \"target/wasm32-wasip2/release/mfa_core.wasm\" }", "\">= 0.1\"")),
            Err(ManifestError::Dependency { name, .. }) if name == "mfa:core/otp"
        ));
        assert!(matches!(
            parse(&GOOD.replace(
                "{ path = \"target/wasm32-wasip2/release/mfa_core.wasm\" }",
                "{ path = \"a\", component = \"worker\" }"
            )),
            Err(ManifestError::Dependency { .. })
        ));
        assert!(matches!(parse("not toml ["), Err(ManifestError::Toml(_))));
        assert!(matches!(
            parse(&GOOD.replace("route = \"/...\"", "route = \"/a/.../b\"")),
            Err(ManifestError::Route { .. })
        ));
    }

    #[test]
    fn missing_file_is_a_read_error() {
        assert!(matches!(Manifest::load(Path::new("/nonexistent/spin.toml")), Err(ManifestError::Read { .. })));
    }

    #[test]
    fn component_ids_and_labels() {
        for good in ["api", "mfa-core", "API", "a1-B2"] {
            assert!(is_component_id(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "1a", "aB", "a_b", "a.b"] {
            assert!(!is_component_id(bad), "{bad}");
        }
        assert!(is_database_label("default") && is_database_label("my_db-2"));
        assert!(!is_database_label("") && !is_database_label("2db") && !is_database_label("My"));
    }
}
