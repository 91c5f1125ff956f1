//! Step-up: re-verifying on the current session for a sensitive action. A user with a second factor re-verifies
//! with one (`totp`, `sms` after `POST /v1/session/step-up/sms`, or `backup_code`); a user without one with their
//! password. Success gives the session a new token (the old one stops working) with `auth_time` now, and `aal` 2
//! and the factor after a second factor. Sensitive actions need `auth_time` within the step-up validity (10 min),
//! checked by [`require_step_up`].
//!
//! - `POST /v1/session/step-up` `{"method", "code"?, "password"?}`.
//! - `POST /v1/session/step-up/sms` `{"phone_id"?}`: sends an SMS code for this session's step-up.

use serde::Deserialize;
use serde_json::json;

use crate::accounts::json_body;
use crate::auth::{authenticate, record, unavailable};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::challenge::pick_phone;
use crate::clock::now;
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::login::{Verdict, guarded_verify, throttled_reply};
use crate::second_factor::{self, Attempt, Method, refused_reply};
use crate::session_api::reissue;
use crate::sessions::{Session, Store};
use crate::sql::SqlValue;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepUp {
    method: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SendSms {
    #[serde(default)]
    phone_id: Option<String>,
}

/// What an SMS code sent for a step-up of session `session_id` is bound to.
fn sms_binding(session_id: &str) -> String {
    format!("step-up:{session_id}")
}

/// Refuses unless the session authenticated recently enough for a sensitive change (`403 step_up_required`). A
/// session that skipped the second factor on a trusted device has not re-verified anything: it must step up.
pub fn require_step_up(session: &Session, step_up_validity: u64, now: i64) -> Result<(), Reply> {
    let age = u64::try_from(now.saturating_sub(session.auth_time)).unwrap_or(0);
    if age <= step_up_validity && session.method != "trusted_device" {
        Ok(())
    } else {
        Err(Reply::error(403, "step_up_required", "confirm who you are again (step-up) before this change"))
    }
}

/// The session a request presents, refused unless it authenticated recently ([`require_step_up`]); with the
/// policy in force and the time it was checked at. The start of every sensitive endpoint, and of every endpoint
/// that adds a factor or shows or confirms a pending secret (a first factor too: otherwise whoever holds a stale
/// session could enroll their own authenticator and then step up with it).
pub fn authenticate_recent(request: &Request, get: Lookup<'_>) -> Result<(Store, Session, SessionPolicy, i64), Reply> {
    let (store, session, policy) = authenticate(request, get)?;
    let now = now();
    require_step_up(&session, policy.step_up_validity, now)?;
    Ok((store, session, policy, now))
}

/// Whether an enrollment started at `created_at` can still be shown or confirmed at `now`: for as long as a
/// step-up is valid, so an abandoned one cannot be finished later by whoever holds the session.
pub fn enrollment_alive(created_at: i64, policy: &SessionPolicy, now: i64) -> bool {
    now.saturating_sub(created_at) <= i64::try_from(policy.step_up_validity).unwrap_or(i64::MAX)
}

/// `POST /v1/session/step-up`.
pub fn step_up(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, policy) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let body: StepUp = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let now = now();
    let has_factor = match crate::factors::has_any(store.db(), &session.user_id) {
        Ok(has) => has,
        Err(error) => return unavailable("step-up", &error),
    };
    let mut renewed = Session { auth_time: now, ..session.clone() };
    if body.method == "password" {
        if has_factor {
            return Reply::error(400, "second_factor_required", "you have a second factor: step up with it");
        }
        let Some(password) = body.password else {
            return Reply::error(400, "password_required", "give your password");
        };
        match check_password(&store, request, get, &session, &password) {
            Ok(()) => {}
            Err(refusal) => return refusal,
        }
        renewed.aal = 1;
        renewed.method = "password".to_owned();
        renewed.factor_id = String::new();
    } else {
        let Some(method) = Method::parse(&body.method) else {
            return Reply::error(400, "unsupported_method", "the method must be totp, sms, backup_code or password");
        };
        if !has_factor {
            return Reply::error(400, "no_second_factor", "you have no second factor: step up with your password");
        }
        let code = body.code.unwrap_or_default();
        let binding = sms_binding(&session.id);
        let attempt = Attempt {
            user_id: &session.user_id,
            session_id: Some(&session.id),
            method,
            code: &code,
            sms_binding: &binding,
        };
        let verified = match second_factor::verify(&store, request, get, &attempt, now) {
            Ok(verified) => verified,
            Err(refused) => return refused_reply(refused, None),
        };
        renewed.aal = 2;
        renewed.method = verified.method.name().to_owned();
        renewed.factor_id = verified.factor_id;
    }
    let detail = json!({"method": renewed.method, "aal": renewed.aal});
    reissue(&store, request, &policy, &session, renewed, "step_up_succeeded", detail)
}

/// The user's password, under the password-guessing limits (as login).
fn check_password(
    store: &crate::sessions::Store,
    request: &Request,
    get: Lookup<'_>,
    session: &Session,
    password: &str,
) -> Result<(), Reply> {
    let rows = store
        .db()
        .query("SELECT email, password_hash FROM users WHERE id = $1", &[SqlValue::Text(session.user_id.clone())])
        .map_err(|error| unavailable("step-up", &error))?;
    let (email, hash) = match rows.first().map(Vec::as_slice) {
        Some([email, hash]) => (email.as_str().unwrap_or_default().to_owned(), hash.as_str().map(str::to_owned)),
        _ => (String::new(), None),
    };
    if hash.is_none() {
        return Err(Reply::error(400, "no_password", "this account has no password: it signs in through the product"));
    }
    let known = crate::devices::is_known(store.db(), &session.user_id, &session.device_hash)
        .map_err(|error| unavailable("step-up", &error))?;
    let uid = Some(session.user_id.as_str());
    let sid = Some(session.id.as_str());
    match guarded_verify(store, request, get, &email, hash.as_deref(), known, password)? {
        Verdict::Right => Ok(()),
        Verdict::Wrong => {
            record(store, request, "step_up_failed", uid, sid, json!({"method": "password"}), now());
            Err(Reply::error(401, "invalid_credentials", "the password is wrong"))
        }
        Verdict::Throttled(throttled) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
            record(store, request, "step_up_throttled", uid, sid, detail, now());
            Err(throttled_reply(&throttled))
        }
    }
}

/// `POST /v1/session/step-up/sms`.
pub fn send_sms(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let body: SendSms = if request.body.is_empty() {
        SendSms::default()
    } else {
        match json_body(request) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        }
    };
    let phone = match pick_phone(&store, &session.user_id, body.phone_id.as_deref()) {
        Ok(phone) => phone,
        Err(refusal) => return refusal,
    };
    let now = now();
    match crate::sms::send_code(&store, request, get, &phone, &sms_binding(&session.id), Some(&session.id), now) {
        Ok(expires_at) => Reply::json(200, &json!({"sent": true, "phone": phone.masked(), "expires_at": expires_at})),
        Err(refusal) => refusal,
    }
}
