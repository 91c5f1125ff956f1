//! The service API for a product's backend, authenticated by the service API key (`Authorization: Bearer <key>`,
//! compared in constant time):
//!
//! - `POST /v1/introspect` `{"token", "token_type_hint"?}` as JSON or as RFC 7662's own form
//!   (`application/x-www-form-urlencoded`). An active session answers
//!   `{"active": true, "sub", "sid", "exp", "iat", "aal", "auth_time", "token_type"}`; anything else (unknown,
//!   revoked, expired, malformed) answers only `{"active": false}`.
//! - `POST /v1/service/users` `{"external_id", "email"?}`: finds or creates (201; 200 when it existed).
//! - `GET /v1/service/users/by-email/{email}`, `GET /v1/service/users/by-external-id/{external_id}` (each
//!   percent-encoded): finds one (404 `user_not_found`).
//! - `PUT /v1/service/users/{id}/external-id` `{"external_id"}`: links an account to the product's id (409
//!   `external_id_taken`); `DELETE` the same path unlinks it (409 `external_id_required` for a user without a
//!   password).
//! - `POST /v1/service/users/{id}/sessions` `{"ip"?, "user_agent"?, "device_id"?}`: signs in a user the product
//!   authenticated itself: 201 a session (aal 1, method `external`) or 200 a challenge (verified with `POST
//!   /v1/login/verify`), each with the `device_id` to keep in the browser's cookie.
//! - `GET /v1/service/users/{id}/factors` (as `GET /v1/mfa/factors` shows them), `GET
//!   /v1/service/users/{id}/sessions` (as `GET /v1/sessions`), `DELETE /v1/service/users/{id}/sessions/{sid}`.
//! - `GET /v1/service/users/{id}`, `POST /v1/service/users/{id}/revoke-sessions`,
//!   `POST /v1/service/users/{id}/challenge` (verified with `POST /v1/login/verify`; 409 `no_second_factor` if
//!   none), `POST /v1/service/users/{id}/reset-second-factor`.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::json;

use super::answer::{Answer, session_json, token_json};
use super::caller::{self, path_id};
use super::login::{challenge_json, challenge_reply};
use super::mfa::factors_json;
use crate::domain::context::{Client, Ctx};
use crate::domain::login::Next;
use crate::domain::service;
use crate::domain::sessions::expiry;
use crate::http::{Reply, Request, body};
use crate::store::users::User;

/// The path prefix of one user.
const ONE_USER: &str = "/v1/service/users/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Introspection {
    token: String,
    /// RFC 7662's optional hint; only session tokens exist here.
    #[serde(default)]
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    external_id: String,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SignIn {
    /// The end user's address, as the product saw it.
    #[serde(default)]
    ip: Option<String>,
    /// The end user's user agent.
    #[serde(default)]
    user_agent: Option<String>,
    /// The device id the product keeps in the browser's cookie (as this service answered it before).
    #[serde(default)]
    device_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Link {
    external_id: String,
}

fn user_json(user: &User) -> serde_json::Value {
    json!({"id": user.id, "external_id": user.external_id, "email": user.email, "created_at": user.created_at})
}

/// `POST /v1/introspect`.
pub fn introspect(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let body: Introspection = body::json_or_form(request)?;
    let Some((session, policy)) = service::introspect(ctx, &body.token)? else {
        return Ok(Reply::json(200, &json!({"active": false})));
    };
    let (expires_at, _) = expiry(&session, &policy);
    Ok(Reply::json(
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
    ))
}

/// `POST /v1/service/users`.
pub fn find_or_create(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let body: NewUser = body::json(request)?;
    let (user, created) = service::find_or_create(ctx, &body.external_id, body.email.as_deref())?;
    Ok(Reply::json(if created { 201 } else { 200 }, &json!({"user": user_json(&user), "created": created})))
}

/// `GET /v1/service/users/by-email/{email}`.
pub fn find_by_email(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let user = service::find_by_email(ctx, &last_segment(request)?)?;
    Ok(Reply::json(200, &json!({"user": user_json(&user)})))
}

/// `GET /v1/service/users/by-external-id/{external_id}`.
pub fn find_by_external_id(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let user = service::find_by_external_id(ctx, &last_segment(request)?)?;
    Ok(Reply::json(200, &json!({"user": user_json(&user)})))
}

/// The path's last segment, percent-decoded (an email or an external id may hold any character).
fn last_segment(request: &Request) -> Result<String, Reply> {
    let segment = request.path.rsplit('/').next().unwrap_or("");
    match percent_encoding::percent_decode_str(segment).decode_utf8() {
        Ok(text) => Ok(text.into_owned()),
        Err(_) => Err(Reply::error(400, "invalid_field", "the path's last segment is not percent-encoded UTF-8")),
    }
}

/// `PUT /v1/service/users/{id}/external-id`.
pub fn link(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let body: Link = body::json(request)?;
    let user = service::link(ctx, path_id(request, ONE_USER), &body.external_id)?;
    Ok(Reply::json(200, &json!({"user": user_json(&user)})))
}

/// `DELETE /v1/service/users/{id}/external-id`.
pub fn unlink(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    Ok(Reply::json(200, &json!({"user": user_json(&service::unlink(ctx, path_id(request, ONE_USER))?)})))
}

/// `GET /v1/service/users/{id}`.
pub fn show(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    Ok(Reply::json(200, &json!({"user": user_json(&service::user(ctx, path_id(request, ONE_USER))?)})))
}

/// `POST /v1/service/users/{id}/sessions`: 201 a session (its token in the JSON only: the product sets its own
/// cookie) or 200 a challenge, each with the `device_id` the product keeps in the browser's cookie.
pub fn sign_in(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let body: SignIn = body::json_or_default(request)?;
    let ip = match body.ip.as_deref().map(str::trim).filter(|ip| !ip.is_empty()) {
        None => None,
        Some(text) => Some(
            text.parse::<IpAddr>()
                .map_err(|_| Reply::error(400, "invalid_field", "ip must be the end user's IPv4 or IPv6 address"))?,
        ),
    };
    ctx.act_for(Client::new(ip, body.user_agent.as_deref().unwrap_or("")));
    let logged_in = service::sign_in(ctx, path_id(request, ONE_USER), body.device_id.as_deref())?;
    let device_id = logged_in.device.new_id.clone().or(body.device_id);
    let (status, mut answer) = match &logged_in.next {
        Next::Session(started) => (201, token_json(&started.session, &ctx.session_policy()?, &started.token)),
        Next::Challenge(issued) => (200, challenge_json(issued)),
    };
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("device_id".to_owned(), json!(device_id));
    }
    Ok(Reply::json(status, &answer))
}

/// `GET /v1/service/users/{id}/factors`.
pub fn factors(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let id = path_id(request, ONE_USER);
    service::user(ctx, id)?;
    Ok(Reply::json(200, &factors_json(ctx, id)?))
}

/// `GET /v1/service/users/{id}/sessions`.
pub fn sessions(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let (live, policy) = service::sessions_of(ctx, path_id(request, ONE_USER))?;
    let shown: Vec<serde_json::Value> = live.iter().map(|session| session_json(session, &policy)).collect();
    Ok(Reply::json(200, &json!({"sessions": shown})))
}

/// `DELETE /v1/service/users/{id}/sessions/{sid}`.
pub fn revoke_session(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let session_id = request.path.rsplit('/').next().unwrap_or("");
    let revoked = service::revoke_session(ctx, path_id(request, ONE_USER), session_id)?;
    Ok(Reply::json(200, &json!({"revoked": revoked})))
}

/// `POST /v1/service/users/{id}/revoke-sessions`.
pub fn revoke_sessions(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    Ok(Reply::json(200, &json!({"revoked": service::revoke_sessions(ctx, path_id(request, ONE_USER))?})))
}

/// `POST /v1/service/users/{id}/challenge`.
pub fn challenge(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    Ok(challenge_reply(&service::challenge(ctx, path_id(request, ONE_USER))?))
}

/// `POST /v1/service/users/{id}/reset-second-factor`.
pub fn reset_second_factor(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    Ok(Reply::json(200, &json!({"reset": service::reset_second_factor(ctx, path_id(request, ONE_USER))?})))
}
