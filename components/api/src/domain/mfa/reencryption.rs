//! Re-encrypting the stored TOTP secrets under the current key of `encryption_keys`, for an operator retiring a key
//! (a leaked one above all): a secret is otherwise re-encrypted only when its authenticator next accepts a code, so
//! the secrets of users who do not sign in would stay under the old key. Each call reseals one batch, by factor id,
//! of the secrets sealed under an older key still listed; once none remains the old key can be removed. Secrets
//! sealed under a key no longer listed cannot be opened: they are counted, never touched. A secret that does not
//! open under its own key (a damaged or tampered row) is named and left as it is.

use super::totp;
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::store::factors as stored;

/// Secrets resealed per call unless the caller asks for another number.
pub const DEFAULT_BATCH: i64 = 500;

/// The most secrets one call reseals.
pub const MAX_BATCH: i64 = 1000;

/// What one call did, and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reencryption {
    /// The key secrets are sealed under now.
    pub current_key: String,
    /// How many secrets this call resealed under it.
    pub resealed: u64,
    /// Authenticators whose secret did not open under its own key (ids), left as they are.
    pub unreadable: Vec<String>,
    /// Secrets still sealed under an older key that is listed (another call reseals them).
    pub remaining: i64,
    /// Secrets sealed under a key that is no longer listed: unreadable until that key is listed again.
    pub unknown_key: i64,
}

/// Reseals up to `batch` secrets sealed under an older listed key under the current one.
pub fn reencrypt(ctx: &Ctx, batch: i64) -> Result<Reencryption, Error> {
    let ring = ctx.key_ring()?;
    let db = ctx.store()?.db();
    let ids = ring.ids();
    let older = ids.get(1..).unwrap_or_default();
    let (mut resealed, mut unreadable) = (0, Vec::new());
    for authenticator in stored::sealed_under(db, older, batch)? {
        let Ok(secret) = totp::open(&ring, &authenticator) else {
            unreadable.push(authenticator.id);
            continue;
        };
        let sealed = ring.seal(&[&authenticator.user_id, &authenticator.id], &secret).map_err(|error| {
            eprintln!("reencrypt: {error}");
            Error::Internal("a secret could not be sealed")
        })?;
        if stored::reseal(db, &authenticator.id, &authenticator.sealed.key_id, &sealed)? {
            resealed += 1;
        }
    }
    let (mut remaining, mut unknown_key) = (0, 0);
    for (key, count) in stored::count_by_key(db)? {
        if older.contains(&key.as_str()) {
            remaining += count;
        } else if key != ring.current_id() {
            unknown_key += count;
        }
    }
    eprintln!(
        "reencrypt: {resealed} secrets resealed under key {}, {remaining} left under older keys, {unknown_key} under \
         keys no longer listed, {} unreadable",
        ring.current_id(),
        unreadable.len()
    );
    Ok(Reencryption { current_key: ring.current_id().to_owned(), resealed, unreadable, remaining, unknown_key })
}
