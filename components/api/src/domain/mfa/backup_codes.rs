//! Backup codes: 10 one-time codes made when the user's first second factor is enabled and shown once; stored as
//! mfa:core's keyed hashes (HMAC-SHA-256 under `code_pepper` over a per-code random salt and the code, ASVS 2.6.2).
//! A code is consumed by deleting its row, so the same code used twice at once succeeds once. Regenerating (with
//! step-up) replaces the whole set in one transaction; the user sees how many are left, with a warning at 2 or
//! fewer.

use serde_json::json;

use crate::bindings::mfa::core::backup_codes;
use crate::bindings::mfa::session::tokens;
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events;
use crate::model::EventKind;
use crate::store::backup_codes::{self as stored, StoredCode};
use crate::store::factors;
use crate::store::sessions::Session;
use crate::store::sql::Db;

/// Codes per set.
pub const COUNT: u32 = 10;

/// At or below this many codes left, the user is warned.
pub const WARN_AT: u32 = 2;

/// How many codes are left, as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Left {
    /// Codes left.
    pub remaining: u32,
    /// Whether that is few enough to warn.
    pub warning: bool,
}

impl Left {
    /// `remaining` codes left.
    pub fn of(remaining: u32) -> Self {
        Self { remaining, warning: remaining <= WARN_AT }
    }
}

/// Replaces the user's codes with a new set; the new codes, to show once.
pub fn replace(db: &Db, pepper: &[u8], user_id: &str, now: i64) -> Result<Vec<String>, Error> {
    let failed = |_| Error::Internal("backup codes could not be made");
    let codes = backup_codes::generate_backup_codes(COUNT).map_err(failed)?;
    let mut hashed = Vec::with_capacity(codes.len());
    for code in &codes {
        let entry = backup_codes::hash_backup_code(pepper, code).map_err(failed)?;
        hashed.push(StoredCode { id: tokens::new_challenge_id(), salt: entry.salt, hash: entry.hash });
    }
    stored::replace(db, user_id, &hashed, now)?;
    Ok(codes)
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
pub fn consume(db: &Db, pepper: &[u8], user_id: &str, input: &str) -> Result<Used, Error> {
    let codes = stored::list(db, user_id)?;
    let hashes: Vec<backup_codes::HashedCode> = codes
        .iter()
        .map(|code| backup_codes::HashedCode { salt: code.salt.clone(), hash: code.hash.clone() })
        .collect();
    let matched = match backup_codes::verify_backup_code(pepper, input, &hashes) {
        Ok(Some(index)) => usize::try_from(index).ok().and_then(|i| codes.get(i)),
        Ok(None) | Err(backup_codes::BackupCodeError::MalformedCode) => return Ok(Used::Wrong),
        Err(error) => {
            eprintln!("backup codes: {error:?}");
            return Err(Error::Internal("backup codes could not be checked"));
        }
    };
    let Some(code) = matched else { return Ok(Used::Wrong) };
    Ok(if stored::take(db, &code.id)? { Used::Accepted } else { Used::AlreadyUsed })
}

/// How many codes the session user has left.
pub fn left(ctx: &Ctx, session: &Session) -> Result<Left, Error> {
    Ok(Left::of(stored::remaining(ctx.store()?.db(), &session.user_id)?))
}

/// Regenerates the session user's set (step-up needed, checked by the caller); the new codes.
pub fn regenerate(ctx: &Ctx, session: &Session) -> Result<Vec<String>, Error> {
    let db = ctx.store()?.db();
    if !factors::has_any(db, &session.user_id)? {
        return Err(Error::NoSecondFactor("backup codes come with a second factor: enroll one first"));
    }
    let codes = replace(db, &ctx.pepper()?, &session.user_id, ctx.now)?;
    let detail = json!({"count": codes.len()});
    events::record(ctx, EventKind::BackupCodesRegenerated, Some(&session.user_id), Some(&session.id), detail);
    Ok(codes)
}
