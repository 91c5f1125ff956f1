//! Login challenges as stored (`login_challenges`): only the SHA-256 of the challenge id, whose they are, the
//! methods offered, the device, the checks used, when they expire and when they were used.

use super::sql::{Db, DbError, SqlValue, texts};

/// A live challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The storage key (SHA-256 of the id).
    pub key: String,
    /// Whose.
    pub user_id: String,
    /// SHA-256 of the device cookie's id at the login (empty: the product's own challenge).
    pub device_hash: String,
    /// The methods offered, comma separated.
    pub methods: String,
}

/// Stores a new challenge (sweeping expired ones).
pub fn insert(db: &Db, challenge: &Challenge, now: i64, expires_at: i64) -> Result<(), DbError> {
    db.execute("DELETE FROM login_challenges WHERE expires_at <= $1", &[SqlValue::Int(now)])?;
    db.execute(
        "INSERT INTO login_challenges (id_hash, user_id, methods, created_at, expires_at, device_hash) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            SqlValue::Text(challenge.key.clone()),
            SqlValue::Text(challenge.user_id.clone()),
            SqlValue::Text(challenge.methods.clone()),
            SqlValue::Int(now),
            SqlValue::Int(expires_at),
            SqlValue::Text(challenge.device_hash.clone()),
        ],
    )?;
    Ok(())
}

/// The params that select a usable challenge: `key`, `now`, `max_checks`.
fn usable(key: &str, max_checks: u32, now: i64) -> [SqlValue; 3] {
    [SqlValue::Text(key.to_owned()), SqlValue::Int(now), SqlValue::Int(i64::from(max_checks))]
}

/// Takes one check of the usable challenge under `key` (unused, unexpired, under `max_checks`), atomically: the
/// challenge and how many checks it has used now, or none.
pub fn take_check(db: &Db, key: &str, max_checks: u32, now: i64) -> Result<Option<(Challenge, u32)>, DbError> {
    let taken: Option<(String, Option<String>, Option<String>, i64)> = db.row(
        "UPDATE login_challenges SET failures = failures + 1 \
         WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3 \
         RETURNING user_id, device_hash, methods, failures",
        &usable(key, max_checks, now),
    )?;
    Ok(taken.map(|(user_id, device_hash, methods, checks)| {
        let challenge = Challenge {
            key: key.to_owned(),
            user_id,
            device_hash: device_hash.unwrap_or_default(),
            methods: methods.unwrap_or_default(),
        };
        (challenge, u32::try_from(checks).unwrap_or(u32::MAX))
    }))
}

/// The user and methods of the usable challenge under `key`, without taking a check.
pub fn peek(db: &Db, key: &str, max_checks: u32, now: i64) -> Result<Option<(String, String)>, DbError> {
    let found: Option<(Option<String>, Option<String>)> = db.row(
        "SELECT user_id, methods FROM login_challenges \
         WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3",
        &usable(key, max_checks, now),
    )?;
    Ok(found.map(|(user, methods)| (user.unwrap_or_default(), methods.unwrap_or_default())))
}

/// What is known of a challenge, used or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Whose.
    pub user_id: Option<String>,
    /// When it was used.
    pub used_at: Option<i64>,
    /// When it expires.
    pub expires_at: Option<i64>,
    /// Its checks used.
    pub failures: Option<i64>,
}

/// What is known of any challenge under `key`.
pub fn state(db: &Db, key: &str) -> Result<Option<State>, DbError> {
    let found = db.row(
        "SELECT user_id, used_at, expires_at, failures FROM login_challenges WHERE id_hash = $1",
        &texts(&[key]),
    )?;
    Ok(found.map(|(user_id, used_at, expires_at, failures)| State { user_id, used_at, expires_at, failures }))
}

/// Marks the challenge under `key` used; whether this call did (one challenge makes one session).
pub fn consume(db: &Db, key: &str, now: i64) -> Result<bool, DbError> {
    let used = db.execute(
        "UPDATE login_challenges SET used_at = $1 WHERE id_hash = $2 AND used_at IS NULL",
        &[SqlValue::Int(now), SqlValue::Text(key.to_owned())],
    )?;
    Ok(used == 1)
}
