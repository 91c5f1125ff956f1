//! SMS one-time codes: 6 digits from mfa:core, valid 10 minutes, bound to what they were sent for (a login
//! challenge, a phone enrollment or a step-up: the `binding`, also hashed into the code's keyed hash), at most 5
//! checks each (counted atomically before the code is looked at), single use. Sending a new code for a binding
//! replaces the old one.
//!
//! Before a send, every SMS limit is checked and counted at once ([`crate::throttles::sms_send`]: 3 per phone per
//! 10 minutes, and the toll-fraud caps per address, per country calling code and per day); a refusal is a 429 with
//! `Retry-After` and an `sms_throttled` event. Twilio's failures are answered 502 `sms_provider_unavailable` (after
//! its retries) or 400 `invalid_phone_number`. The code is in the message only: never logged, stored or answered.

use serde_json::json;

use crate::auth::{record, unavailable};
use crate::backup_codes::pepper;
use crate::bindings::mfa::core::numeric_codes;
use crate::bindings::mfa::session::throttle::{self, ThrottlePolicy};
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::login::throttled_reply;
use crate::phones::Phone;
use crate::sessions::Store;
use crate::sql::{Db, SqlValue};
use crate::throttles;
use crate::twilio::{SendError, Twilio};

/// Digits per code.
pub const DIGITS: u8 = 6;

/// How long a code is valid.
pub const CODE_SECONDS: i64 = 600;

/// Sends a new code for `binding` to `phone`, on behalf of the user (and session, if any); the code's expiry.
pub fn send_code(
    store: &Store,
    request: &Request,
    get: Lookup<'_>,
    phone: &Phone,
    binding: &str,
    session_id: Option<&str>,
    now: i64,
) -> Result<i64, Reply> {
    let uid = Some(phone.user_id.as_str());
    let twilio = Twilio::from_variables(get).map_err(|error| {
        eprintln!("sms: {error}");
        Reply::error(503, "sms_not_configured", "SMS is not configured on this service")
    })?;
    let pepper = pepper(get)?;
    let limits = crate::auth::throttles_or_reply(get)?;
    let caps = crate::policy::sms_caps(get).map_err(|error| {
        eprintln!("{error}");
        Reply::error(500, "misconfigured", "the SMS limit variables are invalid")
    })?;
    let ip_key = throttles::address_key(request.client_ip);
    match throttles::sms_send(store, &limits, &caps, &phone.e164, &phone.country_code, &ip_key, now) {
        Ok(Ok(())) => {}
        Ok(Err(throttled)) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after, "factor_id": phone.id});
            record(store, request, "sms_throttled", uid, session_id, detail, now);
            return Err(throttled_reply(&throttled));
        }
        Err(error) => return Err(unavailable("sms limits", &error)),
    }
    let failed = |_| Reply::error(500, "internal_error", "a code could not be made");
    let code = numeric_codes::generate_numeric_code(DIGITS).map_err(failed)?;
    let hash = numeric_codes::hash_numeric_code(&pepper, binding, &code).map_err(failed)?;
    let expires_at = now.saturating_add(CODE_SECONDS);
    let db = store.db();
    let key = SqlValue::Text(binding.to_owned());
    let stored = db.transaction(|| {
        db.execute("DELETE FROM sms_codes WHERE binding = $1 OR expires_at <= $2", &[key.clone(), SqlValue::Int(now)])?;
        db.execute(
            "INSERT INTO sms_codes (binding, user_id, factor_id, code_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                key.clone(),
                SqlValue::Text(phone.user_id.clone()),
                SqlValue::Text(phone.id.clone()),
                SqlValue::Blob(hash),
                SqlValue::Int(now),
                SqlValue::Int(expires_at),
            ],
        )
    });
    stored.map_err(|error| unavailable("sms", &error))?;
    let issuer = get("totp_issuer").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let body = format!(
        "{code} is your {} verification code. It expires in 10 minutes. Do not share it.",
        issuer.as_deref().unwrap_or("MFA Service")
    );
    match twilio.send(&phone.e164, &body) {
        Ok(_) => {
            let detail = json!({"factor_id": phone.id, "country_code": phone.country_code});
            record(store, request, "sms_sent", uid, session_id, detail, now);
            Ok(expires_at)
        }
        Err(error) => {
            // The code never reached the user: it must not stay usable.
            if let Err(db_error) = db.execute("DELETE FROM sms_codes WHERE binding = $1", &[key]) {
                eprintln!("sms: an unsent code could not be removed: {db_error}");
            }
            eprintln!("sms to phone {}: {error}", phone.id);
            let detail = json!({"factor_id": phone.id, "error": match error {
                SendError::BadNumber(code) => format!("bad_number_{code}"),
                SendError::Unavailable(_) => "provider_unavailable".to_owned(),
                SendError::NotConfigured(_) => "not_configured".to_owned(),
            }});
            record(store, request, "sms_send_failed", uid, session_id, detail, now);
            Err(match error {
                SendError::BadNumber(_) => {
                    Reply::error(400, "invalid_phone_number", "the SMS provider cannot deliver to this number")
                }
                SendError::NotConfigured(_) => Reply::error(503, "sms_not_configured", "SMS is not configured"),
                SendError::Unavailable(_) => {
                    Reply::error(502, "sms_provider_unavailable", "the SMS provider is unavailable: try again later")
                }
            })
        }
    }
}

/// Forgets every code sent to phone `factor_id` of the user (the phone is being removed).
pub fn forget_codes_of(db: &Db, user_id: &str, factor_id: &str) -> Result<(), crate::sql::DbError> {
    db.execute(
        "DELETE FROM sms_codes WHERE user_id = $1 AND factor_id = $2",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Text(factor_id.to_owned())],
    )?;
    Ok(())
}

/// How checking a code came out.
#[derive(Debug, PartialEq, Eq)]
pub enum SmsCheck {
    /// The code is right and now used; it was sent to this phone (factor id).
    Accepted(String),
    /// Wrong; this many checks are left for the code.
    Wrong(u32),
    /// No live code for the binding (never sent, expired, used, or out of checks).
    Dead,
}

/// Checks `input` against the code sent for `binding`.
pub fn check(
    db: &Db,
    pepper: &[u8],
    limits: &ThrottlePolicy,
    binding: &str,
    input: &str,
    now: i64,
) -> Result<SmsCheck, Reply> {
    let rows = db
        .query(
            "UPDATE sms_codes SET failures = failures + 1 \
             WHERE binding = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3 \
             AND factor_id IN (SELECT id FROM mfa_configurations WHERE kind = 'sms') \
             RETURNING factor_id, code_hash, failures",
            &[SqlValue::Text(binding.to_owned()), SqlValue::Int(now), SqlValue::Int(i64::from(limits.checks_per_code))],
        )
        .map_err(|error| unavailable("sms", &error))?;
    let Some([factor, SqlValue::Blob(hash), checks]) = rows.first().map(Vec::as_slice) else {
        return Ok(SmsCheck::Dead);
    };
    let checks = checks.as_i64().and_then(|n| u32::try_from(n).ok()).unwrap_or(u32::MAX);
    let right = numeric_codes::verify_numeric_code(pepper, binding, DIGITS, input, hash).unwrap_or(false);
    if !right {
        return Ok(SmsCheck::Wrong(throttle::checks_left(*limits, checks)));
    }
    let used = db
        .execute(
            "UPDATE sms_codes SET used_at = $1 WHERE binding = $2 AND used_at IS NULL",
            &[SqlValue::Int(now), SqlValue::Text(binding.to_owned())],
        )
        .map_err(|error| unavailable("sms", &error))?;
    Ok(if used == 1 { SmsCheck::Accepted(factor.as_str().unwrap_or_default().to_owned()) } else { SmsCheck::Dead })
}
