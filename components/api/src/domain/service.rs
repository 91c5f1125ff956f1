//! The service API, for a product backend (authenticated by the service API key, checked by the caller):
//!
//! - Introspection (RFC 7662's shape): whether a session token is active, and whose. It counts as the session's
//!   activity for the idle timeout, written at most once per activity interval (session-policy decides).
//! - Users the product keeps its own ids for: find or create by external id (creating twice at once creates once;
//!   such a user has no password: the product authenticates them itself and uses this service for their second
//!   factors and sessions), show one, end all their sessions (each recorded and shown to the user as
//!   `session_revoked` with reason `service_api`), start a second-factor challenge for a user the product
//!   authenticated itself, and lift a second-factor lock or the disabling after too many consecutive failures.

use serde_json::json;

use super::accounts::{new_user_id, normalize_email};
use super::context::Ctx;
use super::error::Error;
use super::events;
use super::mfa::challenge::{self, Issued};
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
    let external_id = external_id.trim();
    if external_id.is_empty() || external_id.len() > MAX_EXTERNAL_ID || external_id.chars().any(char::is_control) {
        return Err(Error::InvalidExternalId);
    }
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
