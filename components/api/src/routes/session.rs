//! The signed-in user's sessions: `GET /v1/session` (the current one), `DELETE /v1/session` (logout),
//! `POST /v1/session/refresh` (a new token; the old one stops working at once), `POST /v1/session/step-up`
//! `{"method", "code"?, "password"?, "credential"?}`, `POST /v1/session/step-up/sms` `{"phone_id"?}` and `POST
//! /v1/session/step-up/webauthn/options` (a passkey's options; its answer is the `credential`), `GET /v1/sessions` (the
//! current one flagged), `DELETE /v1/sessions/{id}`, `POST /v1/sessions/revoke-others`,
//! `POST /v1/sessions/revoke-all`, and `GET /v1/activity` (the user's security events, newest first, a page of at
//! most 100).

use serde::Deserialize;
use serde_json::json;

use super::answer::{Answer, session_json, token_reply};
use super::caller::{self, path_id};
use crate::bindings::mfa::session::enrollment::EnrollmentStatus;
use crate::domain::auth::csrf_token;
use crate::domain::context::Ctx;
use crate::domain::enforcement;
use crate::domain::events;
use crate::domain::mfa::passkeys::PasskeyResponse;
use crate::domain::mfa::step_up::{self, StepUp};
use crate::domain::sessions;
use crate::http::cookies::clear_session_cookie;
use crate::http::{Reply, Request, body, query};

/// The path prefix of one session.
const ONE_SESSION: &str = "/v1/sessions/";

/// The most events `GET /v1/activity` shows at once (and by default).
const ACTIVITY_LIMIT: i64 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepUpBody {
    method: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
    /// A passkey's answer, for `webauthn`.
    #[serde(default)]
    credential: Option<PasskeyResponse>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SendSms {
    #[serde(default)]
    phone_id: Option<String>,
}

/// `GET /v1/session`.
pub fn current(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::enrolling_session(request, ctx)?;
    let csrf = caller::presented_token(request).map(|(token, _)| csrf_token(token));
    let (status, deadline) = match enforcement::status(ctx, &session.user_id)? {
        EnrollmentStatus::Satisfied => ("satisfied", None),
        EnrollmentStatus::InGrace(ends) => ("in_grace", Some(ends)),
        EnrollmentStatus::Required => ("required", None),
    };
    let enrollment = json!({"status": status, "deadline": deadline});
    Ok(Reply::json(
        200,
        &json!({"session": session_json(&session, &policy), "csrf_token": csrf, "mfa_enrollment": enrollment}),
    ))
}

/// `DELETE /v1/session`.
pub fn logout(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::enrolling_session(request, ctx)?;
    sessions::logout(ctx, &session)?;
    Ok(Reply::json(200, &json!({"status": "logged_out"})).with_header("set-cookie", clear_session_cookie()))
}

/// `POST /v1/session/refresh`.
pub fn refresh(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::session(request, ctx)?;
    let (renewed, token) = sessions::refresh(ctx, &session)?;
    Ok(token_reply(200, &renewed, &policy, &token, ctx))
}

/// `POST /v1/session/step-up`.
pub fn step_up(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::enrolling_session(request, ctx)?;
    let body: StepUpBody = body::json(request)?;
    let step = StepUp {
        method: &body.method,
        code: body.code.as_deref(),
        passkey: body.credential.as_ref(),
        password: body.password.as_deref(),
    };
    let (renewed, token) = step_up::step_up(ctx, &session, &step)?;
    Ok(token_reply(200, &renewed, &policy, &token, ctx))
}

/// `POST /v1/session/step-up/sms`.
pub fn step_up_sms(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    let body: SendSms = body::json_or_default(request)?;
    let (phone, sent) = step_up::send_sms(ctx, &session, body.phone_id.as_deref())?;
    let answer =
        json!({"sent": true, "phone": phone.masked(), "expires_at": sent.expires_at, "sends_left": sent.sends_left});
    Ok(Reply::json(200, &answer))
}

/// `POST /v1/session/step-up/webauthn/options`: the options of a passkey assertion to step up with.
pub fn step_up_passkey_options(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    Ok(Reply::json(200, &json!({"publicKey": step_up::passkey_options(ctx, &session)?})))
}

/// `GET /v1/sessions`.
pub fn list(request: &Request, ctx: &Ctx) -> Answer {
    let (current, policy) = caller::session(request, ctx)?;
    let shown: Vec<serde_json::Value> = sessions::list(ctx, &current.user_id, &policy)?
        .iter()
        .map(|session| {
            let mut shown = session_json(session, &policy);
            if let Some(fields) = shown.as_object_mut() {
                fields.insert("current".to_owned(), json!(session.id == current.id));
            }
            shown
        })
        .collect();
    Ok(Reply::json(200, &json!({"sessions": shown})))
}

/// `DELETE /v1/sessions/{id}`: one of the user's own sessions (404 for any other id).
pub fn revoke_one(request: &Request, ctx: &Ctx) -> Answer {
    let (current, policy) = caller::session(request, ctx)?;
    let revoked = sessions::revoke_one(ctx, &current, &policy, path_id(request, ONE_SESSION))?;
    Ok(Reply::json(200, &json!({"revoked": revoked})))
}

/// `POST /v1/sessions/revoke-others`: every session of the user but this one.
pub fn revoke_others(request: &Request, ctx: &Ctx) -> Answer {
    let (current, policy) = caller::session(request, ctx)?;
    let revoked = sessions::revoke_all(ctx, &current, &policy, true)?;
    Ok(Reply::json(200, &json!({"revoked": revoked})))
}

/// `POST /v1/sessions/revoke-all`: every session of the user, this one included.
pub fn revoke_all(request: &Request, ctx: &Ctx) -> Answer {
    let (current, policy) = caller::session(request, ctx)?;
    let revoked = sessions::revoke_all(ctx, &current, &policy, false)?;
    Ok(Reply::json(200, &json!({"revoked": revoked})).with_header("set-cookie", clear_session_cookie()))
}

/// `GET /v1/activity?before=<id>&limit=<n>`: a page of the user's events, newest first; `next_before` (when there
/// are older ones) is the `before` of the next page.
pub fn activity(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    let before = query::integer(request, "before", i64::MAX, 1, i64::MAX)?;
    let limit = query::integer(request, "limit", ACTIVITY_LIMIT, 1, ACTIVITY_LIMIT)?;
    let mut page = events::of_user(ctx, &session.user_id, before, limit + 1)?;
    let more = page.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_before = if more { page.last().and_then(|event| event["id"].as_i64()) } else { None };
    Ok(Reply::json(200, &json!({"events": page, "next_before": next_before})))
}
