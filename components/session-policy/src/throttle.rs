//! Throttling and lockout arithmetic (`mfa:session/throttle`): given the counters the caller stores and the time,
//! whether an attempt may go ahead, and if not, how long it must wait (the `Retry-After` value, always at least 1).
//!
//! Three shapes of limit are used: a fixed window that opens with its first event ([`check_fixed`],
//! [`count_fixed`]), a sliding window over stored event times ([`check_sliding`]), and a growing delay that doubles
//! with each failure past some free ones ([`check_delay`], [`count_delay`]). The password check combines all three
//! password limits; the second-factor lockout locks for doubling periods and finally disables the factor
//! (NIST 800-63B §5.2.2). Times are Unix seconds; all arithmetic saturates.

/// Seconds in a minute.
const MINUTE: u64 = 60;
/// Seconds in an hour.
const HOUR: u64 = 60 * MINUTE;
/// Seconds in a day.
const DAY: u64 = 24 * HOUR;

/// The longest window, delay or lock a throttle policy may configure (30 days).
pub const MAX_DURATION: u64 = 30 * DAY;

/// At most `max` events per `window` seconds (WIT `fixed-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedLimit {
    /// Events allowed per window.
    pub max: u32,
    /// Window length in seconds.
    pub window: u64,
}

/// Some free failures, then a delay that doubles with each further failure; everything is forgotten after
/// `window` seconds without a failure (WIT `growing-delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowingDelay {
    /// Failures allowed before any delay.
    pub free_failures: u32,
    /// Seconds without a failure after which the count starts again.
    pub window: u64,
    /// The delay once the free failures are used up; it doubles with each further failure.
    pub base_delay: u64,
    /// The delay never exceeds this.
    pub max_delay: u64,
}

/// The second-factor lockout (WIT `lockout-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures within `window` that lock (default 10).
    pub max_failures: u32,
    /// The window in seconds (default 15 min).
    pub window: u64,
    /// The first lock lasts this long (default 15 min); each repeat doubles it.
    pub lock_duration: u64,
    /// No lock lasts longer than this (default 24 h).
    pub max_lock_duration: u64,
    /// Consecutive failures, across windows, that disable the factor until it is reset (default 100).
    pub disable_after: u32,
}

/// Every limit of the service (WIT `throttle-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Password failures per account and client IP: 5 free, then 60 s doubling to 15 min, forgotten after 15 min.
    pub password_per_account_ip: GrowingDelay,
    /// Password failures per client IP (IPv6 per /64): 100 per hour.
    pub password_per_ip: FixedLimit,
    /// Password failures per account: 100 per hour, not applied to a device that already logged in to it.
    pub password_per_account: FixedLimit,
    /// Registrations per client IP: 20 per hour.
    pub registrations_per_ip: FixedLimit,
    /// SMS codes sent per phone number: 3 per 10 min (a sliding window).
    pub sms_per_phone: FixedLimit,
    /// Wrong codes one SMS code or login challenge survives: 5.
    pub checks_per_code: u32,
    /// Second-factor failures per user.
    pub second_factor: LockoutPolicy,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            password_per_account_ip: GrowingDelay {
                free_failures: 5,
                window: 15 * MINUTE,
                base_delay: MINUTE,
                max_delay: 15 * MINUTE,
            },
            password_per_ip: FixedLimit { max: 100, window: HOUR },
            password_per_account: FixedLimit { max: 100, window: HOUR },
            registrations_per_ip: FixedLimit { max: 20, window: HOUR },
            sms_per_phone: FixedLimit { max: 3, window: 10 * MINUTE },
            checks_per_code: 5,
            second_factor: LockoutPolicy {
                max_failures: 10,
                window: 15 * MINUTE,
                lock_duration: 15 * MINUTE,
                max_lock_duration: DAY,
                disable_after: 100,
            },
        }
    }
}

/// Which part of a throttle policy is unusable (WIT `throttle-policy-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ThrottlePolicyError {
    /// A `max`, `free_failures`, `max_failures`, `disable_after` or `checks_per_code` is zero.
    #[error("a limit is zero")]
    ZeroLimit,
    /// A window or delay is zero or longer than 30 days.
    #[error("a window or delay is zero or longer than 30 days")]
    DurationOutOfRange,
    /// A growing delay's `base_delay` exceeds its `max_delay`, or a lockout's `lock_duration` exceeds its
    /// `max_lock_duration`.
    #[error("a base delay or lock duration exceeds its maximum")]
    BaseExceedsMax,
    /// `disable_after` is not above `max_failures`.
    #[error("disable-after is not above max-failures")]
    DisableBeforeLock,
}

/// Events counted in a fixed window that opened with the first of them (WIT `window-counter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCounter {
    /// Events so far in the window.
    pub count: u32,
    /// When the window opened.
    pub window_start: u64,
}

/// Failures counted for a growing delay (WIT `delay-counter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayCounter {
    /// Failures since the count last started.
    pub failures: u32,
    /// When the last one happened.
    pub last_failure: u64,
}

/// Whether an attempt may go ahead (WIT `decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It may.
    Allowed,
    /// Not before this many seconds (at least 1).
    RetryAfter(u64),
}

/// The password limit that refused an attempt (WIT `password-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordLimit {
    /// Per account and client IP.
    AccountIp,
    /// Per client IP.
    Ip,
    /// Per account.
    Account,
}

/// A refused password attempt (WIT `password-throttled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordThrottled {
    /// The limit with the longest wait.
    pub limit: PasswordLimit,
    /// Seconds to wait (at least 1).
    pub retry_after: u64,
}

/// The counters for one password attempt (WIT `password-counters`; `None` = nothing counted yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PasswordCounters {
    /// Failures for this account from this client IP.
    pub account_ip: Option<DelayCounter>,
    /// Failures from this client IP (or /64).
    pub ip: Option<WindowCounter>,
    /// Failures for this account.
    pub account: Option<WindowCounter>,
    /// Whether the request carries a device cookie that already logged in to this account (the per-account limit
    /// then does not apply).
    pub known_device: bool,
}

/// Whether a password attempt may be checked (WIT `password-decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordDecision {
    /// It may.
    Allowed,
    /// Refused; carries the limit with the longest wait and that wait.
    Throttled(PasswordThrottled),
}

/// A user's second-factor failure record (WIT `second-factor-state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecondFactorState {
    /// Failures in the current window.
    pub window_failures: u32,
    /// When the current window opened.
    pub window_start: u64,
    /// Failures since the last success, across windows.
    pub consecutive_failures: u32,
    /// Locks so far (each doubles the next).
    pub lockouts: u32,
    /// Checks are locked until this time (0: not locked).
    pub locked_until: u64,
}

/// Whether second-factor checks may run for a user (WIT `second-factor-gate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorGate {
    /// They may.
    Open,
    /// Locked; carries the seconds until it lifts (at least 1).
    Locked(u64),
    /// The factor is disabled after too many consecutive failures, until it is reset.
    Disabled,
}

/// The state after a failure, and what the failure caused (WIT `failure-outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    /// The state to store.
    pub state: SecondFactorState,
    /// If this failure locked checks: for how many seconds.
    pub locked_for: Option<u64>,
    /// Whether this failure disabled the factor.
    pub disabled: bool,
}

/// The design's defaults for every limit.
pub fn default_throttle_policy() -> ThrottlePolicy {
    ThrottlePolicy::default()
}

/// Checks every value of a throttle policy, reporting the first kind of problem in the order of
/// [`ThrottlePolicyError`]'s variants (all zero limits first, then durations, then base against max, then
/// disable-after against max-failures).
pub fn validate_throttle_policy(policy: &ThrottlePolicy) -> Result<(), ThrottlePolicyError> {
    let delay = &policy.password_per_account_ip;
    let fixed =
        [&policy.password_per_ip, &policy.password_per_account, &policy.registrations_per_ip, &policy.sms_per_phone];
    let lockout = &policy.second_factor;

    let limits = fixed.iter().map(|limit| limit.max).chain([
        delay.free_failures,
        lockout.max_failures,
        lockout.disable_after,
        policy.checks_per_code,
    ]);
    if limits.into_iter().any(|limit| limit == 0) {
        return Err(ThrottlePolicyError::ZeroLimit);
    }

    let durations = fixed.iter().map(|limit| limit.window).chain([
        delay.window,
        delay.base_delay,
        delay.max_delay,
        lockout.window,
        lockout.lock_duration,
        lockout.max_lock_duration,
    ]);
    if durations.into_iter().any(|duration| !(1..=MAX_DURATION).contains(&duration)) {
        return Err(ThrottlePolicyError::DurationOutOfRange);
    }

    if delay.base_delay > delay.max_delay || lockout.lock_duration > lockout.max_lock_duration {
        return Err(ThrottlePolicyError::BaseExceedsMax);
    }

    if lockout.disable_after <= lockout.max_failures {
        return Err(ThrottlePolicyError::DisableBeforeLock);
    }
    Ok(())
}

/// `base * 2^doublings`, saturating at `u64::MAX`.
fn doubled(base: u64, doublings: u32) -> u64 {
    if base == 0 {
        return 0;
    }
    1u64.checked_shl(doublings).and_then(|factor| base.checked_mul(factor)).unwrap_or(u64::MAX)
}

/// A wait of `until - now` seconds, at least 1.
fn wait(until: u64, now: u64) -> u64 {
    until.saturating_sub(now).max(1)
}

/// Whether the fixed window opened at `window_start` has passed at `now` (`now >= window_start + window`).
fn window_passed(window_start: u64, window: u64, now: u64) -> bool {
    now >= window_start.saturating_add(window)
}

/// Whether one more event fits `limit`, given the counter for it (`None`: nothing counted yet).
///
/// The window opened with its first event and has passed when `now >= window_start + window`; a passed window
/// counts as empty. A full window (`count >= max`) refuses with `window_start + window - now` (at least 1, and never
/// more than one window, even when a clock behind the stored start would make it longer).
pub fn check_fixed(limit: &FixedLimit, counter: Option<&WindowCounter>, now: u64) -> Decision {
    match counter {
        Some(counter) if !window_passed(counter.window_start, limit.window, now) => {
            if counter.count >= limit.max {
                Decision::RetryAfter(
                    wait(counter.window_start.saturating_add(limit.window), now).min(limit.window.max(1)),
                )
            } else {
                Decision::Allowed
            }
        }
        // Nothing counted in a current window: only a zero limit (an invalid policy) refuses.
        _ if limit.max == 0 => Decision::RetryAfter(limit.window.max(1)),
        _ => Decision::Allowed,
    }
}

/// The counter after one more event: a new window opens at `now` when there is none or the old one has passed.
pub fn count_fixed(limit: &FixedLimit, counter: Option<&WindowCounter>, now: u64) -> WindowCounter {
    match counter {
        Some(counter) if !window_passed(counter.window_start, limit.window, now) => {
            WindowCounter { count: counter.count.saturating_add(1), window_start: counter.window_start }
        }
        _ => WindowCounter { count: 1, window_start: now },
    }
}

/// Whether one more event fits `limit` as a sliding window over the times of recent events (any order).
///
/// A time counts when `now - t < window`; a time after `now` (a clock behind) counts too. The window is full when
/// the count reaches `max`; then the wait lasts until enough of the counted times age out for one more event to
/// fit: `t + window - now` for the time that must go last (at least 1).
pub fn check_sliding(limit: &FixedLimit, recent: &[u64], now: u64) -> Decision {
    let mut counted = in_window(limit, recent, now);
    let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
    if counted.len() < max {
        return Decision::Allowed;
    }
    counted.sort_unstable();
    // `count - max + 1` times must age out; the last of them is the (count - max)-th oldest.
    let index = counted.len().saturating_sub(max);
    match counted.get(index) {
        Some(&t) => Decision::RetryAfter(wait(t.saturating_add(limit.window), now)),
        // Only with a zero limit (an invalid policy): nothing ever fits.
        None => Decision::RetryAfter(limit.window.max(1)),
    }
}

/// The times of `recent` that a sliding window of `limit` still counts at `now` (future ones too: a clock that
/// went back must not free slots).
fn in_window(limit: &FixedLimit, recent: &[u64], now: u64) -> Vec<u64> {
    recent.iter().copied().filter(|&t| now.checked_sub(t).is_none_or(|age| age < limit.window)).collect()
}

/// How many more events fit `limit` as a sliding window at `now`, given the times of `recent` events.
pub fn sliding_left(limit: &FixedLimit, recent: &[u64], now: u64) -> u32 {
    let counted = u32::try_from(in_window(limit, recent, now).len()).unwrap_or(u32::MAX);
    limit.max.saturating_sub(counted)
}

/// The delay in force after `failures` failures: none (0) while within the free failures, then
/// `min(base_delay * 2^(failures - free_failures), max_delay)`.
pub fn delay_after(policy: &GrowingDelay, failures: u32) -> u64 {
    match failures.checked_sub(policy.free_failures) {
        Some(doublings) => doubled(policy.base_delay, doublings).min(policy.max_delay),
        None => 0,
    }
}

/// Whether an attempt may go ahead under a growing delay.
///
/// The counter is forgotten when `now - last_failure >= window`. Fewer than `free_failures` failures are allowed
/// at once; after that an attempt waits [`delay_after`] the last failure. The wait never outlasts the moment the
/// counter is forgotten.
pub fn check_delay(policy: &GrowingDelay, counter: Option<&DelayCounter>, now: u64) -> Decision {
    let Some(counter) = counter else {
        return Decision::Allowed;
    };
    let forgotten_at = counter.last_failure.saturating_add(policy.window);
    if now >= forgotten_at || counter.failures < policy.free_failures {
        return Decision::Allowed;
    }
    let allowed_at = counter.last_failure.saturating_add(delay_after(policy, counter.failures)).min(forgotten_at);
    if now >= allowed_at { Decision::Allowed } else { Decision::RetryAfter(wait(allowed_at, now)) }
}

/// The counter after one more failure: the count starts again at 1 once `window` passed since the last failure.
///
/// The last-failure time never moves backwards (a clock behind the stored time keeps the stored one), so a
/// skewed clock cannot shorten a delay.
pub fn count_delay(policy: &GrowingDelay, counter: Option<&DelayCounter>, now: u64) -> DelayCounter {
    match counter {
        Some(counter) if now < counter.last_failure.saturating_add(policy.window) => {
            DelayCounter { failures: counter.failures.saturating_add(1), last_failure: counter.last_failure.max(now) }
        }
        _ => DelayCounter { failures: 1, last_failure: now },
    }
}

/// Whether a password attempt may be checked, under all three password limits (the per-account one skipped for a
/// known device). When several refuse, the longest wait is reported; on a tie, the first of account-ip, ip,
/// account.
pub fn check_password_attempt(policy: &ThrottlePolicy, counters: &PasswordCounters, now: u64) -> PasswordDecision {
    let account_ip = check_delay(&policy.password_per_account_ip, counters.account_ip.as_ref(), now);
    let ip = check_fixed(&policy.password_per_ip, counters.ip.as_ref(), now);
    let account = if counters.known_device {
        Decision::Allowed
    } else {
        check_fixed(&policy.password_per_account, counters.account.as_ref(), now)
    };
    let mut worst: Option<PasswordThrottled> = None;
    for (limit, decision) in
        [(PasswordLimit::AccountIp, account_ip), (PasswordLimit::Ip, ip), (PasswordLimit::Account, account)]
    {
        if let Decision::RetryAfter(retry_after) = decision
            && worst.is_none_or(|w| retry_after > w.retry_after)
        {
            worst = Some(PasswordThrottled { limit, retry_after });
        }
    }
    match worst {
        Some(throttled) => PasswordDecision::Throttled(throttled),
        None => PasswordDecision::Allowed,
    }
}

/// Whether an SMS code may be sent to a phone, given the times of recent sends to it (a sliding window under
/// `sms_per_phone`).
pub fn check_sms_send(policy: &ThrottlePolicy, recent_sends: &[u64], now: u64) -> Decision {
    check_sliding(&policy.sms_per_phone, recent_sends, now)
}

/// How many more wrong codes an SMS code or login challenge survives after `failures` wrong ones; 0: it is dead.
pub fn checks_left(policy: &ThrottlePolicy, failures: u32) -> u32 {
    policy.checks_per_code.saturating_sub(failures)
}

/// Whether second-factor checks may run for a user: disabled once `consecutive_failures >= disable_after`, locked
/// while `now < locked_until`, open otherwise (and with no state).
pub fn check_second_factor(policy: &ThrottlePolicy, state: Option<&SecondFactorState>, now: u64) -> SecondFactorGate {
    let Some(state) = state else {
        return SecondFactorGate::Open;
    };
    if state.consecutive_failures >= policy.second_factor.disable_after {
        SecondFactorGate::Disabled
    } else if now < state.locked_until {
        SecondFactorGate::Locked(wait(state.locked_until, now))
    } else {
        SecondFactorGate::Open
    }
}

/// The lock imposed after `lockouts` earlier locks: `min(lock_duration * 2^lockouts, max_lock_duration)`.
pub fn lock_after(policy: &LockoutPolicy, lockouts: u32) -> u64 {
    doubled(policy.lock_duration, lockouts).min(policy.max_lock_duration)
}

/// Records a second-factor failure.
///
/// The window restarts at `now` when there is no state or it has passed (`now >= window_start + window`). The
/// failure counts in the window and in the consecutive failures. When the window's count reaches `max_failures`,
/// checks lock for [`lock_after`] the earlier lockouts, the lockout count grows and the window count restarts.
/// When the consecutive failures reach `disable_after`, the factor is disabled (`disabled` reports the failure
/// that crossed the line, not later ones). A success resets the state: the caller deletes it.
pub fn second_factor_failed(policy: &ThrottlePolicy, state: Option<&SecondFactorState>, now: u64) -> FailureOutcome {
    let lockout = &policy.second_factor;
    let mut next = state.copied().unwrap_or(SecondFactorState { window_start: now, ..SecondFactorState::default() });
    if window_passed(next.window_start, lockout.window, now) {
        next.window_failures = 0;
        next.window_start = now;
    }
    let was_disabled = next.consecutive_failures >= lockout.disable_after;
    next.window_failures = next.window_failures.saturating_add(1);
    next.consecutive_failures = next.consecutive_failures.saturating_add(1);

    let mut locked_for = None;
    if next.window_failures >= lockout.max_failures {
        let lock = lock_after(lockout, next.lockouts);
        next.locked_until = next.locked_until.max(now.saturating_add(lock));
        next.lockouts = next.lockouts.saturating_add(1);
        next.window_failures = 0;
        locked_for = Some(lock);
    }
    let disabled = !was_disabled && next.consecutive_failures >= lockout.disable_after;
    FailureOutcome { state: next, locked_for, disabled }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: u64 = 1_700_000_000;

    #[test]
    fn defaults_match_the_design() {
        let policy = default_throttle_policy();
        assert_eq!(
            policy,
            ThrottlePolicy {
                password_per_account_ip: GrowingDelay { free_failures: 5, window: 900, base_delay: 60, max_delay: 900 },
                password_per_ip: FixedLimit { max: 100, window: 3_600 },
                password_per_account: FixedLimit { max: 100, window: 3_600 },
                registrations_per_ip: FixedLimit { max: 20, window: 3_600 },
                sms_per_phone: FixedLimit { max: 3, window: 600 },
                checks_per_code: 5,
                second_factor: LockoutPolicy {
                    max_failures: 10,
                    window: 900,
                    lock_duration: 900,
                    max_lock_duration: 86_400,
                    disable_after: 100,
                },
            }
        );
        assert_eq!(validate_throttle_policy(&policy), Ok(()));
    }

    fn with(change: impl FnOnce(&mut ThrottlePolicy)) -> Result<(), ThrottlePolicyError> {
        let mut policy = default_throttle_policy();
        change(&mut policy);
        validate_throttle_policy(&policy)
    }

    #[test]
    fn every_zero_limit_is_refused() {
        let zero = Err(ThrottlePolicyError::ZeroLimit);
        assert_eq!(with(|p| p.password_per_ip.max = 0), zero);
        assert_eq!(with(|p| p.password_per_account.max = 0), zero);
        assert_eq!(with(|p| p.registrations_per_ip.max = 0), zero);
        assert_eq!(with(|p| p.sms_per_phone.max = 0), zero);
        assert_eq!(with(|p| p.password_per_account_ip.free_failures = 0), zero);
        assert_eq!(with(|p| p.second_factor.max_failures = 0), zero);
        assert_eq!(with(|p| p.second_factor.disable_after = 0), zero);
        assert_eq!(with(|p| p.checks_per_code = 0), zero);
        assert_eq!(with(|p| p.checks_per_code = 1), Ok(()));
    }

    #[test]
    fn every_duration_is_bounded() {
        let bad = Err(ThrottlePolicyError::DurationOutOfRange);
        let cases: [fn(&mut ThrottlePolicy, u64); 10] = [
            |p, d| p.password_per_ip.window = d,
            |p, d| p.password_per_account.window = d,
            |p, d| p.registrations_per_ip.window = d,
            |p, d| p.sms_per_phone.window = d,
            |p, d| p.password_per_account_ip.window = d,
            |p, d| p.password_per_account_ip.base_delay = d,
            |p, d| p.password_per_account_ip.max_delay = d,
            |p, d| p.second_factor.window = d,
            |p, d| p.second_factor.lock_duration = d,
            |p, d| p.second_factor.max_lock_duration = d,
        ];
        for set in cases {
            assert_eq!(with(|p| set(p, 0)), bad);
            assert_eq!(with(|p| set(p, 2_592_001)), bad);
            assert_eq!(with(|p| set(p, u64::MAX)), bad);
        }
        // 30 days exactly is fine where it cannot exceed a maximum.
        assert_eq!(with(|p| p.password_per_ip.window = 2_592_000), Ok(()));
        assert_eq!(with(|p| p.password_per_account_ip.max_delay = 2_592_000), Ok(()));
        assert_eq!(with(|p| p.password_per_account_ip.base_delay = 1), Ok(()));
    }

    #[test]
    fn base_must_not_exceed_max() {
        let bad = Err(ThrottlePolicyError::BaseExceedsMax);
        assert_eq!(with(|p| p.password_per_account_ip.base_delay = 901), bad);
        assert_eq!(with(|p| p.password_per_account_ip.base_delay = 900), Ok(()));
        assert_eq!(with(|p| p.second_factor.lock_duration = 86_401), bad);
        assert_eq!(with(|p| p.second_factor.lock_duration = 86_400), Ok(()));
    }

    #[test]
    fn disable_after_must_exceed_max_failures() {
        let bad = Err(ThrottlePolicyError::DisableBeforeLock);
        assert_eq!(with(|p| p.second_factor.disable_after = 10), bad);
        assert_eq!(with(|p| p.second_factor.disable_after = 9), bad);
        assert_eq!(with(|p| p.second_factor.disable_after = 11), Ok(()));
    }

    #[test]
    fn problems_are_reported_in_variant_order() {
        assert_eq!(
            with(|p| {
                p.second_factor.disable_after = 1;
                p.sms_per_phone.window = 0;
                p.checks_per_code = 0;
            }),
            Err(ThrottlePolicyError::ZeroLimit)
        );
        assert_eq!(
            with(|p| {
                p.second_factor.disable_after = 1;
                p.sms_per_phone.window = 0;
            }),
            Err(ThrottlePolicyError::DurationOutOfRange)
        );
    }

    const LIMIT: FixedLimit = FixedLimit { max: 3, window: 600 };

    fn counter(count: u32, window_start: u64) -> WindowCounter {
        WindowCounter { count, window_start }
    }

    #[test]
    fn fixed_window_edges() {
        assert_eq!(check_fixed(&LIMIT, None, T0), Decision::Allowed);
        assert_eq!(check_fixed(&LIMIT, Some(&counter(2, T0)), T0 + 10), Decision::Allowed);
        assert_eq!(check_fixed(&LIMIT, Some(&counter(3, T0)), T0 + 10), Decision::RetryAfter(590));
        assert_eq!(check_fixed(&LIMIT, Some(&counter(3, T0)), T0 + 599), Decision::RetryAfter(1));
        assert_eq!(check_fixed(&LIMIT, Some(&counter(3, T0)), T0 + 600), Decision::Allowed);
        assert_eq!(check_fixed(&LIMIT, Some(&counter(u32::MAX, T0)), T0), Decision::RetryAfter(600));
    }

    #[test]
    fn fixed_window_with_a_clock_behind() {
        // The window opened "in the future": it has not passed, but no one waits longer than one window.
        assert_eq!(check_fixed(&LIMIT, Some(&counter(3, T0 + 100)), T0), Decision::RetryAfter(600));
    }

    #[test]
    fn fixed_window_with_a_zero_limit_refuses() {
        let zero = FixedLimit { max: 0, window: 60 };
        assert_eq!(check_fixed(&zero, None, T0), Decision::RetryAfter(60));
        let zero_zero = FixedLimit { max: 0, window: 0 };
        assert_eq!(check_fixed(&zero_zero, None, T0), Decision::RetryAfter(1));
    }

    #[test]
    fn fixed_counting() {
        assert_eq!(count_fixed(&LIMIT, None, T0), counter(1, T0));
        assert_eq!(count_fixed(&LIMIT, Some(&counter(1, T0)), T0 + 599), counter(2, T0));
        assert_eq!(count_fixed(&LIMIT, Some(&counter(7, T0)), T0 + 600), counter(1, T0 + 600));
        assert_eq!(count_fixed(&LIMIT, Some(&counter(u32::MAX, T0)), T0 + 1), counter(u32::MAX, T0));
    }

    #[test]
    fn fixed_count_then_check_sequence() {
        let mut stored = None;
        for _ in 0..3 {
            assert_eq!(check_fixed(&LIMIT, stored.as_ref(), T0), Decision::Allowed);
            stored = Some(count_fixed(&LIMIT, stored.as_ref(), T0));
        }
        assert_eq!(check_fixed(&LIMIT, stored.as_ref(), T0), Decision::RetryAfter(600));
    }

    #[test]
    fn sliding_window_edges() {
        assert_eq!(check_sliding(&LIMIT, &[], T0), Decision::Allowed);
        assert_eq!(check_sliding(&LIMIT, &[T0 - 100, T0 - 50], T0), Decision::Allowed);
        // Full: the oldest must age out, at T0 - 100 + 600.
        assert_eq!(check_sliding(&LIMIT, &[T0 - 50, T0 - 100, T0 - 10], T0), Decision::RetryAfter(500));
        // A time exactly `window` old no longer counts.
        assert_eq!(check_sliding(&LIMIT, &[T0 - 600, T0 - 100, T0 - 10], T0), Decision::Allowed);
        // One second younger still counts, and ages out in 1 s.
        assert_eq!(check_sliding(&LIMIT, &[T0 - 599, T0 - 100, T0 - 10], T0), Decision::RetryAfter(1));
    }

    #[test]
    fn what_is_left_of_a_sliding_window_is_what_check_sliding_allows() {
        assert_eq!(sliding_left(&LIMIT, &[], T0), 3);
        assert_eq!(sliding_left(&LIMIT, &[T0 - 100, T0 - 600, T0 + 5], T0), 1, "the aged-out one is free again");
        assert_eq!(sliding_left(&LIMIT, &[T0 - 1, T0 - 2, T0 - 3, T0 - 4], T0), 0, "never below zero");
        for recent in [vec![], vec![T0 - 10], vec![T0 - 10, T0 - 20], vec![T0 - 10, T0 - 20, T0 - 30]] {
            assert_eq!(sliding_left(&LIMIT, &recent, T0) > 0, check_sliding(&LIMIT, &recent, T0) == Decision::Allowed);
        }
    }

    #[test]
    fn sliding_window_over_the_limit_waits_for_enough_to_age_out() {
        // Five counted, max three: the three oldest must age out; the third oldest (T0 - 300) goes last.
        let recent = [T0 - 10, T0 - 500, T0 - 300, T0 - 400, T0 - 20, T0 - 5_000];
        assert_eq!(check_sliding(&LIMIT, &recent, T0), Decision::RetryAfter(300));
    }

    #[test]
    fn sliding_window_counts_future_times() {
        // Times after `now` count, and their wait runs from their stored value.
        assert_eq!(check_sliding(&LIMIT, &[T0 + 20, T0 + 10, T0 + 30], T0), Decision::RetryAfter(610));
    }

    #[test]
    fn sliding_window_with_a_zero_limit_refuses() {
        let zero = FixedLimit { max: 0, window: 60 };
        assert_eq!(check_sliding(&zero, &[], T0), Decision::RetryAfter(60));
        assert_eq!(check_sliding(&zero, &[T0 - 1], T0), Decision::RetryAfter(60));
    }

    #[test]
    fn sms_send_uses_the_sliding_default() {
        let policy = default_throttle_policy();
        assert_eq!(check_sms_send(&policy, &[T0 - 10, T0 - 20], T0), Decision::Allowed);
        assert_eq!(check_sms_send(&policy, &[T0 - 10, T0 - 20, T0 - 30], T0), Decision::RetryAfter(570));
        assert_eq!(check_sms_send(&policy, &[T0 - 10, T0 - 20, T0 - 600], T0), Decision::Allowed);
    }

    const DELAY: GrowingDelay = GrowingDelay { free_failures: 5, window: 900, base_delay: 60, max_delay: 900 };

    fn failures(failures: u32, last_failure: u64) -> DelayCounter {
        DelayCounter { failures, last_failure }
    }

    #[test]
    fn growing_delay_sequence() {
        let delays: Vec<u64> = (0..=10).map(|n| delay_after(&DELAY, n)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 60, 120, 240, 480, 900, 900]);
        assert_eq!(delay_after(&DELAY, u32::MAX), 900);
        let uncapped = GrowingDelay { max_delay: u64::MAX, ..DELAY };
        assert_eq!(delay_after(&uncapped, 5 + 63), u64::MAX);
        assert_eq!(delay_after(&uncapped, 5 + 64), u64::MAX);
        assert_eq!(delay_after(&uncapped, 5 + 10), 61_440);
    }

    #[test]
    fn growing_delay_checks() {
        assert_eq!(check_delay(&DELAY, None, T0), Decision::Allowed);
        // Four failures: free.
        assert_eq!(check_delay(&DELAY, Some(&failures(4, T0)), T0), Decision::Allowed);
        // Five: 60 s after the last.
        assert_eq!(check_delay(&DELAY, Some(&failures(5, T0)), T0), Decision::RetryAfter(60));
        assert_eq!(check_delay(&DELAY, Some(&failures(5, T0)), T0 + 59), Decision::RetryAfter(1));
        assert_eq!(check_delay(&DELAY, Some(&failures(5, T0)), T0 + 60), Decision::Allowed);
        // Seven: 240 s.
        assert_eq!(check_delay(&DELAY, Some(&failures(7, T0)), T0 + 40), Decision::RetryAfter(200));
        // Many: capped at 900, which is also when the count is forgotten.
        assert_eq!(check_delay(&DELAY, Some(&failures(50, T0)), T0 + 899), Decision::RetryAfter(1));
        assert_eq!(check_delay(&DELAY, Some(&failures(50, T0)), T0 + 900), Decision::Allowed);
    }

    #[test]
    fn growing_delay_never_outlasts_the_window() {
        let long = GrowingDelay { window: 100, ..DELAY };
        assert_eq!(check_delay(&long, Some(&failures(9, T0)), T0 + 10), Decision::RetryAfter(90));
    }

    #[test]
    fn growing_delay_with_a_clock_behind() {
        assert_eq!(check_delay(&DELAY, Some(&failures(5, T0 + 30)), T0), Decision::RetryAfter(90));
    }

    #[test]
    fn delay_counting() {
        assert_eq!(count_delay(&DELAY, None, T0), failures(1, T0));
        assert_eq!(count_delay(&DELAY, Some(&failures(3, T0)), T0 + 899), failures(4, T0 + 899));
        assert_eq!(count_delay(&DELAY, Some(&failures(3, T0)), T0 + 900), failures(1, T0 + 900));
        // A clock behind keeps the later stored time.
        assert_eq!(count_delay(&DELAY, Some(&failures(3, T0 + 50)), T0), failures(4, T0 + 50));
        assert_eq!(count_delay(&DELAY, Some(&failures(u32::MAX, T0)), T0), failures(u32::MAX, T0));
    }

    #[test]
    fn password_attempt_allowed_when_nothing_is_counted() {
        let policy = default_throttle_policy();
        assert_eq!(check_password_attempt(&policy, &PasswordCounters::default(), T0), PasswordDecision::Allowed);
    }

    #[test]
    fn password_attempt_reports_the_longest_wait() {
        let policy = default_throttle_policy();
        let counters = PasswordCounters {
            account_ip: Some(failures(6, T0)),       // 120 s from T0
            ip: Some(counter(100, T0 - 3_000)),      // 600 s
            account: Some(counter(100, T0 - 3_500)), // 100 s
            known_device: false,
        };
        assert_eq!(
            check_password_attempt(&policy, &counters, T0),
            PasswordDecision::Throttled(PasswordThrottled { limit: PasswordLimit::Ip, retry_after: 600 })
        );
        let counters = PasswordCounters { ip: Some(counter(99, T0 - 3_000)), ..counters };
        assert_eq!(
            check_password_attempt(&policy, &counters, T0),
            PasswordDecision::Throttled(PasswordThrottled { limit: PasswordLimit::AccountIp, retry_after: 120 })
        );
        let counters = PasswordCounters { account_ip: Some(failures(4, T0)), ..counters };
        assert_eq!(
            check_password_attempt(&policy, &counters, T0),
            PasswordDecision::Throttled(PasswordThrottled { limit: PasswordLimit::Account, retry_after: 100 })
        );
    }

    #[test]
    fn password_attempt_known_device_skips_the_account_limit() {
        let policy = default_throttle_policy();
        let counters = PasswordCounters {
            account_ip: None,
            ip: Some(counter(99, T0)),
            account: Some(counter(100, T0)),
            known_device: true,
        };
        assert_eq!(check_password_attempt(&policy, &counters, T0), PasswordDecision::Allowed);
        let counters = PasswordCounters { known_device: false, ..counters };
        assert_eq!(
            check_password_attempt(&policy, &counters, T0),
            PasswordDecision::Throttled(PasswordThrottled { limit: PasswordLimit::Account, retry_after: 3_600 })
        );
    }

    #[test]
    fn password_attempt_ties_go_to_the_first_limit() {
        let policy = default_throttle_policy();
        let counters = PasswordCounters {
            account_ip: None,
            ip: Some(counter(100, T0)),
            account: Some(counter(100, T0)),
            known_device: false,
        };
        assert_eq!(
            check_password_attempt(&policy, &counters, T0 + 600),
            PasswordDecision::Throttled(PasswordThrottled { limit: PasswordLimit::Ip, retry_after: 3_000 })
        );
    }

    #[test]
    fn checks_left_counts_down_to_zero() {
        let policy = default_throttle_policy();
        assert_eq!(checks_left(&policy, 0), 5);
        assert_eq!(checks_left(&policy, 4), 1);
        assert_eq!(checks_left(&policy, 5), 0);
        assert_eq!(checks_left(&policy, u32::MAX), 0);
    }

    fn state(
        window_failures: u32,
        window_start: u64,
        consecutive_failures: u32,
        lockouts: u32,
        locked_until: u64,
    ) -> SecondFactorState {
        SecondFactorState { window_failures, window_start, consecutive_failures, lockouts, locked_until }
    }

    #[test]
    fn second_factor_gate() {
        let policy = default_throttle_policy();
        assert_eq!(check_second_factor(&policy, None, T0), SecondFactorGate::Open);
        let locked = state(0, T0, 10, 1, T0 + 900);
        assert_eq!(check_second_factor(&policy, Some(&locked), T0), SecondFactorGate::Locked(900));
        assert_eq!(check_second_factor(&policy, Some(&locked), T0 + 899), SecondFactorGate::Locked(1));
        assert_eq!(check_second_factor(&policy, Some(&locked), T0 + 900), SecondFactorGate::Open);
        let almost = state(0, T0, 99, 9, 0);
        assert_eq!(check_second_factor(&policy, Some(&almost), T0), SecondFactorGate::Open);
        // Disabled wins over locked.
        let disabled = state(0, T0, 100, 10, T0 + 900);
        assert_eq!(check_second_factor(&policy, Some(&disabled), T0), SecondFactorGate::Disabled);
    }

    #[test]
    fn first_failure_opens_a_window() {
        let policy = default_throttle_policy();
        assert_eq!(
            second_factor_failed(&policy, None, T0),
            FailureOutcome { state: state(1, T0, 1, 0, 0), locked_for: None, disabled: false }
        );
    }

    #[test]
    fn tenth_failure_in_the_window_locks_for_15_minutes() {
        let policy = default_throttle_policy();
        let nine = state(9, T0, 9, 0, 0);
        assert_eq!(
            second_factor_failed(&policy, Some(&nine), T0 + 899),
            FailureOutcome { state: state(0, T0, 10, 1, T0 + 899 + 900), locked_for: Some(900), disabled: false }
        );
        // At the window's end the count starts over instead.
        assert_eq!(
            second_factor_failed(&policy, Some(&nine), T0 + 900),
            FailureOutcome { state: state(1, T0 + 900, 10, 0, 0), locked_for: None, disabled: false }
        );
    }

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let policy = default_throttle_policy();
        let locks: Vec<Option<u64>> = (0..9)
            .map(|lockouts| second_factor_failed(&policy, Some(&state(9, T0, 9, lockouts, 0)), T0).locked_for)
            .collect();
        assert_eq!(
            locks,
            [
                Some(900),
                Some(1_800),
                Some(3_600),
                Some(7_200),
                Some(14_400),
                Some(28_800),
                Some(57_600),
                Some(86_400),
                Some(86_400),
            ]
        );
        assert_eq!(
            second_factor_failed(&policy, Some(&state(9, T0, 9, u32::MAX, 0)), T0),
            FailureOutcome {
                state: state(0, T0, 10, u32::MAX, T0 + 86_400),
                locked_for: Some(86_400),
                disabled: false,
            }
        );
    }

    #[test]
    fn a_full_sequence_locks_then_locks_longer() {
        let policy = default_throttle_policy();
        let mut stored: Option<SecondFactorState> = None;
        let mut now = T0;
        let mut locks = Vec::new();
        for _ in 0..20 {
            let outcome = second_factor_failed(&policy, stored.as_ref(), now);
            if let Some(lock) = outcome.locked_for {
                locks.push(lock);
                // Wait until the lock lifts.
                now = outcome.state.locked_until;
                assert_eq!(check_second_factor(&policy, Some(&outcome.state), now), SecondFactorGate::Open);
            } else {
                now += 1;
            }
            stored = Some(outcome.state);
        }
        assert_eq!(locks, [900, 1_800]);
        assert_eq!(stored.map(|s| s.consecutive_failures), Some(20));
        assert_eq!(stored.map(|s| s.lockouts), Some(2));
    }

    #[test]
    fn hundredth_consecutive_failure_disables() {
        let policy = default_throttle_policy();
        let before = state(3, T0, 99, 9, 0);
        let outcome = second_factor_failed(&policy, Some(&before), T0 + 1);
        assert_eq!(outcome, FailureOutcome { state: state(4, T0, 100, 9, 0), locked_for: None, disabled: true });
        assert_eq!(check_second_factor(&policy, Some(&outcome.state), T0 + 1), SecondFactorGate::Disabled);
        // A later failure does not report disabling again.
        let again = second_factor_failed(&policy, Some(&outcome.state), T0 + 2);
        assert!(!again.disabled);
        assert_eq!(again.state.consecutive_failures, 101);
    }

    #[test]
    fn the_failure_that_locks_can_also_disable() {
        let policy = default_throttle_policy();
        let before = state(9, T0, 99, 9, 0);
        assert_eq!(
            second_factor_failed(&policy, Some(&before), T0 + 1),
            FailureOutcome { state: state(0, T0, 100, 10, T0 + 1 + 86_400), locked_for: Some(86_400), disabled: true }
        );
    }

    #[test]
    fn locking_never_shortens_an_existing_lock() {
        let policy = default_throttle_policy();
        let before = state(9, T0, 9, 0, T0 + 10_000);
        assert_eq!(second_factor_failed(&policy, Some(&before), T0 + 1).state.locked_until, T0 + 10_000);
    }

    fn any_fixed() -> impl Strategy<Value = FixedLimit> {
        (any::<u32>(), any::<u64>()).prop_map(|(max, window)| FixedLimit { max, window })
    }

    fn any_delay() -> impl Strategy<Value = GrowingDelay> {
        (any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(free_failures, window, base_delay, max_delay)| GrowingDelay {
                free_failures,
                window,
                base_delay,
                max_delay,
            },
        )
    }

    fn any_state() -> impl Strategy<Value = SecondFactorState> {
        (any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u64>()).prop_map(
            |(window_failures, window_start, consecutive_failures, lockouts, locked_until)| SecondFactorState {
                window_failures,
                window_start,
                consecutive_failures,
                lockouts,
                locked_until,
            },
        )
    }

    fn any_policy() -> impl Strategy<Value = ThrottlePolicy> {
        (
            any_delay(),
            any_fixed(),
            any_fixed(),
            any_fixed(),
            any_fixed(),
            any::<u32>(),
            (any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u32>()),
        )
            .prop_map(|(delay, ip, account, registrations, sms, checks, (mf, w, ld, mld, da))| {
                ThrottlePolicy {
                    password_per_account_ip: delay,
                    password_per_ip: ip,
                    password_per_account: account,
                    registrations_per_ip: registrations,
                    sms_per_phone: sms,
                    checks_per_code: checks,
                    second_factor: LockoutPolicy {
                        max_failures: mf,
                        window: w,
                        lock_duration: ld,
                        max_lock_duration: mld,
                        disable_after: da,
                    },
                }
            })
    }

    fn retry_at_least_one(decision: Decision) -> bool {
        match decision {
            Decision::Allowed => true,
            Decision::RetryAfter(seconds) => seconds >= 1,
        }
    }

    proptest! {
        #[test]
        fn fixed_never_panics_and_waits_at_least_one(
            limit in any_fixed(),
            counter in proptest::option::of((any::<u32>(), any::<u64>())),
            now in any::<u64>(),
        ) {
            let counter = counter.map(|(count, window_start)| WindowCounter { count, window_start });
            prop_assert!(retry_at_least_one(check_fixed(&limit, counter.as_ref(), now)));
            let next = count_fixed(&limit, counter.as_ref(), now);
            prop_assert!(next.count >= 1);
        }

        #[test]
        fn sliding_never_panics_and_waits_at_least_one(
            limit in any_fixed(),
            recent in proptest::collection::vec(any::<u64>(), 0..20),
            now in any::<u64>(),
        ) {
            prop_assert!(retry_at_least_one(check_sliding(&limit, &recent, now)));
        }

        #[test]
        fn sliding_refuses_exactly_when_full(
            max in 1u32..6,
            ages in proptest::collection::vec(0u64..1_200, 0..10),
        ) {
            let limit = FixedLimit { max, window: 600 };
            let recent: Vec<u64> = ages.iter().map(|age| T0 - age).collect();
            let counted = ages.iter().filter(|&&age| age < 600).count();
            let decision = check_sliding(&limit, &recent, T0);
            prop_assert_eq!(decision == Decision::Allowed, counted < max as usize);
            if let Decision::RetryAfter(wait) = decision {
                // After the wait, one more fits; one second earlier, it does not.
                prop_assert_eq!(check_sliding(&limit, &recent, T0 + wait), Decision::Allowed);
                prop_assert!(check_sliding(&limit, &recent, T0 + wait - 1) != Decision::Allowed);
            }
        }

        #[test]
        fn delay_never_panics_and_waits_at_least_one(
            policy in any_delay(),
            counter in proptest::option::of((any::<u32>(), any::<u64>())),
            now in any::<u64>(),
        ) {
            let counter = counter.map(|(failures, last_failure)| DelayCounter { failures, last_failure });
            prop_assert!(retry_at_least_one(check_delay(&policy, counter.as_ref(), now)));
            let next = count_delay(&policy, counter.as_ref(), now);
            prop_assert!(next.failures >= 1);
        }

        #[test]
        fn password_never_panics_and_waits_at_least_one(
            policy in any_policy(),
            account_ip in proptest::option::of((any::<u32>(), any::<u64>())),
            ip in proptest::option::of((any::<u32>(), any::<u64>())),
            account in proptest::option::of((any::<u32>(), any::<u64>())),
            known_device in any::<bool>(),
            now in any::<u64>(),
        ) {
            let counters = PasswordCounters {
                account_ip: account_ip.map(|(failures, last_failure)| DelayCounter { failures, last_failure }),
                ip: ip.map(|(count, window_start)| WindowCounter { count, window_start }),
                account: account.map(|(count, window_start)| WindowCounter { count, window_start }),
                known_device,
            };
            if let PasswordDecision::Throttled(throttled) = check_password_attempt(&policy, &counters, now) {
                prop_assert!(throttled.retry_after >= 1);
            }
        }

        #[test]
        fn second_factor_never_panics(
            policy in any_policy(),
            state in proptest::option::of(any_state()),
            now in any::<u64>(),
            failures in any::<u32>(),
        ) {
            if let SecondFactorGate::Locked(wait) = check_second_factor(&policy, state.as_ref(), now) {
                prop_assert!(wait >= 1);
            }
            let outcome = second_factor_failed(&policy, state.as_ref(), now);
            prop_assert!(outcome.state.consecutive_failures >= 1);
            if let Some(lock) = outcome.locked_for {
                prop_assert!(lock <= policy.second_factor.max_lock_duration);
            }
            let _ = checks_left(&policy, failures);
            let _ = validate_throttle_policy(&policy);
        }
    }
}
