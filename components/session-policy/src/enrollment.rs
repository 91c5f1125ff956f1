//! MFA enforcement (`mfa:session/enrollment`): whether a user must enroll a second factor before they may do
//! anything else. Second factors are optional, or required with a grace period in days counted from the later of
//! the account's creation and the requirement's start; a user past it without a factor may only enroll one.

/// Seconds in a day.
const DAY: u64 = 86_400;

/// The longest grace period, in days.
pub const MAX_GRACE_DAYS: u32 = 365;

/// Whether second factors are optional or required, and the grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnforcementPolicy {
    /// Whether every user must have a second factor.
    pub required: bool,
    /// How long a user without a second factor keeps full use, in days.
    pub grace_days: u32,
    /// When the requirement took effect (Unix seconds; 0: from account creation alone).
    pub required_since: u64,
}

/// Why an enforcement policy cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforcementError {
    /// `grace_days` is over [`MAX_GRACE_DAYS`].
    GraceDaysOutOfRange(u32),
}

/// A user's standing under the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentStatus {
    /// Nothing is asked of them.
    Satisfied,
    /// A factor is required; their grace period ends at this time.
    InGrace(u64),
    /// A factor is required and the grace period is over.
    Required,
}

/// Optional, 30 days of grace from account creation.
pub fn default_enforcement_policy() -> EnforcementPolicy {
    EnforcementPolicy { required: false, grace_days: 30, required_since: 0 }
}

/// Checks `policy`'s ranges.
pub fn validate_enforcement_policy(policy: &EnforcementPolicy) -> Result<(), EnforcementError> {
    if policy.grace_days > MAX_GRACE_DAYS {
        return Err(EnforcementError::GraceDaysOutOfRange(policy.grace_days));
    }
    Ok(())
}

/// The standing at `now` of a user whose account was created at `account_created_at`.
pub fn enrollment_status(
    policy: &EnforcementPolicy,
    account_created_at: u64,
    has_second_factor: bool,
    now: u64,
) -> EnrollmentStatus {
    if !policy.required || has_second_factor {
        return EnrollmentStatus::Satisfied;
    }
    let grace = u64::from(policy.grace_days).saturating_mul(DAY);
    let ends = account_created_at.max(policy.required_since).saturating_add(grace);
    if now < ends { EnrollmentStatus::InGrace(ends) } else { EnrollmentStatus::Required }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIRED: EnforcementPolicy = EnforcementPolicy { required: true, grace_days: 30, required_since: 0 };

    #[test]
    fn optional_or_enrolled_users_are_never_asked() {
        let optional = default_enforcement_policy();
        assert_eq!(enrollment_status(&optional, 0, false, 10_000_000_000), EnrollmentStatus::Satisfied);
        assert_eq!(enrollment_status(&REQUIRED, 0, true, 10_000_000_000), EnrollmentStatus::Satisfied);
    }

    #[test]
    fn the_grace_period_counts_from_creation_or_the_requirements_start_whichever_is_later() {
        let created = 1_000_000;
        let ends = created + 30 * DAY;
        assert_eq!(enrollment_status(&REQUIRED, created, false, created), EnrollmentStatus::InGrace(ends));
        assert_eq!(enrollment_status(&REQUIRED, created, false, ends - 1), EnrollmentStatus::InGrace(ends));
        assert_eq!(enrollment_status(&REQUIRED, created, false, ends), EnrollmentStatus::Required);
        // An account older than the requirement gets the whole grace period from its start.
        let since = EnforcementPolicy { required_since: created + 100 * DAY, ..REQUIRED };
        let later = created + 130 * DAY;
        assert_eq!(enrollment_status(&since, created, false, later - 1), EnrollmentStatus::InGrace(later));
        assert_eq!(enrollment_status(&since, created, false, later), EnrollmentStatus::Required);
        // No grace: required from the first second.
        let none = EnforcementPolicy { grace_days: 0, ..REQUIRED };
        assert_eq!(enrollment_status(&none, created, false, created), EnrollmentStatus::Required);
        // Far-away times saturate rather than wrap.
        assert_eq!(enrollment_status(&REQUIRED, u64::MAX, false, u64::MAX - 1), EnrollmentStatus::InGrace(u64::MAX));
    }

    #[test]
    fn grace_periods_are_at_most_a_year() {
        assert_eq!(validate_enforcement_policy(&REQUIRED), Ok(()));
        let long = EnforcementPolicy { grace_days: 366, ..REQUIRED };
        assert_eq!(validate_enforcement_policy(&long), Err(EnforcementError::GraceDaysOutOfRange(366)));
        assert_eq!(validate_enforcement_policy(&default_enforcement_policy()), Ok(()));
    }
}
