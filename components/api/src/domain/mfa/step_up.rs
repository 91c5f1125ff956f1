//! Step-up: re-verifying on the current session for a sensitive action. A user with a second factor re-verifies
//! with one (`totp`, `sms` after a code was sent for this step-up, or `backup_code`); a user without one with
//! their password, under the password-guessing limits. Success gives the session a new token (the old one stops
//! working) with `auth_time` now, and `aal` 2 and the factor after a second factor. Sensitive actions need
//! `auth_time` within the step-up validity (10 min), checked by [`crate::domain::auth::require_step_up`].

use serde_json::json;

use super::passkeys::{self, PasskeyResponse};
use super::sms::{self, Sent, pick_phone};
use super::verify::{self, Attempt};
use crate::domain::context::Ctx;
use crate::domain::enforcement;
use crate::domain::error::Error;
use crate::domain::events;
use crate::domain::sessions::reissue;
use crate::domain::throttles::{Verdict, guarded_verify};
use crate::model::{AuthMethod, EventKind, SecondFactor};
use crate::store::devices;
use crate::store::factors;
use crate::store::phones::Phone;
use crate::store::sessions::Session;
use crate::store::users;

/// What an SMS code sent, or a passkey challenge issued, for a step-up of session `session_id` is bound to.
fn binding(session_id: &str) -> String {
    format!("step-up:{session_id}")
}

/// How the user re-verifies.
pub struct StepUp<'a> {
    /// `password`, or a second-factor method's name.
    pub method: &'a str,
    /// The code, for a second factor.
    pub code: Option<&'a str>,
    /// The passkey's answer, for `webauthn`.
    pub passkey: Option<&'a PasskeyResponse>,
    /// The password, for `password`.
    pub password: Option<&'a str>,
}

/// Steps `session` up: the session as it now is, with its new token.
pub fn step_up(ctx: &Ctx, session: &Session, step: &StepUp<'_>) -> Result<(Session, String), Error> {
    let has_factor = factors::has_any(ctx.store()?.db(), &session.user_id)?;
    let mut renewed = Session { auth_time: ctx.now, ..session.clone() };
    if step.method == AuthMethod::Password.as_str() {
        if has_factor {
            return Err(Error::SecondFactorRequired);
        }
        let password = step.password.ok_or(Error::PasswordRequired)?;
        check_password(ctx, session, password)?;
        // A password proves no more than the sign-in did: a restricted session stays restricted.
        renewed.aal = if enforcement::is_restricted(session) { enforcement::RESTRICTED_AAL } else { 1 };
        renewed.method = AuthMethod::Password;
        renewed.factor_id = String::new();
    } else {
        let method = SecondFactor::parse(step.method).ok_or_else(|| {
            Error::UnsupportedMethod("the method must be totp, sms, backup_code, webauthn or password".to_owned())
        })?;
        if !has_factor {
            return Err(Error::NoSecondFactorToStepUp);
        }
        let binding = binding(&session.id);
        let attempt = Attempt {
            user_id: &session.user_id,
            session_id: Some(&session.id),
            method,
            code: step.code.unwrap_or_default(),
            passkey: step.passkey,
            binding: &binding,
        };
        let verified = verify::verify(ctx, &attempt)?;
        renewed.aal = 2;
        renewed.method = verified.method.auth_method();
        renewed.factor_id = verified.factor_id;
    }
    let detail = json!({"method": renewed.method, "aal": renewed.aal});
    reissue(ctx, session, renewed, EventKind::StepUpSucceeded, detail)
}

/// The user's password, under the password-guessing limits (as login).
fn check_password(ctx: &Ctx, session: &Session, password: &str) -> Result<(), Error> {
    let db = ctx.store()?.db();
    let user = users::credentials(db, &session.user_id)?;
    let (email, hash) = user.map(|user| (user.email, user.password_hash)).unwrap_or_default();
    let Some(hash) = hash else { return Err(Error::NoPassword) };
    let known = devices::is_known(db, &session.user_id, &session.device_hash)?;
    let (uid, sid) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    match guarded_verify(ctx, &email, Some(&hash), known, password)? {
        Verdict::Right => Ok(()),
        Verdict::Wrong => {
            events::record(ctx, EventKind::StepUpFailed, uid, sid, json!({"method": "password"}));
            Err(Error::WrongPassword)
        }
        Verdict::Throttled(throttled) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
            events::record(ctx, EventKind::StepUpThrottled, uid, sid, detail);
            Err(Error::Throttled(throttled))
        }
    }
}

/// Sends an SMS code for a step-up of `session` to the user's phone `phone_id` (or their first): the phone and
/// the code sent.
pub fn send_sms(ctx: &Ctx, session: &Session, phone_id: Option<&str>) -> Result<(Phone, Sent), Error> {
    let phone = pick_phone(ctx.store()?.db(), &session.user_id, phone_id)?;
    let sent = sms::send_code(ctx, &phone, &binding(&session.id), Some(&session.id))?;
    Ok((phone, sent))
}

/// The options of a passkey assertion to step `session` up with.
pub fn passkey_options(ctx: &Ctx, session: &Session) -> Result<serde_json::Value, Error> {
    passkeys::second_factor_options(ctx, &session.user_id, &binding(&session.id))
}
