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
use crate::http::{Reply, Request};
use crate::password;
use crate::policy;
use crate::sessions::{Admitted, Session, Store};
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

/// The session as the API shows it.
pub fn session_json(session: &Session, policy: &SessionPolicy) -> serde_json::Value {
    let absolute = session.created_at.saturating_add(i64::try_from(policy.absolute_lifetime).unwrap_or(i64::MAX));
    let idle = session.last_seen_at.saturating_add(i64::try_from(policy.idle_timeout).unwrap_or(i64::MAX));
    json!({
        "id": session.id,
        "user_id": session.user_id,
        "aal": session.aal,
        "method": session.method,
        "auth_time": session.auth_time,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "expires_at": absolute.min(idle),
        "absolute_expires_at": absolute,
        "ip": session.ip,
        "user_agent": session.user_agent,
    })
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
    let Some(user_id) = user_id.filter(|_| verified) else {
        return Reply::error(401, "invalid_credentials", "the email or password is wrong");
    };

    let token = tokens::new_session_token();
    let Ok(key) = tokens::storage_key(&token) else {
        return Reply::error(500, "internal_error", "a session token could not be made");
    };
    let now = now();
    let session = Session {
        key,
        id: tokens::new_challenge_id(),
        user_id,
        aal: 1,
        method: "password".to_owned(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        ip: request.client_ip().map(|ip| ip.to_string()).unwrap_or_default(),
        user_agent: request.header("user-agent").unwrap_or("").chars().take(512).collect(),
    };
    match store.admit(&session, &policy, now) {
        Ok(Admitted::Created { .. }) => {
            let mut body = session_json(&session, &policy);
            if let Some(fields) = body.as_object_mut() {
                fields.insert("token".to_owned(), json!(token));
                fields.insert("token_type".to_owned(), json!("Bearer"));
            }
            Reply::json(201, &body)
        }
        Ok(Admitted::Refused) => Reply::error(
            409,
            "session_limit_reached",
            "this account has the maximum number of sessions: log out of one first",
        ),
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
    match store.find(&key, &policy, now()) {
        Ok(Some(session)) => Ok((store, session, policy)),
        Ok(None) => Err(unauthenticated()),
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
            Ok(()) => Reply::json(200, &json!({"status": "logged_out"})),
            Err(error) => unavailable("logout", &error),
        },
        Err(refusal) => refusal,
    }
}
