//! The session policy (`mfa:session/policy`): lifetimes and limits of sessions, their defaults, and the ranges a
//! configured policy must stay within.

/// Seconds in a minute.
const MINUTE: u64 = 60;
/// Seconds in an hour.
const HOUR: u64 = 60 * MINUTE;
/// Seconds in a day.
const DAY: u64 = 24 * HOUR;

/// The shortest allowed `absolute_lifetime` (5 min).
pub const MIN_ABSOLUTE_LIFETIME: u64 = 5 * MINUTE;
/// The longest allowed `absolute_lifetime` (365 days).
pub const MAX_ABSOLUTE_LIFETIME: u64 = 365 * DAY;
/// The shortest allowed `idle_timeout` (1 min); the longest is the policy's `absolute_lifetime`.
pub const MIN_IDLE_TIMEOUT: u64 = MINUTE;
/// The fewest sessions per user a policy may allow.
pub const MIN_SESSIONS_PER_USER: u32 = 1;
/// The most sessions per user a policy may allow.
pub const MAX_SESSIONS_PER_USER: u32 = 100;
/// The shortest allowed `step_up_validity` (1 min); the longest is the policy's `absolute_lifetime`.
pub const MIN_STEP_UP_VALIDITY: u64 = MINUTE;
/// The shortest allowed `trusted_device_lifetime` (1 hour).
pub const MIN_TRUSTED_DEVICE_LIFETIME: u64 = HOUR;
/// The longest allowed `trusted_device_lifetime` (400 days, the longest a browser keeps a cookie).
pub const MAX_TRUSTED_DEVICE_LIFETIME: u64 = 400 * DAY;

/// What a login does when the user already has the maximum number of live sessions (WIT `over-limit-action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverLimitAction {
    /// End the oldest sessions to make room (the default).
    #[default]
    EvictOldest,
    /// Refuse the new login.
    Refuse,
}

/// Session lifetimes and limits, durations in seconds (WIT `session-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session ends this long after it was created, whatever its activity (default 24 h).
    pub absolute_lifetime: u64,
    /// A session ends after this long without activity (default 30 min).
    pub idle_timeout: u64,
    /// Activity is written back at most this often (default 60 s).
    pub activity_write_interval: u64,
    /// Live sessions a user may have at once (default 5).
    pub max_sessions_per_user: u32,
    /// What happens to a login over that limit (default evict-oldest).
    pub over_limit_action: OverLimitAction,
    /// Sensitive actions need an authentication at most this old (default 10 min).
    pub step_up_validity: u64,
    /// A remembered device skips the second factor for this long (default 30 days).
    pub trusted_device_lifetime: u64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            absolute_lifetime: DAY,
            idle_timeout: 30 * MINUTE,
            activity_write_interval: MINUTE,
            max_sessions_per_user: 5,
            over_limit_action: OverLimitAction::EvictOldest,
            step_up_validity: 10 * MINUTE,
            trusted_device_lifetime: 30 * DAY,
        }
    }
}

/// Which value of a policy is unusable, and the value given (WIT `policy-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `absolute_lifetime` must be 300 s to 365 days.
    #[error("absolute-lifetime {0} s is not 300 s to 365 days")]
    AbsoluteLifetimeOutOfRange(u64),
    /// `idle_timeout` must be 60 s to `absolute_lifetime`.
    #[error("idle-timeout {0} s is not 60 s to the absolute lifetime")]
    IdleTimeoutOutOfRange(u64),
    /// `activity_write_interval` must be at most half of `idle_timeout`.
    #[error("activity-write-interval {0} s is more than half the idle timeout")]
    ActivityWriteIntervalOutOfRange(u64),
    /// `max_sessions_per_user` must be 1 to 100.
    #[error("max-sessions-per-user {0} is not 1 to 100")]
    MaxSessionsOutOfRange(u32),
    /// `step_up_validity` must be 60 s to `absolute_lifetime`.
    #[error("step-up-validity {0} s is not 60 s to the absolute lifetime")]
    StepUpValidityOutOfRange(u64),
    /// `trusted_device_lifetime` must be 1 hour to 400 days.
    #[error("trusted-device-lifetime {0} s is not 1 hour to 400 days")]
    TrustedDeviceLifetimeOutOfRange(u64),
}

/// The defaults: 24 h absolute, 30 min idle, activity written at most once a minute, 5 sessions per user evicting
/// the oldest, step-up valid 10 min, trusted devices 30 days.
pub fn default_policy() -> SessionPolicy {
    SessionPolicy::default()
}

/// Checks every value of `policy` in field order, reporting the first unusable one.
pub fn validate_policy(policy: &SessionPolicy) -> Result<(), PolicyError> {
    let absolute = policy.absolute_lifetime;
    if !(MIN_ABSOLUTE_LIFETIME..=MAX_ABSOLUTE_LIFETIME).contains(&absolute) {
        return Err(PolicyError::AbsoluteLifetimeOutOfRange(absolute));
    }
    if !(MIN_IDLE_TIMEOUT..=absolute).contains(&policy.idle_timeout) {
        return Err(PolicyError::IdleTimeoutOutOfRange(policy.idle_timeout));
    }
    if policy.activity_write_interval > policy.idle_timeout / 2 {
        return Err(PolicyError::ActivityWriteIntervalOutOfRange(policy.activity_write_interval));
    }
    if !(MIN_SESSIONS_PER_USER..=MAX_SESSIONS_PER_USER).contains(&policy.max_sessions_per_user) {
        return Err(PolicyError::MaxSessionsOutOfRange(policy.max_sessions_per_user));
    }
    if !(MIN_STEP_UP_VALIDITY..=absolute).contains(&policy.step_up_validity) {
        return Err(PolicyError::StepUpValidityOutOfRange(policy.step_up_validity));
    }
    if !(MIN_TRUSTED_DEVICE_LIFETIME..=MAX_TRUSTED_DEVICE_LIFETIME).contains(&policy.trusted_device_lifetime) {
        return Err(PolicyError::TrustedDeviceLifetimeOutOfRange(policy.trusted_device_lifetime));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_match_the_design() {
        let policy = default_policy();
        assert_eq!(
            policy,
            SessionPolicy {
                absolute_lifetime: 86_400,
                idle_timeout: 1_800,
                activity_write_interval: 60,
                max_sessions_per_user: 5,
                over_limit_action: OverLimitAction::EvictOldest,
                step_up_validity: 600,
                trusted_device_lifetime: 2_592_000,
            }
        );
        assert_eq!(validate_policy(&policy), Ok(()));
    }

    fn with(change: impl FnOnce(&mut SessionPolicy)) -> Result<(), PolicyError> {
        let mut policy = default_policy();
        change(&mut policy);
        validate_policy(&policy)
    }

    #[test]
    fn absolute_lifetime_range() {
        // Keep the dependent values inside the smallest absolute lifetime.
        let small = |p: &mut SessionPolicy| {
            p.idle_timeout = 60;
            p.activity_write_interval = 30;
            p.step_up_validity = 60;
        };
        assert_eq!(
            with(|p| {
                small(p);
                p.absolute_lifetime = 299;
            }),
            Err(PolicyError::AbsoluteLifetimeOutOfRange(299))
        );
        assert_eq!(
            with(|p| {
                small(p);
                p.absolute_lifetime = 300;
            }),
            Ok(())
        );
        assert_eq!(with(|p| p.absolute_lifetime = 31_536_000), Ok(()));
        assert_eq!(
            with(|p| p.absolute_lifetime = 31_536_001),
            Err(PolicyError::AbsoluteLifetimeOutOfRange(31_536_001))
        );
        assert_eq!(with(|p| p.absolute_lifetime = 0), Err(PolicyError::AbsoluteLifetimeOutOfRange(0)));
    }

    #[test]
    fn idle_timeout_range() {
        assert_eq!(
            with(|p| {
                p.idle_timeout = 59;
                p.activity_write_interval = 29;
            }),
            Err(PolicyError::IdleTimeoutOutOfRange(59))
        );
        assert_eq!(
            with(|p| {
                p.idle_timeout = 60;
                p.activity_write_interval = 30;
            }),
            Ok(())
        );
        assert_eq!(with(|p| p.idle_timeout = 86_400), Ok(()));
        assert_eq!(with(|p| p.idle_timeout = 86_401), Err(PolicyError::IdleTimeoutOutOfRange(86_401)));
    }

    #[test]
    fn activity_write_interval_at_most_half_the_idle_timeout() {
        assert_eq!(with(|p| p.activity_write_interval = 0), Ok(()));
        assert_eq!(with(|p| p.activity_write_interval = 900), Ok(()));
        assert_eq!(with(|p| p.activity_write_interval = 901), Err(PolicyError::ActivityWriteIntervalOutOfRange(901)));
        // Odd idle timeout: half rounds down.
        assert_eq!(
            with(|p| {
                p.idle_timeout = 61;
                p.activity_write_interval = 30;
            }),
            Ok(())
        );
        assert_eq!(
            with(|p| {
                p.idle_timeout = 61;
                p.activity_write_interval = 31;
            }),
            Err(PolicyError::ActivityWriteIntervalOutOfRange(31))
        );
    }

    #[test]
    fn max_sessions_range() {
        assert_eq!(with(|p| p.max_sessions_per_user = 0), Err(PolicyError::MaxSessionsOutOfRange(0)));
        assert_eq!(with(|p| p.max_sessions_per_user = 1), Ok(()));
        assert_eq!(with(|p| p.max_sessions_per_user = 100), Ok(()));
        assert_eq!(with(|p| p.max_sessions_per_user = 101), Err(PolicyError::MaxSessionsOutOfRange(101)));
    }

    #[test]
    fn step_up_validity_range() {
        assert_eq!(with(|p| p.step_up_validity = 59), Err(PolicyError::StepUpValidityOutOfRange(59)));
        assert_eq!(with(|p| p.step_up_validity = 60), Ok(()));
        assert_eq!(with(|p| p.step_up_validity = 86_400), Ok(()));
        assert_eq!(with(|p| p.step_up_validity = 86_401), Err(PolicyError::StepUpValidityOutOfRange(86_401)));
    }

    #[test]
    fn trusted_device_lifetime_range() {
        assert_eq!(
            with(|p| p.trusted_device_lifetime = 3_599),
            Err(PolicyError::TrustedDeviceLifetimeOutOfRange(3_599))
        );
        assert_eq!(with(|p| p.trusted_device_lifetime = 3_600), Ok(()));
        assert_eq!(with(|p| p.trusted_device_lifetime = 34_560_000), Ok(()));
        assert_eq!(
            with(|p| p.trusted_device_lifetime = 34_560_001),
            Err(PolicyError::TrustedDeviceLifetimeOutOfRange(34_560_001))
        );
    }

    #[test]
    fn first_unusable_value_is_reported() {
        assert_eq!(
            with(|p| {
                p.idle_timeout = 0;
                p.max_sessions_per_user = 0;
            }),
            Err(PolicyError::IdleTimeoutOutOfRange(0))
        );
        assert_eq!(
            with(|p| {
                p.absolute_lifetime = u64::MAX;
                p.trusted_device_lifetime = 0;
            }),
            Err(PolicyError::AbsoluteLifetimeOutOfRange(u64::MAX))
        );
    }

    proptest! {
        #[test]
        fn validate_never_panics(
            absolute_lifetime in any::<u64>(),
            idle_timeout in any::<u64>(),
            activity_write_interval in any::<u64>(),
            max_sessions_per_user in any::<u32>(),
            refuse in any::<bool>(),
            step_up_validity in any::<u64>(),
            trusted_device_lifetime in any::<u64>(),
        ) {
            let policy = SessionPolicy {
                absolute_lifetime,
                idle_timeout,
                activity_write_interval,
                max_sessions_per_user,
                over_limit_action: if refuse { OverLimitAction::Refuse } else { OverLimitAction::EvictOldest },
                step_up_validity,
                trusted_device_lifetime,
            };
            let _ = validate_policy(&policy);
        }
    }
}
