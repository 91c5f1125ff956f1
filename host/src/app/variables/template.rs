//! `{{ name }}` templates, as Spin reads them in `[component.X.variables]` values and `allowed_outbound_hosts`
//! entries: literal text with expressions naming application variables. Whitespace inside the braces is ignored;
//! there are no filters or functions; an unclosed `{{` is an error.

use super::name::{NameError, validate_name};

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    /// Text copied as is.
    Literal(String),
    /// The value of the application variable with this name.
    Variable(String),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template cannot be read or rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{` without its `}}`.
    #[error("template {0:?} has an unclosed `{{{{`")]
    Unclosed(String),
    /// An expression that is not a valid variable name.
    #[error("template {template:?}: {error}")]
    InvalidName {
        /// The whole template.
        template: String,
        /// What is wrong with the name.
        error: NameError,
    },
    /// An expression naming a variable that does not exist.
    #[error("unknown variable {0:?}")]
    UnknownVariable(String),
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let (literal, after_open) = rest.split_at(start);
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_owned()));
            }
            let inner = after_open.get(2..).unwrap_or_default();
            let end = inner.find("}}").ok_or_else(|| TemplateError::Unclosed(text.to_owned()))?;
            let (name, after_close) = inner.split_at(end);
            let name = name.trim();
            validate_name(name).map_err(|error| TemplateError::InvalidName { template: text.to_owned(), error })?;
            parts.push(Part::Variable(name.to_owned()));
            rest = after_close.get(2..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// The variable names the template uses, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The text with every expression replaced by `lookup(name)`.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, TemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => {
                    out.push_str(&lookup(name).ok_or_else(|| TemplateError::UnknownVariable(name.clone()))?)
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "redis_host" => Some("127.0.0.1".into()),
            "redis_port" => Some("6379".into()),
            _ => None,
        }
    }

    #[test]
    fn renders_literals_and_variables() {
        let template = Template::parse("redis://{{ redis_host }}:{{redis_port}}").unwrap();
        assert_eq!(template.variables().collect::<Vec<_>>(), ["redis_host", "redis_port"]);
        assert_eq!(template.render(lookup).unwrap(), "redis://127.0.0.1:6379");
        assert_eq!(Template::parse("plain").unwrap().render(lookup).unwrap(), "plain");
        assert_eq!(Template::parse("").unwrap().render(lookup).unwrap(), "");
        assert_eq!(Template::parse("a }} b").unwrap().render(lookup).unwrap(), "a }} b");
    }

    #[test]
    fn bad_templates_are_errors() {
        assert_eq!(Template::parse("x{{ redis_host"), Err(TemplateError::Unclosed("x{{ redis_host".into())));
        assert!(matches!(Template::parse("{{ Redis }}"), Err(TemplateError::InvalidName { .. })));
        assert!(matches!(Template::parse("{{ }}"), Err(TemplateError::InvalidName { .. })));
        let unknown = Template::parse("{{ nope }}").unwrap();
        assert_eq!(unknown.render(lookup), Err(TemplateError::UnknownVariable("nope".into())));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
            if let Ok(template) = Template::parse(&text) {
                let _ = template.render(|_| Some(String::new()));
            }
        }
    }
}
