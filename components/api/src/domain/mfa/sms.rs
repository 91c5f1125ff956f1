//! SMS: one-time codes and the phones they go to.
//!
//! A code has 6 digits from mfa:core, is valid 10 minutes, bound to what it was sent for (a login challenge, a
//! phone enrollment or a step-up: the `binding`, also hashed into the code's keyed hash), checked at most 5 times
//! (counted atomically before the code is looked at), and used once. Sending a new code for a binding replaces the
//! old one. Before a send, every SMS limit is checked and counted at once ([`crate::domain::throttles::sms_send`]:
//! 3 per phone per 10 minutes, and the toll-fraud caps per address, per country calling code and per day); a
//! refusal is recorded as `sms_throttled`. The code is in the message only: never logged, stored or answered.
//!
//! A phone is added with a number in E.164 form (`+` and the country code; spaces, dashes, dots and brackets
//! allowed), gets a code, and waits for confirmation (a new one voids an unconfirmed one; an unconfirmed one dies
//! after the step-up validity). A wrong code changes nothing but the code's checks left.

use serde_json::json;

use super::factors;
use super::twilio::{SendError, Twilio};
use crate::bindings::mfa::core::numeric_codes;
use crate::bindings::mfa::core::phone;
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::throttle::{self, ThrottlePolicy};
use crate::bindings::mfa::session::tokens;
use crate::domain::auth::enrollment_alive;
use crate::domain::consent;
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events;
use crate::domain::throttles;
use crate::model::{EventKind, FactorKind};
use crate::store::phones::{self, Phone};
use crate::store::sessions::Session;
use crate::store::sms_codes::{self, NewCode};
use crate::store::sql::Db;

/// Digits per code.
pub const DIGITS: u8 = 6;

/// How long a code is valid.
pub const CODE_SECONDS: i64 = 600;

/// What an enrollment code for phone `id` is bound to.
fn enrollment_binding(id: &str) -> String {
    format!("enroll:{id}")
}

/// A code sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// When it expires.
    pub expires_at: i64,
    /// How many more codes the phone's sending limit allows now (what a user can be told before asking again).
    pub sends_left: u32,
}

/// Sends a new code for `binding` to `phone`, on behalf of the phone's user (and session, if any).
pub fn send_code(ctx: &Ctx, phone: &Phone, binding: &str, session_id: Option<&str>) -> Result<Sent, Error> {
    let uid = Some(phone.user_id.as_str());
    let twilio = Twilio::new(ctx.settings.twilio().map_err(|error| {
        eprintln!("sms: {error}");
        Error::SmsNotConfigured(error)
    })?);
    let pepper = ctx.pepper()?;
    let limits = ctx.throttles()?;
    let caps = ctx.settings.sms_caps().map_err(Error::SmsCapsInvalid)?;
    let store = ctx.store()?;
    let ip_key = throttles::address_key(ctx.client().ip);
    let now = ctx.now;
    let sends_left =
        match throttles::sms_send(store.counters(), &limits, &caps, &phone.e164, &phone.country_code, &ip_key, now)? {
            Ok(left) => left,
            Err(throttled) => {
                let detail =
                    json!({"limit": throttled.limit, "retry_after": throttled.retry_after, "factor_id": phone.id});
                events::record(ctx, EventKind::SmsThrottled, uid, session_id, detail);
                return Err(Error::Throttled(throttled));
            }
        };
    let failed = |_| Error::Internal("a code could not be made");
    let code = numeric_codes::generate_numeric_code(DIGITS).map_err(failed)?;
    let hash = numeric_codes::hash_numeric_code(&pepper, binding, &code).map_err(failed)?;
    let expires_at = now.saturating_add(CODE_SECONDS);
    let db = store.db();
    let new = NewCode { binding, user_id: &phone.user_id, factor_id: &phone.id, hash, expires_at };
    sms_codes::replace(db, new, now)?;
    let body = format!(
        "{code} is your {} verification code. It expires in 10 minutes. Do not share it.",
        ctx.settings.issuer().as_deref().unwrap_or("MFA Service")
    );
    match twilio.send(&phone.e164, &body) {
        Ok(_) => {
            let detail = json!({"factor_id": phone.id, "country_code": phone.country_code});
            events::record(ctx, EventKind::SmsSent, uid, session_id, detail);
            Ok(Sent { expires_at, sends_left })
        }
        Err(error) => {
            // The code never reached the user: it must not stay usable.
            if let Err(db_error) = sms_codes::forget(db, binding) {
                eprintln!("sms: an unsent code could not be removed: {db_error}");
            }
            eprintln!("sms to phone {}: {error}", phone.id);
            let reason = match &error {
                SendError::BadNumber(code) => format!("bad_number_{code}"),
                SendError::Unavailable(_) => "provider_unavailable".to_owned(),
            };
            events::record(
                ctx,
                EventKind::SmsSendFailed,
                uid,
                session_id,
                json!({"factor_id": phone.id, "error": reason}),
            );
            Err(match error {
                SendError::BadNumber(_) => Error::SmsBadNumber,
                SendError::Unavailable(_) => Error::SmsProviderUnavailable,
            })
        }
    }
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
) -> Result<SmsCheck, Error> {
    let Some(taken) = sms_codes::take_check(db, binding, limits.checks_per_code, now)? else {
        return Ok(SmsCheck::Dead);
    };
    let right = numeric_codes::verify_numeric_code(pepper, binding, DIGITS, input, &taken.hash).unwrap_or(false);
    if !right {
        return Ok(SmsCheck::Wrong(throttle::checks_left(*limits, taken.checks)));
    }
    Ok(if sms_codes::use_up(db, binding, now)? { SmsCheck::Accepted(taken.factor_id) } else { SmsCheck::Dead })
}

/// The user's confirmed phone `phone_id`, or their first one.
pub fn pick_phone(db: &Db, user_id: &str, phone_id: Option<&str>) -> Result<Phone, Error> {
    phones::list(db, user_id)?
        .into_iter()
        .filter(|phone| phone.enabled)
        .find(|phone| phone_id.is_none_or(|id| id == phone.id))
        .ok_or(Error::PhoneNotFound)
}

/// A phone added and its code sent.
pub struct Added {
    /// The phone, waiting for confirmation.
    pub phone: Phone,
    /// The code sent to it.
    pub sent: Sent,
}

/// Adds `number` as the session user's phone and sends it a code (step-up checked by the caller), the user having
/// given `consent` to the SMS text in force ([`consent::require`]).
pub fn add_phone(ctx: &Ctx, session: &Session, number: &str, consent: Option<&str>) -> Result<Added, Error> {
    let number = phone::normalize_phone(number).map_err(Error::InvalidPhone)?;
    ctx.pepper()?;
    consent::require(ctx, session, FactorKind::Sms, consent)?;
    let phone = Phone {
        id: tokens::new_challenge_id(),
        user_id: session.user_id.clone(),
        e164: number.e164,
        country_code: number.country_code,
        enabled: false,
        created_at: ctx.now,
        confirmed_at: None,
    };
    let db = ctx.store()?.db();
    phones::insert(db, &phone)?;
    let sid = Some(session.id.as_str());
    let detail = json!({"factor_id": phone.id});
    events::record(ctx, EventKind::MfaSmsEnrollmentStarted, Some(&session.user_id), sid, detail);
    match send_code(ctx, &phone, &enrollment_binding(&phone.id), sid) {
        Ok(sent) => Ok(Added { phone, sent }),
        Err(refusal) => {
            // Nothing to confirm: the phone goes again.
            if let Err(error) = crate::store::factors::remove(db, &session.user_id, &phone.id, FactorKind::Sms) {
                eprintln!("sms: an unconfirmable phone could not be removed: {error}");
            }
            Err(refusal)
        }
    }
}

/// Confirms the session user's phone `id` with `code` (step-up checked by the caller): the phone and, for a first
/// factor, the backup codes to show once.
pub fn confirm_phone(
    ctx: &Ctx,
    session: &Session,
    policy: &SessionPolicy,
    id: &str,
    code: &str,
) -> Result<(Phone, Option<Vec<String>>), Error> {
    let (pepper, limits) = (ctx.pepper()?, ctx.throttles()?);
    let db = ctx.store()?.db();
    let phone = match phones::find(db, &session.user_id, id)? {
        Some(phone) if !phone.enabled && enrollment_alive(phone.created_at, policy, ctx.now) => phone,
        Some(phone) if !phone.enabled => {
            return Err(Error::EnrollmentExpired("this phone was left unconfirmed too long: add it again"));
        }
        _ => return Err(Error::EnrollmentNotFound("no phone waiting for confirmation with this id")),
    };
    let (uid, sid) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    match check(db, &pepper, &limits, &enrollment_binding(&phone.id), code, ctx.now)? {
        SmsCheck::Accepted(_) => {}
        SmsCheck::Wrong(left) => {
            events::record(ctx, EventKind::MfaSmsConfirmationFailed, uid, sid, json!({"factor_id": phone.id}));
            return Err(Error::ConfirmationWrong { message: "the code is wrong", checks_left: Some(left) });
        }
        SmsCheck::Dead => return Err(Error::ConfirmationDead),
    }
    let codes = factors::enable(ctx, session, &phone.id, (EventKind::MfaSmsEnabled, json!({"factor_id": phone.id})))?;
    Ok((phone, codes))
}
