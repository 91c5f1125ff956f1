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
//! - `POST /v1/service/users/{id}/sessions` `{"ip"?, "user_agent"?, "device_id"?, "location"?}`: signs in a user the
//!   product authenticated itself: 201 a session (aal 1, method `external`) or 200 a challenge (verified with `POST
//!   /v1/login/verify`), each with the `device_id` to keep in the browser's cookie.
//! - `GET /v1/service/users/{id}/factors` (as `GET /v1/mfa/factors` shows them), `GET
//!   /v1/service/users/{id}/sessions` (as `GET /v1/sessions`), `DELETE /v1/service/users/{id}/sessions/{sid}`.
//! - `GET /v1/service/users/{id}`, `POST /v1/service/users/{id}/revoke-sessions`,
//!   `POST /v1/service/users/{id}/challenge` (verified with `POST /v1/login/verify`; 409 `no_second_factor` if
//!   none), `POST /v1/service/users/{id}/reset-second-factor` (lifts the second-factor lockout).
//! - `POST /v1/service/users/{id}/second-factor-recovery` `{"operator", "reason"}`: removes every second factor of
//!   a user who lost theirs, voids their trusted devices and ends their sessions (audited).
//! - `GET /v1/service/stats`: second-factor adoption (users, those with a factor, the share) and, with second
//!   factors required, how many users without one are within their grace period and how many are past it.
//! - `GET /v1/service/events?after=<id>&limit=<n>`: every user's security events after event `after`, oldest
//!   first (at most `limit`, 100 by default, 1000 at most), each with the user's `external_id`; `next_after` is
//!   the cursor for the next page.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::json;

use super::answer::{Answer, session_json, token_json};
use super::caller::{self, path_id};
use super::login::{challenge_json, challenge_reply};
use super::mfa::factors_json;
use crate::domain::context::{Client, Ctx};
use crate::domain::enforcement;
use crate::domain::events;
use crate::domain::login::Next;
use crate::domain::mfa::recovery::Audit;
use crate::domain::service;
use crate::domain::sessions::expiry;
use crate::http::{Reply, Request, body, query};
use crate::model::Location;
use crate::store::users::User;

/// The path prefix of one user.
const ONE_USER: &str = "/v1/service/users/";

/// The events `GET /v1/service/events` answers when not told: by default, and at most.
const FEED_PAGE: (i64, i64) = (100, 1000);

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
    /// Where the end user is, as the product's own proxy reported it.
    #[serde(default)]
    location: Option<StatedLocation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatedLocation {
    country: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    city: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Link {
    external_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Recovery {
    /// The support staff member who asked.
    operator: String,
    /// Why.
    reason: String,
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
    // A restricted session may only enroll a second factor: to the product it is not signed in (fail closed),
    // and the product learns why.
    if enforcement::is_restricted(&session) {
        return Ok(Reply::json(200, &json!({"active": false, "mfa_enrollment_required": true})));
    }
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
    let ip = match body.ip.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<IpAddr>()
                .map_err(|_| Reply::error(400, "invalid_field", "ip must be the end user's IPv4 or IPv6 address"))?,
        ),
    };
    let location = match &body.location {
        None => Location::default(),
        Some(stated) => Location::stated(&stated.country, stated.region.as_deref(), stated.city.as_deref())
            .ok_or_else(|| {
                let message = "location: country must be an ISO 3166-1 alpha-2 code, region and city at most 64 \
                               characters without control characters";
                Reply::error(400, "invalid_field", message)
            })?,
    };
    ctx.act_for(Client::new(ip, body.user_agent.as_deref().unwrap_or("")).at(location));
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

/// `POST /v1/service/users/{id}/second-factor-recovery`.
pub fn recover_second_factor(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let body: Recovery = body::json(request)?;
    let audit = Audit { operator: &body.operator, reason: &body.reason };
    let recovered = service::recover_second_factor(ctx, path_id(request, ONE_USER), &audit)?;
    Ok(Reply::json(
        200,
        &json!({
            "factors_removed": recovered.factors_removed,
            "backup_codes_removed": recovered.backup_codes_removed,
            "sessions_revoked": recovered.sessions_ended,
        }),
    ))
}

/// `GET /v1/service/events`.
pub fn events(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let after = query::integer(request, "after", 0, 0, i64::MAX)?;
    let limit = query::integer(request, "limit", FEED_PAGE.0, 1, FEED_PAGE.1)?;
    let page = events::feed(ctx, after, limit)?;
    let next_after = page.last().and_then(|event| event["id"].as_i64()).unwrap_or(after);
    Ok(Reply::json(200, &json!({"events": page, "next_after": next_after})))
}

/// `GET /v1/service/stats`.
pub fn stats(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let adoption = enforcement::adoption(ctx)?;
    let share = if adoption.users == 0 {
        0.0
    } else {
        // Four decimals are plenty for a share; the counts are exact.
        (adoption.with_factor as f64 / adoption.users as f64 * 10_000.0).round() / 10_000.0
    };
    Ok(Reply::json(
        200,
        &json!({
            "users": adoption.users,
            "with_second_factor": adoption.with_factor,
            "adoption_share": share,
            "mfa_enforcement": if adoption.required { "required" } else { "optional" },
            "grace_days": adoption.grace_days,
            "in_grace": adoption.in_grace,
            "past_grace": adoption.past_grace,
        }),
    ))
}
