//! TOTP authenticators: enrollment (a new 160-bit secret from mfa:core, sealed at rest, shown once as Base32, as
//! the `otpauth://` URI and as its QR code, and again as the QR code until it is confirmed; starting again voids an
//! unconfirmed enrollment) and checking codes (one step either side, replay-safe).
//!
//! An enrollment left unconfirmed dies after the step-up validity: its secret is no longer shown and it can no
//! longer be confirmed. A confirmation changes nothing unless its code is right: the code's step is taken first
//! (once, whoever else tries the same code), then what enabling a factor changes is done, then the factor is
//! enabled ([`super::factors::enable`]).

use serde_json::json;

use super::factors;
use crate::bindings::mfa::core::{otp, otpauth, qr, secrets};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::tokens;
use crate::config::keyring::{KeyRing, KeyRingError};
use crate::domain::auth::enrollment_alive;
use crate::domain::consent;
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events;
use crate::model::{EventKind, FactorKind};
use crate::store::factors::{self as stored, Totp};
use crate::store::sessions::Session;
use crate::store::sql::Db;
use crate::store::users;

/// Secret size: 160 bits (RFC 4226's recommendation; every authenticator app takes it).
const SECRET_BITS: u32 = 160;

/// Module size of the PNG QR code, in pixels.
const PNG_SCALE: u32 = 6;

/// A new enrollment, as shown once.
pub struct Enrollment {
    /// The authenticator's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The secret, Base32.
    pub secret: String,
    /// The `otpauth://` URI.
    pub uri: String,
    /// The QR code of the URI, SVG.
    pub svg: String,
    /// The QR code of the URI, PNG.
    pub png: Vec<u8>,
}

/// The name an authenticator app shows for the account: the email, else the product's id, else the user id.
fn account_label(db: &Db, user_id: &str) -> Result<String, Error> {
    Ok(users::account_name(db, user_id)?.unwrap_or_else(|| user_id.to_owned()))
}

fn otpauth_uri(ctx: &Ctx, account: String, secret: Vec<u8>) -> Result<String, Error> {
    let key =
        otpauth::OtpauthKey { issuer: ctx.settings.issuer(), account, secret, params: otp::default_totp_params() };
    otpauth::build_uri(&key).map_err(|error| Error::IssuerInvalid(format!("{error:?}")))
}

/// Opens the sealed secret of `totp`.
pub fn open(ring: &KeyRing, totp: &Totp) -> Result<Vec<u8>, Error> {
    ring.open(&totp.sealed, &[&totp.user_id, &totp.id]).map_err(|error| {
        eprintln!("totp {}: {error}", totp.id);
        match error {
            KeyRingError::UnknownKey(_) => Error::EncryptionKeyMissing(error),
            _ => Error::SecretUnreadable(error),
        }
    })
}

/// Starts an enrollment for the session's user (step-up checked by the caller), who gave `consent` to the
/// authenticator text in force ([`consent::require`]).
pub fn start(ctx: &Ctx, session: &Session, name: Option<String>, consent: Option<&str>) -> Result<Enrollment, Error> {
    let name = factors::checked_name(name, FactorKind::Totp)?;
    let db = ctx.store()?.db();
    let ring = ctx.key_ring()?;
    // Backup codes are made when the first factor is confirmed: their pepper must be there before enrollment.
    ctx.pepper()?;
    consent::require(ctx, session, FactorKind::Totp, consent)?;
    let secret = secrets::generate_secret(SECRET_BITS).map_err(|_| Error::Internal("no secret could be generated"))?;
    let id = tokens::new_challenge_id();
    let sealed = ring.seal(&[&session.user_id, &id], &secret).map_err(|error| {
        eprintln!("totp: {error}");
        Error::Internal("the secret could not be sealed")
    })?;
    let uri = otpauth_uri(ctx, account_label(db, &session.user_id)?, secret.clone())?;
    let (Ok(svg), Ok(png)) = (qr::render_svg(&uri), qr::render_png(&uri, PNG_SCALE)) else {
        return Err(Error::Internal("the QR code could not be drawn"));
    };
    let totp = Totp {
        id: id.clone(),
        user_id: session.user_id.clone(),
        name: name.clone(),
        sealed,
        last_accepted_step: None,
        enabled: false,
        created_at: ctx.now,
        confirmed_at: None,
    };
    stored::insert(db, &totp)?;
    let detail = json!({"factor_id": id});
    events::record(ctx, EventKind::MfaTotpEnrollmentStarted, Some(&session.user_id), Some(&session.id), detail);
    Ok(Enrollment { id, name, secret: secrets::encode_base32(&secret), uri, svg, png })
}

/// The user's enrollment `id` while it waits for confirmation and is still alive ([`enrollment_alive`]).
fn pending(db: &Db, user_id: &str, id: &str, policy: &SessionPolicy, now: i64) -> Result<Totp, Error> {
    match stored::find(db, user_id, id)? {
        Some(totp) if !totp.enabled && enrollment_alive(totp.created_at, policy, now) => Ok(totp),
        Some(totp) if !totp.enabled => Err(Error::EnrollmentExpired("this enrollment was left too long: start again")),
        _ => Err(Error::EnrollmentNotFound("no enrollment in progress with this id")),
    }
}

/// The otpauth URI of the session user's unconfirmed authenticator `id` (for its QR codes).
fn pending_uri(ctx: &Ctx, session: &Session, policy: &SessionPolicy, id: &str) -> Result<String, Error> {
    let ring = ctx.key_ring()?;
    let db = ctx.store()?.db();
    let totp = pending(db, &session.user_id, id, policy, ctx.now)?;
    let secret = open(&ring, &totp)?;
    otpauth_uri(ctx, account_label(db, &session.user_id)?, secret)
}

/// The QR code of enrollment `id`, SVG.
pub fn qr_svg(ctx: &Ctx, session: &Session, policy: &SessionPolicy, id: &str) -> Result<String, Error> {
    qr::render_svg(&pending_uri(ctx, session, policy, id)?)
        .map_err(|_| Error::Internal("the QR code could not be drawn"))
}

/// The QR code of enrollment `id`, PNG.
pub fn qr_png(ctx: &Ctx, session: &Session, policy: &SessionPolicy, id: &str) -> Result<Vec<u8>, Error> {
    qr::render_png(&pending_uri(ctx, session, policy, id)?, PNG_SCALE)
        .map_err(|_| Error::Internal("the QR code could not be drawn"))
}

/// How a code checked against an authenticator came out.
pub enum CodeCheck {
    /// Accepted (and its step recorded).
    Accepted,
    /// It matched a step already used: a replay.
    Replayed,
    /// It matched nothing (or was malformed).
    Wrong,
}

/// Checks `code` against `totp` at `now` (one step either side) and records the step on success, atomically (of
/// an authenticator waiting for confirmation with `pending`; it stays unconfirmed). Re-seals a secret sealed under
/// an older key.
pub fn check_code(
    db: &Db,
    ring: &KeyRing,
    totp: &Totp,
    code: &str,
    pending: bool,
    now: i64,
) -> Result<CodeCheck, Error> {
    let secret = open(ring, totp)?;
    let verdict = otp::totp_verify(
        &secret,
        otp::default_totp_params(),
        code,
        u64::try_from(now).unwrap_or(0),
        1,
        totp.last_accepted_step,
    );
    let step = match verdict {
        Ok(otp::TotpVerdict::Accepted(step)) => step,
        Ok(otp::TotpVerdict::Replayed(_)) => return Ok(CodeCheck::Replayed),
        Ok(otp::TotpVerdict::Rejected) | Err(_) => return Ok(CodeCheck::Wrong),
    };
    // Another request took this step (or a later one) first: a replay.
    if !stored::accept_step(db, &totp.id, step, pending)? {
        return Ok(CodeCheck::Replayed);
    }
    if ring.is_stale(&totp.sealed)
        && let Ok(sealed) = ring.seal(&[&totp.user_id, &totp.id], &secret)
        && let Err(error) = stored::reseal(db, &totp.id, &totp.sealed.key_id, &sealed)
    {
        eprintln!("totp {}: re-encryption failed: {error}", totp.id);
    }
    Ok(CodeCheck::Accepted)
}

/// Confirms the session user's enrollment `id` with `code` (step-up checked by the caller): the authenticator and,
/// for a first factor, the backup codes to show once.
pub fn confirm(
    ctx: &Ctx,
    session: &Session,
    policy: &SessionPolicy,
    id: &str,
    code: &str,
) -> Result<(Totp, Option<Vec<String>>), Error> {
    let ring = ctx.key_ring()?;
    let db = ctx.store()?.db();
    let totp = pending(db, &session.user_id, id, policy, ctx.now)?;
    let (uid, sid) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    match check_code(db, &ring, &totp, code, true, ctx.now)? {
        CodeCheck::Accepted => {}
        CodeCheck::Replayed => {
            events::record(ctx, EventKind::TotpReplayRefused, uid, sid, json!({"factor_id": totp.id}));
            return Err(Error::ConfirmationReplayed);
        }
        CodeCheck::Wrong => {
            events::record(ctx, EventKind::MfaTotpConfirmationFailed, uid, sid, json!({"factor_id": totp.id}));
            return Err(Error::ConfirmationWrong {
                message: "the code is wrong or expired: check the authenticator's clock",
                checks_left: None,
            });
        }
    }
    let event = (EventKind::MfaTotpEnabled, json!({"factor_id": totp.id, "name": totp.name}));
    let codes = factors::enable(ctx, session, &totp.id, event)?;
    Ok((totp, codes))
}
