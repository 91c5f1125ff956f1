//! TOTP authenticators, for the signed-in user:
//!
//! - `POST /v1/mfa/totp` `{"name"?}`: starts an enrollment: a new 160-bit secret from mfa:core, sealed at rest,
//!   answered once as Base32, as the `otpauth://` URI and as its QR code (SVG text and PNG in Base64); the QR code
//!   is also served as `image/svg+xml` / `image/png` from `GET /v1/mfa/totp/{id}/qr.svg` / `qr.png` until the
//!   enrollment is confirmed. Starting again voids an unconfirmed enrollment.
//! - `POST /v1/mfa/totp/{id}/confirm` `{"code"}`: a current code enables it; the step it used is the last
//!   accepted one, so that code can never be used again.
//! - `GET /v1/mfa/factors`: the user's second factors.
//! - `DELETE /v1/mfa/totp/{id}`: removes one.
//!
//! Every one of these but the list needs a recent authentication (step-up: `auth_time` within the policy's step-up
//! validity, 10 minutes by default), else `403 step_up_required`: a first factor too, or whoever holds a stale
//! session could enroll their own authenticator and step up with it. An enrollment left unconfirmed dies after the
//! same validity: its secret is no longer shown and it can no longer be confirmed.
//!
//! A confirmation changes nothing unless its code is right: the code's step is taken first (once, whoever else
//! tries the same code), then what enabling a factor changes is done, then the factor is enabled
//! ([`second_factor::enable`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::json_body;
use crate::auth::{authenticate, record, unavailable};
use crate::bindings::mfa::core::{otp, otpauth, qr, secrets};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::tokens;
use crate::config::Lookup;
use crate::factors::{self, Totp};
use crate::http::{Reply, Request};
use crate::keyring::{KeyRing, KeyRingError};
use crate::second_factor::{self, Confirmed};
use crate::sql::{Db, SqlValue};
use crate::step_up::{authenticate_recent, enrollment_alive};

/// The path prefix of one authenticator.
const TOTP_PREFIX: &str = "/v1/mfa/totp/";

/// Secret size: 160 bits (RFC 4226's recommendation; every authenticator app takes it).
const SECRET_BITS: u32 = 160;

/// Module size of the PNG QR code, in pixels.
const PNG_SCALE: u32 = 6;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Start {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

/// The `{id}` segment of `/v1/mfa/totp/{id}[/...]`.
fn factor_id(request: &Request) -> &str {
    request.path.strip_prefix(TOTP_PREFIX).and_then(|rest| rest.split('/').next()).unwrap_or("")
}

/// The key ring, or the answer when it is not configured.
pub fn key_ring(get: Lookup<'_>) -> Result<KeyRing, Reply> {
    KeyRing::from_variables(get).map_err(|error| {
        eprintln!("{error}");
        Reply::error(503, "encryption_not_configured", "second factors need the encryption_keys variable to be set")
    })
}

/// The name an authenticator app shows for the account: the email, else the product's id, else the user id.
fn account_label(db: &Db, user_id: &str) -> Result<String, Reply> {
    let rows = db
        .query("SELECT email, external_id FROM users WHERE id = $1", &[SqlValue::Text(user_id.to_owned())])
        .map_err(|error| unavailable("totp", &error))?;
    let label = rows.first().and_then(|row| row.iter().find_map(|value| value.as_str().map(str::to_owned)));
    Ok(label.unwrap_or_else(|| user_id.to_owned()))
}

fn otpauth_uri(get: Lookup<'_>, account: String, secret: Vec<u8>) -> Result<String, Reply> {
    let issuer = get("totp_issuer").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let key = otpauth::OtpauthKey { issuer, account, secret, params: otp::default_totp_params() };
    otpauth::build_uri(&key).map_err(|error| {
        eprintln!("totp: the otpauth URI could not be built: {error:?}");
        Reply::error(500, "misconfigured", "the otpauth URI could not be built (check totp_issuer)")
    })
}

/// The opened secret of the user's unconfirmed authenticator `id`, and the account name to show with it.
fn pending_secret(request: &Request, get: Lookup<'_>) -> Result<(Vec<u8>, String), Reply> {
    let (store, session, policy, now) = authenticate_recent(request, get)?;
    let ring = key_ring(get)?;
    let totp = pending(store.db(), &session.user_id, factor_id(request), &policy, now)?;
    let secret = open(&ring, &totp)?;
    let account = account_label(store.db(), &session.user_id)?;
    Ok((secret, account))
}

/// The user's enrollment `id` while it waits for confirmation and is still alive ([`enrollment_alive`]).
fn pending(db: &Db, user_id: &str, id: &str, policy: &SessionPolicy, now: i64) -> Result<Totp, Reply> {
    match factors::find(db, user_id, id) {
        Ok(Some(totp)) if !totp.enabled && enrollment_alive(totp.created_at, policy, now) => Ok(totp),
        Ok(Some(totp)) if !totp.enabled => {
            Err(Reply::error(404, "enrollment_expired", "this enrollment was left too long: start again"))
        }
        Ok(_) => Err(Reply::error(404, "enrollment_not_found", "no enrollment in progress with this id")),
        Err(error) => Err(unavailable("totp", &error)),
    }
}

/// Opens the sealed secret of `totp`.
pub fn open(ring: &KeyRing, totp: &Totp) -> Result<Vec<u8>, Reply> {
    ring.open(&totp.sealed, &[&totp.user_id, &totp.id]).map_err(|error| {
        eprintln!("totp {}: {error}", totp.id);
        match error {
            KeyRingError::UnknownKey(_) => {
                Reply::error(503, "encryption_key_missing", "a needed encryption key is gone")
            }
            _ => Reply::error(500, "secret_unreadable", "this authenticator's secret cannot be read"),
        }
    })
}

/// `POST /v1/mfa/totp`.
pub fn start(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _, now) = match authenticate_recent(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let body: Start = if request.body.is_empty() {
        Start::default()
    } else {
        match json_body(request) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        }
    };
    let name =
        body.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| "Authenticator".into());
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Reply::error(400, "invalid_name", "the name must have at most 64 characters, none a control");
    }
    let db = store.db();
    let ring = match key_ring(get) {
        Ok(ring) => ring,
        Err(refusal) => return refusal,
    };
    // Backup codes are made when the first factor is confirmed: their pepper must be there before enrollment.
    if let Err(refusal) = crate::backup_codes::pepper(get) {
        return refusal;
    }
    let Ok(secret) = secrets::generate_secret(SECRET_BITS) else {
        return Reply::error(500, "internal_error", "no secret could be generated");
    };
    let id = tokens::new_challenge_id();
    let sealed = match ring.seal(&[&session.user_id, &id], &secret) {
        Ok(sealed) => sealed,
        Err(error) => {
            eprintln!("totp: {error}");
            return Reply::error(500, "internal_error", "the secret could not be sealed");
        }
    };
    let account = match account_label(db, &session.user_id) {
        Ok(account) => account,
        Err(refusal) => return refusal,
    };
    let uri = match otpauth_uri(get, account, secret.clone()) {
        Ok(uri) => uri,
        Err(refusal) => return refusal,
    };
    let (Ok(svg), Ok(png)) = (qr::render_svg(&uri), qr::render_png(&uri, PNG_SCALE)) else {
        return Reply::error(500, "internal_error", "the QR code could not be drawn");
    };
    // One enrollment at a time: an unfinished one is voided.
    let voided = db.execute(
        "DELETE FROM mfa_configurations WHERE user_id = $1 AND kind = 'totp' AND enabled = $2",
        &[SqlValue::Text(session.user_id.clone()), SqlValue::Bool(false)],
    );
    let totp = Totp {
        id: id.clone(),
        user_id: session.user_id.clone(),
        name: name.clone(),
        sealed,
        last_accepted_step: None,
        enabled: false,
        created_at: now,
        confirmed_at: None,
    };
    if let Err(error) = voided.and_then(|_| factors::insert(db, &totp)) {
        return unavailable("totp", &error);
    }
    record(
        &store,
        request,
        "mfa_totp_enrollment_started",
        Some(&session.user_id),
        Some(&session.id),
        json!({"factor_id": id}),
        now,
    );
    Reply::json(
        201,
        &json!({
            "id": id,
            "name": name,
            "secret": secrets::encode_base32(&secret),
            "otpauth_uri": uri,
            "qr_svg": svg,
            "qr_png": STANDARD.encode(&png),
            "qr_svg_url": format!("{TOTP_PREFIX}{id}/qr.svg"),
            "qr_png_url": format!("{TOTP_PREFIX}{id}/qr.png"),
        }),
    )
}

/// The otpauth URI of the user's unconfirmed authenticator `id` (for its QR codes).
fn pending_uri(request: &Request, get: Lookup<'_>) -> Result<String, Reply> {
    let (secret, account) = pending_secret(request, get)?;
    otpauth_uri(get, account, secret)
}

/// `GET /v1/mfa/totp/{id}/qr.svg`.
pub fn qr_svg(request: &Request, get: Lookup<'_>) -> Reply {
    match pending_uri(request, get).map(|uri| qr::render_svg(&uri)) {
        Ok(Ok(svg)) => Reply::content("image/svg+xml", svg.into_bytes()),
        Ok(Err(_)) => Reply::error(500, "internal_error", "the QR code could not be drawn"),
        Err(refusal) => refusal,
    }
}

/// `GET /v1/mfa/totp/{id}/qr.png`.
pub fn qr_png(request: &Request, get: Lookup<'_>) -> Reply {
    match pending_uri(request, get).map(|uri| qr::render_png(&uri, PNG_SCALE)) {
        Ok(Ok(png)) => Reply::content("image/png", png),
        Ok(Err(_)) => Reply::error(500, "internal_error", "the QR code could not be drawn"),
        Err(refusal) => refusal,
    }
}

/// How a code checked against an authenticator came out.
pub enum CodeCheck {
    /// Accepted (and its step recorded).
    Accepted,
    /// It matched a step already used: a replay.
    Replayed,
    /// It matched nothing (or was malformed).
    Wrong,
}

/// Checks `code` against `totp` at `now` (one step either side) and records the step on success, atomically (of
/// an authenticator waiting for confirmation with `pending`; it stays unconfirmed). Re-seals a secret sealed under
/// an older key.
pub fn check_code(
    db: &Db,
    ring: &KeyRing,
    totp: &Totp,
    code: &str,
    pending: bool,
    now: i64,
) -> Result<CodeCheck, Reply> {
    let secret = open(ring, totp)?;
    let verdict = otp::totp_verify(
        &secret,
        otp::default_totp_params(),
        code,
        u64::try_from(now).unwrap_or(0),
        1,
        totp.last_accepted_step,
    );
    let step = match verdict {
        Ok(otp::TotpVerdict::Accepted(step)) => step,
        Ok(otp::TotpVerdict::Replayed(_)) => return Ok(CodeCheck::Replayed),
        Ok(otp::TotpVerdict::Rejected) | Err(_) => return Ok(CodeCheck::Wrong),
    };
    match factors::accept_step(db, &totp.id, step, pending) {
        Ok(true) => {}
        // Another request took this step (or a later one) first.
        Ok(false) => return Ok(CodeCheck::Replayed),
        Err(error) => return Err(unavailable("totp", &error)),
    }
    if ring.is_stale(&totp.sealed)
        && let Ok(sealed) = ring.seal(&[&totp.user_id, &totp.id], &secret)
        && let Err(error) = factors::reseal(db, &totp.id, &sealed)
    {
        eprintln!("totp {}: re-encryption failed: {error}", totp.id);
    }
    Ok(CodeCheck::Accepted)
}

/// `POST /v1/mfa/totp/{id}/confirm`.
pub fn confirm(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, policy, now) = match authenticate_recent(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let body: Confirm = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let ring = match key_ring(get) {
        Ok(ring) => ring,
        Err(refusal) => return refusal,
    };
    let totp = match pending(store.db(), &session.user_id, factor_id(request), &policy, now) {
        Ok(totp) => totp,
        Err(refusal) => return refusal,
    };
    let uid = Some(session.user_id.as_str());
    let sid = Some(session.id.as_str());
    match check_code(store.db(), &ring, &totp, &body.code, true, now) {
        Ok(CodeCheck::Accepted) => {}
        Ok(CodeCheck::Replayed) => {
            record(&store, request, "totp_replay_refused", uid, sid, json!({"factor_id": totp.id}), now);
            return Reply::error(400, "code_already_used", "this code was already used: wait for the next one");
        }
        Ok(CodeCheck::Wrong) => {
            record(&store, request, "mfa_totp_confirmation_failed", uid, sid, json!({"factor_id": totp.id}), now);
            return Reply::error(400, "invalid_code", "the code is wrong or expired: check the authenticator's clock");
        }
        Err(refusal) => return refusal,
    }
    let confirmed = Confirmed {
        factor_id: &totp.id,
        event: ("mfa_totp_enabled", json!({"factor_id": totp.id, "name": totp.name})),
        answer: json!({"id": totp.id, "name": totp.name, "enabled": true}),
    };
    second_factor::enable(&store, request, get, &session, confirmed, now)
}

/// `GET /v1/mfa/factors`: authenticators and phones, with the backup codes left.
pub fn list(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let db = store.db();
    let found = (|| {
        Ok::<_, crate::sql::DbError>((
            factors::list(db, &session.user_id)?,
            crate::phones::list(db, &session.user_id)?,
            crate::backup_codes::remaining(db, &session.user_id)?,
        ))
    })();
    let (authenticators, phones, left) = match found {
        Ok(found) => found,
        Err(error) => return unavailable("factors", &error),
    };
    let mut shown: Vec<serde_json::Value> = authenticators
        .iter()
        .map(|totp| {
            json!({
                "id": totp.id,
                "kind": "totp",
                "name": totp.name,
                "enabled": totp.enabled,
                "created_at": totp.created_at,
                "confirmed_at": totp.confirmed_at,
            })
        })
        .collect();
    shown.extend(phones.iter().map(|phone| {
        json!({
            "id": phone.id,
            "kind": "sms",
            "name": phone.masked(),
            "enabled": phone.enabled,
            "created_at": phone.created_at,
            "confirmed_at": phone.confirmed_at,
        })
    }));
    Reply::json(200, &json!({"factors": shown, "backup_codes": crate::backup_codes::summary(left)}))
}

/// `DELETE /v1/mfa/totp/{id}`.
pub fn remove(request: &Request, get: Lookup<'_>) -> Reply {
    second_factor::remove(request, get, factor_id(request), "totp")
}
