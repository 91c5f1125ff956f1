//! Trusted devices: `remember_device` at a second-factor verification marks the browser's device (the SHA-256 of
//! its `__Host-` device cookie's id) trusted for the user for the policy's trusted-device lifetime (30 days), so a
//! password login from it skips the second factor. All of a user's trusted devices are voided when the password
//! changes or a second factor is added or removed.
//!
//! - `GET /v1/trusted-devices`: the user's trusted devices (the current browser flagged).
//! - `DELETE /v1/trusted-devices/{id}`: stops trusting one.

use serde_json::json;

use crate::auth::{authenticate, record, unavailable};
use crate::bindings::mfa::session::tokens;
use crate::clock::now;
use crate::config::Lookup;
use crate::cookies::DEVICE_COOKIE;
use crate::http::{Reply, Request};
use crate::sessions::Store;
use crate::sql::{Db, DbError, SqlValue};

/// The path prefix of one trusted device.
pub const PREFIX: &str = "/v1/trusted-devices/";

/// Trusts `device_hash` for the user until `now + lifetime` (renewing it if it already was).
pub fn trust(db: &Db, user_id: &str, device_hash: &str, label: &str, now: i64, lifetime: u64) -> Result<(), DbError> {
    let expires_at = now.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX));
    let user = SqlValue::Text(user_id.to_owned());
    let device = SqlValue::Text(device_hash.to_owned());
    db.transaction(|| {
        db.execute(
            "DELETE FROM trusted_devices WHERE user_id = $1 AND device_hash = $2",
            &[user.clone(), device.clone()],
        )?;
        db.execute(
            "INSERT INTO trusted_devices (id, user_id, device_hash, label, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                SqlValue::Text(tokens::new_challenge_id()),
                user.clone(),
                device.clone(),
                SqlValue::Text(label.to_owned()),
                SqlValue::Int(now),
                SqlValue::Int(expires_at),
            ],
        )?;
        Ok(())
    })
}

/// Whether `device_hash` is trusted for the user now.
pub fn is_trusted(db: &Db, user_id: &str, device_hash: &str, now: i64) -> Result<bool, DbError> {
    let rows = db.query(
        "SELECT 1 FROM trusted_devices WHERE user_id = $1 AND device_hash = $2 AND expires_at > $3",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Text(device_hash.to_owned()), SqlValue::Int(now)],
    )?;
    Ok(!rows.is_empty())
}

/// Voids every trusted device of the user; how many there were.
pub fn void_all(db: &Db, user_id: &str) -> Result<u64, DbError> {
    db.execute("DELETE FROM trusted_devices WHERE user_id = $1", &[SqlValue::Text(user_id.to_owned())])
}

/// Voids the user's trusted devices for a change of password or second factors, recording it when any were; the
/// refusal to answer when they could not be (the change must not go ahead then).
pub fn void_after_change(
    store: &Store,
    request: &Request,
    user_id: &str,
    session_id: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<(), Reply> {
    match void_all(store.db(), user_id) {
        Ok(0) => Ok(()),
        Ok(count) => {
            let detail = json!({"count": count, "reason": reason});
            record(store, request, "trusted_devices_voided", Some(user_id), session_id, detail, now);
            Ok(())
        }
        Err(error) => Err(unavailable("trusted devices", &error)),
    }
}

/// `GET /v1/trusted-devices`.
pub fn list(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let current = request.cookie(DEVICE_COOKIE).and_then(|id| tokens::storage_key(id).ok()).unwrap_or_default();
    let rows = match store.db().query(
        "SELECT id, device_hash, label, created_at, expires_at FROM trusted_devices \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id",
        &[SqlValue::Text(session.user_id.clone()), SqlValue::Int(now())],
    ) {
        Ok(rows) => rows,
        Err(error) => return unavailable("trusted devices", &error),
    };
    let devices: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|row| match row.as_slice() {
            [id, hash, label, created, expires] => Some(json!({
                "id": id.as_str()?,
                "label": label.as_str().unwrap_or_default(),
                "created_at": created.as_i64()?,
                "expires_at": expires.as_i64()?,
                "current": hash.as_str() == Some(current.as_str()),
            })),
            _ => None,
        })
        .collect();
    Reply::json(200, &json!({"trusted_devices": devices}))
}

/// `DELETE /v1/trusted-devices/{id}`.
pub fn revoke(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _) = match authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let id = request.path.strip_prefix(PREFIX).unwrap_or("");
    match store.db().execute(
        "DELETE FROM trusted_devices WHERE id = $1 AND user_id = $2",
        &[SqlValue::Text(id.to_owned()), SqlValue::Text(session.user_id.clone())],
    ) {
        Ok(1) => {
            let detail = json!({"device_id": id});
            record(&store, request, "trusted_device_revoked", Some(&session.user_id), Some(&session.id), detail, now());
            Reply::json(200, &json!({"revoked": id}))
        }
        Ok(_) => Reply::error(404, "trusted_device_not_found", "you have no trusted device with this id"),
        Err(error) => unavailable("trusted devices", &error),
    }
}
