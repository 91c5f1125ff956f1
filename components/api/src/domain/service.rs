//! The service API, for a product backend (authenticated by the service API key, checked by the caller):
//!
//! - Introspection (RFC 7662's shape): whether a session token is active, and whose. It counts as the session's
//!   activity for the idle timeout, written at most once per activity interval (session-policy decides).
//! - Users the product keeps its own ids for: find or create by external id (creating twice at once creates once;
//!   such a user has no password: the product authenticates them itself and uses this service for their second
//!   factors and sessions), show one, end all their sessions (each recorded and shown to the user as
//!   `session_revoked` with reason `service_api`), start a second-factor challenge for a user the product
//!   authenticated itself, and lift a second-factor lock or the disabling after too many consecutive failures.
//! - Signing in a user the product authenticated itself: a session, or a challenge for a user with a second
//!   factor, with the devices, trusted devices, session cap, risk signals and events of a password login, for the
//!   end user's address and user agent as the product forwards them.
//! - For the product's support staff: a user's factors and live sessions, and ending one of those sessions; the
//!   audited recovery of a user who lost their second factor ([`recovery`]).
//! - Linking: an account (one that registered with a password, say) is linked to the product's id, or the link is
//!   removed (each an event the user sees); users are found by email or by external id.

use serde_json::json;

use super::accounts::{new_user_id, normalize_email};
use super::context::Ctx;
use super::error::Error;
use super::events;
use super::login::{self, LoggedIn};
use super::mfa::challenge::{self, Issued};
use super::mfa::recovery::{self, Audit, Recovered};
use super::sessions;
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::tokens;
use crate::model::EventKind;
use crate::store::lockout;
use crate::store::sessions::{EndReason, Found, Session};
use crate::store::sql::DbError;
use crate::store::users::{self, User};

/// The longest external id accepted, in bytes.
const MAX_EXTERNAL_ID: usize = 255;

/// The live session of `token`, if it is one, with the policy it was checked under.
pub fn introspect(ctx: &Ctx, token: &str) -> Result<Option<(Session, SessionPolicy)>, Error> {
    let Ok(key) = tokens::storage_key(token.trim()) else { return Ok(None) };
    let policy = ctx.session_policy()?;
    Ok(match sessions::find(ctx, &key, &policy)? {
        Found::Live(session) => Some((*session, policy)),
        Found::Ended | Found::Missing => None,
    })
}

/// The user with external id `external_id`, created (with `email`, if any) when there is none; whether it was.
pub fn find_or_create(ctx: &Ctx, external_id: &str, email: Option<&str>) -> Result<(User, bool), Error> {
    let external_id = valid_external_id(external_id)?;
    let email = email.map(normalize_email).transpose()?;
    let db = ctx.store()?.db();
    if let Some(user) = users::find_external(db, external_id)? {
        return Ok((user, false));
    }
    let id = new_user_id()?;
    match users::create_external(db, &id, external_id, email.as_deref(), ctx.now) {
        Ok(()) => {
            let user = users::find(db, &id)?.ok_or(Error::UserNotReadBack)?;
            let detail = json!({"via": "service_api", "with_email": email.is_some()});
            events::record(ctx, EventKind::UserCreated, Some(&id), None, detail);
            Ok((user, true))
        }
        // Created meanwhile by a parallel call, or the email belongs to another user.
        Err(DbError::Conflict) => match users::find_external(db, external_id)? {
            Some(user) => Ok((user, false)),
            None => Err(Error::EmailTaken),
        },
        Err(error) => Err(error.into()),
    }
}

/// `external_id` trimmed, if it is usable: 1 to 255 bytes, no control character.
fn valid_external_id(external_id: &str) -> Result<&str, Error> {
    let external_id = external_id.trim();
    if external_id.is_empty() || external_id.len() > MAX_EXTERNAL_ID || external_id.chars().any(char::is_control) {
        return Err(Error::InvalidExternalId);
    }
    Ok(external_id)
}

/// The user registered (or created) with `email`.
pub fn find_by_email(ctx: &Ctx, email: &str) -> Result<User, Error> {
    let found = users::find_by_email(ctx.store()?.db(), &normalize_email(email)?)?;
    found.ok_or(Error::UserNotFound("there is no user with this email"))
}

/// The user linked to the product's id `external_id`.
pub fn find_by_external_id(ctx: &Ctx, external_id: &str) -> Result<User, Error> {
    let found = users::find_external(ctx.store()?.db(), valid_external_id(external_id)?)?;
    found.ok_or(Error::UserNotFound("there is no user with this external id"))
}

/// Links user `id` to the product's id `external_id`, replacing any it had ([`Error::ExternalIdTaken`] when
/// another user has it); the user as it now is. Linking again to the same id changes nothing.
pub fn link(ctx: &Ctx, id: &str, external_id: &str) -> Result<User, Error> {
    let external_id = valid_external_id(external_id)?;
    let before = user(ctx, id)?;
    if before.external_id.as_deref() == Some(external_id) {
        return Ok(before);
    }
    match users::set_external(ctx.store()?.db(), id, Some(external_id), ctx.now) {
        Err(DbError::Conflict) => return Err(Error::ExternalIdTaken),
        other => other?,
    }
    let detail = json!({"external_id": external_id, "replaced": before.external_id});
    events::record(ctx, EventKind::ExternalIdLinked, Some(id), None, detail);
    Ok(User { external_id: Some(external_id.to_owned()), ..before })
}

/// Removes user `id`'s link to the product's id; the user as it now is. Refused for a user without a password
/// ([`Error::ExternalIdRequired`]): nothing could sign them in any more.
pub fn unlink(ctx: &Ctx, id: &str) -> Result<User, Error> {
    let before = user(ctx, id)?;
    let Some(external_id) = before.external_id.clone() else { return Ok(before) };
    let db = ctx.store()?.db();
    if users::credentials(db, id)?.and_then(|credentials| credentials.password_hash).is_none() {
        return Err(Error::ExternalIdRequired);
    }
    users::set_external(db, id, None, ctx.now)?;
    events::record(ctx, EventKind::ExternalIdUnlinked, Some(id), None, json!({"external_id": external_id}));
    Ok(User { external_id: None, ..before })
}

/// User `id`.
pub fn user(ctx: &Ctx, id: &str) -> Result<User, Error> {
    users::find(ctx.store()?.db(), id)?.ok_or(Error::UserNotFound("there is no user with this id"))
}

/// Ends every session of user `id`; their ids.
pub fn revoke_sessions(ctx: &Ctx, id: &str) -> Result<Vec<String>, Error> {
    let policy = ctx.session_policy()?;
    user(ctx, id)?;
    let live = sessions::list(ctx, id, &policy)?;
    sessions::end_all(ctx, &live, EndReason::Revoked, &json!({"reason": "service_api"}))
}

/// User `id`'s live sessions, oldest first, with the policy they were checked under.
pub fn sessions_of(ctx: &Ctx, id: &str) -> Result<(Vec<Session>, SessionPolicy), Error> {
    let policy = ctx.session_policy()?;
    user(ctx, id)?;
    Ok((sessions::list(ctx, id, &policy)?, policy))
}

/// Ends user `id`'s live session `session_id` (recorded as `session_revoked` with reason `service_api`); 404
/// [`Error::SessionNotFound`] for any other id.
pub fn revoke_session(ctx: &Ctx, id: &str, session_id: &str) -> Result<Vec<String>, Error> {
    let (live, _) = sessions_of(ctx, id)?;
    let target = live.into_iter().find(|session| session.id == session_id).ok_or(Error::SessionNotFound)?;
    sessions::end_all(ctx, &[target], EndReason::Revoked, &json!({"reason": "service_api"}))
}

/// Signs in user `id`, whose first factor the product checked itself, from the browser with device id `device_id`:
/// a session or a challenge, exactly as a right password would ([`login::external`]).
pub fn sign_in(ctx: &Ctx, id: &str, device_id: Option<&str>) -> Result<LoggedIn, Error> {
    user(ctx, id)?;
    login::external(ctx, id, device_id)
}

/// Starts a second-factor challenge for user `id`, authenticated by the product itself.
pub fn challenge(ctx: &Ctx, id: &str) -> Result<Issued, Error> {
    user(ctx, id)?;
    challenge::issue(ctx, id, "")
}

/// Lifts user `id`'s second-factor lock or disabling; whether there was one.
pub fn reset_second_factor(ctx: &Ctx, id: &str) -> Result<bool, Error> {
    user(ctx, id)?;
    let was = lockout::reset(ctx.store()?.db(), id)?;
    events::record(ctx, EventKind::SecondFactorReset, Some(id), None, json!({"by": "service_api"}));
    Ok(was)
}

/// Removes every second factor of user `id`, who lost theirs, for `audit` ([`recovery::recover`]).
pub fn recover_second_factor(ctx: &Ctx, id: &str, audit: &Audit<'_>) -> Result<Recovered, Error> {
    user(ctx, id)?;
    recovery::recover(ctx, id, audit)
}
