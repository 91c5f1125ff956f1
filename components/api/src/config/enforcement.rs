//! The MFA enforcement policy: `mfa_enforcement` = `optional` (the default) | `required`; `mfa_grace_days`, how long
//! a user without a second factor keeps full use (30 unless set, at most 365), counted from the later of the
//! account's creation and `mfa_required_since` (a UTC date, `YYYY-MM-DD`; empty: from account creation alone).
//! Validated by session-policy, which also decides each user's standing ([`crate::domain::enforcement`]).

use super::policy::PolicyError;
use super::variables::Lookup;
use crate::bindings::mfa::session::enrollment::{self, EnforcementError, EnforcementPolicy};

/// A variable's value, trimmed; `None` when unset or empty.
fn value(get: Lookup<'_>, name: &'static str) -> Option<String> {
    get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The enforcement policy in force.
pub fn current(get: Lookup<'_>) -> Result<EnforcementPolicy, PolicyError> {
    let mut policy = enrollment::default_enforcement_policy();
    match value(get, "mfa_enforcement").as_deref() {
        None | Some("optional") => policy.required = false,
        Some("required") => policy.required = true,
        Some(_) => return Err(PolicyError("mfa_enforcement must be optional or required".to_owned())),
    }
    if let Some(days) = value(get, "mfa_grace_days") {
        policy.grace_days =
            days.parse().map_err(|_| PolicyError("mfa_grace_days must be a whole number of days".to_owned()))?;
    }
    if let Some(date) = value(get, "mfa_required_since") {
        policy.required_since = unix_midnight(&date)
            .ok_or_else(|| PolicyError(format!("mfa_required_since must be a date as YYYY-MM-DD, not {date:?}")))?;
    }
    enrollment::validate_enforcement_policy(policy).map_err(|error| match error {
        EnforcementError::GraceDaysOutOfRange(days) => {
            PolicyError(format!("mfa_grace_days is {days}: it must be 0 to 365"))
        }
    })?;
    Ok(policy)
}

/// The Unix time of midnight UTC starting `date` (`YYYY-MM-DD`, from 1970), if it is a real date.
fn unix_midnight(date: &str) -> Option<u64> {
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day): (u64, u64, u64) = (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let before = usize::try_from(month.checked_sub(1)?).ok()?;
    if year < 1970 || day == 0 || day > *month_days.get(before)? {
        return None;
    }
    let leap_years = |before: u64| (before - 1) / 4 - (before - 1) / 100 + (before - 1) / 400;
    let days_before_year = (year - 1970) * 365 + leap_years(year) - leap_years(1970);
    let days_before_month: u64 = month_days.get(..before)?.iter().sum();
    Some((days_before_year + days_before_month + day - 1) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_midnights() {
        assert_eq!(unix_midnight("1970-01-01"), Some(0));
        assert_eq!(unix_midnight("2000-03-01"), Some(951_868_800));
        assert_eq!(unix_midnight("2024-02-29"), Some(1_709_164_800));
        assert_eq!(unix_midnight("2026-12-06"), Some(1_796_515_200));
        for bad in ["2023-02-29", "1900-01-01", "2026-13-01", "2026-00-10", "2026-1-1", "26-01-01", "2026-01-01x", ""] {
            assert_eq!(unix_midnight(bad), None, "{bad}");
        }
    }
}
