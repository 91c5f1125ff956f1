//! The signed-in user's passkeys (their list is `GET /v1/mfa/factors`, kind `webauthn`):
//!
//! - `POST /v1/mfa/webauthn/options` `{"name"?, "consent"}`: the options for `navigator.credentials.create()`
//!   (`{"publicKey": ...}`, binary fields base64url, as `PublicKeyCredential.parseCreationOptionsFromJSON` takes).
//! - `POST /v1/mfa/webauthn` `{"credential"}`: registers the browser's answer (`PublicKeyCredential.toJSON()`); a
//!   first factor answers the backup codes, shown once.
//! - `PATCH /v1/mfa/webauthn/{id}` `{"name"}` renames one; `DELETE /v1/mfa/webauthn/{id}` removes it, and the
//!   sessions made with it end.
//!
//! Registering and removing need a recent authentication (step-up), as for every factor.

use serde::Deserialize;
use serde_json::json;

use super::answer::Answer;
use super::caller;
use super::mfa::{self, Start, confirmed};
use crate::domain::context::Ctx;
use crate::domain::mfa::passkeys::{self, PasskeyResponse};
use crate::http::{Reply, Request, body};
use crate::model::FactorKind;

/// The path prefix of one passkey.
const PASSKEY: &str = "/v1/mfa/webauthn/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    credential: PasskeyResponse,
}

/// `POST /v1/mfa/webauthn/options`.
pub fn options(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::recent_enrolling_session(request, ctx)?;
    let body: Start = body::json_or_default(request)?;
    let options = passkeys::registration_options(ctx, &session, body.name, body.consent.as_deref())?;
    Ok(Reply::json(200, &json!({"publicKey": options})))
}

/// `POST /v1/mfa/webauthn`.
pub fn register(request: &Request, ctx: &Ctx) -> Answer {
    let (session, policy) = caller::recent_enrolling_session(request, ctx)?;
    let body: Register = body::json(request)?;
    let (passkey, codes) = passkeys::register(ctx, &session, &body.credential)?;
    let answer = json!({
        "id": passkey.id,
        "name": passkey.name,
        "enabled": true,
        "synced": passkey.backup_eligible,
        "created_at": passkey.created_at,
    });
    let reply = confirmed(ctx, &session, &policy, answer, codes)?;
    Ok(Reply { status: 201, ..reply })
}

/// `PATCH /v1/mfa/webauthn/{id}`.
pub fn rename(request: &Request, ctx: &Ctx) -> Answer {
    mfa::rename(request, ctx, PASSKEY, FactorKind::Webauthn)
}

/// `DELETE /v1/mfa/webauthn/{id}`.
pub fn delete(request: &Request, ctx: &Ctx) -> Answer {
    mfa::remove(request, ctx, PASSKEY, FactorKind::Webauthn)
}
