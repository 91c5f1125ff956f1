//! Recovery of a user who lost their second factor, done by the product's support staff through the service API
//! (after checking who the user is, their own way): every second factor of the user goes, with their backup codes,
//! SMS codes and challenges in flight and the lockout state; their trusted devices are voided and every session
//! ends. The user can then sign in with the first factor alone and enroll a new second factor.
//!
//! It is audited: the request names the staff member (`operator`) and the `reason`, both recorded in the
//! `second_factor_recovered` event the user sees in their activity (and the product in its event feed).
//!
//! The order closes every way back in: trusted devices first (none can skip a factor any more), then the factors in
//! one transaction (no new session can prove one), then the sessions (those made before, and any a login in flight
//! completed meanwhile). A failure half-way refuses the request, and calling it again finishes the job.

use serde_json::json;

use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events;
use crate::domain::sessions;
use crate::domain::trusted_devices;
use crate::model::EventKind;
use crate::store::factors;
use crate::store::sessions::EndReason;

/// The longest `operator` or `reason` accepted, in characters.
const MAX_NOTE: usize = 200;

/// Who asked for a recovery, and why.
pub struct Audit<'a> {
    /// The product's support staff member (their id or name in the product).
    pub operator: &'a str,
    /// Why (e.g. "lost phone, identity checked by video call").
    pub reason: &'a str,
}

/// What a recovery removed and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Authenticators and phones removed (confirmed or not).
    pub factors_removed: u64,
    /// Unused backup codes removed.
    pub backup_codes_removed: u64,
    /// The sessions ended.
    pub sessions_ended: Vec<String>,
}

/// Recovers user `user_id` (who must exist: the caller checks) for `audit`; see the module docs.
pub fn recover(ctx: &Ctx, user_id: &str, audit: &Audit<'_>) -> Result<Recovered, Error> {
    let operator = audit_note(audit.operator, "operator must have 1 to 200 characters, none a control")?;
    let reason = audit_note(audit.reason, "reason must have 1 to 200 characters, none a control")?;
    trusted_devices::void_after_change(ctx, user_id, None, "second_factor_recovery")?;
    let removed = factors::remove_all(ctx.store()?.db(), user_id)?;
    let policy = ctx.session_policy()?;
    let live = sessions::list(ctx, user_id, &policy)?;
    let sessions_ended =
        sessions::end_all(ctx, &live, EndReason::Revoked, &json!({"reason": "second_factor_recovery"}))?;
    let detail = json!({
        "operator": operator,
        "reason": reason,
        "factors_removed": removed.factors,
        "backup_codes_removed": removed.backup_codes,
        "sessions_ended": sessions_ended.len(),
    });
    events::record(ctx, EventKind::SecondFactorRecovered, Some(user_id), None, detail);
    Ok(Recovered { factors_removed: removed.factors, backup_codes_removed: removed.backup_codes, sessions_ended })
}

/// `note` trimmed, if it has 1 to [`MAX_NOTE`] characters and no control character; else `why`.
fn audit_note<'a>(note: &'a str, why: &'static str) -> Result<&'a str, Error> {
    let note = note.trim();
    let usable = !note.is_empty() && note.chars().count() <= MAX_NOTE && !note.chars().any(char::is_control);
    if usable { Ok(note) } else { Err(Error::InvalidField(why)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_notes_are_trimmed_and_bounded() {
        assert_eq!(audit_note("  support-7 ", "x").unwrap(), "support-7");
        assert_eq!(audit_note(&"é".repeat(200), "x").unwrap().chars().count(), 200);
        for bad in [String::new(), "   ".into(), "a\nb".into(), "a".repeat(201)] {
            assert!(matches!(audit_note(&bad, "why"), Err(Error::InvalidField("why"))), "{bad:?}");
        }
    }
}
