//! Backup codes as stored (`backup_codes`): one row per code, holding mfa:core's keyed hash and its salt. A code
//! is consumed by deleting its row, so the same code used twice at once succeeds once.

use super::sql::{Db, DbError, SqlValue, texts};

/// One stored code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// The row id.
    pub id: String,
    /// The per-code salt.
    pub salt: Vec<u8>,
    /// The keyed hash.
    pub hash: Vec<u8>,
}

/// Replaces the user's codes with `hashed` (new row id, salt, hash each), in one transaction that holds the user's
/// row (on SQLite the transaction's own lock), so parallel replacements leave exactly one set.
pub fn replace(db: &Db, user_id: &str, hashed: &[StoredCode], now: i64) -> Result<(), DbError> {
    let user = SqlValue::Text(user_id.to_owned());
    db.transaction(|| {
        if db.is_postgres() {
            db.query("SELECT id FROM users WHERE id = $1 FOR UPDATE", std::slice::from_ref(&user))?;
        }
        db.execute("DELETE FROM backup_codes WHERE user_id = $1", std::slice::from_ref(&user))?;
        for code in hashed {
            db.execute(
                "INSERT INTO backup_codes (id, user_id, salt, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    SqlValue::Text(code.id.clone()),
                    user.clone(),
                    SqlValue::Blob(code.salt.clone()),
                    SqlValue::Blob(code.hash.clone()),
                    SqlValue::Int(now),
                ],
            )?;
        }
        Ok::<_, DbError>(())
    })
}

/// The user's codes.
pub fn list(db: &Db, user_id: &str) -> Result<Vec<StoredCode>, DbError> {
    let rows: Vec<(String, Vec<u8>, Vec<u8>)> =
        db.rows("SELECT id, salt, hash FROM backup_codes WHERE user_id = $1", &texts(&[user_id]))?;
    Ok(rows.into_iter().map(|(id, salt, hash)| StoredCode { id, salt, hash }).collect())
}

/// Deletes code `id`; whether this call did (false: another request consumed it first).
pub fn take(db: &Db, id: &str) -> Result<bool, DbError> {
    Ok(db.execute("DELETE FROM backup_codes WHERE id = $1", &texts(&[id]))? == 1)
}

/// How many codes the user has left.
pub fn remaining(db: &Db, user_id: &str) -> Result<u32, DbError> {
    let count: Option<(i64,)> = db.row("SELECT COUNT(*) FROM backup_codes WHERE user_id = $1", &texts(&[user_id]))?;
    Ok(count.and_then(|(n,)| u32::try_from(n).ok()).unwrap_or(0))
}

/// Removes every code of the user (their last second factor went).
pub fn remove_all(db: &Db, user_id: &str) -> Result<(), DbError> {
    db.execute("DELETE FROM backup_codes WHERE user_id = $1", &texts(&[user_id]))?;
    Ok(())
}
