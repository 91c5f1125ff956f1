//! A user's sessions: finding one (expiries noticed on the way are recorded), listing, ending (logout, revoking
//! one, the others or all), a new token for the current one (refresh, and step-up's), and when one expires.

use serde_json::{Value, json};

use super::context::Ctx;
use super::error::Error;
use super::events::{self, Happened};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::tokens;
use crate::model::EventKind;
use crate::store::error::StoreError;
use crate::store::sessions::{EndReason, Found, Session};

/// The live session under storage key `key` ([`crate::store::sessions::lifecycle::Sessions::find`]), recording
/// the expiries found on the way.
pub fn find(ctx: &Ctx, key: &str, policy: &SessionPolicy) -> Result<Found, Error> {
    let found = ctx.store()?.sessions().find(key, policy, ctx.now);
    events::record_expired(ctx);
    Ok(found?)
}

/// The user's live sessions, oldest first, recording the expiries found on the way.
pub fn list(ctx: &Ctx, user_id: &str, policy: &SessionPolicy) -> Result<Vec<Session>, Error> {
    let listed = ctx.store()?.sessions().list(user_id, policy, ctx.now);
    events::record_expired(ctx);
    Ok(listed?)
}

/// When `session` ends without further activity, and when it ends whatever happens.
pub fn expiry(session: &Session, policy: &SessionPolicy) -> (i64, i64) {
    let absolute = session.created_at.saturating_add(i64::try_from(policy.absolute_lifetime).unwrap_or(i64::MAX));
    let idle = session.last_seen_at.saturating_add(i64::try_from(policy.idle_timeout).unwrap_or(i64::MAX));
    (absolute.min(idle), absolute)
}

/// Ends `session` (the current one): its token stops working at once.
pub fn logout(ctx: &Ctx, session: &Session) -> Result<(), Error> {
    ctx.store()?.sessions().end(session, EndReason::Logout, ctx.now)?;
    let detail = json!({"reason": "logout"});
    events::record(ctx, EventKind::SessionRevoked, Some(&session.user_id), Some(&session.id), detail);
    Ok(())
}

/// Ends `sessions` for `reason`, each recorded as `session_revoked` with `detail`; their ids.
pub fn end_all(ctx: &Ctx, sessions: &[Session], reason: EndReason, detail: &Value) -> Result<Vec<String>, Error> {
    let store = ctx.store()?;
    let mut ended = Vec::new();
    for session in sessions {
        store.sessions().end(session, reason, ctx.now)?;
        let user = Some(session.user_id.as_str());
        events::record(ctx, EventKind::SessionRevoked, user, Some(&session.id), detail.clone());
        ended.push(session.id.clone());
    }
    Ok(ended)
}

/// Revokes the user's own live session `id` (404 for any other id), from session `current`.
pub fn revoke_one(ctx: &Ctx, current: &Session, policy: &SessionPolicy, id: &str) -> Result<Vec<String>, Error> {
    let sessions = list(ctx, &current.user_id, policy)?;
    let target = sessions.into_iter().find(|session| session.id == id).ok_or(Error::SessionNotFound)?;
    let detail = json!({"reason": "revoked", "by_session": current.id});
    end_all(ctx, &[target], EndReason::Revoked, &detail)
}

/// Revokes every live session of the user, `current` included unless `keep_current`.
pub fn revoke_all(
    ctx: &Ctx,
    current: &Session,
    policy: &SessionPolicy,
    keep_current: bool,
) -> Result<Vec<String>, Error> {
    let sessions: Vec<Session> = list(ctx, &current.user_id, policy)?
        .into_iter()
        .filter(|session| !(keep_current && session.id == current.id))
        .collect();
    let reason = if keep_current { "revoke_others" } else { "revoke_all" };
    end_all(ctx, &sessions, EndReason::Revoked, &json!({"reason": reason, "by_session": current.id}))
}

/// Moves `current` to a new token carrying `renewed`'s proof (its key is replaced), and records `event`: the
/// session as it now is, with its new token. [`Error::SessionEnded`] when it ended meanwhile.
pub fn reissue(
    ctx: &Ctx,
    current: &Session,
    mut renewed: Session,
    event: EventKind,
    detail: Value,
) -> Result<(Session, String), Error> {
    let token = tokens::new_session_token();
    renewed.key = tokens::storage_key(&token).map_err(|_| Error::Internal("a session token could not be made"))?;
    match ctx.store()?.sessions().rotate(current, &renewed) {
        Ok(()) => {}
        Err(StoreError::Ended) => return Err(Error::SessionEnded),
        Err(error) => return Err(error.into()),
    }
    events::record(ctx, event, Some(&current.user_id), Some(&current.id), detail);
    Ok((renewed, token))
}

/// A new token for the current session (refresh).
pub fn refresh(ctx: &Ctx, current: &Session) -> Result<(Session, String), Error> {
    reissue(ctx, current, current.clone(), EventKind::SessionRotated, json!({}))
}

/// The events a new session is recorded with: the login, the session, its risk signals, the evictions.
pub fn created_events<'a>(session: &'a Session, evicted: usize) -> Vec<Happened<'a>> {
    let (user, id) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    let mut happened = vec![
        Happened::new(EventKind::LoginSucceeded, user, id, json!({"method": session.method})),
        Happened::new(EventKind::SessionCreated, user, id, json!({"aal": session.aal})),
    ];
    if !session.risk.is_empty() {
        happened.push(Happened::new(EventKind::LoginRisk, user, id, json!({"signals": session.risk})));
    }
    if evicted > 0 {
        let detail = json!({"reason": "session_limit", "count": evicted});
        happened.push(Happened::new(EventKind::SessionEvicted, user, None, detail));
    }
    happened
}
