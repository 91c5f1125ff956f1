//! Password login. In order: the password-guessing limits are checked and the attempt counted as a failure in
//! advance ([`super::throttles::guarded_verify`]; refused with a `login_throttled` event, whatever the password),
//! so parallel guesses are never verified beyond the limit; the password is verified (against a decoy hash for an
//! unknown email, so both cost the same and answer the same); on success the attempt's reservation is given back.
//! Then a user with a second factor gets a challenge ([`super::mfa::challenge`]) unless the browser is one of
//! their trusted devices; anyone else gets a session ([`super::new_session`]; a restricted one when second factors
//! are required and the grace period is over, [`super::enforcement`]). A product's backend that checked its
//! user's first factor itself takes the same path from there ([`external`], the service API's sign-in).
//!
//! A passkey alone signs in too ([`passkey`]: passwordless, aal 2).
//!
//! Device ids are the server's: a device cookie is adopted only when its device already logged in to this
//! account; any other value (none, malformed, or one planted in the browser by someone else) is replaced by a new
//! id, so a trusted device can never be a value that someone else chose or knows.

use serde_json::json;

use super::accounts::normalize_email;
use super::context::Ctx;
use super::enforcement;
use super::error::Error;
use super::events;
use super::mfa::challenge::{self, Issued};
use super::mfa::passkeys::{self, PasskeyResponse};
use super::new_session::{Device, Proof, Started, start_session};
use super::throttles::{Verdict, guarded_verify};
use crate::bindings::mfa::session::tokens;
use crate::model::{AuthMethod, EventKind};
use crate::store::devices as device_records;
use crate::store::{factors, trusted_devices, users};

/// What a right password leads to.
pub enum Next {
    /// A session (boxed: it is much larger than a challenge).
    Session(Box<Started>),
    /// A second-factor challenge.
    Challenge(Issued),
}

/// What a login answers: the next step, and the device whose cookie the browser keeps.
pub struct LoggedIn {
    /// A session or a challenge.
    pub next: Next,
    /// The device (a new id to set as the cookie, if it is new).
    pub device: Device,
}

/// Logs `email` in with `password`, from the browser holding device cookie `device_cookie`.
pub fn login(ctx: &Ctx, email: &str, password: &str, device_cookie: Option<&str>) -> Result<LoggedIn, Error> {
    let store = ctx.store()?;
    // A malformed email cannot be registered: it is just another unknown user, throttled under what was typed.
    let email = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
    let user = users::with_password(store.db(), &email)?;
    // The device cookie, if it holds a well-formed id; only its digest is ever stored or compared.
    let device_hash = device_cookie.and_then(|id| tokens::storage_key(id).ok());
    let known_device = match (&user, &device_hash) {
        (Some(user), Some(hash)) => device_records::is_known(store.db(), &user.id, hash)?,
        _ => false,
    };
    let stored_hash = user.as_ref().and_then(|user| user.password_hash.as_deref());
    let verdict = guarded_verify(ctx, &email, stored_hash, known_device, password)?;
    let user_id = user.as_ref().map(|user| user.id.as_str());
    let user_id = match (verdict, user_id) {
        (Verdict::Throttled(throttled), user_id) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
            events::record(ctx, EventKind::LoginThrottled, user_id, None, detail);
            return Err(Error::Throttled(throttled));
        }
        (Verdict::Right, Some(user_id)) => user_id,
        (_, user_id) => {
            let detail = json!({"reason": if user_id.is_some() { "wrong_password" } else { "unknown_email" }});
            events::record(ctx, EventKind::LoginFailed, user_id, None, detail);
            return Err(Error::InvalidCredentials);
        }
    };
    first_factor_passed(ctx, user_id, device_of(device_hash, known_device)?, &Proof::password())
}

/// The device of a login: the one whose id's digest the browser's cookie gave (`device_hash`) if this account
/// knows it, else a new id.
fn device_of(device_hash: Option<String>, known_device: bool) -> Result<Device, Error> {
    Ok(match device_hash {
        Some(hash) if known_device => Device { hash, new_id: None },
        _ => {
            let id = tokens::new_device_id();
            let hash = tokens::storage_key(&id).map_err(|_| Error::Internal("a device id could not be made"))?;
            Device { hash, new_id: Some(id) }
        }
    })
}

/// Signs in user `id`, whose first factor the product's backend checked itself, from the end user's browser with
/// device id `device_id` (the product forwards the device cookie it keeps): as a right password would, a session
/// (`external`, aal 1) for a user without a second factor, else a challenge unless the device is trusted.
pub fn external(ctx: &Ctx, user_id: &str, device_id: Option<&str>) -> Result<LoggedIn, Error> {
    let device_hash = device_id.and_then(|id| tokens::storage_key(id).ok());
    let known_device = match &device_hash {
        Some(hash) => device_records::is_known(ctx.store()?.db(), user_id, hash)?,
        None => false,
    };
    first_factor_passed(ctx, user_id, device_of(device_hash, known_device)?, &Proof::external())
}

/// Signs in with a passkey alone ([`passkeys::passwordless`]): a session with `aal` 2 for the passkey's user, from
/// the browser holding device cookie `device_cookie` (adopted as at a password login).
pub fn passkey(ctx: &Ctx, response: &PasskeyResponse, device_cookie: Option<&str>) -> Result<LoggedIn, Error> {
    let passkey = passkeys::passwordless(ctx, response)?;
    let device_hash = device_cookie.and_then(|id| tokens::storage_key(id).ok());
    let known_device = match &device_hash {
        Some(hash) => device_records::is_known(ctx.store()?.db(), &passkey.user_id, hash)?,
        None => false,
    };
    let device = device_of(device_hash, known_device)?;
    let proof = Proof { aal: 2, method: AuthMethod::Passkey, factor_id: passkey.id };
    let started = start_session(ctx, &ctx.session_policy()?, &passkey.user_id, &device.hash, &proof)?;
    Ok(LoggedIn { next: Next::Session(Box::new(started)), device })
}

/// After the first factor (`proof`): a challenge for a user with a second factor (unless `device` is trusted),
/// else a session.
fn first_factor_passed(ctx: &Ctx, user_id: &str, device: Device, proof: &Proof) -> Result<LoggedIn, Error> {
    let policy = ctx.session_policy()?;
    let store = ctx.store()?;
    let next = if factors::has_any(store.db(), user_id)? {
        // A device the user trusted at an earlier verification skips the second factor.
        if trusted_devices::is_trusted(store.db(), user_id, &device.hash, ctx.now)? && device.new_id.is_none() {
            let detail = json!({"reason": "trusted_device"});
            events::record(ctx, EventKind::SecondFactorSkipped, Some(user_id), None, detail);
            let proof = Proof { aal: 2, method: AuthMethod::TrustedDevice, factor_id: String::new() };
            Next::Session(Box::new(start_session(ctx, &policy, user_id, &device.hash, &proof)?))
        } else {
            Next::Challenge(challenge::issue(ctx, user_id, &device.hash)?)
        }
    } else {
        let proof = enforcement::sign_in_proof(ctx, user_id, proof)?;
        Next::Session(Box::new(start_session(ctx, &policy, user_id, &device.hash, &proof)?))
    };
    Ok(LoggedIn { next, device })
}
