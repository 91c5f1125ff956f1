//! Login: `POST /v1/login` `{"email", "password"}` answers 201 with a new session (the token in the JSON body and
//! in the `__Host-` session cookie, the CSRF token for cookie use) or, for a user with a second factor, 200 `{
//! "mfa_required": true, "challenge_id", "methods", "expires_at"}`; either way with a new device cookie for a
//! browser that had none (or one this account never saw). Then, with a challenge: `POST /v1/login/sms`
//! `{"challenge_id", "phone_id"?}` sends an SMS code, and `POST /v1/login/verify` `{"challenge_id", "method":
//! "totp" | "sms" | "backup_code" | "webauthn", "code" | "credential", "remember_device"?}` answers a new session
//! with `aal` 2; for `webauthn`, `POST /v1/login/webauthn/options` `{"challenge_id"}` gives the passkey's options
//! and `credential` is its answer (`PublicKeyCredential.toJSON()`).
//!
//! Passwordless: `POST /v1/login/passkey/options` gives the options of a sign-in with any passkey of this site, and
//! `POST /v1/login/passkey` `{"credential"}` answers 201 with a session (`aal` 2, method `passkey`).

use serde::Deserialize;
use serde_json::json;

use super::answer::{Answer, started_reply};
use crate::domain::context::Ctx;
use crate::domain::login::{self, Next};
use crate::domain::mfa::challenge::{self, Issued, Verification};
use crate::domain::mfa::passkeys::{self, PasskeyResponse};
use crate::domain::new_session::Device;
use crate::http::cookies::{self, DEVICE_COOKIE};
use crate::http::{Reply, Request, body};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verify {
    challenge_id: String,
    method: String,
    #[serde(default)]
    code: String,
    /// A passkey's answer, for `webauthn`.
    #[serde(default)]
    credential: Option<PasskeyResponse>,
    #[serde(default)]
    remember_device: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChallengeId {
    challenge_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasskeySignIn {
    credential: PasskeyResponse,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendSms {
    challenge_id: String,
    #[serde(default)]
    phone_id: Option<String>,
}

/// A challenge as login and the service API answer it.
pub fn challenge_reply(issued: &Issued) -> Reply {
    Reply::json(200, &challenge_json(issued))
}

/// A challenge as JSON.
pub fn challenge_json(issued: &Issued) -> serde_json::Value {
    json!({"mfa_required": true, "challenge_id": issued.id, "methods": issued.methods, "expires_at": issued.expires_at})
}

/// Adds the device cookie to `reply` when the device id is new.
fn with_device_cookie(reply: Reply, device: &Device) -> Reply {
    match &device.new_id {
        Some(id) => reply.with_header("set-cookie", cookies::device_cookie(id)),
        None => reply,
    }
}

/// `POST /v1/login`.
pub fn login(request: &Request, ctx: &Ctx) -> Answer {
    let body: Login = body::json(request)?;
    let logged_in = login::login(ctx, &body.email, &body.password, request.cookie(DEVICE_COOKIE))?;
    let reply = match &logged_in.next {
        Next::Session(started) => started_reply(started, &ctx.session_policy()?, ctx),
        Next::Challenge(issued) => challenge_reply(issued),
    };
    Ok(with_device_cookie(reply, &logged_in.device))
}

/// `POST /v1/login/sms`.
pub fn send_sms(request: &Request, ctx: &Ctx) -> Answer {
    let body: SendSms = body::json(request)?;
    let (phone, sent) = challenge::send_sms(ctx, &body.challenge_id, body.phone_id.as_deref())?;
    let answer =
        json!({"sent": true, "phone": phone.masked(), "expires_at": sent.expires_at, "sends_left": sent.sends_left});
    Ok(Reply::json(200, &answer))
}

/// `POST /v1/login/verify`.
pub fn verify(request: &Request, ctx: &Ctx) -> Answer {
    let body: Verify = body::json(request)?;
    let verification = Verification {
        challenge_id: &body.challenge_id,
        method: &body.method,
        code: &body.code,
        passkey: body.credential.as_ref(),
        remember_device: body.remember_device,
    };
    let started = challenge::verify(ctx, &verification)?;
    Ok(started_reply(&started, &ctx.session_policy()?, ctx))
}

/// `POST /v1/login/webauthn/options` `{"challenge_id"}`: the options of a passkey assertion for the challenge.
pub fn passkey_options(request: &Request, ctx: &Ctx) -> Answer {
    let body: ChallengeId = body::json(request)?;
    Ok(Reply::json(200, &json!({"publicKey": challenge::passkey_options(ctx, &body.challenge_id)?})))
}

/// `POST /v1/login/passkey/options`: the options of a passwordless sign-in.
pub fn passwordless_options(_request: &Request, ctx: &Ctx) -> Answer {
    Ok(Reply::json(200, &json!({"publicKey": passkeys::passwordless_options(ctx)?})))
}

/// `POST /v1/login/passkey` `{"credential"}`: a passwordless sign-in.
pub fn passwordless(request: &Request, ctx: &Ctx) -> Answer {
    let body: PasskeySignIn = body::json(request)?;
    let logged_in = login::passkey(ctx, &body.credential, request.cookie(DEVICE_COOKIE))?;
    let reply = match &logged_in.next {
        Next::Session(started) => started_reply(started, &ctx.session_policy()?, ctx),
        Next::Challenge(issued) => challenge_reply(issued),
    };
    Ok(with_device_cookie(reply, &logged_in.device))
}
