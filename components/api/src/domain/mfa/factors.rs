//! A user's second factors as a whole: which methods they can verify with, enabling a confirmed factor with what
//! that changes besides it, removing one with what depended on it, and listing them.

use serde_json::{Value, json};

use super::backup_codes::{self, Left};
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events::{self, Happened};
use crate::domain::trusted_devices;
use crate::model::{EventKind, FactorKind, SecondFactor};
use crate::store::backup_codes as stored_codes;
use crate::store::factors::{self as stored, Totp};
use crate::store::passkeys::{self, Passkey};
use crate::store::phones::{self, Phone};
use crate::store::sessions::Session;
use crate::store::sms_codes;
use crate::store::sql::{Db, DbError};

/// The methods the user can verify with now: `totp` with an authenticator, `sms` with a phone, `webauthn` with a
/// passkey, `backup_code` with codes left.
pub fn methods_of(db: &Db, user_id: &str) -> Result<Vec<SecondFactor>, DbError> {
    let mut methods = Vec::new();
    if stored::list(db, user_id)?.iter().any(|totp| totp.enabled) {
        methods.push(SecondFactor::Totp);
    }
    if phones::list(db, user_id)?.iter().any(|phone| phone.enabled) {
        methods.push(SecondFactor::Sms);
    }
    if passkeys::list(db, user_id)?.iter().any(|passkey| passkey.enabled) {
        methods.push(SecondFactor::Webauthn);
    }
    if stored_codes::remaining(db, user_id)? > 0 {
        methods.push(SecondFactor::BackupCode);
    }
    Ok(methods)
}

/// The longest name of a factor, in characters.
const MAX_NAME_CHARS: usize = 64;

/// The name to give a factor of `kind`: `name` trimmed, the kind's own ("Authenticator", "Passkey") when empty;
/// refused when too long or with a control character.
pub fn checked_name(name: Option<String>, kind: FactorKind) -> Result<String, Error> {
    let default = if kind == FactorKind::Webauthn { "Passkey" } else { "Authenticator" };
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| default.into());
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::InvalidName);
    }
    Ok(name)
}

/// Renames the session user's factor `id` of `kind` to `name` (checked as at enrollment, [`checked_name`]); the
/// name it now has.
pub fn rename(ctx: &Ctx, session: &Session, id: &str, kind: FactorKind, name: Option<String>) -> Result<String, Error> {
    let name = checked_name(name, kind)?;
    if !stored::rename(ctx.store()?.db(), &session.user_id, id, kind, &name)? {
        return Err(Error::FactorNotFound);
    }
    Ok(name)
}

/// Enables the session user's factor `factor_id`, whose confirmation code was just accepted (so a wrong code never
/// gets here): first what enabling changes besides the factor (the user's trusted devices are voided and, for
/// their first factor, the backup codes are made, to show once), then the factor, then its `event`. The backup
/// codes, for a first factor. Should the factor be gone or enabled meanwhile, [`Error::EnrollmentNotFound`].
pub fn enable(
    ctx: &Ctx,
    session: &Session,
    factor_id: &str,
    event: (EventKind, Value),
) -> Result<Option<Vec<String>>, Error> {
    let db = ctx.store()?.db();
    let (uid, sid) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    let first = !stored::has_any(db, &session.user_id)?;
    trusted_devices::void_after_change(ctx, &session.user_id, sid, "factor_added")?;
    let codes = if first { Some(backup_codes::replace(db, &ctx.pepper()?, &session.user_id, ctx.now)?) } else { None };
    if !stored::enable(db, factor_id, ctx.now)? {
        return Err(Error::EnrollmentNotFound("no enrollment in progress with this id"));
    }
    let (kind, detail) = event;
    let mut happened = vec![Happened::new(kind, uid, sid, detail)];
    if let Some(codes) = &codes {
        happened.push(Happened::new(EventKind::BackupCodesCreated, uid, sid, json!({"count": codes.len()})));
    }
    events::record_all(ctx, &happened);
    Ok(codes)
}

/// Removes the session user's second factor `id` of `kind` (step-up checked by the caller), and what depended on
/// it: the sessions established (or stepped up) with it end (all but the one acting, just stepped up), trusted
/// devices are void, and backup codes go with the last factor.
pub fn remove(ctx: &Ctx, session: &Session, id: &str, kind: FactorKind) -> Result<(), Error> {
    let store = ctx.store()?;
    let db = store.db();
    let (user_id, sid) = (session.user_id.as_str(), Some(session.id.as_str()));
    if !stored::exists(db, user_id, id, kind)? {
        return Err(Error::FactorNotFound);
    }
    // What depended on the factor goes first; the factor last, so a failure half-way leaves it removable again
    // and never leaves a session or trusted device that outlived it.
    let ended = store.sessions().end_established_with(user_id, id, &session.id, ctx.now)?;
    if !ended.is_empty() {
        let detail = json!({"reason": "factor_removed", "factor_id": id, "sessions": ended});
        events::record(ctx, EventKind::SessionsRevoked, Some(user_id), sid, detail);
    }
    trusted_devices::void_after_change(ctx, user_id, sid, "factor_removed")?;
    sms_codes::forget_phone(db, user_id, id)?;
    if !stored::remove(db, user_id, id, kind)? {
        return Err(Error::FactorNotFound);
    }
    let removed = match kind {
        FactorKind::Totp => EventKind::MfaTotpRemoved,
        FactorKind::Sms => EventKind::MfaSmsRemoved,
        FactorKind::Webauthn => EventKind::MfaPasskeyRemoved,
    };
    events::record(ctx, removed, Some(user_id), sid, json!({"factor_id": id}));
    match stored::has_any(db, user_id) {
        Ok(false) => {
            if let Err(error) = stored_codes::remove_all(db, user_id) {
                eprintln!("backup codes could not be removed: {error}");
            }
        }
        Ok(true) => {}
        Err(error) => eprintln!("factors: {error}"),
    }
    Ok(())
}

/// A user's second factors, every kind.
pub struct Factors {
    /// Authenticators (confirmed or not).
    pub authenticators: Vec<Totp>,
    /// Phones (confirmed or not).
    pub phones: Vec<Phone>,
    /// Passkeys.
    pub passkeys: Vec<Passkey>,
    /// Backup codes left.
    pub backup_codes: Left,
}

/// The user's second factors and the backup codes left.
pub fn list(ctx: &Ctx, user_id: &str) -> Result<Factors, Error> {
    let db = ctx.store()?.db();
    Ok(Factors {
        authenticators: stored::list(db, user_id)?,
        phones: phones::list(db, user_id)?,
        passkeys: passkeys::list(db, user_id)?.into_iter().filter(|passkey| passkey.enabled).collect(),
        backup_codes: Left::of(stored_codes::remaining(db, user_id)?),
    })
}
