//! Trusted devices: `remember_device` at a second-factor verification marks the browser's device (the SHA-256 of
//! its `__Host-` device cookie's id) trusted for the user for the policy's trusted-device lifetime (30 days), so a
//! password login from it skips the second factor. All of a user's trusted devices are voided when the password
//! changes or a second factor is added or removed. The user lists them (the current browser flagged) and stops
//! trusting one.

use serde_json::json;

use super::context::Ctx;
use super::devices;
use super::error::Error;
use super::events;
use crate::bindings::mfa::session::tokens;
use crate::model::EventKind;
use crate::store::sessions::Session;
use crate::store::trusted_devices::{self, TrustedDevice};

/// Trusts device `device_hash` for the user for `lifetime` seconds (renewing it if it already was), named after
/// the client's user agent; recorded as `device_trusted` (a failure is logged: the login goes on).
pub fn trust(ctx: &Ctx, user_id: &str, device_hash: &str, lifetime: u64) {
    let label = devices::label(&ctx.client().user_agent);
    let expires_at = ctx.now.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX));
    let id = tokens::new_challenge_id();
    let trusted = ctx.store().and_then(|store| {
        Ok(trusted_devices::trust(store.db(), &id, user_id, device_hash, &label, ctx.now, expires_at)?)
    });
    match trusted {
        Ok(()) => events::record(ctx, EventKind::DeviceTrusted, Some(user_id), None, json!({"label": label})),
        Err(error) => eprintln!("challenge: the device could not be trusted: {error}"),
    }
}

/// Voids the user's trusted devices for a change of password or second factors (`reason`), recording it when any
/// were. A failure refuses the change.
pub fn void_after_change(ctx: &Ctx, user_id: &str, session_id: Option<&str>, reason: &str) -> Result<(), Error> {
    let count = trusted_devices::void_all(ctx.store()?.db(), user_id)?;
    if count > 0 {
        let detail = json!({"count": count, "reason": reason});
        events::record(ctx, EventKind::TrustedDevicesVoided, Some(user_id), session_id, detail);
    }
    Ok(())
}

/// The session user's devices trusted now.
pub fn list(ctx: &Ctx, session: &Session) -> Result<Vec<TrustedDevice>, Error> {
    Ok(trusted_devices::list(ctx.store()?.db(), &session.user_id, ctx.now)?)
}

/// Stops trusting the session user's device `id`.
pub fn revoke(ctx: &Ctx, session: &Session, id: &str) -> Result<(), Error> {
    if !trusted_devices::revoke(ctx.store()?.db(), &session.user_id, id)? {
        return Err(Error::TrustedDeviceNotFound);
    }
    let detail = json!({"device_id": id});
    events::record(ctx, EventKind::TrustedDeviceRevoked, Some(&session.user_id), Some(&session.id), detail);
    Ok(())
}
