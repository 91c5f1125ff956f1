//! SMS codes as stored (`sms_codes`): one live code per binding (what it was sent for), its keyed hash, the phone
//! it went to, its checks used, when it expires and when it was used.

use super::sql::{Db, DbError, SqlValue, texts};

/// A new code to store.
pub struct NewCode<'a> {
    /// What it is bound to.
    pub binding: &'a str,
    /// Whose.
    pub user_id: &'a str,
    /// The phone it is sent to.
    pub factor_id: &'a str,
    /// Its keyed hash.
    pub hash: Vec<u8>,
    /// When it dies.
    pub expires_at: i64,
}

/// Stores `code`, replacing any code for its binding (and sweeping expired ones), in one transaction. The replacing
/// is one upsert, so parallel sends for one binding never collide on it: the last one's code is the live one.
pub fn replace(db: &Db, code: NewCode<'_>, now: i64) -> Result<(), DbError> {
    let binding = SqlValue::Text(code.binding.to_owned());
    db.transaction(|| {
        db.execute("DELETE FROM sms_codes WHERE expires_at <= $1", &[SqlValue::Int(now)])?;
        db.execute(
            "INSERT INTO sms_codes (binding, user_id, factor_id, code_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (binding) DO UPDATE SET user_id = excluded.user_id, \
             factor_id = excluded.factor_id, code_hash = excluded.code_hash, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, failures = 0, used_at = NULL",
            &[
                binding.clone(),
                SqlValue::Text(code.user_id.to_owned()),
                SqlValue::Text(code.factor_id.to_owned()),
                SqlValue::Blob(code.hash.clone()),
                SqlValue::Int(now),
                SqlValue::Int(code.expires_at),
            ],
        )?;
        Ok(())
    })
}

/// Forgets the code for `binding` (it could not be sent).
pub fn forget(db: &Db, binding: &str) -> Result<(), DbError> {
    db.execute("DELETE FROM sms_codes WHERE binding = $1", &texts(&[binding]))?;
    Ok(())
}

/// Forgets every code sent to phone `factor_id` of the user (the phone is being removed).
pub fn forget_phone(db: &Db, user_id: &str, factor_id: &str) -> Result<(), DbError> {
    db.execute("DELETE FROM sms_codes WHERE user_id = $1 AND factor_id = $2", &texts(&[user_id, factor_id]))?;
    Ok(())
}

/// A check taken on a live code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The phone it was sent to.
    pub factor_id: String,
    /// Its keyed hash.
    pub hash: Vec<u8>,
    /// Checks used so far, this one included.
    pub checks: u32,
}

/// Takes one check of the live code for `binding` (unused, unexpired, under `max_checks`, its phone still there),
/// atomically; none when there is no such code.
pub fn take_check(db: &Db, binding: &str, max_checks: u32, now: i64) -> Result<Option<Taken>, DbError> {
    let taken: Option<(String, Vec<u8>, i64)> = db.row(
        "UPDATE sms_codes SET failures = failures + 1 \
         WHERE binding = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3 \
         AND factor_id IN (SELECT id FROM mfa_configurations WHERE kind = 'sms') \
         RETURNING factor_id, code_hash, failures",
        &[SqlValue::Text(binding.to_owned()), SqlValue::Int(now), SqlValue::Int(i64::from(max_checks))],
    )?;
    Ok(taken.map(|(factor_id, hash, checks)| Taken {
        factor_id,
        hash,
        checks: u32::try_from(checks).unwrap_or(u32::MAX),
    }))
}

/// Marks the code for `binding` used; whether this call did.
pub fn use_up(db: &Db, binding: &str, now: i64) -> Result<bool, DbError> {
    let used = db.execute(
        "UPDATE sms_codes SET used_at = $1 WHERE binding = $2 AND used_at IS NULL",
        &[SqlValue::Int(now), SqlValue::Text(binding.to_owned())],
    )?;
    Ok(used == 1)
}
