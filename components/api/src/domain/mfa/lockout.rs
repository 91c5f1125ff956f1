//! The per-user second-factor lockout (design: 10 failures in 15 minutes lock second-factor checks for 15 minutes,
//! doubling on each repeat; 100 consecutive failures disable second-factor checks until a reset, NIST 800-63B
//! §5.2.2). The arithmetic is session-policy's (`check-second-factor`, `second-factor-failed`); the state is a row
//! of `second_factor_states`, updated by compare-and-set on its `version`, so parallel attempts are all counted, on
//! one instance or several. A success forgets the window and the consecutive count (the lock count stays, so the
//! next lock is still longer); a reset (the service API's) forgets everything. The disabling applies to all of the
//! user's second factors (the state is per user, as the lockout is).
//!
//! Every attempt is counted as a failure BEFORE its code is looked at ([`take_attempt`], refused while locked or
//! disabled), and taken back when the code is right ([`succeeded`]), so parallel guesses can never be checked beyond
//! the limits.

use serde_json::json;

use crate::bindings::mfa::session::throttle::{self, SecondFactorGate, ThrottlePolicy};
use crate::domain::error::Error;
use crate::model::EventKind;
use crate::store::lockout;
use crate::store::sql::{Db, DbError};

/// Attempts before a contended update gives up.
const MAX_ROUNDS: usize = 32;

/// What a counted failure caused: the events to record (a lock, the disabling).
pub struct Failure {
    /// Seconds checks are now locked for, if this failure locked them.
    pub locked_for: Option<u64>,
    /// Whether this failure disabled second-factor checks.
    pub disabled: bool,
    /// Consecutive failures so far.
    pub consecutive: u32,
}

impl Failure {
    /// The events this failure adds (kind and detail) besides the failure itself.
    pub fn events(&self) -> Vec<(EventKind, serde_json::Value)> {
        let mut events = Vec::new();
        if let Some(seconds) = self.locked_for {
            let detail = json!({"seconds": seconds, "consecutive_failures": self.consecutive});
            events.push((EventKind::SecondFactorLocked, detail));
        }
        if self.disabled {
            events.push((EventKind::SecondFactorDisabled, json!({"consecutive_failures": self.consecutive})));
        }
        events
    }
}

/// Takes one second-factor attempt for the user, before its code is looked at: refused while checks are locked
/// ([`Error::SecondFactorLocked`]) or disabled ([`Error::SecondFactorDisabled`]); else counted as a failure at
/// once, atomically, so parallel attempts can never exceed the limits (a count that cannot be written refuses the
/// attempt). The answer is what this failure caused, to report if the code is wrong; if it is right,
/// [`succeeded`] takes the failure back. A refusal is `Ok(Err(..))`; a storage failure `Err(..)`.
pub fn take_attempt(
    db: &Db,
    policy: &ThrottlePolicy,
    user_id: &str,
    now: i64,
) -> Result<Result<Failure, Error>, DbError> {
    let at = u64::try_from(now).unwrap_or(0);
    for _ in 0..MAX_ROUNDS {
        let stored = lockout::read(db, user_id)?;
        if stored.as_ref().is_some_and(|s| s.disabled) {
            return Ok(Err(Error::SecondFactorDisabled));
        }
        match throttle::check_second_factor(*policy, stored.as_ref().map(|s| s.state), at) {
            SecondFactorGate::Open => {}
            SecondFactorGate::Locked(seconds) => return Ok(Err(Error::SecondFactorLocked(seconds))),
            SecondFactorGate::Disabled => return Ok(Err(Error::SecondFactorDisabled)),
        }
        let outcome = throttle::second_factor_failed(*policy, stored.as_ref().map(|s| s.state), at);
        let disabled_at = outcome.disabled.then_some(now);
        if lockout::swap(db, user_id, stored.as_ref().map(|s| s.version), &outcome.state, disabled_at)? {
            return Ok(Ok(Failure {
                locked_for: outcome.locked_for,
                disabled: outcome.disabled,
                consecutive: outcome.state.consecutive_failures,
            }));
        }
    }
    Err(DbError::Statement("the second-factor state is too contended to update".to_owned()))
}

/// The attempt counted as `failure` succeeded: the window, the consecutive failures and any lock or disabling are
/// forgotten (the user holds the factor), and a lock this very attempt caused is not counted towards the doubling.
pub fn succeeded(db: &Db, user_id: &str, failure: &Failure) -> Result<(), DbError> {
    lockout::succeeded(db, user_id, failure.locked_for.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reports_its_lock_and_its_disabling_as_events() {
        let plain = Failure { locked_for: None, disabled: false, consecutive: 3 };
        assert!(plain.events().is_empty());
        let locked = Failure { locked_for: Some(900), disabled: false, consecutive: 10 };
        assert_eq!(
            locked.events(),
            vec![(EventKind::SecondFactorLocked, json!({"seconds": 900, "consecutive_failures": 10}))]
        );
        let both = Failure { locked_for: Some(1800), disabled: true, consecutive: 100 };
        let kinds: Vec<EventKind> = both.events().iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, [EventKind::SecondFactorLocked, EventKind::SecondFactorDisabled]);
    }
}
