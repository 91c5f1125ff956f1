//! Reading one variable: the lookup every reader goes through, and why a value cannot be used.

/// Reads variable `name` (Spin's variables in the app; a map in tests).
pub type Lookup<'a> = &'a dyn Fn(&'static str) -> Option<String>;

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
