//! Application variables, resolved as Spin's default provider does, and what each component may read.
//!
//! An application variable (`[variables]`) takes its value from the environment variable
//! `SPIN_VARIABLE_<NAME>` (the name upper-cased; an empty value counts), else from its `default`. A `required`
//! variable with neither is a startup error naming it. A component sees only the keys of its
//! `[component.X.variables]`, whose values are templates over application variables. Unlike Spin, a `.env` file
//! is not read: set real environment variables. Variable names follow Spin's rules ([`name`]); `{{ name }}`
//! templates over application variables are in [`template`].

use std::collections::BTreeMap;
use std::fmt;

pub mod name;
pub mod template;

use name::validate_name;
use template::{Template, TemplateError};

/// The environment variable prefix Spin's default provider reads.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// The environment variable that sets application variable `name`.
pub fn env_name(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

/// An application variable's declaration, as the manifest gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The value when the environment gives none (a required variable has none).
    pub default: Option<String>,
    /// Whether its value is a secret (never logged).
    pub secret: bool,
}

/// Why the application's variables cannot be resolved at startup.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Required variables with no value.
    #[error("no value for required variable(s) {}: set {}", .0.join(", "), .0.iter().map(|n| env_name(n)).collect::<Vec<_>>().join(", "))]
    MissingRequired(Vec<String>),
    /// A component variable's template is unusable.
    #[error("component {component:?} variable {name:?}: {error}")]
    ComponentTemplate {
        /// The component id.
        component: String,
        /// The component variable.
        name: String,
        /// What is wrong.
        error: TemplateError,
    },
}

/// The resolved values of every application variable. Debug output shows names only.
#[derive(Clone, PartialEq, Eq)]
pub struct AppVariables {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for AppVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl AppVariables {
    /// Resolves every declared variable: `env(SPIN_VARIABLE_<NAME>)`, else its default; fails naming every required
    /// variable left without a value.
    pub fn resolve(
        declarations: &BTreeMap<String, Declaration>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ResolveError> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, declaration) in declarations {
            match env(&env_name(name)).or_else(|| declaration.default.clone()) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None => missing.push(name.clone()),
            }
        }
        if missing.is_empty() { Ok(Self { values }) } else { Err(ResolveError::MissingRequired(missing)) }
    }

    /// The value of application variable `name`, if declared.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Renders a template over these variables.
    pub fn render(&self, template: &Template) -> Result<String, TemplateError> {
        template.render(|name| self.get(name).map(str::to_owned))
    }

    /// The variables component `component` sees: each of its `[component.X.variables]` templates rendered.
    pub fn for_component(
        &self,
        component: &str,
        templates: &BTreeMap<String, Template>,
    ) -> Result<ComponentVariables, ResolveError> {
        let values = templates
            .iter()
            .map(|(name, template)| {
                self.render(template).map(|value| (name.clone(), value)).map_err(|error| {
                    ResolveError::ComponentTemplate { component: component.to_owned(), name: name.clone(), error }
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(ComponentVariables { component: component.to_owned(), values })
    }
}

/// Why a component's `fermyon:spin/variables.get` fails; the cases and messages of Spin's `error` variant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    /// Not a valid variable name.
    #[error("{0}")]
    InvalidName(String),
    /// Not one of the component's variables.
    #[error("{0}")]
    Undefined(String),
}

/// The variables one component may read. Debug output shows names only.
#[derive(Clone, PartialEq, Eq)]
pub struct ComponentVariables {
    component: String,
    values: BTreeMap<String, String>,
}

impl fmt::Debug for ComponentVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentVariables")
            .field("component", &self.component)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ComponentVariables {
    /// `fermyon:spin/variables.get(name)`.
    pub fn get(&self, name: &str) -> Result<String, GetError> {
        validate_name(name).map_err(|error| GetError::InvalidName(error.to_string()))?;
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| GetError::Undefined(format!("no variable for {:?}.{name:?}", self.component)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declarations() -> BTreeMap<String, Declaration> {
        BTreeMap::from([
            ("api_key".to_owned(), Declaration { default: None, secret: true }),
            ("redis_host".to_owned(), Declaration { default: Some("127.0.0.1".into()), secret: false }),
            ("storage".to_owned(), Declaration { default: Some("sqlite".into()), secret: false }),
        ])
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn environment_names_are_upper_case() {
        assert_eq!(env_name("redis_host"), "SPIN_VARIABLE_REDIS_HOST");
    }

    #[test]
    fn environment_wins_over_defaults_and_required_ones_must_be_set() {
        let missing = AppVariables::resolve(&declarations(), env(&[]));
        assert_eq!(missing, Err(ResolveError::MissingRequired(vec!["api_key".into()])));
        assert_eq!(
            missing.unwrap_err().to_string(),
            "no value for required variable(s) api_key: set SPIN_VARIABLE_API_KEY"
        );

        let vars = AppVariables::resolve(
            &declarations(),
            env(&[("SPIN_VARIABLE_API_KEY", "k"), ("SPIN_VARIABLE_REDIS_HOST", ""), ("api_key", "wrong")]),
        )
        .unwrap();
        assert_eq!(vars.get("api_key"), Some("k"));
        assert_eq!(vars.get("redis_host"), Some(""), "an empty value is a value");
        assert_eq!(vars.get("storage"), Some("sqlite"));
        assert_eq!(vars.get("nope"), None);
        assert_eq!(format!("{vars:?}"), "{\"api_key\", \"redis_host\", \"storage\"}", "no values in Debug");
    }

    #[test]
    fn components_see_only_their_own_rendered_variables() {
        let vars = AppVariables::resolve(&declarations(), env(&[("SPIN_VARIABLE_API_KEY", "secret-1")])).unwrap();
        let templates = BTreeMap::from([
            ("api_key".to_owned(), Template::parse("{{ api_key }}").unwrap()),
            ("redis_url".to_owned(), Template::parse("redis://{{ redis_host }}:6379").unwrap()),
        ]);
        let api = vars.for_component("api", &templates).unwrap();
        assert_eq!(api.get("api_key"), Ok("secret-1".into()));
        assert_eq!(api.get("redis_url"), Ok("redis://127.0.0.1:6379".into()));
        assert_eq!(api.get("storage"), Err(GetError::Undefined("no variable for \"api\".\"storage\"".into())));
        assert!(matches!(api.get("API_KEY"), Err(GetError::InvalidName(_))));
        assert!(!format!("{api:?}").contains("secret-1"));

        let bad = BTreeMap::from([("x".to_owned(), Template::parse("{{ nope }}").unwrap())]);
        assert_eq!(
            vars.for_component("api", &bad),
            Err(ResolveError::ComponentTemplate {
                component: "api".into(),
                name: "x".into(),
                error: TemplateError::UnknownVariable("nope".into()),
            })
        );
    }
}
