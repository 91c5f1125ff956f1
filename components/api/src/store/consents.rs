//! Consents as stored (`consents`): to what kind of second factor, the version and SHA-256 of the text agreed to,
//! when and from where, and when withdrawn.

use super::sql::{Db, DbError, FromRow, SqlValue, texts};
use crate::model::FactorKind;

/// One consent given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Its id.
    pub id: String,
    /// The kind of factor it is for.
    pub kind: FactorKind,
    /// The version of the text agreed to.
    pub version: String,
    /// The SHA-256 of that text, hex.
    pub text_sha256: String,
    /// When it was given.
    pub given_at: i64,
    /// The address it was given from.
    pub ip: String,
    /// The user agent it was given with.
    pub user_agent: String,
    /// When it was withdrawn, if it was.
    pub withdrawn_at: Option<i64>,
}

impl FromRow for Consent {
    fn from_row(row: &[SqlValue]) -> Option<Self> {
        let (id, kind, version, text_sha256, given_at, ip, user_agent, withdrawn_at): (
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            Option<i64>,
        ) = FromRow::from_row(row)?;
        Some(Self { id, kind: FactorKind::parse(&kind)?, version, text_sha256, given_at, ip, user_agent, withdrawn_at })
    }
}

const COLUMNS: &str = "SELECT id, purpose, version, text_sha256, given_at, ip, user_agent, withdrawn_at FROM consents";

/// Records `consent` for the user.
pub fn insert(db: &Db, user_id: &str, consent: &Consent) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO consents (id, user_id, purpose, version, text_sha256, given_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            SqlValue::Text(consent.id.clone()),
            SqlValue::Text(user_id.to_owned()),
            SqlValue::Text(consent.kind.as_str().to_owned()),
            SqlValue::Text(consent.version.clone()),
            SqlValue::Text(consent.text_sha256.clone()),
            SqlValue::Int(consent.given_at),
            SqlValue::Text(consent.ip.clone()),
            SqlValue::Text(consent.user_agent.clone()),
        ],
    )?;
    Ok(())
}

/// Whether the user has a consent in force for factors of `kind` to text `version`.
pub fn in_force(db: &Db, user_id: &str, kind: FactorKind, version: &str) -> Result<bool, DbError> {
    db.exists(
        "SELECT 1 FROM consents WHERE user_id = $1 AND purpose = $2 AND version = $3 AND withdrawn_at IS NULL",
        &texts(&[user_id, kind.as_str(), version]),
    )
}

/// The user's consents, given or withdrawn, oldest first.
pub fn list(db: &Db, user_id: &str) -> Result<Vec<Consent>, DbError> {
    db.rows(&format!("{COLUMNS} WHERE user_id = $1 ORDER BY given_at, id"), &texts(&[user_id]))
}

/// Withdraws every consent in force of the user for factors of `kind`, at `now`; how many there were.
pub fn withdraw(db: &Db, user_id: &str, kind: FactorKind, now: i64) -> Result<u64, DbError> {
    db.execute(
        "UPDATE consents SET withdrawn_at = $1 WHERE user_id = $2 AND purpose = $3 AND withdrawn_at IS NULL",
        &[SqlValue::Int(now), SqlValue::Text(user_id.to_owned()), SqlValue::Text(kind.as_str().to_owned())],
    )
}
