//! Backup codes: 10 one-time codes made when the user's first second factor is enabled and shown once; stored as
//! mfa:core's keyed hashes (HMAC-SHA-256 under `code_pepper` over a per-code random salt and the code, ASVS 2.6.2).
//! A code is consumed by deleting its row, so the same code used twice at once succeeds once. Regenerating (with
//! step-up) replaces the whole set in one transaction.
//!
//! - `GET /v1/mfa/backup-codes`: how many are left, with a warning at 2 or fewer.
//! - `POST /v1/mfa/backup-codes`: a new set (the old one is void), for a user with a second factor.

use serde_json::json;

use crate::auth::{authenticate, record, unavailable};
use crate::bindings::mfa::core::backup_codes;
use crate::bindings::mfa::session::tokens;
use crate::config::{self, Lookup};
use crate::http::{Reply, Request};
use crate::sql::{Db, DbError, SqlValue};
use crate::step_up::authenticate_recent;

/// Codes per set.
pub const COUNT: u32 = 10;

/// At or below this many codes left, the user is warned.
pub const WARN_AT: u32 = 2;

/// The pepper, or the answer when it is not configured.
pub fn pepper(get: Lookup<'_>) -> Result<Vec<u8>, Reply> {
    config::code_pepper(get).map_err(|error| {
        eprintln!("{error}");
        Reply::error(503, "code_pepper_not_configured", "second factors need the code_pepper variable to be set")
    })
}

/// Replaces the user's codes with a new set; the new codes, to show once.
pub fn replace(db: &Db, pepper: &[u8], user_id: &str, now: i64) -> Result<Vec<String>, Reply> {
    let failed = |_| Reply::error(500, "internal_error", "backup codes could not be made");
    let codes = backup_codes::generate_backup_codes(COUNT).map_err(failed)?;
    let mut hashed = Vec::with_capacity(codes.len());
    for code in &codes {
        hashed.push(backup_codes::hash_backup_code(pepper, code).map_err(failed)?);
    }
    let user = SqlValue::Text(user_id.to_owned());
    let stored = db.transaction(|| {
        db.execute("DELETE FROM backup_codes WHERE user_id = $1", std::slice::from_ref(&user))?;
        for entry in &hashed {
            db.execute(
                "INSERT INTO backup_codes (id, user_id, salt, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    SqlValue::Text(tokens::new_challenge_id()),
                    user.clone(),
                    SqlValue::Blob(entry.salt.clone()),
                    SqlValue::Blob(entry.hash.clone()),
                    SqlValue::Int(now),
                ],
            )?;
        }
        Ok::<_, DbError>(())
    });
    stored.map_err(|error| unavailable("backup codes", &error))?;
    Ok(codes)
}

/// How many codes the user has left.
pub fn remaining(db: &Db, user_id: &str) -> Result<u32, DbError> {
    let rows =
        db.query("SELECT COUNT(*) FROM backup_codes WHERE user_id = $1", &[SqlValue::Text(user_id.to_owned())])?;
    Ok(rows
        .first()
        .and_then(|row| row.first())
        .and_then(SqlValue::as_i64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0))
}

/// Removes every code of the user (their last second factor went).
pub fn remove_all(db: &Db, user_id: &str) -> Result<(), DbError> {
    db.execute("DELETE FROM backup_codes WHERE user_id = $1", &[SqlValue::Text(user_id.to_owned())])?;
    Ok(())
}

/// How using a code came out.
#[derive(Debug, PartialEq, Eq)]
pub enum Used {
    /// The code was the user's and is now gone.
    Accepted,
    /// It matched a code another request consumed first.
    AlreadyUsed,
    /// It matches none of the user's codes (or is malformed).
    Wrong,
}

/// Consumes `input` if it is one of the user's codes.
pub fn consume(db: &Db, pepper: &[u8], user_id: &str, input: &str) -> Result<Used, Reply> {
    let rows = db
        .query("SELECT id, salt, hash FROM backup_codes WHERE user_id = $1", &[SqlValue::Text(user_id.to_owned())])
        .map_err(|error| unavailable("backup codes", &error))?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        if let [id, SqlValue::Blob(salt), SqlValue::Blob(hash)] = row.as_slice()
            && let Some(id) = id.as_str()
        {
            ids.push(id.to_owned());
            stored.push(backup_codes::HashedCode { salt: salt.clone(), hash: hash.clone() });
        }
    }
    let matched = match backup_codes::verify_backup_code(pepper, input, &stored) {
        Ok(Some(index)) => usize::try_from(index).ok().and_then(|i| ids.get(i)),
        Ok(None) | Err(backup_codes::BackupCodeError::MalformedCode) => return Ok(Used::Wrong),
        Err(error) => {
            eprintln!("backup codes: {error:?}");
            return Err(Reply::error(500, "internal_error", "backup codes could not be checked"));
        }
    };
    let Some(id) = matched else { return Ok(Used::Wrong) };
    match db.execute("DELETE FROM backup_codes WHERE id = $1", &[SqlValue::Text(id.clone())]) {
        Ok(1) => Ok(Used::Accepted),
        Ok(_) => Ok(Used::AlreadyUsed),
        Err(error) => Err(unavailable("backup codes", &error)),
    }
}

/// The count left as shown to the user.
pub fn summary(left: u32) -> serde_json::Value {
    json!({"remaining": left, "warning": left <= WARN_AT})
}

/// `GET /v1/mfa/backup-codes`.
pub fn status(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    match remaining(store.db(), &session.user_id) {
        Ok(left) => Reply::json(200, &summary(left)),
        Err(error) => unavailable("backup codes", &error),
    }
}

/// `POST /v1/mfa/backup-codes`: regenerates the set (step-up needed).
pub fn regenerate(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _, now) = match authenticate_recent(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    match crate::factors::has_any(store.db(), &session.user_id) {
        Ok(true) => {}
        Ok(false) => {
            return Reply::error(409, "no_second_factor", "backup codes come with a second factor: enroll one first");
        }
        Err(error) => return unavailable("backup codes", &error),
    }
    let pepper = match pepper(get) {
        Ok(pepper) => pepper,
        Err(refusal) => return refusal,
    };
    match replace(store.db(), &pepper, &session.user_id, now) {
        Ok(codes) => {
            let detail = json!({"count": codes.len()});
            record(&store, request, "backup_codes_regenerated", Some(&session.user_id), Some(&session.id), detail, now);
            Reply::json(201, &json!({"codes": codes, "remaining": codes.len(), "warning": false}))
        }
        Err(refusal) => refusal,
    }
}
