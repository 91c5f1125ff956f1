//! The signed-in user's second factors:
//!
//! - `GET /v1/mfa/factors`: authenticators and phones, with the backup codes left.
//! - `POST /v1/mfa/totp` `{"name"?, "consent"}`: starts an authenticator enrollment (the secret shown once, as
//!   Base32, as the `otpauth://` URI and as its QR code, SVG text and PNG in Base64); `GET
//!   /v1/mfa/totp/{id}/qr.svg` and `qr.png` serve the QR code until it is confirmed; `POST
//!   /v1/mfa/totp/{id}/confirm` `{"code"}` enables it; `PATCH /v1/mfa/totp/{id}` `{"name"}` renames one and `DELETE`
//!   removes it.
//! - `POST /v1/mfa/sms` `{"phone", "consent"}`: a phone gets a code; `POST /v1/mfa/sms/{id}/confirm` `{"code"}`
//!   enables it; `DELETE /v1/mfa/sms/{id}` removes it.
//!
//! `consent` is the version of the consent text in force for the kind ([`crate::domain::consent`]).
//! - `GET /v1/mfa/backup-codes`: how many are left; `POST /v1/mfa/backup-codes`: a new set.
//!
//! Every one of these but the two reads needs a recent authentication (step-up), else `403 step_up_required`: a
//! first factor too, or whoever holds a stale session could enroll their own authenticator and step up with it.
//! Enabling a first factor answers the backup codes, shown once. A restricted session (second factors required,
//! [`crate::domain::enforcement`]) may list, enroll and confirm, and confirming gives it a new token with full use.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::answer::{Answer, session_cookie, token_json};
use super::caller::{self, path_id};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::domain::context::Ctx;
use crate::domain::enforcement;
use crate::domain::error::Error;
use crate::domain::mfa::backup_codes;
use crate::domain::mfa::{factors, sms, totp};
use crate::http::{Reply, Request, body};
use crate::model::FactorKind;
use crate::store::sessions::Session;

/// The path prefix of one authenticator.
const TOTP: &str = "/v1/mfa/totp/";

/// The path prefix of one phone.
const PHONE: &str = "/v1/mfa/sms/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: Option<String>,
}

/// The body that starts adding an authenticator or a passkey: its name and the consent given.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Start {
    #[serde(default)]
    pub(super) name: Option<String>,
    /// The version of the consent text (of the factor's kind) the user agreed to.
    #[serde(default)]
    pub(super) consent: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddPhone {
    phone: String,
    /// The version of the SMS consent text the user agreed to.
    #[serde(default)]
    consent: Option<String>,
}

/// The answer to a confirmed enrollment by `session`: `answer` with the backup codes of a first factor and, when
/// the session was restricted ([`enforcement::lift`]), the session as it now is with its new token (and cookie).
pub(super) fn confirmed(
    ctx: &Ctx,
    session: &Session,
    policy: &SessionPolicy,
    mut answer: Value,
    codes: Option<Vec<String>>,
) -> Answer {
    let lifted = enforcement::lift(ctx, session)?;
    let Some(fields) = answer.as_object_mut() else { return Ok(Reply::json(200, &answer)) };
    if let Some(codes) = codes {
        fields.insert("backup_codes".to_owned(), json!(codes));
    }
    let Some((renewed, token)) = lifted else { return Ok(Reply::json(200, &answer)) };
    fields.insert("session".to_owned(), token_json(&renewed, policy, &token));
    Ok(Reply::json(200, &answer).with_header("set-cookie", session_cookie(&renewed, policy, &token, ctx)))
}

/// `GET /v1/mfa/factors`.
pub fn list(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::enrolling_session(request, ctx)?;
    Ok(Reply::json(200, &factors_json(ctx, &session.user_id)?))
}

/// The user's factors and backup codes left, as `GET /v1/mfa/factors` shows them (the service API too).
pub fn factors_json(ctx: &Ctx, user_id: &str) -> Result<Value, Error> {
    let factors = factors::list(ctx, user_id)?;
    let mut shown: Vec<Value> = factors
        .authenticators
        .iter()
        .map(|totp| {
            json!({
                "id": totp.id,
                "kind": FactorKind::Totp,
                "name": totp.name,
                "enabled": totp.enabled,
                "created_at": totp.created_at,
                "confirmed_at": totp.confirmed_at,
            })
        })
        .collect();
    shown.extend(factors.phones.iter().map(|phone| {
        json!({
            "id": phone.id,
            "kind": FactorKind::Sms,
            "name": phone.masked(),
            "enabled": phone.enabled,
            "created_at": phone.created_at,
            "confirmed_at": phone.confirmed_at,
        })
    }));
    shown.extend(factors.passkeys.iter().map(|passkey| {
        json!({
            "id": passkey.id,
            "kind": FactorKind::Webauthn,
            "name": passkey.name,
            "enabled": passkey.enabled,
            "created_at": passkey.created_at,
            "confirmed_at": passkey.created_at,
            "last_used_at": passkey.last_used_at,
            "synced": passkey.backup_eligible,
            "transports": passkey.transports.split(',').filter(|t| !t.is_empty()).collect::<Vec<_>>(),
        })
    }));
    Ok(json!({"factors": shown, "backup_codes": factors.backup_codes}))
}

/// `POST /v1/mfa/totp`.
pub fn totp_start(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::recent_enrolling_session(request, ctx)?;
    let body: Start = body::json_or_default(request)?;
    let enrollment = totp::start(ctx, &session, body.name, body.consent.as_deref())?;
    let id = &enrollment.id;
    Ok(Reply::json(
        201,
        &json!({
            "id": id,
            "name": enrollment.name,
            "secret": enrollment.secret,
            "otpauth_uri": enrollment.uri,
            "qr_svg": enrollment.svg,
            "qr_png": STANDARD.encode(&enrollment.png),
            "qr_svg_url": format!("{TOTP}{id}/qr.svg"),
            "qr_png_url": format!("{TOTP}{id}/qr.png"),
        }),
    ))
}

/// `GET /v1/mfa/totp/{id}/qr.svg`.
pub fn totp_qr_svg(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::recent_enrolling_session(request, ctx)?;
    let svg = totp::qr_svg(ctx, &session, &policy, path_id(request, TOTP))?;
    Ok(Reply::content("image/svg+xml", svg.into_bytes()))
}

/// `GET /v1/mfa/totp/{id}/qr.png`.
pub fn totp_qr_png(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::recent_enrolling_session(request, ctx)?;
    Ok(Reply::content("image/png", totp::qr_png(ctx, &session, &policy, path_id(request, TOTP))?))
}

/// `POST /v1/mfa/totp/{id}/confirm`.
pub fn totp_confirm(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::recent_enrolling_session(request, ctx)?;
    let body: Code = body::json(request)?;
    let (totp, codes) = totp::confirm(ctx, &session, &policy, path_id(request, TOTP), &body.code)?;
    confirmed(ctx, &session, &policy, json!({"id": totp.id, "name": totp.name, "enabled": true}), codes)
}

/// Removes the factor of `kind` whose id follows `prefix` in the path.
pub(super) fn remove(request: &Request, ctx: &Ctx, prefix: &str, kind: FactorKind) -> Answer {
    let (session, _) = caller::recent_session(request, ctx)?;
    let id = path_id(request, prefix);
    factors::remove(ctx, &session, id, kind)?;
    Ok(Reply::json(200, &json!({"removed": id})))
}

/// Renames the factor of `kind` whose id follows `prefix` in the path (no step-up: the name protects nothing).
pub(super) fn rename(request: &Request, ctx: &Ctx, prefix: &str, kind: FactorKind) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    let body: Rename = body::json(request)?;
    let id = path_id(request, prefix);
    let name = factors::rename(ctx, &session, id, kind, body.name)?;
    Ok(Reply::json(200, &json!({"id": id, "name": name})))
}

/// `PATCH /v1/mfa/totp/{id}` `{"name"}`: renames an authenticator.
pub fn totp_rename(request: &Request, ctx: &Ctx) -> Answer {
    rename(request, ctx, TOTP, FactorKind::Totp)
}

/// `DELETE /v1/mfa/totp/{id}`.
pub fn totp_remove(request: &Request, ctx: &Ctx) -> Answer {
    remove(request, ctx, TOTP, FactorKind::Totp)
}

/// `POST /v1/mfa/sms`.
pub fn sms_add(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::recent_enrolling_session(request, ctx)?;
    let body: AddPhone = body::json(request)?;
    let added = sms::add_phone(ctx, &session, &body.phone, body.consent.as_deref())?;
    let phone = &added.phone;
    Ok(Reply::json(
        201,
        &json!({"id": phone.id, "phone": phone.masked(), "enabled": false, "code_expires_at": added.sent.expires_at,
          "sends_left": added.sent.sends_left}),
    ))
}

/// `POST /v1/mfa/sms/{id}/confirm`.
pub fn sms_confirm(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::recent_enrolling_session(request, ctx)?;
    let body: Code = body::json(request)?;
    let (phone, codes) = sms::confirm_phone(ctx, &session, &policy, path_id(request, PHONE), &body.code)?;
    let answer = json!({"id": phone.id, "phone": phone.masked(), "enabled": true});
    confirmed(ctx, &session, &policy, answer, codes)
}

/// `DELETE /v1/mfa/sms/{id}`.
pub fn sms_remove(request: &Request, ctx: &Ctx) -> Answer {
    remove(request, ctx, PHONE, FactorKind::Sms)
}

/// `GET /v1/mfa/backup-codes`.
pub fn backup_codes_left(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    Ok(Reply::json(200, &backup_codes::left(ctx, &session)?))
}

/// `POST /v1/mfa/backup-codes`: a new set (the old one is void).
pub fn backup_codes_regenerate(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::recent_session(request, ctx)?;
    let codes = backup_codes::regenerate(ctx, &session)?;
    Ok(Reply::json(201, &json!({"codes": codes, "remaining": codes.len(), "warning": false})))
}
