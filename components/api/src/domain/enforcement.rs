//! MFA enforcement (`mfa_enforcement`, [`crate::config::enforcement`]): with second factors required, a user
//! without one who signs in past their grace period gets a restricted session (`aal` 0) that may only read its own
//! status, log out, step up with the password and enroll a factor; everything else answers 403
//! `mfa_enrollment_required` and introspection calls it inactive. Confirming a factor gives the session a new token
//! at `aal` 1 (full use) and ends the user's other restricted sessions, which never proved the factor.
//!
//! The policy is applied at each sign-in: a session that started within the grace period keeps full use until it
//! ends (at most the absolute session lifetime). session-policy decides each user's standing.

use serde_json::json;

use super::context::Ctx;
use super::error::Error;
use super::new_session::Proof;
use super::sessions;
use crate::bindings::mfa::session::enrollment::{self, EnrollmentStatus};
use crate::model::EventKind;
use crate::store::factors;
use crate::store::sessions::{EndReason, Session};
use crate::store::users;

/// The assurance level of a restricted session.
pub const RESTRICTED_AAL: i64 = 0;

/// Whether `session` may only enroll a second factor.
pub fn is_restricted(session: &Session) -> bool {
    session.aal == RESTRICTED_AAL
}

/// User `user_id`'s standing under the policy in force (no database read while factors are optional).
pub fn status(ctx: &Ctx, user_id: &str) -> Result<EnrollmentStatus, Error> {
    standing(ctx, user_id, None)
}

/// As [`status`], given whether the user has a second factor when the caller already knows it.
fn standing(ctx: &Ctx, user_id: &str, has_factor: Option<bool>) -> Result<EnrollmentStatus, Error> {
    let policy = ctx.enforcement()?;
    if !policy.required {
        return Ok(EnrollmentStatus::Satisfied);
    }
    let db = ctx.store()?.db();
    let user = users::find(db, user_id)?.ok_or(Error::AccountNotFound)?;
    let has_factor = match has_factor {
        Some(known) => known,
        None => factors::has_any(db, user_id)?,
    };
    let created = u64::try_from(user.created_at).unwrap_or(0);
    let now = u64::try_from(ctx.now).unwrap_or(0);
    Ok(enrollment::standing(policy, created, has_factor, now))
}

/// The proof a sign-in of `user_id`, who has no second factor (the caller checked), gets for `proof`: restricted
/// past the grace period.
pub fn sign_in_proof(ctx: &Ctx, user_id: &str, proof: &Proof) -> Result<Proof, Error> {
    Ok(match standing(ctx, user_id, Some(false))? {
        EnrollmentStatus::Required => Proof { aal: RESTRICTED_AAL, ..proof.clone() },
        EnrollmentStatus::Satisfied | EnrollmentStatus::InGrace(_) => proof.clone(),
    })
}

/// Refuses a restricted session.
pub fn require_unrestricted(session: &Session) -> Result<(), Error> {
    if is_restricted(session) { Err(Error::MfaEnrollmentRequired) } else { Ok(()) }
}

/// After `session`'s user enabled a second factor: a restricted `session` gets a new token at `aal` 1 (the session
/// as it now is, with its token) and the user's other restricted sessions end. `None` for a full session.
pub fn lift(ctx: &Ctx, session: &Session) -> Result<Option<(Session, String)>, Error> {
    if !is_restricted(session) {
        return Ok(None);
    }
    let policy = ctx.session_policy()?;
    let others: Vec<Session> = sessions::list(ctx, &session.user_id, &policy)?
        .into_iter()
        .filter(|other| other.id != session.id && is_restricted(other))
        .collect();
    let detail = json!({"reason": "mfa_enrolled_elsewhere", "by_session": session.id});
    sessions::end_all(ctx, &others, EndReason::Revoked, &detail)?;
    let renewed = Session { aal: 1, ..session.clone() };
    let detail = json!({"reason": "mfa_enrolled", "aal": 1});
    sessions::reissue(ctx, session, renewed, EventKind::SessionRotated, detail).map(Some)
}

/// How far second factors are adopted, under the policy in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adoption {
    /// Whether second factors are required.
    pub required: bool,
    /// The grace period, in days.
    pub grace_days: u32,
    /// Every user.
    pub users: i64,
    /// Users with a confirmed second factor.
    pub with_factor: i64,
    /// Users without one still within their grace period (0 while factors are optional).
    pub in_grace: i64,
    /// Users without one past their grace period: their next sign-in is restricted (0 while factors are optional).
    pub past_grace: i64,
}

/// Second-factor adoption now.
pub fn adoption(ctx: &Ctx) -> Result<Adoption, Error> {
    let policy = ctx.enforcement()?;
    let grace = i64::from(policy.grace_days).saturating_mul(86_400);
    let since = i64::try_from(policy.required_since).unwrap_or(i64::MAX);
    // A user without a factor is in grace while max(created_at, since) + grace > now: every one of them while the
    // requirement's own grace period runs, else those created within the last grace period.
    let created_after = if since.saturating_add(grace) > ctx.now { i64::MIN } else { ctx.now.saturating_sub(grace) };
    let counts = users::factor_counts(ctx.store()?.db(), created_after)?;
    let without = counts.users.saturating_sub(counts.with_factor);
    let in_grace = if policy.required { counts.without_factor_created_after } else { 0 };
    Ok(Adoption {
        required: policy.required,
        grace_days: policy.grace_days,
        users: counts.users,
        with_factor: counts.with_factor,
        in_grace,
        past_grace: if policy.required { without.saturating_sub(in_grace) } else { 0 },
    })
}
