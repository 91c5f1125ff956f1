//! Accounts: `POST /v1/register` `{"email", "password"}`, `POST /v1/password` `{"current_password",
//! "new_password"}`, and the user's own data: `GET /v1/account/export`, `DELETE /v1/account` (both with step-up).

use serde::Deserialize;
use serde_json::json;

use super::answer::Answer;
use super::caller;
use crate::domain::accounts;
use crate::domain::context::Ctx;
use crate::domain::privacy;
use crate::http::cookies::clear_session_cookie;
use crate::http::{Reply, Request, body};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /v1/register`: a taken email answers exactly as a new one.
pub fn register(request: &Request, ctx: &Ctx) -> Answer {
    accounts::require_registration_open(ctx)?;
    let registration: Registration = body::json(request)?;
    accounts::register(ctx, &registration.email, &registration.password)?;
    Ok(Reply::json(201, &json!({"status": "registered", "message": "you can now log in with this email"})))
}

/// `POST /v1/password`: the user's other sessions are revoked.
pub fn change_password(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::session(request, ctx)?;
    let change: PasswordChange = body::json(request)?;
    let revoked = accounts::change_password(ctx, &session, &policy, &change.current_password, &change.new_password)?;
    Ok(Reply::json(200, &json!({"status": "password_changed", "revoked": revoked})))
}

/// `GET /v1/account/export`: the user's data as a JSON attachment.
pub fn export(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::recent_session(request, ctx)?;
    let document = privacy::export(ctx, &session)?;
    Ok(Reply::json(200, &document)
        .with_header("content-disposition", "attachment; filename=\"mfa-account-export.json\""))
}

/// `DELETE /v1/account`: erases the account; every session ends, this one included.
pub fn erase(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::recent_session(request, ctx)?;
    privacy::erase(ctx, &session)?;
    Ok(Reply::json(200, &json!({"erased": true})).with_header("set-cookie", clear_session_cookie()))
}
