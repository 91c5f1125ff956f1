//! Checking a second factor, for the login challenge and for step-up alike: `totp` (any of the user's
//! authenticators, replay-safe), `sms` (the code sent for this challenge or step-up), `backup_code` (consumed) or
//! `webauthn` (a passkey's answer to the challenge issued for this login challenge or step-up).
//!
//! Around every check sits the per-user lockout ([`super::lockout`]): a locked user is refused before the code is
//! looked at (recorded as `second_factor_refused`); every failure is counted and recorded as a
//! `second_factor_failed` event (with `second_factor_locked` / `second_factor_disabled` when it caused one), every
//! success as `second_factor_succeeded`.

use serde_json::json;

use super::backup_codes::{self, Used};
use super::lockout;
use super::passkeys::{self, PasskeyResponse};
use super::sms::{self, SmsCheck};
use super::totp::{self, CodeCheck};
use crate::config::keyring::KeyRing;
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events::{self, Happened};
use crate::model::{EventKind, SecondFactor};
use crate::store::factors;

/// One code to check.
pub struct Attempt<'a> {
    /// Whose.
    pub user_id: &'a str,
    /// The session it is for (step-up), if any.
    pub session_id: Option<&'a str>,
    /// The method.
    pub method: SecondFactor,
    /// The code as typed (empty for a passkey).
    pub code: &'a str,
    /// The passkey's answer, for `webauthn`.
    pub passkey: Option<&'a PasskeyResponse>,
    /// What an SMS code must have been sent for, or a passkey challenge issued for.
    pub binding: &'a str,
}

/// A verified second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The method.
    pub method: SecondFactor,
    /// The authenticator, phone or passkey (empty for a backup code).
    pub factor_id: String,
}

/// A refused code: its stable error code, message, the checks an SMS code has left, and why (what the event
/// records: the code itself, or why a passkey's answer was refused).
type Wrong = (&'static str, &'static str, Option<u32>, &'static str);

/// A refused code, whose reason is its error code.
fn code_wrong(code: &'static str, message: &'static str, checks_left: Option<u32>) -> Wrong {
    (code, message, checks_left, code)
}

/// Checks `attempt` under the user's lockout. A wrong code is [`Error::CodeRefused`].
pub fn verify(ctx: &Ctx, attempt: &Attempt<'_>) -> Result<Verified, Error> {
    let limits = ctx.throttles()?;
    let db = ctx.store()?.db();
    let uid = Some(attempt.user_id);
    // What checking needs is read first: a misconfiguration must not count as the user's failure.
    let ring = if attempt.method == SecondFactor::Totp { Some(ctx.key_ring()?) } else { None };
    let pepper =
        if matches!(attempt.method, SecondFactor::Totp | SecondFactor::Webauthn) { Vec::new() } else { ctx.pepper()? };
    if attempt.method == SecondFactor::Webauthn {
        ctx.passkeys()?;
    }
    // The attempt is counted before the code is looked at (taken back if it is right).
    let failure = match lockout::take_attempt(db, &limits, attempt.user_id, ctx.now)? {
        Ok(failure) => failure,
        Err(refusal) => {
            let reason = if matches!(refusal, Error::SecondFactorDisabled) { "disabled" } else { "locked" };
            let detail = json!({"method": attempt.method, "reason": reason});
            events::record(ctx, EventKind::SecondFactorRefused, uid, attempt.session_id, detail);
            return Err(refusal);
        }
    };
    let outcome: Result<String, Wrong> = match (attempt.method, &ring) {
        (SecondFactor::Totp, Some(ring)) => check_totp(ctx, ring, attempt)?,
        (SecondFactor::Totp, None) => return Err(Error::Internal("no key ring")),
        (SecondFactor::BackupCode, _) => match backup_codes::consume(db, &pepper, attempt.user_id, attempt.code)? {
            Used::Accepted => Ok(String::new()),
            Used::AlreadyUsed => Err(code_wrong("code_already_used", "this backup code was already used", None)),
            Used::Wrong => Err(code_wrong("invalid_code", "the code is wrong", None)),
        },
        (SecondFactor::Sms, _) => match sms::check(db, &pepper, &limits, attempt.binding, attempt.code, ctx.now)? {
            SmsCheck::Accepted(factor_id) => Ok(factor_id),
            SmsCheck::Wrong(left) => Err(code_wrong("invalid_code", "the code is wrong", Some(left))),
            SmsCheck::Dead => Err(code_wrong("sms_code_invalid", "no live SMS code for this: send a new one", Some(0))),
        },
        (SecondFactor::Webauthn, _) => match attempt.passkey {
            Some(response) => passkeys::second_factor(ctx, attempt.user_id, attempt.binding, response)?
                .map(|passkey| passkey.id)
                .map_err(|(reason, message)| ("passkey_refused", message, None, reason)),
            None => Err(("passkey_refused", "the passkey's answer is missing", None, "malformed")),
        },
    };
    match outcome {
        Ok(factor_id) => {
            if let Err(error) = lockout::succeeded(db, attempt.user_id, &failure) {
                eprintln!("second factor: the lockout could not be reset: {error}");
            }
            let detail = json!({"method": attempt.method, "factor_id": factor_id});
            events::record(ctx, EventKind::SecondFactorSucceeded, uid, attempt.session_id, detail);
            Ok(Verified { method: attempt.method, factor_id })
        }
        Err((code, message, checks_left, reason)) => {
            let detail = json!({"method": attempt.method, "reason": reason});
            let mut happened = vec![Happened::new(EventKind::SecondFactorFailed, uid, attempt.session_id, detail)];
            happened.extend(
                failure.events().into_iter().map(|(kind, detail)| Happened::new(kind, uid, attempt.session_id, detail)),
            );
            events::record_all(ctx, &happened);
            match failure.locked_for {
                _ if failure.disabled => Err(Error::SecondFactorDisabled),
                Some(seconds) => Err(Error::SecondFactorLocked(seconds)),
                None => Err(Error::CodeRefused { code, message, checks_left }),
            }
        }
    }
}

/// A TOTP code against each of the user's authenticators (a replay is an event the user sees).
fn check_totp(ctx: &Ctx, ring: &KeyRing, attempt: &Attempt<'_>) -> Result<Result<String, Wrong>, Error> {
    let db = ctx.store()?.db();
    let mut replayed = None;
    for authenticator in factors::list(db, attempt.user_id)?.into_iter().filter(|totp| totp.enabled) {
        match totp::check_code(db, ring, &authenticator, attempt.code, false, ctx.now)? {
            CodeCheck::Accepted => return Ok(Ok(authenticator.id)),
            CodeCheck::Replayed => replayed = Some(authenticator.id),
            CodeCheck::Wrong => {}
        }
    }
    Ok(match replayed {
        Some(factor_id) => {
            let detail = json!({"factor_id": factor_id});
            events::record(ctx, EventKind::TotpReplayRefused, Some(attempt.user_id), attempt.session_id, detail);
            Err(code_wrong("code_already_used", "this code was already used: wait for the next one", None))
        }
        None => Err(code_wrong("invalid_code", "the code is wrong or expired", None)),
    })
}
