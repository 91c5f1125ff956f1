//! The session a request presents, and the current session's endpoints: `GET /v1/session`, `DELETE /v1/session`
//! (logout).
//!
//! A session is presented as `Authorization: Bearer <token>` or as the `__Host-mfa_session` cookie; a
//! cookie-authenticated request that changes state must also carry the session's CSRF token ([`crate::cookies`]).

use serde_json::json;

use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::throttle::ThrottlePolicy;
use crate::bindings::mfa::session::tokens;
use crate::clock::now;
use crate::config::Lookup;
use crate::cookies::{self, CSRF_HEADER, SESSION_COOKIE};
use crate::events::{self, Event};
use crate::http::{Reply, Request};
use crate::policy;
use crate::sessions::{Found, Session, Store};

/// A storage failure as a handler meets it.
pub trait StorageFailure: std::fmt::Display {
    /// Whether it means that the account was erased while the request ran (a write found no user).
    fn account_gone(&self) -> bool {
        false
    }
}

impl StorageFailure for crate::sql::DbError {
    fn account_gone(&self) -> bool {
        matches!(self, Self::Gone)
    }
}

impl StorageFailure for crate::sessions::StoreError {
    fn account_gone(&self) -> bool {
        matches!(self, Self::Db(crate::sql::DbError::Gone))
    }
}

/// 503 for a storage failure, logged with `what` (never with the request's data); 404 `account_not_found` when
/// the account was erased while the request ran.
pub fn unavailable(what: &str, error: &impl StorageFailure) -> Reply {
    if error.account_gone() {
        return Reply::error(404, "account_not_found", "this account no longer exists");
    }
    eprintln!("{what}: {error}");
    Reply::error(503, "unavailable", "the service cannot reach its storage")
}

/// The session policy in force, or the 500 to answer when its variables are invalid.
pub fn policy_or_reply(get: Lookup<'_>) -> Result<SessionPolicy, Reply> {
    policy::current(get).map_err(|error| {
        eprintln!("{error}");
        Reply::error(500, "misconfigured", "the session policy variables are invalid")
    })
}

/// The client address and user agent of `request`, as events and sessions record them.
pub fn client(request: &Request) -> (String, String) {
    let ip = request.client_ip.map(|ip| ip.to_string()).unwrap_or_default();
    (ip, request.header("user-agent").unwrap_or("").chars().take(512).collect())
}

/// The throttle policy, or the answer when its variables are invalid.
pub fn throttles_or_reply(get: Lookup<'_>) -> Result<ThrottlePolicy, Reply> {
    crate::policy::throttles(get).map_err(|error| {
        eprintln!("{error}");
        Reply::error(500, "misconfigured", "the throttle variables are invalid")
    })
}

/// Records a security event about a request refused before it opened any storage (opening it now).
pub fn record_refusal(request: &Request, get: Lookup<'_>, kind: &str, detail: serde_json::Value) {
    match Store::open(get) {
        Ok(store) => record(&store, request, kind, None, None, detail, now()),
        Err(error) => eprintln!("security event [{kind:?}] not recorded: {error}"),
    }
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
    record_all(store, request, &[Happened { kind, user_id, session_id, detail }], at);
}

/// One event about a request, for [`record_all`].
pub struct Happened<'a> {
    /// What happened.
    pub kind: &'a str,
    /// Whose account.
    pub user_id: Option<&'a str>,
    /// Which session.
    pub session_id: Option<&'a str>,
    /// Details (never a secret).
    pub detail: serde_json::Value,
}

/// Records several events about `request` at once (one lock, one transaction), in order.
pub fn record_all(store: &Store, request: &Request, happened: &[Happened<'_>], at: i64) {
    let (ip, user_agent) = client(request);
    let events: Vec<Event<'_>> = happened
        .iter()
        .map(|h| Event {
            kind: h.kind,
            user_id: h.user_id,
            session_id: h.session_id,
            detail: h.detail.clone(),
            ip: &ip,
            user_agent: &user_agent,
        })
        .collect();
    append_events(store, &events, at);
}

/// Appends `events` at `at`. The actions they describe already happened, so a failure does not fail the request;
/// it is logged naming each kind and counted (`event_write_failures_total{kind}`, [`crate::app_metrics`]).
pub fn append_events(store: &Store, events: &[Event<'_>], at: i64) {
    if let Err(error) = events::record(store.db(), events, at) {
        let kinds: Vec<&str> = events.iter().map(|event| event.kind).collect();
        eprintln!("security events {kinds:?} not recorded: {error}");
        let series: Vec<String> = kinds.iter().map(|kind| crate::app_metrics::event_write_failure(kind)).collect();
        if let Err(error) = crate::app_metrics::count(store, &series) {
            eprintln!("security events {kinds:?}: the failure could not be counted either: {error}");
        }
    }
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
        "device_label": session.device_label,
        "risk_signals": session.risk.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
    })
}

/// A session with its (new) token, as login and refresh answer.
pub fn token_answer(session: &Session, policy: &SessionPolicy, token: &str) -> serde_json::Value {
    let mut body = session_json(session, policy);
    if let Some(fields) = body.as_object_mut() {
        fields.insert("token".to_owned(), json!(token));
        fields.insert("token_type".to_owned(), json!("Bearer"));
        fields.insert("csrf_token".to_owned(), json!(cookies::csrf_token(token)));
    }
    body
}

/// The session token a request presents, and whether it came from the cookie (the `Authorization` header wins).
pub fn presented_token(request: &Request) -> Option<(&str, bool)> {
    match request.header("authorization") {
        Some(value) => value.strip_prefix("Bearer ").map(|token| (token.trim(), false)),
        None => request.cookie(SESSION_COOKIE).filter(|token| !token.is_empty()).map(|token| (token, true)),
    }
}

/// The session a request presents, checked and current; else the refusal to answer with.
pub fn authenticate(request: &Request, get: Lookup<'_>) -> Result<(Store, Session, SessionPolicy), Reply> {
    let unauthenticated = || {
        Reply::error(401, "unauthenticated", "a valid session token is required")
            .with_header("www-authenticate", "Bearer")
    };
    let (token, from_cookie) = presented_token(request).ok_or_else(unauthenticated)?;
    let key = tokens::storage_key(token).map_err(|_| unauthenticated())?;
    let csrf_refused = from_cookie
        && cookies::changes_state(&request.method)
        && !request.header(CSRF_HEADER).is_some_and(|given| cookies::csrf_matches(token, given));
    let policy = policy_or_reply(get)?;
    let store = Store::open(get).map_err(|error| unavailable("authenticate", &error))?;
    let now = now();
    if csrf_refused {
        // Whose session was used (if it is one), without counting the refused request as its activity.
        let session = match store.peek(&key, &policy, now) {
            Ok(Found::Live(session)) => Some(*session),
            _ => None,
        };
        let (user_id, session_id) =
            (session.as_ref().map(|s| s.user_id.as_str()), session.as_ref().map(|s| s.id.as_str()));
        let detail = json!({"method": request.method, "path": request.path});
        record(&store, request, "csrf_refused", user_id, session_id, detail, now);
        record_expired(&store, request, now);
        return Err(Reply::error(
            403,
            "csrf_token_invalid",
            "a request authenticated by the session cookie must send the session's X-CSRF-Token header",
        ));
    }
    let found = store.find(&key, &policy, now);
    record_expired(&store, request, now);
    match found {
        Ok(Found::Live(session)) => Ok((store, *session, policy)),
        Ok(Found::Ended | Found::Missing) => Err(unauthenticated()),
        Err(error) => Err(unavailable("authenticate", &error)),
    }
}

/// Records a `session_expired` event for each session `store` found expired and ended while serving `request`.
pub fn record_expired(store: &Store, request: &Request, now: i64) {
    let expired = store.take_expired();
    let happened: Vec<Happened<'_>> = expired
        .iter()
        .map(|ended| Happened {
            kind: "session_expired",
            user_id: Some(&ended.user_id),
            session_id: Some(&ended.session_id),
            detail: json!({"reason": ended.reason}),
        })
        .collect();
    if !happened.is_empty() {
        record_all(store, request, &happened, now);
    }
}

/// `GET /v1/session`: the current session.
pub fn current(request: &Request, get: Lookup<'_>) -> Reply {
    match authenticate(request, get) {
        Ok((_, session, policy)) => {
            let csrf = presented_token(request).map(|(token, _)| cookies::csrf_token(token));
            Reply::json(200, &json!({"session": session_json(&session, &policy), "csrf_token": csrf}))
        }
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
                    .with_header("set-cookie", cookies::clear_session_cookie())
            }
            Err(error) => unavailable("logout", &error),
        },
        Err(refusal) => refusal,
    }
}
