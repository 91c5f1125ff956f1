//! Login with email and password, and the current session: `POST /v1/login`, `GET /v1/session`,
//! `DELETE /v1/session` (logout). Sessions are presented as `Authorization: Bearer <token>`.
//!
//! Login costs the same for an unknown email as for a wrong password (the password is verified against a decoy
//! hash) and both answer `401 invalid_credentials`, so neither the message nor the timing tells whether an email
//! is registered.

use serde::Deserialize;
use serde_json::json;

use crate::accounts::{json_body, normalize_email};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::tokens;
use crate::clock::now;
use crate::config::Lookup;
use crate::events::{self, Event};
use crate::http::{Reply, Request};
use crate::password;
use crate::policy;
use crate::sessions::{Admitted, Found, Session, Store};
use crate::sql::SqlValue;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

/// 503 for a storage failure, logged with `what` (never with the request's data).
pub fn unavailable(what: &str, error: &impl std::fmt::Display) -> Reply {
    eprintln!("{what}: {error}");
    Reply::error(503, "unavailable", "the service cannot reach its storage")
}

fn policy_or_reply(get: Lookup<'_>) -> Result<SessionPolicy, Reply> {
    policy::current(get).map_err(|error| {
        eprintln!("{error}");
        Reply::error(500, "misconfigured", "the session policy variables are invalid")
    })
}

/// The client address and user agent of `request`, as events and sessions record them.
pub fn client(request: &Request) -> (String, String) {
    let ip = request.client_ip().map(|ip| ip.to_string()).unwrap_or_default();
    (ip, request.header("user-agent").unwrap_or("").chars().take(512).collect())
}

/// Records a security event about `request` (logged, not failed, if it cannot be written).
pub fn record(
    store: &Store,
    request: &Request,
    kind: &str,
    user_id: Option<&str>,
    session_id: Option<&str>,
    detail: serde_json::Value,
    at: i64,
) {
    let (ip, user_agent) = client(request);
    let event = Event { kind, user_id, session_id, detail, ip: &ip, user_agent: &user_agent };
    events::record_or_log(store.db(), &event, at);
}

/// When `session` ends without further activity, and when it ends whatever happens.
pub fn expiry(session: &Session, policy: &SessionPolicy) -> (i64, i64) {
    let absolute = session.created_at.saturating_add(i64::try_from(policy.absolute_lifetime).unwrap_or(i64::MAX));
    let idle = session.last_seen_at.saturating_add(i64::try_from(policy.idle_timeout).unwrap_or(i64::MAX));
    (absolute.min(idle), absolute)
}

/// The session as the API shows it.
pub fn session_json(session: &Session, policy: &SessionPolicy) -> serde_json::Value {
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
    })
}

/// A session with its (new) token, as login and refresh answer.
pub fn token_answer(session: &Session, policy: &SessionPolicy, token: &str) -> serde_json::Value {
    let mut body = session_json(session, policy);
    if let Some(fields) = body.as_object_mut() {
        fields.insert("token".to_owned(), json!(token));
        fields.insert("token_type".to_owned(), json!("Bearer"));
    }
    body
}

/// `POST /v1/login` `{"email", "password"}` -> 201 with a new session token.
pub fn login(request: &Request, get: Lookup<'_>) -> Reply {
    let body: Login = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let policy = match policy_or_reply(get) {
        Ok(policy) => policy,
        Err(refusal) => return refusal,
    };
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("login", &error),
    };
    // A malformed email cannot be registered: it is just another unknown user.
    let email = normalize_email(&body.email).ok();
    let user = match &email {
        Some(email) => match store
            .db()
            .query("SELECT id, password_hash FROM users WHERE email = $1", &[SqlValue::Text(email.clone())])
        {
            Ok(rows) => rows.into_iter().next(),
            Err(error) => return unavailable("login", &error),
        },
        None => None,
    };
    let (user_id, stored_hash) = match user.as_deref() {
        Some([id, hash]) => (id.as_str().map(str::to_owned), hash.as_str().map(str::to_owned)),
        _ => (None, None),
    };
    let verified = password::verify(&body.password, stored_hash.as_deref());
    let now = now();
    let Some(user_id) = user_id.clone().filter(|_| verified) else {
        let detail = json!({"reason": if user_id.is_some() { "wrong_password" } else { "unknown_email" }});
        record(&store, request, "login_failed", user_id.as_deref(), None, detail, now);
        return Reply::error(401, "invalid_credentials", "the email or password is wrong");
    };

    let token = tokens::new_session_token();
    let Ok(key) = tokens::storage_key(&token) else {
        return Reply::error(500, "internal_error", "a session token could not be made");
    };
    let (ip, user_agent) = client(request);
    let session = Session {
        key,
        id: tokens::new_challenge_id(),
        user_id,
        aal: 1,
        method: "password".to_owned(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        ip,
        user_agent,
    };
    match store.admit(&session, &policy, now) {
        Ok(Admitted::Created { evicted }) => {
            let uid = Some(session.user_id.as_str());
            let sid = Some(session.id.as_str());
            record(&store, request, "login_succeeded", uid, sid, json!({"method": "password"}), now);
            record(&store, request, "session_created", uid, sid, json!({"aal": 1}), now);
            if !evicted.is_empty() {
                let detail = json!({"reason": "session_limit", "count": evicted.len()});
                record(&store, request, "session_evicted", uid, None, detail, now);
            }
            Reply::json(201, &token_answer(&session, &policy, &token))
        }
        Ok(Admitted::Refused) => {
            let detail = json!({"reason": "session_limit"});
            record(&store, request, "login_refused", Some(&session.user_id), None, detail, now);
            Reply::error(
                409,
                "session_limit_reached",
                "this account has the maximum number of sessions: log out of one first",
            )
        }
        Err(error) => unavailable("login", &error),
    }
}

/// The session a request presents, checked and current; else the refusal to answer with.
pub fn authenticate(request: &Request, get: Lookup<'_>) -> Result<(Store, Session, SessionPolicy), Reply> {
    let unauthenticated = || {
        Reply::error(401, "unauthenticated", "a valid session token is required")
            .with_header("www-authenticate", "Bearer")
    };
    let token = request.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(unauthenticated)?;
    let key = tokens::storage_key(token.trim()).map_err(|_| unauthenticated())?;
    let policy = policy_or_reply(get)?;
    let store = Store::open(get).map_err(|error| unavailable("authenticate", &error))?;
    let now = now();
    match store.find(&key, &policy, now) {
        Ok(Found::Live(session)) => Ok((store, session, policy)),
        Ok(Found::Ended(session, reason)) => {
            let detail = json!({"reason": reason});
            record(&store, request, "session_expired", Some(&session.user_id), Some(&session.id), detail, now);
            Err(unauthenticated())
        }
        Ok(Found::Missing) => Err(unauthenticated()),
        Err(error) => Err(unavailable("authenticate", &error)),
    }
}

/// `GET /v1/session`: the current session.
pub fn current(request: &Request, get: Lookup<'_>) -> Reply {
    match authenticate(request, get) {
        Ok((_, session, policy)) => Reply::json(200, &json!({"session": session_json(&session, &policy)})),
        Err(refusal) => refusal,
    }
}

/// `DELETE /v1/session`: logs the current session out; its token stops working at once.
pub fn logout(request: &Request, get: Lookup<'_>) -> Reply {
    match authenticate(request, get) {
        Ok((store, session, _)) => match store.end(&session, "logout", now()) {
            Ok(()) => {
                let detail = json!({"reason": "logout"});
                record(&store, request, "session_revoked", Some(&session.user_id), Some(&session.id), detail, now());
                Reply::json(200, &json!({"status": "logged_out"}))
            }
            Err(error) => unavailable("logout", &error),
        },
        Err(refusal) => refusal,
    }
}
