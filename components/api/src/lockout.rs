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

use crate::bindings::mfa::session::throttle::{self, SecondFactorGate, SecondFactorState, ThrottlePolicy};
use crate::http::Reply;
use crate::sql::{Db, DbError, SqlValue};

/// Attempts before a contended update gives up.
const MAX_ROUNDS: usize = 32;

/// A stored state and the version it was read at.
struct Stored {
    state: SecondFactorState,
    disabled: bool,
    version: i64,
}

fn u64_of(value: &SqlValue) -> Option<u64> {
    value.as_i64().and_then(|v| u64::try_from(v).ok())
}

fn u32_of(value: &SqlValue) -> Option<u32> {
    value.as_i64().and_then(|v| u32::try_from(v).ok())
}

fn int(value: u64) -> SqlValue {
    SqlValue::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

fn read(db: &Db, user_id: &str) -> Result<Option<Stored>, DbError> {
    let rows = db.query(
        "SELECT window_failures, window_start, consecutive_failures, lockouts, locked_until, disabled_at, version \
         FROM second_factor_states WHERE user_id = $1",
        &[SqlValue::Text(user_id.to_owned())],
    )?;
    Ok(rows.first().and_then(|row| match row.as_slice() {
        [window, start, consecutive, lockouts, until, disabled, version] => Some(Stored {
            state: SecondFactorState {
                window_failures: u32_of(window)?,
                window_start: u64_of(start)?,
                consecutive_failures: u32_of(consecutive)?,
                lockouts: u32_of(lockouts)?,
                locked_until: u64_of(until)?,
            },
            disabled: disabled.as_i64().is_some(),
            version: version.as_i64()?,
        }),
        _ => None,
    }))
}

/// Writes `state` if the row is still at `version` (none: if there is no row); whether it was written.
fn swap(
    db: &Db,
    user_id: &str,
    version: Option<i64>,
    state: &SecondFactorState,
    disabled_at: Option<i64>,
) -> Result<bool, DbError> {
    let disabled = disabled_at.map_or(SqlValue::Null, SqlValue::Int);
    let values = [
        SqlValue::Text(user_id.to_owned()),
        SqlValue::Int(i64::from(state.window_failures)),
        int(state.window_start),
        SqlValue::Int(i64::from(state.consecutive_failures)),
        SqlValue::Int(i64::from(state.lockouts)),
        int(state.locked_until),
        disabled,
    ];
    match version {
        None => match db.execute(
            "INSERT INTO second_factor_states (user_id, window_failures, window_start, consecutive_failures, \
             lockouts, locked_until, disabled_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)",
            &values,
        ) {
            Ok(_) => Ok(true),
            Err(DbError::Conflict) => Ok(false),
            Err(error) => Err(error),
        },
        Some(version) => {
            let mut values = values.to_vec();
            values.push(SqlValue::Int(version));
            let changed = db.execute(
                "UPDATE second_factor_states SET window_failures = $2, window_start = $3, consecutive_failures = $4, \
                 lockouts = $5, locked_until = $6, disabled_at = $7, version = version + 1 \
                 WHERE user_id = $1 AND version = $8",
                &values,
            )?;
            Ok(changed == 1)
        }
    }
}

/// 429 while checks are locked.
pub fn locked_reply(seconds: u64) -> Reply {
    Reply::error(
        429,
        "second_factor_locked",
        &format!("too many wrong codes: second-factor checks are locked for {seconds} seconds"),
    )
    .with_header("retry-after", seconds.to_string())
}

/// 403 once checks are disabled.
pub fn disabled_reply() -> Reply {
    Reply::error(
        403,
        "second_factor_disabled",
        "too many wrong codes in a row: second-factor checks are disabled until your account is reset",
    )
}

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
    pub fn events(&self) -> Vec<(&'static str, serde_json::Value)> {
        let mut events = Vec::new();
        if let Some(seconds) = self.locked_for {
            events
                .push(("second_factor_locked", json!({"seconds": seconds, "consecutive_failures": self.consecutive})));
        }
        if self.disabled {
            events.push(("second_factor_disabled", json!({"consecutive_failures": self.consecutive})));
        }
        events
    }
}

/// Takes one second-factor attempt for the user, before its code is looked at: refused while checks are locked
/// (429 with `Retry-After`) or disabled (403); else counted as a failure at once, atomically, so parallel attempts
/// can never exceed the limits (a count that cannot be written refuses the attempt). The answer is what this failure
/// caused, to report if the code is wrong; if it is right, [`succeeded`] takes the failure back.
pub fn take_attempt(
    db: &Db,
    policy: &ThrottlePolicy,
    user_id: &str,
    now: i64,
) -> Result<Result<Failure, Reply>, DbError> {
    let at = u64::try_from(now).unwrap_or(0);
    for _ in 0..MAX_ROUNDS {
        let stored = read(db, user_id)?;
        if stored.as_ref().is_some_and(|s| s.disabled) {
            return Ok(Err(disabled_reply()));
        }
        match throttle::check_second_factor(*policy, stored.as_ref().map(|s| s.state), at) {
            SecondFactorGate::Open => {}
            SecondFactorGate::Locked(seconds) => return Ok(Err(locked_reply(seconds))),
            SecondFactorGate::Disabled => return Ok(Err(disabled_reply())),
        }
        let outcome = throttle::second_factor_failed(*policy, stored.as_ref().map(|s| s.state), at);
        let disabled_at = outcome.disabled.then_some(now);
        if swap(db, user_id, stored.as_ref().map(|s| s.version), &outcome.state, disabled_at)? {
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
    let undo_lock = i64::from(failure.locked_for.is_some());
    db.execute(
        "UPDATE second_factor_states SET window_failures = 0, consecutive_failures = 0, locked_until = 0, \
         disabled_at = NULL, lockouts = CASE WHEN lockouts >= $2 THEN lockouts - $2 ELSE 0 END, \
         version = version + 1 WHERE user_id = $1",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Int(undo_lock)],
    )?;
    Ok(())
}

/// Forgets the user's whole state (locks and the disabling): the service API's reset.
pub fn reset(db: &Db, user_id: &str) -> Result<bool, DbError> {
    Ok(db.execute("DELETE FROM second_factor_states WHERE user_id = $1", &[SqlValue::Text(user_id.to_owned())])? > 0)
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
            vec![("second_factor_locked", json!({"seconds": 900, "consecutive_failures": 10}))]
        );
        let both = Failure { locked_for: Some(1800), disabled: true, consecutive: 100 };
        let kinds: Vec<&str> = both.events().iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, ["second_factor_locked", "second_factor_disabled"]);
    }

    #[test]
    fn refusals_carry_their_codes_and_wait() {
        let locked = locked_reply(42);
        assert_eq!(locked.status, 429);
        assert!(locked.headers.iter().any(|(name, value)| name == "retry-after" && value == "42"));
        assert_eq!(disabled_reply().status, 403);
    }
}
