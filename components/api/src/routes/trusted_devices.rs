//! The signed-in user's trusted devices: `GET /v1/trusted-devices` (the current browser flagged) and
//! `DELETE /v1/trusted-devices/{id}`.

use serde_json::json;

use super::answer::Answer;
use super::caller::{self, path_id};
use crate::bindings::mfa::session::tokens;
use crate::domain::context::Ctx;
use crate::domain::trusted_devices;
use crate::http::cookies::DEVICE_COOKIE;
use crate::http::{Reply, Request};

/// The path prefix of one trusted device.
const ONE_DEVICE: &str = "/v1/trusted-devices/";

/// `GET /v1/trusted-devices`.
pub fn list(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    let current = request.cookie(DEVICE_COOKIE).and_then(|id| tokens::storage_key(id).ok()).unwrap_or_default();
    let shown: Vec<serde_json::Value> = trusted_devices::list(ctx, &session)?
        .iter()
        .map(|device| {
            json!({
                "id": device.id,
                "label": device.label,
                "created_at": device.created_at,
                "expires_at": device.expires_at,
                "current": device.device_hash == current,
            })
        })
        .collect();
    Ok(Reply::json(200, &json!({"trusted_devices": shown})))
}

/// `DELETE /v1/trusted-devices/{id}`.
pub fn revoke(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    let id = path_id(request, ONE_DEVICE);
    trusted_devices::revoke(ctx, &session, id)?;
    Ok(Reply::json(200, &json!({"revoked": id})))
}
