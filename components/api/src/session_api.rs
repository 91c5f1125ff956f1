//! A user's sessions: `GET /v1/sessions` (the current one flagged), `DELETE /v1/sessions/{id}` (revoke one),
//! `POST /v1/sessions/revoke-others`, `POST /v1/sessions/revoke-all`, and `POST /v1/session/refresh` (a new token
//! for the current session; the old one stops working at once). All need the session token.

use serde_json::json;

use crate::auth::{authenticate, record, session_json, token_answer, unavailable};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::tokens;
use crate::clock::now;
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::sessions::{Session, Store, StoreError};

/// The path prefix of one session.
pub const ONE_SESSION_PREFIX: &str = "/v1/sessions/";

/// `GET /v1/sessions`.
pub fn list(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, current, policy) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let now = now();
    let listed = store.list(&current.user_id, &policy, now);
    crate::auth::record_expired(&store, request, now);
    match listed {
        Ok(sessions) => {
            let sessions: Vec<serde_json::Value> = sessions
                .iter()
                .map(|session| {
                    let mut shown = session_json(session, &policy);
                    if let Some(fields) = shown.as_object_mut() {
                        fields.insert("current".to_owned(), json!(session.id == current.id));
                    }
                    shown
                })
                .collect();
            Reply::json(200, &json!({"sessions": sessions}))
        }
        Err(error) => unavailable("list sessions", &error),
    }
}

/// The request's session, all the user's live sessions, and the time they were read at; else the refusal.
fn current_and_all(request: &Request, get: Lookup<'_>) -> Result<(Store, Session, Vec<Session>, i64), Reply> {
    let (store, current, policy) = authenticate(request, get)?;
    let now = now();
    let listed = store.list(&current.user_id, &policy, now);
    crate::auth::record_expired(&store, request, now);
    match listed {
        Ok(sessions) => Ok((store, current, sessions, now)),
        Err(error) => Err(unavailable("revoke sessions", &error)),
    }
}

/// `DELETE /v1/sessions/{id}`: revokes one of the user's own sessions (404 for any other id).
pub fn revoke_one(request: &Request, get: Lookup<'_>) -> Reply {
    let id = request.path.strip_prefix(ONE_SESSION_PREFIX).unwrap_or("");
    let (store, current, sessions, now) = match current_and_all(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let Some(target) = sessions.iter().find(|session| session.id == id) else {
        return Reply::error(404, "session_not_found", "you have no live session with this id");
    };
    match store.end(target, "revoked", now) {
        Ok(()) => {
            let detail = json!({"reason": "revoked", "by_session": current.id});
            record(&store, request, "session_revoked", Some(&target.user_id), Some(&target.id), detail, now);
            Reply::json(200, &json!({"revoked": [target.id]}))
        }
        Err(error) => unavailable("revoke a session", &error),
    }
}

fn revoke_all(request: &Request, get: Lookup<'_>, keep_current: bool) -> Reply {
    let (store, current, sessions, now) = match current_and_all(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let mut revoked = Vec::new();
    for session in sessions.iter().filter(|s| !(keep_current && s.id == current.id)) {
        if let Err(error) = store.end(session, "revoked", now) {
            return unavailable("revoke sessions", &error);
        }
        let detail =
            json!({"reason": if keep_current { "revoke_others" } else { "revoke_all" }, "by_session": current.id});
        record(&store, request, "session_revoked", Some(&session.user_id), Some(&session.id), detail, now);
        revoked.push(session.id.clone());
    }
    let reply = Reply::json(200, &json!({"revoked": revoked}));
    if keep_current { reply } else { reply.with_header("set-cookie", crate::cookies::clear_session_cookie()) }
}

/// `POST /v1/sessions/revoke-others`: every session of the user but this one.
pub fn revoke_others(request: &Request, get: Lookup<'_>) -> Reply {
    revoke_all(request, get, true)
}

/// `POST /v1/sessions/revoke-all`: every session of the user, this one included.
pub fn revoke_everything(request: &Request, get: Lookup<'_>) -> Reply {
    revoke_all(request, get, false)
}

/// `POST /v1/session/refresh`: a new token for the current session.
pub fn refresh(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, current, policy) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    reissue(&store, request, &policy, &current, current.clone(), "session_rotated", json!({}))
}

/// Moves `current` to a new token carrying `renewed`'s proof (its key is replaced), records `event`, and answers
/// the new token (JSON and cookie) as login does; 401 when the session ended meanwhile.
pub fn reissue(
    store: &Store,
    request: &Request,
    policy: &SessionPolicy,
    current: &Session,
    mut renewed: Session,
    event: &str,
    detail: serde_json::Value,
) -> Reply {
    let token = tokens::new_session_token();
    let Ok(key) = tokens::storage_key(&token) else {
        return Reply::error(500, "internal_error", "a session token could not be made");
    };
    renewed.key = key;
    match store.rotate(current, &renewed) {
        Ok(()) => {
            record(store, request, event, Some(&current.user_id), Some(&current.id), detail, now());
            Reply::json(200, &token_answer(&renewed, policy, &token)).with_header(
                "set-cookie",
                crate::cookies::session_cookie(
                    &token,
                    crate::auth::expiry(&renewed, policy).1.saturating_sub(now()).max(0).unsigned_abs(),
                ),
            )
        }
        Err(StoreError::Ended) => {
            Reply::error(401, "unauthenticated", "this session has ended").with_header("www-authenticate", "Bearer")
        }
        Err(error) => unavailable("refresh", &error),
    }
}

/// `GET /v1/activity`: the user's security events, newest first (at most 100).
pub fn activity(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, current, _) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    match crate::events::for_user(store.db(), &current.user_id, 100) {
        Ok(events) => Reply::json(200, &json!({"events": events})),
        Err(error) => unavailable("activity", &error),
    }
}
