//! Trusted devices as stored (`trusted_devices`): the SHA-256 of a device cookie's id, trusted for a user until
//! it expires.

use super::sql::{Db, DbError, FromRow, SqlValue, texts};

/// A trusted device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDevice {
    /// Its id.
    pub id: String,
    /// SHA-256 of the device cookie's id.
    pub device_hash: String,
    /// A readable name ("Firefox on Linux").
    pub label: String,
    /// Trusted since.
    pub created_at: i64,
    /// Trusted until.
    pub expires_at: i64,
}

impl FromRow for TrustedDevice {
    fn from_row(row: &[SqlValue]) -> Option<Self> {
        let (id, device_hash, label, created_at, expires_at): (String, String, Option<String>, i64, i64) =
            FromRow::from_row(row)?;
        Some(Self { id, device_hash, label: label.unwrap_or_default(), created_at, expires_at })
    }
}

/// Trusts `device_hash` for the user as device `id` until `expires_at` (renewing it if it already was).
pub fn trust(
    db: &Db,
    id: &str,
    user_id: &str,
    device_hash: &str,
    label: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    db.transaction(|| {
        db.execute(
            "DELETE FROM trusted_devices WHERE user_id = $1 AND device_hash = $2",
            &texts(&[user_id, device_hash]),
        )?;
        db.execute(
            "INSERT INTO trusted_devices (id, user_id, device_hash, label, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                SqlValue::Text(id.to_owned()),
                SqlValue::Text(user_id.to_owned()),
                SqlValue::Text(device_hash.to_owned()),
                SqlValue::Text(label.to_owned()),
                SqlValue::Int(now),
                SqlValue::Int(expires_at),
            ],
        )?;
        Ok(())
    })
}

/// Whether `device_hash` is trusted for the user now.
pub fn is_trusted(db: &Db, user_id: &str, device_hash: &str, now: i64) -> Result<bool, DbError> {
    db.exists(
        "SELECT 1 FROM trusted_devices WHERE user_id = $1 AND device_hash = $2 AND expires_at > $3",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Text(device_hash.to_owned()), SqlValue::Int(now)],
    )
}

/// Voids every trusted device of the user; how many there were.
pub fn void_all(db: &Db, user_id: &str) -> Result<u64, DbError> {
    db.execute("DELETE FROM trusted_devices WHERE user_id = $1", &texts(&[user_id]))
}

/// The user's devices trusted now, oldest first.
pub fn list(db: &Db, user_id: &str, now: i64) -> Result<Vec<TrustedDevice>, DbError> {
    db.rows(
        "SELECT id, device_hash, label, created_at, expires_at FROM trusted_devices \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Int(now)],
    )
}

/// Stops trusting the user's device `id`; whether there was one.
pub fn revoke(db: &Db, user_id: &str, id: &str) -> Result<bool, DbError> {
    Ok(db.execute("DELETE FROM trusted_devices WHERE id = $1 AND user_id = $2", &texts(&[id, user_id]))? == 1)
}
