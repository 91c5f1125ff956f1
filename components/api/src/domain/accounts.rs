//! Accounts: registration with email and password, and changing the password (with the current one, checked under
//! the same password-guessing limits as login; the user's other sessions are revoked).
//!
//! Registration does not reveal whether an email is already registered: a new email and a taken one get the same
//! answer after the same work (the password is checked and hashed in both cases, and the insert is attempted; a
//! uniqueness refusal is not reported). The owner of a taken email is unaffected, and the caller learns nothing a
//! login attempt would not also tell. Registrations are limited per client address (`registration_limit_ip`, 20
//! per hour by default), which also bounds how fast anyone could probe emails this way.

use serde_json::json;

use super::context::Ctx;
use super::error::Error;
use super::events;
use super::password;
use super::sessions;
use super::throttles::{self, Verdict};
use super::trusted_devices;
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::model::EventKind;
use crate::store::sessions::{EndReason, Session};
use crate::store::sql::DbError;
use crate::store::users;

/// The longest email accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// The normalised form of an email address (trimmed, lower case), or why it is refused.
pub fn normalize_email(email: &str) -> Result<String, Error> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_EMAIL {
        return Err(Error::InvalidEmail("the email must have 1 to 254 bytes (UTF-8)"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidEmail("the email must not contain spaces or control characters"));
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => Ok(email),
        _ => Err(Error::InvalidEmail("the email must look like name@domain")),
    }
}

/// A new random user id (128 bits, hex).
pub fn new_user_id() -> Result<String, Error> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|_| Error::Internal("no randomness available"))?;
    Ok(data_encoding::HEXLOWER.encode(&bytes))
}

/// Refuses unless registration is open (it fails closed: `allow_registration` must say yes).
pub fn require_registration_open(ctx: &Ctx) -> Result<(), Error> {
    if ctx.settings.registration_open() { Ok(()) } else { Err(Error::RegistrationDisabled) }
}

/// Registers `email` with `password` (a taken email is answered exactly as a new one, see the module docs).
pub fn register(ctx: &Ctx, email: &str, password: &str) -> Result<(), Error> {
    let email = normalize_email(email)?;
    password::check(password, &email)?;
    let store = ctx.store()?;
    let limits = ctx.throttles()?;
    let ip_key = throttles::address_key(ctx.client().ip);
    if let Err(throttled) = throttles::registration(store.counters(), &limits, &ip_key, ctx.now)? {
        let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
        events::record(ctx, EventKind::RegistrationThrottled, None, None, detail);
        return Err(Error::Throttled(throttled));
    }
    let hash = password::hash(password).map_err(|_| Error::Internal("the password could not be hashed"))?;
    let id = new_user_id()?;
    match users::register(store.db(), &id, &email, &hash, ctx.now) {
        Ok(()) => {
            events::record(ctx, EventKind::Registered, Some(&id), None, json!({}));
            Ok(())
        }
        Err(DbError::Conflict) => {
            // The owner of the email sees that someone tried to register it again.
            let owner = users::id_by_email(store.db(), &email).ok().flatten();
            events::record(ctx, EventKind::RegistrationForExistingEmail, owner.as_deref(), None, json!({}));
            Ok(())
        }
        Err(error) => Err(Error::AccountNotStored(error)),
    }
}

/// Changes the password of `session`'s user from `current` to `new`; the ids of the other sessions revoked.
pub fn change_password(
    ctx: &Ctx,
    session: &Session,
    policy: &SessionPolicy,
    current: &str,
    new: &str,
) -> Result<Vec<String>, Error> {
    let store = ctx.store()?;
    let user = users::credentials(store.db(), &session.user_id)?
        .ok_or(Error::UserNotFound("this session's account no longer exists"))?;
    let (uid, sid) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    // The session's holder counts as a known device: a stranger's failures cannot lock them out of this.
    match throttles::guarded_verify(ctx, &user.email, user.password_hash.as_deref(), true, current)? {
        Verdict::Right => {}
        Verdict::Throttled(throttled) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
            events::record(ctx, EventKind::PasswordChangeThrottled, uid, sid, detail);
            return Err(Error::Throttled(throttled));
        }
        Verdict::Wrong => {
            let detail = json!({"reason": "wrong_password"});
            events::record(ctx, EventKind::PasswordChangeFailed, uid, sid, detail);
            return Err(Error::CurrentPasswordWrong);
        }
    }
    password::check(new, &user.email)?;
    let hash = password::hash(new).map_err(|_| Error::Internal("the password could not be hashed"))?;
    // Trusted devices go first: a password change that cannot void them does not happen.
    trusted_devices::void_after_change(ctx, &session.user_id, sid, "password_changed")?;
    users::set_password(store.db(), &session.user_id, &hash, ctx.now)?;
    events::record(ctx, EventKind::PasswordChanged, uid, sid, json!({}));
    let others: Vec<Session> =
        sessions::list(ctx, &session.user_id, policy)?.into_iter().filter(|other| other.id != session.id).collect();
    let detail = json!({"reason": "password_changed", "by_session": session.id});
    sessions::end_all(ctx, &others, EndReason::PasswordChanged, &detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(normalize_email("  Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in ["", "no-at-sign", "@example.com", "alice@", "a b@example.com", "a@b@c"] {
            assert!(matches!(normalize_email(bad), Err(Error::InvalidEmail(_))), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
