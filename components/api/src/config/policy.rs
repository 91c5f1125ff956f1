//! The policies in force: session-policy's defaults with the app's variables on top, validated by session-policy.
//! An empty variable keeps the default.
//!
//! - Sessions: `session_absolute_seconds`, `session_idle_seconds`, `session_max_per_user`, `session_limit_action` =
//!   `evict-oldest` | `refuse`.
//! - Throttles, each `max/window_seconds`: `password_limit_ip` (100/3600), `password_limit_account` (100/3600),
//!   `registration_limit_ip` (20/3600); and `password_limit_account_ip` as
//!   `free_failures/window_seconds/base_delay_seconds/max_delay_seconds` (5/900/60/900).
//! - Second factors: `second_factor_lockout` as `max_failures/window/lock_seconds/max_lock_seconds/disable_after`
//!   (10/900/900/86400/100); `sms_limit_phone` (3/600, sliding); the SMS toll-fraud caps `sms_limit_ip` (10/3600),
//!   `sms_limit_country` (100/3600, per country calling code) and `sms_daily_budget` (1000 sends a day in all).

use super::variables::Lookup;
use crate::bindings::mfa::session::policy::{self, OverLimitAction, SessionPolicy};
use crate::bindings::mfa::session::throttle::{self, FixedLimit, GrowingDelay, LockoutPolicy, ThrottlePolicy};

/// Why the configured policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session policy: {0}")]
pub struct PolicyError(pub String);

fn number<T: std::str::FromStr>(get: Lookup<'_>, name: &'static str) -> Result<Option<T>, PolicyError> {
    match get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => value.parse().map(Some).map_err(|_| PolicyError(format!("{name} must be a whole number"))),
    }
}

/// Applies the variables to `base`.
pub fn with_overrides(mut base: SessionPolicy, get: Lookup<'_>) -> Result<SessionPolicy, PolicyError> {
    if let Some(value) = number(get, "session_absolute_seconds")? {
        base.absolute_lifetime = value;
    }
    if let Some(value) = number(get, "session_idle_seconds")? {
        base.idle_timeout = value;
        // Keep activity writes frequent enough for a short idle timeout (at most half of it).
        base.activity_write_interval = base.activity_write_interval.min(value / 2);
    }
    if let Some(value) = number(get, "session_max_per_user")? {
        base.max_sessions_per_user = value;
    }
    match get("session_limit_action").as_deref().map(str::trim) {
        None | Some("") => {}
        Some("evict-oldest") => base.over_limit_action = OverLimitAction::EvictOldest,
        Some("refuse") => base.over_limit_action = OverLimitAction::Refuse,
        Some(_) => return Err(PolicyError("session_limit_action must be evict-oldest or refuse".to_owned())),
    }
    Ok(base)
}

/// The policy in force, validated by session-policy.
pub fn current(get: Lookup<'_>) -> Result<SessionPolicy, PolicyError> {
    let policy = with_overrides(policy::default_policy(), get)?;
    policy::validate_policy(policy).map_err(|error| PolicyError(explain(&error, &policy)))?;
    Ok(policy)
}

/// What session-policy refused, in the words of the variables that set it.
fn explain(error: &policy::PolicyError, policy: &SessionPolicy) -> String {
    use policy::PolicyError as Refused;
    let absolute = policy.absolute_lifetime;
    match error {
        Refused::AbsoluteLifetimeOutOfRange(value) => {
            format!("session_absolute_seconds is {value}: it must be 300 to 31536000 (365 days)")
        }
        Refused::IdleTimeoutOutOfRange(value) => format!(
            "session_idle_seconds is {value} (1800 unless set): it must be 60 to session_absolute_seconds ({absolute})"
        ),
        Refused::ActivityWriteIntervalOutOfRange(value) => {
            format!("activity is written every {value} s: session_idle_seconds must be at least twice that")
        }
        Refused::MaxSessionsOutOfRange(value) => format!("session_max_per_user is {value}: it must be 1 to 100"),
        Refused::StepUpValidityOutOfRange(value) => format!(
            "session_absolute_seconds is {absolute}: it must be at least the step-up validity of {value} s, or no \
             session could ever make a sensitive change"
        ),
        Refused::TrustedDeviceLifetimeOutOfRange(value) => {
            format!("the trusted-device lifetime ({value} s) must be 1 hour to 400 days")
        }
    }
}

/// The numbers of a `a/b/...` variable, `count` of them; `None` when the variable is empty.
fn numbers(get: Lookup<'_>, name: &'static str, count: usize) -> Result<Option<Vec<u64>>, PolicyError> {
    let Some(value) = get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { return Ok(None) };
    let parts: Result<Vec<u64>, _> = value.split('/').map(|part| part.trim().parse::<u64>()).collect();
    match parts {
        Ok(parts) if parts.len() == count => Ok(Some(parts)),
        _ => Err(PolicyError(format!("{name} must be {count} whole numbers separated by '/'"))),
    }
}

fn fixed(get: Lookup<'_>, name: &'static str, base: FixedLimit) -> Result<FixedLimit, PolicyError> {
    Ok(match numbers(get, name, 2)?.as_deref() {
        Some(&[max, window]) => FixedLimit {
            max: u32::try_from(max).map_err(|_| PolicyError(format!("{name}: the maximum is too large")))?,
            window,
        },
        _ => base,
    })
}

/// Applies the throttle variables to `base`.
pub fn throttle_with_overrides(mut base: ThrottlePolicy, get: Lookup<'_>) -> Result<ThrottlePolicy, PolicyError> {
    base.password_per_ip = fixed(get, "password_limit_ip", base.password_per_ip)?;
    base.password_per_account = fixed(get, "password_limit_account", base.password_per_account)?;
    base.registrations_per_ip = fixed(get, "registration_limit_ip", base.registrations_per_ip)?;
    if let Some(&[free, window, base_delay, max_delay]) = numbers(get, "password_limit_account_ip", 4)?.as_deref() {
        let free_failures = u32::try_from(free)
            .map_err(|_| PolicyError("password_limit_account_ip: too many free failures".to_owned()))?;
        base.password_per_account_ip = GrowingDelay { free_failures, window, base_delay, max_delay };
    }
    base.sms_per_phone = fixed(get, "sms_limit_phone", base.sms_per_phone)?;
    if base.sms_per_phone.max > MAX_PHONE_SLOTS {
        return Err(PolicyError("sms_limit_phone: at most 20 sends per window".to_owned()));
    }
    if let Some(&[max, window, lock, max_lock, disable]) = numbers(get, "second_factor_lockout", 5)?.as_deref() {
        let count = |value: u64| {
            u32::try_from(value).map_err(|_| PolicyError("second_factor_lockout: a count is too large".to_owned()))
        };
        base.second_factor = LockoutPolicy {
            max_failures: count(max)?,
            window,
            lock_duration: lock,
            max_lock_duration: max_lock,
            disable_after: count(disable)?,
        };
    }
    Ok(base)
}

/// The most sends per phone the sliding window tracks (one counter each; `sms_limit_phone` allows no more).
pub const MAX_PHONE_SLOTS: u32 = 20;

/// The SMS toll-fraud (SMS pumping) caps, each a fixed window opened by its first send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmsCaps {
    /// Sends per client IP (IPv6 per /64).
    pub per_ip: FixedLimit,
    /// Sends per country calling code.
    pub per_country: FixedLimit,
    /// Sends in all per day.
    pub daily: FixedLimit,
}

/// The SMS caps in force.
pub fn sms_caps(get: Lookup<'_>) -> Result<SmsCaps, PolicyError> {
    let daily = match numbers(get, "sms_daily_budget", 1)?.as_deref() {
        Some(&[max]) => u32::try_from(max).map_err(|_| PolicyError("sms_daily_budget is too large".to_owned()))?,
        _ => 1_000,
    };
    let caps = SmsCaps {
        per_ip: fixed(get, "sms_limit_ip", FixedLimit { max: 10, window: 3_600 })?,
        per_country: fixed(get, "sms_limit_country", FixedLimit { max: 100, window: 3_600 })?,
        daily: FixedLimit { max: daily, window: 86_400 },
    };
    let usable = |limit: FixedLimit| limit.max > 0 && (1..=2_592_000).contains(&limit.window);
    if [caps.per_ip, caps.per_country, caps.daily].into_iter().all(usable) {
        Ok(caps)
    } else {
        Err(PolicyError("the SMS caps need a maximum above 0 and a window of 1 s to 30 days".to_owned()))
    }
}

/// The throttle policy in force, validated by session-policy.
pub fn throttles(get: Lookup<'_>) -> Result<ThrottlePolicy, PolicyError> {
    let policy = throttle_with_overrides(throttle::default_throttle_policy(), get)?;
    throttle::validate_throttle_policy(policy).map_err(|error| {
        let rule = match error {
            throttle::ThrottlePolicyError::ZeroLimit => "no maximum or count may be 0",
            throttle::ThrottlePolicyError::DurationOutOfRange => "every window and delay must be 1 s to 30 days",
            throttle::ThrottlePolicyError::BaseExceedsMax => "a base delay or lock may not exceed its maximum",
            throttle::ThrottlePolicyError::DisableBeforeLock => {
                "second_factor_lockout's disable_after must be above its max_failures"
            }
        };
        PolicyError(format!(
            "the throttle variables (password_limit_ip, password_limit_account, password_limit_account_ip, \
             registration_limit_ip, sms_limit_phone, second_factor_lockout) break a rule: {rule}"
        ))
    })?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn with(pairs: &[(&'static str, &str)]) -> impl Fn(&'static str) -> Option<String> + use<> {
        let settings = Settings::from_pairs(pairs);
        move |name| (settings.get)(name)
    }

    fn base() -> SessionPolicy {
        SessionPolicy {
            absolute_lifetime: 86_400,
            idle_timeout: 1_800,
            activity_write_interval: 60,
            max_sessions_per_user: 5,
            over_limit_action: OverLimitAction::EvictOldest,
            step_up_validity: 600,
            trusted_device_lifetime: 2_592_000,
        }
    }

    #[test]
    fn variables_override_the_defaults() {
        let policy = with_overrides(
            base(),
            &with(&[("session_idle_seconds", "60"), ("session_max_per_user", "2"), ("session_limit_action", "refuse")]),
        )
        .unwrap();
        assert_eq!((policy.idle_timeout, policy.activity_write_interval, policy.max_sessions_per_user), (60, 30, 2));
        assert_eq!(policy.over_limit_action, OverLimitAction::Refuse);
        assert_eq!(with_overrides(base(), &with(&[("session_idle_seconds", "")])).unwrap(), base());
        assert!(with_overrides(base(), &with(&[("session_max_per_user", "five")])).is_err());
        assert!(with_overrides(base(), &with(&[("session_limit_action", "kick")])).is_err());
    }

    #[test]
    fn sms_caps_have_defaults_and_refuse_zero_limits() {
        let caps = sms_caps(&with(&[])).unwrap();
        assert_eq!(
            (caps.per_ip.max, caps.per_country.max, caps.daily.max, caps.daily.window),
            (10, 100, 1_000, 86_400)
        );
        let set = sms_caps(&with(&[("sms_limit_ip", "2/60"), ("sms_daily_budget", "7")])).unwrap();
        assert_eq!((set.per_ip.max, set.per_ip.window, set.daily.max), (2, 60, 7));
        assert!(sms_caps(&with(&[("sms_limit_country", "0/60")])).is_err());
        assert!(sms_caps(&with(&[("sms_daily_budget", "lots")])).is_err());
    }

    #[test]
    fn throttle_variables_override_the_defaults() {
        // Natively the WIT imports cannot be called: a policy with the design's numbers, by hand.
        let fixed = |max, window| FixedLimit { max, window };
        let base = ThrottlePolicy {
            password_per_account_ip: GrowingDelay { free_failures: 5, window: 900, base_delay: 60, max_delay: 900 },
            password_per_ip: fixed(100, 3600),
            password_per_account: fixed(100, 3600),
            registrations_per_ip: fixed(20, 3600),
            sms_per_phone: fixed(3, 600),
            checks_per_code: 5,
            second_factor: LockoutPolicy {
                max_failures: 10,
                window: 900,
                lock_duration: 900,
                max_lock_duration: 86_400,
                disable_after: 100,
            },
        };
        let get = with(&[
            ("password_limit_ip", "3/60"),
            ("password_limit_account_ip", "2/30/5/10"),
            ("registration_limit_ip", " 7 / 120 "),
        ]);
        let policy = throttle_with_overrides(base, &get).unwrap();
        assert_eq!(policy.password_per_ip, FixedLimit { max: 3, window: 60 });
        assert_eq!(policy.password_per_account, base.password_per_account, "empty keeps the default");
        assert_eq!(policy.registrations_per_ip, FixedLimit { max: 7, window: 120 });
        assert_eq!(
            policy.password_per_account_ip,
            GrowingDelay { free_failures: 2, window: 30, base_delay: 5, max_delay: 10 }
        );
        for bad in [
            ("password_limit_ip", "3"),
            ("password_limit_ip", "a/b"),
            ("password_limit_account_ip", "1/2/3"),
            ("second_factor_lockout", "3/900/2/60"),
            ("sms_limit_phone", "21/600"),
        ] {
            assert!(throttle_with_overrides(base, &with(&[bad])).is_err(), "{bad:?}");
        }
        let second = throttle_with_overrides(
            base,
            &with(&[("second_factor_lockout", "3/900/2/60/6"), ("sms_limit_phone", "5/300")]),
        )
        .unwrap();
        assert_eq!(
            (second.second_factor.max_failures, second.second_factor.lock_duration, second.second_factor.disable_after),
            (3, 2, 6)
        );
        assert_eq!(second.sms_per_phone, FixedLimit { max: 5, window: 300 });
    }
}
