//! The per-user second-factor lockout state as stored (`second_factor_states`): session-policy's counters, the
//! time checks were disabled, and a `version` for compare-and-set.

use super::sql::{Db, DbError, SqlValue, texts};
use crate::bindings::mfa::session::throttle::SecondFactorState;

/// A stored state and the version it was read at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stored {
    /// The counters.
    pub state: SecondFactorState,
    /// Whether checks are disabled.
    pub disabled: bool,
    /// The row's version.
    pub version: i64,
}

fn int(value: u64) -> SqlValue {
    SqlValue::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

/// A state's columns: window failures, window start, consecutive failures, lockouts, locked until, disabled at,
/// version.
type Row = (i64, i64, i64, i64, i64, Option<i64>, i64);

/// The user's state, if any.
pub fn read(db: &Db, user_id: &str) -> Result<Option<Stored>, DbError> {
    let row: Option<Row> = db.row(
        "SELECT window_failures, window_start, consecutive_failures, lockouts, locked_until, disabled_at, version \
         FROM second_factor_states WHERE user_id = $1",
        &texts(&[user_id]),
    )?;
    Ok(row.and_then(|(window, start, consecutive, lockouts, until, disabled, version)| {
        Some(Stored {
            state: SecondFactorState {
                window_failures: u32::try_from(window).ok()?,
                window_start: u64::try_from(start).ok()?,
                consecutive_failures: u32::try_from(consecutive).ok()?,
                lockouts: u32::try_from(lockouts).ok()?,
                locked_until: u64::try_from(until).ok()?,
            },
            disabled: disabled.is_some(),
            version,
        })
    }))
}

/// Writes `state` if the row is still at `version` (none: if there is no row); whether it was written.
pub fn swap(
    db: &Db,
    user_id: &str,
    version: Option<i64>,
    state: &SecondFactorState,
    disabled_at: Option<i64>,
) -> Result<bool, DbError> {
    let mut values = vec![
        SqlValue::Text(user_id.to_owned()),
        SqlValue::Int(i64::from(state.window_failures)),
        int(state.window_start),
        SqlValue::Int(i64::from(state.consecutive_failures)),
        SqlValue::Int(i64::from(state.lockouts)),
        int(state.locked_until),
        disabled_at.map_or(SqlValue::Null, SqlValue::Int),
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

/// Forgets the window, the consecutive failures and any lock or disabling (a right code), taking back
/// `undo_lock` of the lock count.
pub fn succeeded(db: &Db, user_id: &str, undo_lock: bool) -> Result<(), DbError> {
    db.execute(
        "UPDATE second_factor_states SET window_failures = 0, consecutive_failures = 0, locked_until = 0, \
         disabled_at = NULL, lockouts = CASE WHEN lockouts >= $2 THEN lockouts - $2 ELSE 0 END, \
         version = version + 1 WHERE user_id = $1",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Int(i64::from(undo_lock))],
    )?;
    Ok(())
}

/// Forgets the user's whole state (locks and the disabling); whether there was one.
pub fn reset(db: &Db, user_id: &str) -> Result<bool, DbError> {
    Ok(db.execute("DELETE FROM second_factor_states WHERE user_id = $1", &texts(&[user_id]))? > 0)
}
