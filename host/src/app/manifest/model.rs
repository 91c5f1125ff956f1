//! What a checked manifest holds: the app, its HTTP triggers and its components, as [`super::Manifest::load`] gives
//! them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::app::routes::Route;
use crate::app::variables::Declaration;
use crate::app::variables::template::Template;

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
