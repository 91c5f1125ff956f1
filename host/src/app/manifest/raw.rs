//! `spin.toml` as serde reads it (every table `deny_unknown_fields`, so an unsupported key is an error naming it),
//! and its checks into the [`super::model`] types, as Spin checks a manifest at load time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::error::ManifestError;
use super::model::{Application, Build, Component, Dependency, DependencySource, HttpTrigger, Manifest};
use crate::app::routes::Route;
use crate::app::variables::Declaration;
use crate::app::variables::name::validate_name;
use crate::app::variables::template::{Template, TemplateError};

/// Parses and checks manifest text; `dir` is the directory relative paths start from.
pub(super) fn parse(text: &str, dir: PathBuf) -> Result<Manifest, ManifestError> {
    let raw: RawManifest = toml::from_str(text).map_err(|error| ManifestError::Toml(error.to_string()))?;
    if raw.spin_manifest_version != 2 {
        return Err(ManifestError::UnsupportedVersion);
    }
    let variables = raw
        .variables
        .into_iter()
        .map(|(name, raw)| {
            validate_name(&name).map_err(|error| ManifestError::InvalidVariableName { name: name.clone(), error })?;
            let declaration = raw.into_declaration().ok_or_else(|| ManifestError::RequiredOrDefault(name.clone()))?;
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
    Ok(Manifest { dir, application: raw.application, variables, http_triggers, components })
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
pub(super) fn is_component_id(id: &str) -> bool {
    id.split('-').all(|word| {
        word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && word.chars().all(|c| c.is_ascii_alphanumeric())
            && (word.chars().all(|c| !c.is_ascii_uppercase()) || word.chars().all(|c| !c.is_ascii_lowercase()))
    })
}

/// A database label: lower-case letters, digits, `-` and `_`, starting with a letter.
pub(super) fn is_database_label(label: &str) -> bool {
    label.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
