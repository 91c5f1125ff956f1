//! What a handler answers: a [`Reply`], or a refusal (the domain's [`Error`], or an HTTP one such as a malformed
//! body), and the JSON views of what handlers show (sessions, tokens) with the cookies that go with them.

use serde_json::{Value, json};

use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::domain::auth::csrf_token;
use crate::domain::context::Ctx;
use crate::domain::enforcement;
use crate::domain::error::Error;
use crate::domain::new_session::Started;
use crate::domain::sessions::expiry;
use crate::http::Reply;
use crate::http::cookies;
use crate::store::sessions::Session;

/// Why a handler did not answer normally.
#[derive(Debug)]
pub enum Refused {
    /// The domain refused or failed ([`crate::http::error`] maps it).
    Domain(Error),
    /// HTTP itself refused (a body of the wrong type or shape).
    Http(Reply),
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Self::Domain(error)
    }
}

impl From<Reply> for Refused {
    fn from(reply: Reply) -> Self {
        Self::Http(reply)
    }
}

/// A handler's answer.
pub type Answer = Result<Reply, Refused>;

/// The session as the API shows it.
pub fn session_json(session: &Session, policy: &SessionPolicy) -> Value {
    let (expires_at, absolute) = expiry(session, policy);
    json!({
        "id": session.id,
        "user_id": session.user_id,
        "aal": session.aal,
        "method": session.method,
        "auth_time": session.auth_time,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "expires_at": expires_at,
        "absolute_expires_at": absolute,
        "ip": session.ip,
        "user_agent": session.user_agent,
        "device_label": session.device_label,
        "risk_signals": session.risk,
        "location": session.location.to_json(),
        "mfa_enrollment_required": enforcement::is_restricted(session),
    })
}

/// A session with its (new) token, as login and refresh answer it: the JSON (`status`) and the session cookie,
/// living until the session's absolute expiry.
pub fn token_reply(status: u16, session: &Session, policy: &SessionPolicy, token: &str, ctx: &Ctx) -> Reply {
    Reply::json(status, &token_json(session, policy, token))
        .with_header("set-cookie", session_cookie(session, policy, token, ctx))
}

/// The session cookie for `session`'s `token`, living until the session's absolute expiry.
pub fn session_cookie(session: &Session, policy: &SessionPolicy, token: &str, ctx: &Ctx) -> String {
    let lifetime = expiry(session, policy).1.saturating_sub(ctx.now).max(0).unsigned_abs();
    cookies::session_cookie(token, lifetime)
}

/// A session with its token and CSRF token, as JSON (what [`token_reply`] answers, without the cookie).
pub fn token_json(session: &Session, policy: &SessionPolicy, token: &str) -> Value {
    let mut body = session_json(session, policy);
    if let Some(fields) = body.as_object_mut() {
        fields.insert("token".to_owned(), json!(token));
        fields.insert("token_type".to_owned(), json!("Bearer"));
        fields.insert("csrf_token".to_owned(), json!(csrf_token(token)));
    }
    body
}

/// A new session, as login and a verified challenge answer it (201).
pub fn started_reply(started: &Started, policy: &SessionPolicy, ctx: &Ctx) -> Reply {
    token_reply(201, &started.session, policy, &started.token, ctx)
}
