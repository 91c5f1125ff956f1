//! Second factors as stored (`mfa_configurations`): TOTP authenticators, each with a name, its secret sealed by
//! the [`KeyRing`](crate::config::keyring::KeyRing) (bound to user, factor id and key id), and the last time step
//! it accepted; and what is common to every kind of factor (enabling, removing, whether the user has any, removing
//! all of a user's second factors with what comes with them).
//!
//! A code is accepted with a compare-and-set on that step (`UPDATE ... WHERE last_accepted_step < step`), so the
//! same code submitted twice at once, to one instance or to two, succeeds once: the second finds the step taken.

use super::sql::{Db, DbError, SqlValue, placeholders, texts};
use crate::config::keyring::Sealed;
use crate::model::FactorKind;

/// A TOTP authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totp {
    /// Its id.
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// The name the user gave it.
    pub name: String,
    /// The sealed secret.
    pub sealed: Sealed,
    /// The last time step accepted (none before the first).
    pub last_accepted_step: Option<u64>,
    /// Whether enrollment was confirmed.
    pub enabled: bool,
    /// When enrollment started.
    pub created_at: i64,
    /// When it was confirmed.
    pub confirmed_at: Option<i64>,
}

const COLUMNS: &str = "SELECT id, user_id, name, secret_ciphertext, key_id, last_accepted_step, enabled, created_at, \
                       confirmed_at FROM mfa_configurations";

fn totp_of(row: &[SqlValue]) -> Option<Totp> {
    match row {
        [id, user, name, blob, key_id, step, enabled, created, confirmed] => Some(Totp {
            id: id.as_str()?.to_owned(),
            user_id: user.as_str()?.to_owned(),
            name: name.as_str().unwrap_or("").to_owned(),
            sealed: Sealed {
                key_id: key_id.as_str()?.to_owned(),
                blob: match blob {
                    SqlValue::Blob(bytes) => bytes.clone(),
                    _ => return None,
                },
            },
            last_accepted_step: step.as_i64().and_then(|s| u64::try_from(s).ok()),
            enabled: enabled.as_bool()?,
            created_at: created.as_i64()?,
            confirmed_at: confirmed.as_i64(),
        }),
        _ => None,
    }
}

/// Stores a new, unconfirmed authenticator, voiding any other unconfirmed one of the user (one enrollment at a
/// time).
pub fn insert(db: &Db, totp: &Totp) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM mfa_configurations WHERE user_id = $1 AND kind = 'totp' AND enabled = $2",
        &[SqlValue::Text(totp.user_id.clone()), SqlValue::Bool(false)],
    )?;
    db.execute(
        "INSERT INTO mfa_configurations (id, user_id, kind, name, secret_ciphertext, key_id, enabled, created_at) \
         VALUES ($1, $2, 'totp', $3, $4, $5, $6, $7)",
        &[
            SqlValue::Text(totp.id.clone()),
            SqlValue::Text(totp.user_id.clone()),
            SqlValue::Text(totp.name.clone()),
            SqlValue::Blob(totp.sealed.blob.clone()),
            SqlValue::Text(totp.sealed.key_id.clone()),
            SqlValue::Bool(false),
            SqlValue::Int(totp.created_at),
        ],
    )?;
    Ok(())
}

/// The user's authenticator `id`, if it is theirs.
pub fn find(db: &Db, user_id: &str, id: &str) -> Result<Option<Totp>, DbError> {
    let rows = db.query(
        &format!("{COLUMNS} WHERE id = $1 AND user_id = $2 AND kind = 'totp'"),
        &[SqlValue::Text(id.to_owned()), SqlValue::Text(user_id.to_owned())],
    )?;
    Ok(rows.first().and_then(|row| totp_of(row)))
}

/// The user's authenticators (confirmed or not), oldest first.
pub fn list(db: &Db, user_id: &str) -> Result<Vec<Totp>, DbError> {
    let rows = db.query(
        &format!("{COLUMNS} WHERE user_id = $1 AND kind = 'totp' ORDER BY created_at, id"),
        &[SqlValue::Text(user_id.to_owned())],
    )?;
    Ok(rows.iter().filter_map(|row| totp_of(row)).collect())
}

/// Records `step` as accepted for authenticator `id` if it is later than the last one: of an enabled
/// authenticator, or with `pending` of one waiting for confirmation (which stays unconfirmed: [`enable`] does that
/// once what enabling changes is done). Returns whether this call won: false means the step was already taken.
pub fn accept_step(db: &Db, id: &str, step: u64, pending: bool) -> Result<bool, DbError> {
    let step = SqlValue::Int(i64::try_from(step).unwrap_or(i64::MAX));
    let changed = db.execute(
        "UPDATE mfa_configurations SET last_accepted_step = $1 \
         WHERE id = $2 AND enabled = $3 AND (last_accepted_step IS NULL OR last_accepted_step < $1)",
        &[step, SqlValue::Text(id.to_owned()), SqlValue::Bool(!pending)],
    )?;
    Ok(changed == 1)
}

/// Enables the unconfirmed second factor `id` (authenticator or phone); whether this call did.
pub fn enable(db: &Db, id: &str, now: i64) -> Result<bool, DbError> {
    let changed = db.execute(
        "UPDATE mfa_configurations SET enabled = $1, confirmed_at = $2 WHERE id = $3 AND enabled = $4",
        &[SqlValue::Bool(true), SqlValue::Int(now), SqlValue::Text(id.to_owned()), SqlValue::Bool(false)],
    )?;
    Ok(changed == 1)
}

/// Renames the user's factor `id` of `kind` (an authenticator or a passkey); whether there was one.
pub fn rename(db: &Db, user_id: &str, id: &str, kind: FactorKind, name: &str) -> Result<bool, DbError> {
    let changed = db.execute(
        "UPDATE mfa_configurations SET name = $1 WHERE id = $2 AND user_id = $3 AND kind = $4",
        &texts(&[name, id, user_id, kind.as_str()]),
    )?;
    Ok(changed == 1)
}

/// Replaces the sealed secret of `id` (re-encryption under the current key) if it is still sealed under
/// `was_under` (a removed factor, or one another request re-encrypted first, is left alone); whether it did.
pub fn reseal(db: &Db, id: &str, was_under: &str, sealed: &Sealed) -> Result<bool, DbError> {
    let changed = db.execute(
        "UPDATE mfa_configurations SET secret_ciphertext = $1, key_id = $2 WHERE id = $3 AND key_id = $4",
        &[
            SqlValue::Blob(sealed.blob.clone()),
            SqlValue::Text(sealed.key_id.clone()),
            SqlValue::Text(id.to_owned()),
            SqlValue::Text(was_under.to_owned()),
        ],
    )?;
    Ok(changed == 1)
}

/// Up to `limit` authenticators (confirmed or not) whose secret is sealed under one of `keys`, by id.
pub fn sealed_under(db: &Db, keys: &[&str], limit: i64) -> Result<Vec<Totp>, DbError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = texts(keys);
    params.push(SqlValue::Int(limit));
    let sql = format!(
        "{COLUMNS} WHERE kind = 'totp' AND key_id IN ({}) ORDER BY id LIMIT ${}",
        placeholders(1, keys.len()),
        keys.len() + 1
    );
    Ok(db.query(&sql, &params)?.iter().filter_map(|row| totp_of(row)).collect())
}

/// How many authenticators have their secret sealed under each key id, by key id.
pub fn count_by_key(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    let rows = db.query(
        "SELECT key_id, CAST(count(*) AS BIGINT) FROM mfa_configurations WHERE kind = 'totp' GROUP BY key_id \
         ORDER BY key_id",
        &[],
    )?;
    Ok(rows
        .iter()
        .filter_map(|row| match row.as_slice() {
            [key, count] => Some((key.as_str()?.to_owned(), count.as_i64()?)),
            _ => None,
        })
        .collect())
}

/// Removes the user's second factor `id` of `kind`; whether there was one.
pub fn remove(db: &Db, user_id: &str, id: &str, kind: FactorKind) -> Result<bool, DbError> {
    let removed = db.execute(
        "DELETE FROM mfa_configurations WHERE id = $1 AND user_id = $2 AND kind = $3",
        &texts(&[id, user_id, kind.as_str()]),
    )?;
    Ok(removed == 1)
}

/// Whether the user has a second factor `id` of `kind` (confirmed or not).
pub fn exists(db: &Db, user_id: &str, id: &str, kind: FactorKind) -> Result<bool, DbError> {
    db.exists(
        "SELECT 1 FROM mfa_configurations WHERE id = $1 AND user_id = $2 AND kind = $3",
        &texts(&[id, user_id, kind.as_str()]),
    )
}

/// Whether the user has any confirmed second factor.
pub fn has_any(db: &Db, user_id: &str) -> Result<bool, DbError> {
    db.exists(
        "SELECT 1 FROM mfa_configurations WHERE user_id = $1 AND enabled = $2",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Bool(true)],
    )
}

/// What [`remove_all`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemovedAll {
    /// Authenticators and phones (confirmed or not).
    pub factors: u64,
    /// Backup codes left unused.
    pub backup_codes: u64,
}

/// Removes every second factor of the user in one transaction, with what only they made usable: backup codes, SMS
/// codes on their way, login and passkey challenges in flight and the second-factor lockout state.
pub fn remove_all(db: &Db, user_id: &str) -> Result<RemovedAll, DbError> {
    let user = texts(&[user_id]);
    db.transaction(|| {
        let factors = db.execute("DELETE FROM mfa_configurations WHERE user_id = $1", &user)?;
        let backup_codes = db.execute("DELETE FROM backup_codes WHERE user_id = $1", &user)?;
        for table in ["sms_codes", "login_challenges", "webauthn_challenges", "second_factor_states"] {
            db.execute(&format!("DELETE FROM {table} WHERE user_id = $1"), &user)?;
        }
        Ok(RemovedAll { factors, backup_codes })
    })
}
