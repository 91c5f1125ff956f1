//! Consent to what second factors process:
//!
//! - `GET /v1/consent-texts` (no session needed): the text in force for each kind of factor, with its version (what
//!   `POST /v1/mfa/totp` and `POST /v1/mfa/sms` take as `consent`).
//! - `GET /v1/consents`: the user's consents, given or withdrawn.
//! - `DELETE /v1/consents/{purpose}` (`totp`, `sms` or `webauthn`; step-up): withdraws it, removing every factor of
//!   that kind.

use serde_json::json;

use super::answer::Answer;
use super::caller::{self, path_id};
use crate::domain::consent;
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::http::{Reply, Request};
use crate::model::FactorKind;

/// The path prefix of one consent purpose.
const ONE_PURPOSE: &str = "/v1/consents/";

/// `GET /v1/consent-texts`.
pub fn texts(_request: &Request, ctx: &Ctx) -> Answer {
    let texts: Vec<serde_json::Value> = FactorKind::ALL
        .iter()
        .map(|kind| {
            let text = ctx.settings.consent_text(*kind);
            json!({"purpose": kind, "version": text.version, "text": text.text})
        })
        .collect();
    Ok(Reply::json(200, &json!({"texts": texts})))
}

/// `GET /v1/consents`.
pub fn list(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::session(request, ctx)?;
    let shown: Vec<serde_json::Value> = consent::list(ctx, &session)?
        .iter()
        .map(|given| {
            json!({
                "id": given.id,
                "purpose": given.kind,
                "version": given.version,
                "text_sha256": given.text_sha256,
                "given_at": given.given_at,
                "ip": given.ip,
                "user_agent": given.user_agent,
                "withdrawn_at": given.withdrawn_at,
            })
        })
        .collect();
    Ok(Reply::json(200, &json!({"consents": shown})))
}

/// `DELETE /v1/consents/{purpose}`.
pub fn withdraw(request: &Request, ctx: &Ctx) -> Answer {
    let (session, _) = caller::recent_session(request, ctx)?;
    let kind = FactorKind::parse(path_id(request, ONE_PURPOSE)).ok_or(Error::ConsentNotFound)?;
    let removed = consent::withdraw(ctx, &session, kind)?;
    Ok(Reply::json(200, &json!({"withdrawn": kind, "factors_removed": removed})))
}
