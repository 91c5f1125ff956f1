//! Login with a second factor. After the password, a user who has a second factor gets a challenge instead of a
//! session (unless the browser is one of their trusted devices). The challenge id is 256 bits, stored only as its
//! SHA-256, single use, and lives 5 minutes; it dies after the policy's checks per code (5) wrong codes (each check
//! is counted before the code is looked at, atomically, so parallel guesses cannot exceed it). The product backend
//! can also start one for a user it authenticated itself (the service API).
//!
//! An SMS code can be sent for a challenge; verifying it with a code answers a new session with `aal` 2 exactly as
//! a password login answers one, and `remember_device` makes the browser's device trusted (30 days). Codes are
//! checked by [`super::verify`] under the user's lockout; the challenge is consumed with a compare-and-set, so one
//! challenge makes at most one session.

use serde_json::json;

use super::factors::methods_of;
use super::passkeys::{self, PasskeyResponse};
use super::sms::{self, Sent, pick_phone};
use super::verify::{self, Attempt};
use crate::bindings::mfa::session::{throttle, tokens};
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events;
use crate::domain::new_session::{Proof, Started, start_session};
use crate::domain::trusted_devices;
use crate::model::{EventKind, SecondFactor};
use crate::store::challenges::{self, Challenge};
use crate::store::phones::Phone;

/// How long a challenge lives.
const CHALLENGE_SECONDS: i64 = 300;

/// A challenge issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Its id (shown once).
    pub id: String,
    /// The methods it offers.
    pub methods: Vec<SecondFactor>,
    /// When it dies.
    pub expires_at: i64,
}

/// Issues a challenge for `user_id`, whose first factor was just verified, on device `device_hash` (empty: the
/// product backend's challenge). [`Error::NoSecondFactor`] when the user has none.
pub fn issue(ctx: &Ctx, user_id: &str, device_hash: &str) -> Result<Issued, Error> {
    let db = ctx.store()?.db();
    let methods = methods_of(db, user_id)?;
    if methods.is_empty() {
        return Err(Error::NoSecondFactor("this user has no second factor to verify"));
    }
    let id = tokens::new_session_token();
    let key = tokens::storage_key(&id).map_err(|_| Error::Internal("a challenge could not be made"))?;
    let expires_at = ctx.now.saturating_add(CHALLENGE_SECONDS);
    let names: Vec<&str> = methods.iter().map(|method| method.as_str()).collect();
    let challenge =
        Challenge { key, user_id: user_id.to_owned(), device_hash: device_hash.to_owned(), methods: names.join(",") };
    challenges::insert(db, &challenge, ctx.now, expires_at)?;
    events::record(ctx, EventKind::LoginChallengeIssued, Some(user_id), None, json!({"methods": methods}));
    Ok(Issued { id, methods, expires_at })
}

/// What an SMS code sent, or a passkey challenge issued, for the login challenge under `key` is bound to.
fn binding(key: &str) -> String {
    format!("challenge:{key}")
}

/// The refusal of a challenge that cannot be used (under storage key `key`), recorded as a
/// `login_challenge_refused` event: its user and why (`used`, `expired`, `out_of_checks`), or `unknown`.
fn refused(ctx: &Ctx, key: &str, max_checks: u32) -> Error {
    let found = ctx.store().ok().and_then(|store| challenges::state(store.db(), key).ok().flatten());
    let (user_id, reason) = match found {
        Some(state) => {
            let reason = if state.used_at.is_some() {
                "used"
            } else if state.expires_at.is_some_and(|at| at <= ctx.now) {
                "expired"
            } else if state.failures.is_some_and(|n| n >= i64::from(max_checks)) {
                "out_of_checks"
            } else {
                "unavailable"
            };
            (state.user_id, reason)
        }
        None => (None, "unknown"),
    };
    events::record(ctx, EventKind::LoginChallengeRefused, user_id.as_deref(), None, json!({"reason": reason}));
    Error::ChallengeInvalid
}

/// The usable challenge `challenge_id`, which must offer `method`: its storage key and its user.
fn offering(ctx: &Ctx, challenge_id: &str, method: SecondFactor) -> Result<(String, String), Error> {
    let key = tokens::storage_key(challenge_id.trim()).map_err(|_| Error::ChallengeInvalid)?;
    let limits = ctx.throttles()?;
    match challenges::peek(ctx.store()?.db(), &key, limits.checks_per_code, ctx.now)? {
        Some((user, methods)) if methods.split(',').any(|m| m == method.as_str()) => Ok((key, user)),
        Some(_) => Err(Error::UnsupportedMethod(format!("this challenge does not offer {method}"))),
        None => Err(refused(ctx, &key, limits.checks_per_code)),
    }
}

/// Sends an SMS code for challenge `challenge_id` to the user's phone `phone_id` (or their first): the phone and
/// the code's expiry.
pub fn send_sms(ctx: &Ctx, challenge_id: &str, phone_id: Option<&str>) -> Result<(Phone, Sent), Error> {
    let (key, user_id) = offering(ctx, challenge_id, SecondFactor::Sms)?;
    let phone = pick_phone(ctx.store()?.db(), &user_id, phone_id)?;
    let sent = sms::send_code(ctx, &phone, &binding(&key), None)?;
    Ok((phone, sent))
}

/// The options of a passkey assertion for challenge `challenge_id` (which must offer `webauthn`).
pub fn passkey_options(ctx: &Ctx, challenge_id: &str) -> Result<serde_json::Value, Error> {
    let (key, user_id) = offering(ctx, challenge_id, SecondFactor::Webauthn)?;
    passkeys::second_factor_options(ctx, &user_id, &binding(&key))
}

/// A code for a challenge.
pub struct Verification<'a> {
    /// The challenge id.
    pub challenge_id: &'a str,
    /// The method's name.
    pub method: &'a str,
    /// The code (empty for a passkey).
    pub code: &'a str,
    /// The passkey's answer, for `webauthn`.
    pub passkey: Option<&'a PasskeyResponse>,
    /// Whether to trust the browser's device.
    pub remember_device: bool,
}

/// Verifies a code for a challenge: a new session with `aal` 2.
pub fn verify(ctx: &Ctx, verification: &Verification<'_>) -> Result<Started, Error> {
    let key = tokens::storage_key(verification.challenge_id.trim()).map_err(|_| Error::ChallengeInvalid)?;
    let method = SecondFactor::parse(verification.method)
        .ok_or_else(|| Error::UnsupportedMethod("the method must be totp, sms, backup_code or webauthn".to_owned()))?;
    let (policy, limits) = (ctx.session_policy()?, ctx.throttles()?);
    let db = ctx.store()?.db();
    // Each check is counted before the code is looked at, atomically and only while checks are left, so parallel
    // guesses cannot exceed what a challenge allows; a success consumes the challenge anyway.
    let Some((challenge, checked)) = challenges::take_check(db, &key, limits.checks_per_code, ctx.now)? else {
        return Err(refused(ctx, &key, limits.checks_per_code));
    };
    if !challenge.methods.split(',').any(|offered| offered == method.as_str()) {
        return Err(Error::UnsupportedMethod(format!("this challenge offers: {}", challenge.methods)));
    }
    let binding = binding(&challenge.key);
    let attempt = Attempt {
        user_id: &challenge.user_id,
        session_id: None,
        method,
        code: verification.code,
        passkey: verification.passkey,
        binding: &binding,
    };
    let verified = verify::verify(ctx, &attempt).map_err(|error| match error {
        Error::CodeRefused { code, message, .. } => {
            Error::CodeRefused { code, message, checks_left: Some(throttle::checks_left(limits, checked)) }
        }
        other => other,
    })?;
    // Consume the challenge: only one request can.
    if !challenges::consume(db, &challenge.key, ctx.now)? {
        return Err(refused(ctx, &challenge.key, limits.checks_per_code));
    }
    let user_id = challenge.user_id.as_str();
    if verification.remember_device && !challenge.device_hash.is_empty() {
        trusted_devices::trust(ctx, user_id, &challenge.device_hash, policy.trusted_device_lifetime);
    }
    let proof = Proof { aal: 2, method: verified.method.auth_method(), factor_id: verified.factor_id };
    start_session(ctx, &policy, user_id, &challenge.device_hash, &proof)
}
