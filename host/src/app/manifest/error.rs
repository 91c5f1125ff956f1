//! Why a manifest cannot be used; every message names the key or value at fault.

use crate::app::routes::RouteError;
use crate::app::variables::name::NameError;
use crate::app::variables::template::TemplateError;

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
