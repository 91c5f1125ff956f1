//! Why a storage operation failed.

use super::sql::DbError;

/// Why an operation on the stores failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(String),
    /// The session ended (logout, revocation, another rotation) while this request was using it.
    #[error("the session has ended")]
    Ended,
    /// Counters kept changing under this request: too many parallel writers.
    #[error("the counters are too contended to update")]
    Contended,
}

impl StoreError {
    /// Whether it means that the account was erased while the request ran (a write found no user).
    pub fn account_gone(&self) -> bool {
        matches!(self, Self::Db(DbError::Gone))
    }
}
