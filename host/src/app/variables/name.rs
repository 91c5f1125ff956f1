//! Variable names, as Spin checks them: lower-case letters, digits and `_`, starting with a letter, ending with a
//! letter or digit, no `__`. Application variables, component variables and template expressions all follow them.

/// Why a text is not a variable name (lower-case letters, digits and `_`, starting with a letter, ending with a
/// letter or digit, no `__`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The empty string.
    #[error("variable names must not be empty")]
    Empty,
    /// A character outside `a-z`, `0-9` and `_`.
    #[error(
        "{name:?}: invalid character {character:?}. Variable names may contain only lower-case letters, numbers, \
         and underscores."
    )]
    InvalidCharacter {
        /// The name.
        name: String,
        /// The first bad character.
        character: char,
    },
    /// Not starting with a letter.
    #[error("{0:?}: variable names must start with a letter")]
    BadStart(String),
    /// Ending with `_`.
    #[error("{0:?}: variable names must end with a letter or number")]
    BadEnd(String),
    /// Containing `__`.
    #[error("{0:?}: variable names must not contain consecutive underscores")]
    DoubleUnderscore(String),
}

/// Checks a variable name as Spin does.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let first = name.chars().next().ok_or(NameError::Empty)?;
    if let Some(character) = name.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_')) {
        return Err(NameError::InvalidCharacter { name: name.to_owned(), character });
    }
    if !first.is_ascii_lowercase() {
        return Err(NameError::BadStart(name.to_owned()));
    }
    if name.ends_with('_') {
        return Err(NameError::BadEnd(name.to_owned()));
    }
    if name.contains("__") {
        return Err(NameError::DoubleUnderscore(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_spins_rules() {
        for good in ["a", "api_key", "redis2", "a_b_c"] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(
            validate_name("API_KEY").unwrap_err().to_string(),
            "\"API_KEY\": invalid character 'A'. Variable names may contain only lower-case letters, numbers, and \
             underscores."
        );
        assert_eq!(
            validate_name("api-key"),
            Err(NameError::InvalidCharacter { name: "api-key".into(), character: '-' })
        );
        assert_eq!(validate_name("1abc"), Err(NameError::BadStart("1abc".into())));
        assert_eq!(validate_name("_abc"), Err(NameError::BadStart("_abc".into())));
        assert_eq!(validate_name("abc_"), Err(NameError::BadEnd("abc_".into())));
        assert_eq!(validate_name("a__b"), Err(NameError::DoubleUnderscore("a__b".into())));
    }
}
