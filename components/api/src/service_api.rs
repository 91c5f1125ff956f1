//! The service API for a product's backend, authenticated by the service API key (`Authorization: Bearer <key>`,
//! compared in constant time):
//!
//! - `POST /v1/introspect` `{"token": "..."}`: RFC 7662's shape. An active session answers
//!   `{"active": true, "sub", "sid", "exp", "iat", "aal", "auth_time", "token_type"}`; anything else (unknown,
//!   revoked, expired, malformed) answers only `{"active": false}`. Introspection counts as the session's activity
//!   for the idle timeout, written at most once per activity interval (session-policy decides).

use serde::Deserialize;
use serde_json::json;

use crate::accounts::json_body;
use crate::auth::{expiry, unavailable};
use crate::bindings::mfa::session::tokens;
use crate::clock::now;
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::router::require_api_key;
use crate::sessions::{Found, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Introspection {
    token: String,
    /// RFC 7662's optional hint; only session tokens exist here.
    #[serde(default)]
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// `POST /v1/introspect`.
pub fn introspect(request: &Request, get: Lookup<'_>) -> Reply {
    if let Err(refusal) = require_api_key(request, get) {
        return refusal;
    }
    let body: Introspection = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let inactive = || Reply::json(200, &json!({"active": false}));
    let Ok(key) = tokens::storage_key(body.token.trim()) else { return inactive() };
    let policy = match crate::auth::policy_or_reply(get) {
        Ok(policy) => policy,
        Err(refusal) => return refusal,
    };
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("introspect", &error),
    };
    let now = now();
    let found = store.find(&key, &policy, now);
    crate::auth::record_expired(&store, request, now);
    match found {
        Ok(Found::Live(session)) => {
            let (expires_at, _) = expiry(&session, &policy);
            Reply::json(
                200,
                &json!({
                    "active": true,
                    "sub": session.user_id,
                    "sid": session.id,
                    "exp": expires_at,
                    "iat": session.created_at,
                    "aal": session.aal,
                    "auth_time": session.auth_time,
                    "token_type": "Bearer",
                }),
            )
        }
        Ok(Found::Ended | Found::Missing) => inactive(),
        Err(error) => unavailable("introspect", &error),
    }
}
