//! Consent (GDPR article 7) to what a second factor processes: enrolling an authenticator or a phone needs the
//! user's consent to the text in force for that kind ([`crate::config::consent`]), given as its version in the
//! enrollment request. It is recorded with the text's version and SHA-256, the time, address and user agent (once
//! per version: enrolling again under the same text records nothing new), and is an event. Withdrawing the consent
//! for a kind removes every factor of that kind, with what depended on each ([`factors::remove`]), and is an event.
//! Factors enrolled before consent was recorded (earlier versions of this service) stay until removed or withdrawn.

use serde_json::json;

use super::context::Ctx;
use super::error::Error;
use super::events;
use super::mfa::factors;
use crate::bindings::mfa::session::tokens;
use crate::config::consent::ConsentText;
use crate::model::{EventKind, FactorKind};
use crate::store::consents::{self, Consent};
use crate::store::factors::{self as stored};
use crate::store::sessions::Session;
use crate::store::{passkeys, phones};

/// Refuses unless `given` is the version of the consent text in force for `kind`; records the consent of
/// `session`'s user to it (once per version).
pub fn require(ctx: &Ctx, session: &Session, kind: FactorKind, given: Option<&str>) -> Result<(), Error> {
    let text = ctx.settings.consent_text(kind);
    match given.map(str::trim) {
        None | Some("") => return Err(Error::ConsentRequired(text.version)),
        Some(version) if version != text.version => return Err(Error::ConsentOutdated(text.version)),
        Some(_) => {}
    }
    let db = ctx.store()?.db();
    if consents::in_force(db, &session.user_id, kind, &text.version)? {
        return Ok(());
    }
    consents::insert(db, &session.user_id, &consent_to(ctx, &text))?;
    let detail = json!({"purpose": kind, "version": text.version});
    events::record(ctx, EventKind::ConsentGiven, Some(&session.user_id), Some(&session.id), detail);
    Ok(())
}

/// A consent to `text` by the request's client, now.
fn consent_to(ctx: &Ctx, text: &ConsentText) -> Consent {
    Consent {
        id: tokens::new_challenge_id(),
        kind: text.kind,
        version: text.version.clone(),
        text_sha256: text.sha256.clone(),
        given_at: ctx.now,
        ip: ctx.client().ip_text(),
        user_agent: ctx.client().user_agent.clone(),
        withdrawn_at: None,
    }
}

/// The consents of `session`'s user, given or withdrawn, oldest first.
pub fn list(ctx: &Ctx, session: &Session) -> Result<Vec<Consent>, Error> {
    Ok(consents::list(ctx.store()?.db(), &session.user_id)?)
}

/// Withdraws `session`'s user's consent for factors of `kind` (step-up checked by the caller) and removes every
/// factor of that kind; the ids of the factors removed. [`Error::ConsentNotFound`] when none is in force.
pub fn withdraw(ctx: &Ctx, session: &Session, kind: FactorKind) -> Result<Vec<String>, Error> {
    let db = ctx.store()?.db();
    // The factors go first: a withdrawal that cannot remove them does not happen (and can be asked again).
    let ids: Vec<String> = match kind {
        FactorKind::Totp => stored::list(db, &session.user_id)?.into_iter().map(|totp| totp.id).collect(),
        FactorKind::Sms => phones::list(db, &session.user_id)?.into_iter().map(|phone| phone.id).collect(),
        FactorKind::Webauthn => passkeys::list(db, &session.user_id)?.into_iter().map(|passkey| passkey.id).collect(),
    };
    for id in &ids {
        factors::remove(ctx, session, id, kind)?;
    }
    let withdrawn = consents::withdraw(db, &session.user_id, kind, ctx.now)?;
    if ids.is_empty() && withdrawn == 0 {
        return Err(Error::ConsentNotFound);
    }
    let detail = json!({"purpose": kind, "consents": withdrawn, "factors_removed": ids});
    events::record(ctx, EventKind::ConsentWithdrawn, Some(&session.user_id), Some(&session.id), detail);
    Ok(ids)
}
