//! `mfa:session` (world `session-policy`): every export of every interface, its documented values, and each error
//! case. Where the WIT leaves a boundary second open (is a window `[start, start + len)` or `[start, start + len]`),
//! the test checks the component against itself instead: the wait it reports is exactly the wait it enforces.

use crate::support::{Mismatches, check};
use anyhow::Result;
use mfa_e2e::enrollment::{EnforcementError, EnforcementPolicy, EnrollmentStatus};
use mfa_e2e::policy::{OverLimitAction, PolicyError, SessionPolicy as Policy};
use mfa_e2e::risk::{IpError, KnownDevice, LoginContext, RiskSignal};
use mfa_e2e::sessions::{ActiveSession, Admission, AdmissionPlan, LiveSession, SessionStatus, SessionTimes};
use mfa_e2e::throttle::{
    Decision, DelayCounter, FailureOutcome, FixedLimit, GrowingDelay, LockoutPolicy, PasswordCounters,
    PasswordDecision, PasswordLimit, PasswordThrottled, SecondFactorGate, SecondFactorState, ThrottlePolicy,
    ThrottlePolicyError, WindowCounter,
};
use mfa_e2e::tokens::TokenError;
use mfa_e2e::{HostState, SessionPolicy};
use sha2::Digest;
use wasmtime::Store;

fn instance() -> Result<(Store<HostState>, SessionPolicy)> {
    mfa_e2e::session_policy()
}

/// A fixed "now" for the tests (2023-11-14T22:13:20Z).
const C: u64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------------------------------
// tokens
// ---------------------------------------------------------------------------------------------------------------

fn hex_sha256(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn assert_token_shape(token: &str) {
    assert_eq!(token.len(), 43, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
}

#[test]
fn new_tokens_are_256_bit_url_safe_base64_and_unique() -> Result<()> {
    let (mut store, session) = instance()?;
    let tokens = session.mfa_session_tokens();
    let mut seen = Vec::new();
    let mut m = Mismatches::default();
    for _ in 0..20 {
        let issued = [
            tokens.call_new_session_token(&mut store)?,
            tokens.call_new_challenge_id(&mut store)?,
            tokens.call_new_device_id(&mut store)?,
        ];
        for token in issued {
            assert_token_shape(&token);
            // 43 characters carry 258 bits: the last one must leave the 2 spare bits zero (canonical form).
            assert!("AEIMQUYcgkosw048".contains(&token[42..]), "non-canonical {token}");
            check!(m, tokens.call_storage_key(&mut store, &token)?, Ok(hex_sha256(&token)));
            seen.push(token);
        }
    }
    let count = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), count, "a token was issued twice");
    m.finish();
    Ok(())
}

#[test]
fn storage_key_is_lower_hex_sha256_of_the_text() -> Result<()> {
    let (mut store, session) = instance()?;
    let tokens = session.mfa_session_tokens();
    // 16, 32 and 64 bytes of zeros; and a fixed mixed token.
    let mut m = Mismatches::default();
    for text in ["A".repeat(22), "A".repeat(43), "A".repeat(86), "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE".into()] {
        let key = tokens.call_storage_key(&mut store, &text)?.unwrap();
        check!(m, key, hex_sha256(&text), "{text}");
        check!(m, key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
    // A known value: SHA-256 of 43 'A's.
    assert_eq!(
        tokens.call_storage_key(&mut store, &"A".repeat(43))?,
        Ok("0f007385b6f9d4b7eeb2748605afe1a984a0a3bfa3f014d09e2a784ce9e5cd1a".to_string())
    );
    m.finish();
    Ok(())
}

#[test]
fn storage_key_errors() -> Result<()> {
    let (mut store, session) = instance()?;
    let tokens = session.mfa_session_tokens();
    let cases: Vec<(String, TokenError)> = vec![
        // Standard Base64 characters, padding, whitespace and other characters are not URL-safe Base64.
        (format!("{}+", "A".repeat(42)), TokenError::Malformed),
        (format!("{}/", "A".repeat(42)), TokenError::Malformed),
        (format!("{}=", "A".repeat(43)), TokenError::Malformed),
        (format!("{} ", "A".repeat(43)), TokenError::Malformed),
        (format!("{}é", "A".repeat(42)), TokenError::Malformed),
        // A length no Base64 text can have (1 modulo 4).
        ("A".repeat(21), TokenError::Malformed),
        ("A".into(), TokenError::Malformed),
        // Non-canonical: the spare bits of the last character are not zero.
        (format!("{}B", "A".repeat(42)), TokenError::Malformed),
        (format!("{}B", "A".repeat(21)), TokenError::Malformed),
        // Valid Base64, wrong size: 15 bytes, 65 bytes, 66 bytes.
        ("A".repeat(20), TokenError::WrongLength),
        ("A".repeat(87), TokenError::WrongLength),
        ("A".repeat(88), TokenError::WrongLength),
    ];
    let mut m = Mismatches::default();
    for (text, error) in cases {
        check!(m, tokens.call_storage_key(&mut store, &text)?, Err(error), "{text:?}");
    }
    m.finish();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// policy
// ---------------------------------------------------------------------------------------------------------------

fn default_policy() -> Policy {
    Policy {
        absolute_lifetime: 86_400,
        idle_timeout: 1_800,
        activity_write_interval: 60,
        max_sessions_per_user: 5,
        over_limit_action: OverLimitAction::EvictOldest,
        step_up_validity: 600,
        trusted_device_lifetime: 30 * 86_400,
    }
}

#[test]
fn default_policy_matches_the_design() -> Result<()> {
    let (mut store, session) = instance()?;
    let policy = session.mfa_session_policy();
    let got = policy.call_default_policy(&mut store)?;
    assert_eq!(got, default_policy());
    assert_eq!(policy.call_validate_policy(&mut store, got)?, Ok(()));
    Ok(())
}

#[test]
fn validate_policy_accepts_the_bounds() -> Result<()> {
    let (mut store, session) = instance()?;
    let policy = session.mfa_session_policy();
    let d = default_policy();
    let valid = [
        Policy { absolute_lifetime: 300, idle_timeout: 300, activity_write_interval: 150, step_up_validity: 300, ..d },
        Policy { absolute_lifetime: 365 * 86_400, ..d },
        Policy { idle_timeout: 60, activity_write_interval: 30, ..d },
        Policy { idle_timeout: 86_400, ..d },
        Policy { activity_write_interval: 900, ..d },
        Policy { max_sessions_per_user: 1, ..d },
        Policy { max_sessions_per_user: 100, over_limit_action: OverLimitAction::Refuse, ..d },
        Policy { step_up_validity: 60, ..d },
        Policy { step_up_validity: 86_400, ..d },
        Policy { trusted_device_lifetime: 3_600, ..d },
        Policy { trusted_device_lifetime: 400 * 86_400, ..d },
    ];
    let mut m = Mismatches::default();
    for p in valid {
        check!(m, policy.call_validate_policy(&mut store, p)?, Ok(()), "{p:?}");
    }
    m.finish();
    Ok(())
}

#[test]
fn validate_policy_errors() -> Result<()> {
    let (mut store, session) = instance()?;
    let policy = session.mfa_session_policy();
    let d = default_policy();
    let cases = [
        (
            Policy {
                absolute_lifetime: 299,
                idle_timeout: 200,
                activity_write_interval: 60,
                step_up_validity: 200,
                ..d
            },
            PolicyError::AbsoluteLifetimeOutOfRange(299),
        ),
        (
            Policy { absolute_lifetime: 365 * 86_400 + 1, ..d },
            PolicyError::AbsoluteLifetimeOutOfRange(365 * 86_400 + 1),
        ),
        (Policy { absolute_lifetime: 0, ..d }, PolicyError::AbsoluteLifetimeOutOfRange(0)),
        (Policy { idle_timeout: 59, activity_write_interval: 20, ..d }, PolicyError::IdleTimeoutOutOfRange(59)),
        (Policy { idle_timeout: 86_401, ..d }, PolicyError::IdleTimeoutOutOfRange(86_401)),
        (Policy { activity_write_interval: 901, ..d }, PolicyError::ActivityWriteIntervalOutOfRange(901)),
        (Policy { activity_write_interval: u64::MAX, ..d }, PolicyError::ActivityWriteIntervalOutOfRange(u64::MAX)),
        (Policy { max_sessions_per_user: 0, ..d }, PolicyError::MaxSessionsOutOfRange(0)),
        (Policy { max_sessions_per_user: 101, ..d }, PolicyError::MaxSessionsOutOfRange(101)),
        (Policy { step_up_validity: 59, ..d }, PolicyError::StepUpValidityOutOfRange(59)),
        (Policy { step_up_validity: 86_401, ..d }, PolicyError::StepUpValidityOutOfRange(86_401)),
        (Policy { trusted_device_lifetime: 3_599, ..d }, PolicyError::TrustedDeviceLifetimeOutOfRange(3_599)),
        (
            Policy { trusted_device_lifetime: 400 * 86_400 + 1, ..d },
            PolicyError::TrustedDeviceLifetimeOutOfRange(400 * 86_400 + 1),
        ),
        // Several bad values: the first (in declaration order) is reported.
        (Policy { max_sessions_per_user: 0, trusted_device_lifetime: 0, ..d }, PolicyError::MaxSessionsOutOfRange(0)),
        (Policy { absolute_lifetime: 0, max_sessions_per_user: 0, ..d }, PolicyError::AbsoluteLifetimeOutOfRange(0)),
    ];
    let mut m = Mismatches::default();
    for (p, error) in cases {
        check!(m, policy.call_validate_policy(&mut store, p)?, Err(error), "{p:?}");
    }
    m.finish();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// sessions
// ---------------------------------------------------------------------------------------------------------------

fn times(created_at: u64, last_seen_at: u64, auth_time: u64) -> SessionTimes {
    SessionTimes { created_at, last_seen_at, auth_time }
}

fn active(expires_at: u64, absolute_expires_at: u64, record_activity: bool, step_up_fresh: bool) -> SessionStatus {
    SessionStatus::Active(ActiveSession { expires_at, absolute_expires_at, record_activity, step_up_fresh })
}

#[test]
fn check_session_active_idle_and_absolute() -> Result<()> {
    let (mut store, session) = instance()?;
    let sessions = session.mfa_session_sessions();
    let p = default_policy();
    let abs = C + 86_400;
    let cases = [
        // Fresh: no activity to write yet (less than a minute since the last write), step-up fresh.
        (times(C, C, C), C, active(C + 1_800, abs, false, true)),
        (times(C, C, C), C + 10, active(C + 1_800, abs, false, true)),
        (times(C, C, C), C + 59, active(C + 1_800, abs, false, true)),
        // Past the write interval: write now, and the idle expiry moves with it.
        (times(C, C, C), C + 61, active(C + 61 + 1_800, abs, true, true)),
        // Step-up goes stale after 10 minutes.
        (times(C, C + 590, C), C + 599, active(C + 590 + 1_800, abs, false, true)),
        (times(C, C + 590, C), C + 601, active(C + 590 + 1_800, abs, false, false)),
        (times(C, C, C), C + 1_799, active(C + 1_799 + 1_800, abs, true, false)),
        // Idle for longer than 30 minutes.
        (times(C, C, C), C + 1_801, SessionStatus::IdleExpired),
        (times(C, C + 50_000, C), C + 60_000, SessionStatus::IdleExpired),
        // Near the absolute end, the absolute expiry caps the idle one.
        (times(C, C + 86_000, C + 86_000), C + 86_399, active(abs, abs, true, true)),
        (times(C, C + 86_000, C + 86_000), C + 86_401, SessionStatus::Expired),
        // Both apply: absolute wins.
        (times(C, C, C), C + 90_000, SessionStatus::Expired),
        (times(C, C, C), u64::MAX, SessionStatus::Expired),
    ];
    let mut m = Mismatches::default();
    for (t, now, status) in cases {
        check!(m, sessions.call_check_session(&mut store, p, t, now)?, status, "{t:?} at {now}");
    }
    m.finish();
    Ok(())
}

#[test]
fn check_session_never_ends_early_when_the_clock_runs_behind() -> Result<()> {
    let (mut store, session) = instance()?;
    let sessions = session.mfa_session_sessions();
    let p = default_policy();
    // Last seen (by another instance) after `now`: still active, and writing the earlier `now` would shorten it.
    assert_eq!(
        sessions.call_check_session(&mut store, p, times(C, C + 1_000, C + 1_000), C + 500)?,
        active(C + 2_800, C + 86_400, false, true)
    );
    // Even created after `now`.
    assert_eq!(
        sessions.call_check_session(&mut store, p, times(C, C, C), C - 100)?,
        active(C + 1_800, C + 86_400, false, true)
    );
    Ok(())
}

#[test]
fn check_session_with_a_custom_policy() -> Result<()> {
    let (mut store, session) = instance()?;
    let sessions = session.mfa_session_sessions();
    let p = Policy {
        absolute_lifetime: 3_600,
        idle_timeout: 300,
        activity_write_interval: 100,
        step_up_validity: 120,
        ..default_policy()
    };
    assert_eq!(
        sessions.call_check_session(&mut store, p, times(C, C, C), C + 99)?,
        active(C + 300, C + 3_600, false, true)
    );
    assert_eq!(
        sessions.call_check_session(&mut store, p, times(C, C, C), C + 101)?,
        active(C + 401, C + 3_600, true, true)
    );
    assert_eq!(
        sessions.call_check_session(&mut store, p, times(C, C, C), C + 121)?,
        active(C + 421, C + 3_600, true, false)
    );
    assert_eq!(sessions.call_check_session(&mut store, p, times(C, C, C), C + 301)?, SessionStatus::IdleExpired);
    assert_eq!(
        sessions.call_check_session(&mut store, p, times(C, C + 3_400, C), C + 3_550)?,
        active(C + 3_600, C + 3_600, true, false)
    );
    assert_eq!(sessions.call_check_session(&mut store, p, times(C, C + 3_400, C), C + 3_601)?, SessionStatus::Expired);
    Ok(())
}

fn live(id: &str, created_at: u64, last_seen_at: u64) -> LiveSession {
    LiveSession { id: id.to_string(), created_at, last_seen_at }
}

fn admit(evict: &[&str], stale: &[&str]) -> Admission {
    Admission::Admit(AdmissionPlan {
        evict: evict.iter().map(|s| s.to_string()).collect(),
        stale: stale.iter().map(|s| s.to_string()).collect(),
    })
}

/// The plan with `stale` sorted: the WIT does not order stale entries.
fn sorted_stale(admission: Admission) -> Admission {
    match admission {
        Admission::Admit(mut plan) => {
            plan.stale.sort();
            Admission::Admit(plan)
        }
        refuse => refuse,
    }
}

#[test]
fn admit_session_evicts_the_oldest_by_creation() -> Result<()> {
    let (mut store, session) = instance()?;
    let sessions = session.mfa_session_sessions();
    let p = default_policy();
    let now = C + 10_000;
    // Five live sessions, listed out of order.
    let five = [
        live("s3", now - 3_000, now - 10),
        live("s1", now - 5_000, now - 5),
        live("s5", now - 1_000, now - 100),
        live("s2", now - 4_000, now - 1),
        live("s4", now - 2_000, now - 50),
    ];
    assert_eq!(sessions.call_admit_session(&mut store, p, &[], now)?, admit(&[], &[]));
    assert_eq!(sessions.call_admit_session(&mut store, p, &five[..4], now)?, admit(&[], &[]));
    assert_eq!(sessions.call_admit_session(&mut store, p, &five, now)?, admit(&["s1"], &[]));
    // Already over the limit (say after the limit was lowered): evict down to 4, oldest first.
    let mut seven = five.to_vec();
    seven.push(live("s0", now - 6_000, now - 1));
    seven.push(live("s-1", now - 7_000, now - 1));
    assert_eq!(sessions.call_admit_session(&mut store, p, &seven, now)?, admit(&["s-1", "s0", "s1"], &[]));
    // A limit of one: the only session goes.
    let one = Policy { max_sessions_per_user: 1, ..p };
    assert_eq!(sessions.call_admit_session(&mut store, one, &five[2..3], now)?, admit(&["s5"], &[]));
    Ok(())
}

#[test]
fn admit_session_breaks_ties_by_last_activity_then_id() -> Result<()> {
    let (mut store, session) = instance()?;
    let sessions = session.mfa_session_sessions();
    let p = default_policy();
    let now = C + 10_000;
    let newer = [live("n1", now - 900, now - 1), live("n2", now - 800, now - 1), live("n3", now - 700, now - 1)];
    let mut by_activity = vec![live("a", now - 5_000, now - 10), live("b", now - 5_000, now - 100)];
    by_activity.extend(newer.iter().cloned());
    assert_eq!(sessions.call_admit_session(&mut store, p, &by_activity, now)?, admit(&["b"], &[]));
    by_activity.push(live("n4", now - 600, now - 1));
    assert_eq!(sessions.call_admit_session(&mut store, p, &by_activity, now)?, admit(&["b", "a"], &[]));
    let mut by_id = vec![live("y", now - 5_000, now - 10), live("x", now - 5_000, now - 10)];
    by_id.extend(newer.iter().cloned());
    assert_eq!(sessions.call_admit_session(&mut store, p, &by_id, now)?, admit(&["x"], &[]));
    Ok(())
}

#[test]
fn admit_session_cleans_up_expired_entries_without_counting_them() -> Result<()> {
    let (mut store, session) = instance()?;
    let sessions = session.mfa_session_sessions();
    let p = default_policy();
    let now = C + 200_000;
    let idle = live("idle", now - 2_000, now - 1_801);
    let old = live("old", now - 86_401, now - 10);
    let four = [
        live("l1", now - 4_000, now - 10),
        live("l2", now - 3_000, now - 10),
        live("l3", now - 2_000, now - 10),
        live("l4", now - 1_000, now - 10),
    ];
    let mut listed = vec![idle.clone()];
    listed.extend(four.iter().cloned());
    listed.push(old.clone());
    assert_eq!(sorted_stale(sessions.call_admit_session(&mut store, p, &listed, now)?), admit(&[], &["idle", "old"]));
    listed.push(live("l5", now - 500, now - 10));
    assert_eq!(
        sorted_stale(sessions.call_admit_session(&mut store, p, &listed, now)?),
        admit(&["l1"], &["idle", "old"])
    );
    // Under `refuse` too, stale entries do not count.
    let refuse = Policy { over_limit_action: OverLimitAction::Refuse, ..p };
    assert_eq!(
        sorted_stale(sessions.call_admit_session(&mut store, refuse, &listed[..5], now)?),
        admit(&[], &["idle"])
    );
    Ok(())
}

#[test]
fn admit_session_refuses_at_the_limit_when_the_policy_says_so() -> Result<()> {
    let (mut store, session) = instance()?;
    let sessions = session.mfa_session_sessions();
    let p = Policy { over_limit_action: OverLimitAction::Refuse, max_sessions_per_user: 3, ..default_policy() };
    let now = C + 10_000;
    let three = [live("a", now - 300, now - 1), live("b", now - 200, now - 1), live("c", now - 100, now - 1)];
    assert_eq!(sessions.call_admit_session(&mut store, p, &three[..2], now)?, admit(&[], &[]));
    assert_eq!(sessions.call_admit_session(&mut store, p, &three, now)?, Admission::Refuse);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// throttle
// ---------------------------------------------------------------------------------------------------------------

fn default_throttle() -> ThrottlePolicy {
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
}

#[test]
fn default_throttle_policy_matches_the_design() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let got = throttle.call_default_throttle_policy(&mut store)?;
    assert_eq!(got, default_throttle());
    assert_eq!(throttle.call_validate_throttle_policy(&mut store, got)?, Ok(()));
    Ok(())
}

#[test]
fn validate_throttle_policy_errors() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let d = default_throttle();
    let thirty_days = 30 * 86_400;
    let fixed = |max, window| FixedLimit { max, window };
    let delay =
        |free_failures, window, base_delay, max_delay| GrowingDelay { free_failures, window, base_delay, max_delay };
    let lockout = |max_failures, window, lock_duration, max_lock_duration, disable_after| LockoutPolicy {
        max_failures,
        window,
        lock_duration,
        max_lock_duration,
        disable_after,
    };
    let valid = [
        ThrottlePolicy { password_per_ip: fixed(1, thirty_days), ..d },
        ThrottlePolicy { password_per_account_ip: delay(1, 1, 1, 1), ..d },
        ThrottlePolicy { sms_per_phone: fixed(1, 1), checks_per_code: 1, ..d },
        ThrottlePolicy { second_factor: lockout(10, 900, 900, 900, 11), ..d },
        ThrottlePolicy { second_factor: lockout(1, thirty_days, thirty_days, thirty_days, 2), ..d },
    ];
    let mut m = Mismatches::default();
    for p in valid {
        check!(m, throttle.call_validate_throttle_policy(&mut store, p)?, Ok(()), "{p:?}");
    }
    let cases = [
        (ThrottlePolicy { password_per_ip: fixed(0, 3_600), ..d }, ThrottlePolicyError::ZeroLimit),
        (ThrottlePolicy { password_per_account: fixed(0, 3_600), ..d }, ThrottlePolicyError::ZeroLimit),
        (ThrottlePolicy { registrations_per_ip: fixed(0, 3_600), ..d }, ThrottlePolicyError::ZeroLimit),
        (ThrottlePolicy { sms_per_phone: fixed(0, 600), ..d }, ThrottlePolicyError::ZeroLimit),
        (ThrottlePolicy { password_per_account_ip: delay(0, 900, 60, 900), ..d }, ThrottlePolicyError::ZeroLimit),
        (ThrottlePolicy { checks_per_code: 0, ..d }, ThrottlePolicyError::ZeroLimit),
        (ThrottlePolicy { second_factor: lockout(0, 900, 900, 86_400, 100), ..d }, ThrottlePolicyError::ZeroLimit),
        (ThrottlePolicy { password_per_ip: fixed(100, 0), ..d }, ThrottlePolicyError::DurationOutOfRange),
        (ThrottlePolicy { sms_per_phone: fixed(3, thirty_days + 1), ..d }, ThrottlePolicyError::DurationOutOfRange),
        (ThrottlePolicy { registrations_per_ip: fixed(20, u64::MAX), ..d }, ThrottlePolicyError::DurationOutOfRange),
        (
            ThrottlePolicy { password_per_account_ip: delay(5, 0, 60, 900), ..d },
            ThrottlePolicyError::DurationOutOfRange,
        ),
        (
            ThrottlePolicy { password_per_account_ip: delay(5, 900, 0, 900), ..d },
            ThrottlePolicyError::DurationOutOfRange,
        ),
        (
            ThrottlePolicy { password_per_account_ip: delay(5, 900, 60, thirty_days + 1), ..d },
            ThrottlePolicyError::DurationOutOfRange,
        ),
        (
            ThrottlePolicy { second_factor: lockout(10, 0, 900, 86_400, 100), ..d },
            ThrottlePolicyError::DurationOutOfRange,
        ),
        (
            ThrottlePolicy { second_factor: lockout(10, 900, 0, 86_400, 100), ..d },
            ThrottlePolicyError::DurationOutOfRange,
        ),
        (
            ThrottlePolicy { second_factor: lockout(10, 900, 900, thirty_days + 1, 100), ..d },
            ThrottlePolicyError::DurationOutOfRange,
        ),
        (ThrottlePolicy { password_per_account_ip: delay(5, 900, 901, 900), ..d }, ThrottlePolicyError::BaseExceedsMax),
        (
            ThrottlePolicy { second_factor: lockout(10, 900, 90_000, 86_400, 100), ..d },
            ThrottlePolicyError::BaseExceedsMax,
        ),
        (
            ThrottlePolicy { second_factor: lockout(10, 900, 900, 86_400, 10), ..d },
            ThrottlePolicyError::DisableBeforeLock,
        ),
        (
            ThrottlePolicy { second_factor: lockout(10, 900, 900, 86_400, 9), ..d },
            ThrottlePolicyError::DisableBeforeLock,
        ),
    ];
    for (p, error) in cases {
        check!(m, throttle.call_validate_throttle_policy(&mut store, p)?, Err(error), "{p:?}");
    }
    m.finish();
    Ok(())
}

/// Asserts that `decision` is a wait within `expected` (the WIT leaves the boundary second open), that the attempt
/// is allowed exactly after that wait, and refused one second before it. `at(t)` asks the component at time `t`.
fn assert_wait(
    decision: Decision,
    expected: std::ops::RangeInclusive<u64>,
    now: u64,
    mut at: impl FnMut(u64) -> Result<Decision>,
) -> Result<u64> {
    let Decision::RetryAfter(wait) = decision else { panic!("expected a wait in {expected:?}, got {decision:?}") };
    assert!(expected.contains(&wait), "wait {wait} not in {expected:?}");
    assert_eq!(at(now + wait)?, Decision::Allowed, "after the announced wait of {wait}s");
    assert_eq!(at(now + wait - 1)?, Decision::RetryAfter(1), "one second before the announced wait of {wait}s");
    Ok(wait)
}

#[test]
fn check_and_count_fixed_window() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let limit = FixedLimit { max: 3, window: 600 };
    let counter = |count, window_start| Some(WindowCounter { count, window_start });
    let now = C;
    assert_eq!(throttle.call_check_fixed(&mut store, limit, None, now)?, Decision::Allowed);
    assert_eq!(throttle.call_check_fixed(&mut store, limit, counter(2, now - 10), now)?, Decision::Allowed);
    assert_eq!(throttle.call_check_fixed(&mut store, limit, counter(3, now - 601), now)?, Decision::Allowed);
    let full = counter(3, now - 10);
    let decision = throttle.call_check_fixed(&mut store, limit, full, now)?;
    let wait = assert_wait(decision, 590..=591, now, |t| Ok(throttle.call_check_fixed(&mut store, limit, full, t)?))?;
    // Over the limit counts the same.
    assert_eq!(throttle.call_check_fixed(&mut store, limit, counter(9, now - 10), now)?, Decision::RetryAfter(wait));

    assert_eq!(throttle.call_count_fixed(&mut store, limit, None, now)?, WindowCounter { count: 1, window_start: now });
    assert_eq!(
        throttle.call_count_fixed(&mut store, limit, counter(2, now - 10), now)?,
        WindowCounter { count: 3, window_start: now - 10 }
    );
    assert_eq!(
        throttle.call_count_fixed(&mut store, limit, counter(3, now - 10), now)?,
        WindowCounter { count: 4, window_start: now - 10 }
    );
    assert_eq!(
        throttle.call_count_fixed(&mut store, limit, counter(3, now - 700), now)?,
        WindowCounter { count: 1, window_start: now }
    );
    // When the check allows again, counting opens a new window.
    assert_eq!(
        throttle.call_count_fixed(&mut store, limit, full, now + wait)?,
        WindowCounter { count: 1, window_start: now + wait }
    );
    Ok(())
}

#[test]
fn check_sliding_window() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let limit = FixedLimit { max: 3, window: 600 };
    let now = C;
    assert_eq!(throttle.call_check_sliding(&mut store, limit, &[], now)?, Decision::Allowed);
    assert_eq!(throttle.call_check_sliding(&mut store, limit, &[now - 10, now - 20], now)?, Decision::Allowed);
    assert_eq!(
        throttle.call_check_sliding(&mut store, limit, &[now - 700, now - 10, now - 5_000, now - 20], now)?,
        Decision::Allowed
    );
    // Any order: the oldest of the three in the window leaves it in about 100 s.
    let recent = [now - 10, now - 500, now - 20];
    let decision = throttle.call_check_sliding(&mut store, limit, &recent, now)?;
    assert_wait(decision, 100..=101, now, |t| Ok(throttle.call_check_sliding(&mut store, limit, &recent, t)?))?;
    // Four in the window: two must leave before a fourth... fifth fits, the second oldest in about 300 s.
    let four = [now - 5, now - 400, now - 10, now - 300];
    let decision = throttle.call_check_sliding(&mut store, limit, &four, now)?;
    assert_wait(decision, 300..=301, now, |t| Ok(throttle.call_check_sliding(&mut store, limit, &four, t)?))?;
    // What is left is what the same window allows: 3, then 1 with two counted (one aged out), never below 0.
    assert_eq!(throttle.call_sliding_left(&mut store, limit, &[], now)?, 3);
    assert_eq!(throttle.call_sliding_left(&mut store, limit, &[now - 10, now - 20, now - 600], now)?, 1);
    assert_eq!(throttle.call_sliding_left(&mut store, limit, &four, now)?, 0);
    for recent in [&[now - 1][..], &[now - 1, now - 2], &[now - 1, now - 2, now - 3]] {
        let left = throttle.call_sliding_left(&mut store, limit, recent, now)?;
        let allowed = throttle.call_check_sliding(&mut store, limit, recent, now)? == Decision::Allowed;
        assert_eq!(left > 0, allowed, "{recent:?}");
    }
    Ok(())
}

#[test]
fn check_and_count_growing_delay() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let policy = default_throttle().password_per_account_ip;
    let counter = |failures, last_failure| Some(DelayCounter { failures, last_failure });
    let now = C;
    let mut m = Mismatches::default();
    let check =
        |store: &mut Store<HostState>, c: Option<DelayCounter>, t: u64| throttle.call_check_delay(store, policy, c, t);
    check!(m, check(&mut store, None, now)?, Decision::Allowed);
    check!(m, check(&mut store, counter(1, now), now)?, Decision::Allowed);
    check!(m, check(&mut store, counter(4, now), now)?, Decision::Allowed);
    // Once the 5 free failures are used up: 60 s from the last failure, then doubling, capped at 15 min.
    check!(m, check(&mut store, counter(5, now), now)?, Decision::RetryAfter(60));
    check!(m, check(&mut store, counter(5, now - 10), now)?, Decision::RetryAfter(50));
    check!(m, check(&mut store, counter(5, now - 59), now)?, Decision::RetryAfter(1));
    check!(m, check(&mut store, counter(5, now - 60), now)?, Decision::Allowed);
    check!(m, check(&mut store, counter(6, now - 10), now)?, Decision::RetryAfter(110));
    check!(m, check(&mut store, counter(7, now), now)?, Decision::RetryAfter(240));
    check!(m, check(&mut store, counter(8, now), now)?, Decision::RetryAfter(480));
    check!(m, check(&mut store, counter(9, now), now)?, Decision::RetryAfter(900));
    check!(m, check(&mut store, counter(40, now), now)?, Decision::RetryAfter(900));
    check!(m, check(&mut store, counter(u32::MAX, now), now)?, Decision::RetryAfter(900));
    // Forgotten after `window` seconds without a failure, even while the delay would still run: the wait ends then.
    let short = GrowingDelay { free_failures: 5, window: 100, base_delay: 60, max_delay: 900 };
    check!(m, throttle.call_check_delay(&mut store, short, counter(10, now - 150), now)?, Decision::Allowed);
    check!(m, throttle.call_check_delay(&mut store, short, counter(10, now - 50), now)?, Decision::RetryAfter(50));

    check!(
        m,
        throttle.call_count_delay(&mut store, policy, None, now)?,
        DelayCounter { failures: 1, last_failure: now }
    );
    check!(
        m,
        throttle.call_count_delay(&mut store, policy, counter(3, now - 10), now)?,
        DelayCounter { failures: 4, last_failure: now }
    );
    check!(
        m,
        throttle.call_count_delay(&mut store, policy, counter(10, now - 100), now)?,
        DelayCounter { failures: 11, last_failure: now }
    );
    check!(
        m,
        throttle.call_count_delay(&mut store, policy, counter(10, now - 1_000), now)?,
        DelayCounter { failures: 1, last_failure: now }
    );
    m.finish();
    Ok(())
}

fn throttled(limit: PasswordLimit, retry_after: u64) -> PasswordDecision {
    PasswordDecision::Throttled(PasswordThrottled { limit, retry_after })
}

#[test]
fn check_password_attempt_under_all_three_limits() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let p = default_throttle();
    let now = C;
    let none = PasswordCounters { account_ip: None, ip: None, account: None, known_device: false };
    let delay = |failures, last_failure| Some(DelayCounter { failures, last_failure });
    let window = |count, window_start| Some(WindowCounter { count, window_start });
    let fixed_wait = |store: &mut Store<HostState>, limit: FixedLimit, counter: Option<WindowCounter>| -> Result<u64> {
        match throttle.call_check_fixed(store, limit, counter, now)? {
            Decision::RetryAfter(wait) => Ok(wait),
            Decision::Allowed => panic!("check-fixed allows {counter:?} under {limit:?}"),
        }
    };
    let ip_wait = fixed_wait(&mut store, p.password_per_ip, window(100, now - 100))?;
    assert!((3_500..=3_501).contains(&ip_wait), "{ip_wait}");
    let account_wait = fixed_wait(&mut store, p.password_per_account, window(100, now - 3_000))?;
    assert!((600..=601).contains(&account_wait), "{account_wait}");

    let cases = [
        (none, PasswordDecision::Allowed),
        (PasswordCounters { known_device: true, ..none }, PasswordDecision::Allowed),
        (
            PasswordCounters {
                account_ip: delay(4, now),
                ip: window(99, now - 100),
                account: window(99, now - 100),
                ..none
            },
            PasswordDecision::Allowed,
        ),
        (PasswordCounters { account_ip: delay(5, now - 10), ..none }, throttled(PasswordLimit::AccountIp, 50)),
        (PasswordCounters { ip: window(100, now - 100), ..none }, throttled(PasswordLimit::Ip, ip_wait)),
        (
            PasswordCounters { ip: window(100, now - 100), known_device: true, ..none },
            throttled(PasswordLimit::Ip, ip_wait),
        ),
        (
            PasswordCounters { account: window(100, now - 3_000), ..none },
            throttled(PasswordLimit::Account, account_wait),
        ),
        // A device cookie that already logged in to the account lifts the per-account limit only.
        (PasswordCounters { account: window(100, now - 3_000), known_device: true, ..none }, PasswordDecision::Allowed),
        (
            PasswordCounters {
                account_ip: delay(5, now - 10),
                account: window(100, now - 3_000),
                known_device: true,
                ..none
            },
            throttled(PasswordLimit::AccountIp, 50),
        ),
        // Several limits: the longest wait is reported.
        (
            PasswordCounters { account_ip: delay(5, now - 10), ip: window(100, now - 100), ..none },
            throttled(PasswordLimit::Ip, ip_wait),
        ),
        (
            PasswordCounters { account_ip: delay(10, now), account: window(100, now - 3_000), ..none },
            throttled(PasswordLimit::AccountIp, 900),
        ),
        (
            PasswordCounters {
                account_ip: delay(5, now - 10),
                ip: window(50, now - 100),
                account: window(100, now - 3_000),
                ..none
            },
            throttled(PasswordLimit::Account, account_wait),
        ),
    ];
    let mut m = Mismatches::default();
    for (counters, decision) in cases {
        check!(m, throttle.call_check_password_attempt(&mut store, p, counters, now)?, decision, "{counters:?}");
    }
    m.finish();
    Ok(())
}

#[test]
fn check_sms_send_is_a_sliding_window_of_three_per_ten_minutes() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let p = default_throttle();
    let now = C;
    assert_eq!(throttle.call_check_sms_send(&mut store, p, &[], now)?, Decision::Allowed);
    assert_eq!(throttle.call_check_sms_send(&mut store, p, &[now - 1, now - 2], now)?, Decision::Allowed);
    assert_eq!(
        throttle.call_check_sms_send(&mut store, p, &[now - 100, now - 200, now - 700], now)?,
        Decision::Allowed
    );
    let three = [now - 200, now - 100, now - 300];
    let decision = throttle.call_check_sms_send(&mut store, p, &three, now)?;
    assert_eq!(decision, throttle.call_check_sliding(&mut store, p.sms_per_phone, &three, now)?);
    assert_wait(decision, 300..=301, now, |t| Ok(throttle.call_check_sms_send(&mut store, p, &three, t)?))?;
    Ok(())
}

#[test]
fn checks_left_counts_down_to_zero() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let p = default_throttle();
    let mut m = Mismatches::default();
    for (failures, left) in [(0u32, 5u32), (1, 4), (4, 1), (5, 0), (6, 0), (u32::MAX, 0)] {
        check!(m, throttle.call_checks_left(&mut store, p, failures)?, left, "after {failures} failures");
    }
    let three = ThrottlePolicy { checks_per_code: 3, ..p };
    assert_eq!(throttle.call_checks_left(&mut store, three, 2)?, 1);
    assert_eq!(throttle.call_checks_left(&mut store, three, 3)?, 0);
    m.finish();
    Ok(())
}

fn sf_state(
    window_failures: u32,
    window_start: u64,
    consecutive_failures: u32,
    lockouts: u32,
    locked_until: u64,
) -> SecondFactorState {
    SecondFactorState { window_failures, window_start, consecutive_failures, lockouts, locked_until }
}

#[test]
fn check_second_factor_gate() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let p = default_throttle();
    let now = C;
    let cases = [
        (None, SecondFactorGate::Open),
        (Some(sf_state(3, now - 100, 3, 0, 0)), SecondFactorGate::Open),
        (Some(sf_state(10, now - 100, 10, 1, now + 100)), SecondFactorGate::Locked(100)),
        (Some(sf_state(10, now - 100, 10, 1, now + 1)), SecondFactorGate::Locked(1)),
        (Some(sf_state(10, now - 1_000, 10, 1, now - 1)), SecondFactorGate::Open),
        (Some(sf_state(0, now - 100, 99, 9, 0)), SecondFactorGate::Open),
        (Some(sf_state(0, now - 100, 100, 9, 0)), SecondFactorGate::Disabled),
        (Some(sf_state(10, now - 100, 150, 9, now + 5_000)), SecondFactorGate::Disabled),
    ];
    let mut m = Mismatches::default();
    for (state, gate) in cases {
        check!(m, throttle.call_check_second_factor(&mut store, p, state, now)?, gate, "{state:?}");
    }
    m.finish();
    Ok(())
}

#[test]
fn second_factor_failed_counts_locks_and_disables() -> Result<()> {
    let (mut store, session) = instance()?;
    let throttle = session.mfa_session_throttle();
    let p = default_throttle();
    let now = C;
    let failed = |store: &mut Store<HostState>, state: Option<SecondFactorState>| {
        throttle.call_second_factor_failed(store, p, state, now)
    };

    // The first failure opens a window.
    assert_eq!(
        failed(&mut store, None)?,
        FailureOutcome { state: sf_state(1, now, 1, 0, 0), locked_for: None, disabled: false }
    );
    // Counted in the current window.
    assert_eq!(
        failed(&mut store, Some(sf_state(3, now - 100, 3, 0, 0)))?,
        FailureOutcome { state: sf_state(4, now - 100, 4, 0, 0), locked_for: None, disabled: false }
    );
    // The window passed: a new one opens, the consecutive count goes on.
    assert_eq!(
        failed(&mut store, Some(sf_state(9, now - 1_000, 9, 0, 0)))?,
        FailureOutcome { state: sf_state(1, now, 10, 0, 0), locked_for: None, disabled: false }
    );
    // The tenth failure in the window locks for 15 min, doubling with each lock, capped at 24 h.
    let mut m = Mismatches::default();
    for (lockouts, lock) in [
        (0u32, 900u64),
        (1, 1_800),
        (2, 3_600),
        (5, 28_800),
        (6, 57_600),
        (7, 86_400),
        (40, 86_400),
        (u32::MAX - 1, 86_400),
    ] {
        let outcome = failed(&mut store, Some(sf_state(9, now - 100, 20, lockouts, 0)))?;
        check!(m, outcome.locked_for, Some(lock), "after {lockouts} locks");
        check!(m, outcome.state.locked_until, now + lock, "after {lockouts} locks");
        check!(m, outcome.state.lockouts, lockouts + 1);
        check!(m, outcome.state.consecutive_failures, 21);
        assert!(!outcome.disabled);
        // The stored state gates checks for exactly that long.
        check!(
            m,
            throttle.call_check_second_factor(&mut store, p, Some(outcome.state), now)?,
            SecondFactorGate::Locked(lock)
        );
    }
    // The 100th consecutive failure disables the factor.
    let outcome = failed(&mut store, Some(sf_state(2, now - 100, 99, 9, 0)))?;
    assert!(outcome.disabled);
    assert_eq!(outcome.state.consecutive_failures, 100);
    assert_eq!(throttle.call_check_second_factor(&mut store, p, Some(outcome.state), now)?, SecondFactorGate::Disabled);
    let outcome = failed(&mut store, Some(sf_state(2, now - 100, 98, 9, 0)))?;
    assert!(!outcome.disabled);
    assert_eq!(outcome.state.consecutive_failures, 99);
    m.finish();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// risk
// ---------------------------------------------------------------------------------------------------------------

const FIREFOX_128_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const FIREFOX_129_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0";
const FIREFOX_128_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_124_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const CHROME_125_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.60 Safari/537.36";

fn known_devices() -> Vec<KnownDevice> {
    vec![
        KnownDevice {
            device_id: "dev-1".into(),
            ips: vec!["203.0.113.5".into(), "2001:db8:1:2::1".into()],
            user_agent: FIREFOX_128_LINUX.into(),
            countries: vec!["DE".into(), "AT".into()],
        },
        KnownDevice {
            device_id: "dev-2".into(),
            ips: vec!["198.51.100.7".into()],
            user_agent: CHROME_124_LINUX.into(),
            countries: vec!["FR".into()],
        },
        KnownDevice {
            device_id: "dev-3".into(),
            ips: vec!["not-an-ip".into(), "192.0.2.55:443".into(), "192.0.2.56".into()],
            user_agent: CHROME_124_LINUX.into(),
            countries: vec![],
        },
    ]
}

fn login(device_id: Option<&str>, ip: &str, user_agent: &str) -> LoginContext {
    LoginContext {
        device_id: device_id.map(str::to_string),
        ip: ip.to_string(),
        user_agent: user_agent.to_string(),
        country: None,
    }
}

fn login_from(country: &str, device_id: Option<&str>, ip: &str, user_agent: &str) -> LoginContext {
    LoginContext { country: Some(country.to_owned()), ..login(device_id, ip, user_agent) }
}

#[test]
fn assess_login_signals() -> Result<()> {
    let (mut store, session) = instance()?;
    let risk = session.mfa_session_risk();
    let known = known_devices();
    use RiskSignal::{NewCountry, NewDevice, NewIp, UserAgentChanged};
    let cases = [
        (login(Some("dev-1"), "203.0.113.5", FIREFOX_128_LINUX), vec![]),
        // Version numbers are ignored.
        (login(Some("dev-1"), "203.0.113.5", FIREFOX_129_LINUX), vec![]),
        (login(Some("dev-2"), "198.51.100.7", CHROME_125_LINUX), vec![]),
        // Another browser, or another system.
        (login(Some("dev-1"), "203.0.113.5", CHROME_124_LINUX), vec![UserAgentChanged]),
        (login(Some("dev-1"), "203.0.113.5", FIREFOX_128_WINDOWS), vec![UserAgentChanged]),
        // An address none of the devices used; IPv6 grouped by /64.
        (login(Some("dev-1"), "198.51.100.99", FIREFOX_128_LINUX), vec![NewIp]),
        (login(Some("dev-1"), "2001:db8:1:2:ffff:ee:dd:cc", FIREFOX_128_LINUX), vec![]),
        (login(Some("dev-1"), "2001:db8:1:3::1", FIREFOX_128_LINUX), vec![NewIp]),
        // An address another known device used is not new.
        (login(Some("dev-1"), "198.51.100.7", FIREFOX_128_LINUX), vec![]),
        // Malformed stored addresses are ignored, valid ones beside them still count.
        (login(Some("dev-3"), "192.0.2.56", CHROME_124_LINUX), vec![]),
        (login(Some("dev-3"), "192.0.2.55", CHROME_124_LINUX), vec![NewIp]),
        // No cookie, or a cookie this user never logged in with.
        (login(None, "203.0.113.5", FIREFOX_128_LINUX), vec![NewDevice]),
        (login(Some("dev-9"), "203.0.113.5", CHROME_124_LINUX), vec![NewDevice]),
        (login(Some("dev-9"), "192.0.2.1", FIREFOX_128_WINDOWS), vec![NewDevice, NewIp]),
        // Both for a known device, in the documented order.
        (login(Some("dev-1"), "192.0.2.1", FIREFOX_128_WINDOWS), vec![NewIp, UserAgentChanged]),
        // A country any known device signed in from is not new (case ignored); another one is.
        (login_from("AT", Some("dev-1"), "203.0.113.5", FIREFOX_128_LINUX), vec![]),
        (login_from("fr", Some("dev-1"), "203.0.113.5", FIREFOX_128_LINUX), vec![]),
        (login_from("JP", Some("dev-1"), "203.0.113.5", FIREFOX_128_LINUX), vec![NewCountry]),
        (login_from("JP", Some("dev-9"), "192.0.2.1", FIREFOX_128_WINDOWS), vec![NewDevice, NewIp, NewCountry]),
        (login_from("JP", Some("dev-1"), "192.0.2.1", FIREFOX_128_WINDOWS), vec![NewIp, UserAgentChanged, NewCountry]),
    ];
    let mut m = Mismatches::default();
    for (ctx, signals) in cases {
        check!(m, risk.call_assess_login(&mut store, &ctx, &known)?, Ok(signals), "{ctx:?}");
    }
    // A user with no known device.
    assert_eq!(
        risk.call_assess_login(&mut store, &login(None, "192.0.2.1", FIREFOX_128_LINUX), &[])?,
        Ok(vec![NewDevice, NewIp])
    );
    assert_eq!(
        risk.call_assess_login(&mut store, &login(Some("dev-1"), "192.0.2.1", FIREFOX_128_LINUX), &[])?,
        Ok(vec![NewDevice, NewIp])
    );
    m.finish();
    Ok(())
}

#[test]
fn assess_login_rejects_a_malformed_client_ip() -> Result<()> {
    let (mut store, session) = instance()?;
    let risk = session.mfa_session_risk();
    let known = known_devices();
    let mut m = Mismatches::default();
    for ip in ["", "203.0.113.5:443", "[2001:db8::1]", "[2001:db8::1]:443", "fe80::1%eth0", "localhost", "203.0.113"] {
        check!(
            m,
            risk.call_assess_login(&mut store, &login(Some("dev-1"), ip, FIREFOX_128_LINUX), &known)?,
            Err(IpError::Invalid),
            "{ip:?}"
        );
    }
    m.finish();
    Ok(())
}

#[test]
fn rate_limit_key_groups_ipv6_by_64() -> Result<()> {
    let (mut store, session) = instance()?;
    let risk = session.mfa_session_risk();
    let cases = [
        ("203.0.113.5", "203.0.113.5"),
        ("0.0.0.0", "0.0.0.0"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:db8:0:0:1::", "2001:db8::/64"),
        ("::1", "::/64"),
        ("fe80::1", "fe80::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("::ffff:c633:6407", "198.51.100.7"),
    ];
    let mut m = Mismatches::default();
    for (ip, key) in cases {
        check!(m, risk.call_rate_limit_key(&mut store, ip)?, Ok(key.to_string()), "{ip}");
    }
    for bad in [
        "",
        " 203.0.113.5",
        "203.0.113.5:80",
        "256.1.1.1",
        "1.2.3",
        "[::1]",
        "fe80::1%1",
        "2001:db8::/64",
        "example.com",
    ] {
        check!(m, risk.call_rate_limit_key(&mut store, bad)?, Err(IpError::Invalid), "{bad:?}");
    }
    m.finish();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// enrollment
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn enrollment_standing_follows_the_grace_period() -> Result<()> {
    let (mut store, session) = instance()?;
    let enrollment = session.mfa_session_enrollment();
    let mut m = Mismatches::default();
    let default = enrollment.call_default_enforcement_policy(&mut store)?;
    check!(m, default, EnforcementPolicy { required: false, grace_days: 30, required_since: 0 });
    check!(m, enrollment.call_validate_enforcement_policy(&mut store, default)?, Ok(()));
    let required = EnforcementPolicy { required: true, ..default };
    for days in [0, 365] {
        let policy = EnforcementPolicy { grace_days: days, ..required };
        check!(m, enrollment.call_validate_enforcement_policy(&mut store, policy)?, Ok(()), "{days}");
    }
    let too_long = EnforcementPolicy { grace_days: 366, ..required };
    check!(
        m,
        enrollment.call_validate_enforcement_policy(&mut store, too_long)?,
        Err(EnforcementError::GraceDaysOutOfRange(366))
    );

    let day = 86_400;
    let created = C - 10 * day;
    let cases = [
        // (policy, has a factor, now, standing)
        (default, false, C, EnrollmentStatus::Satisfied),
        (required, true, C, EnrollmentStatus::Satisfied),
        (required, false, C, EnrollmentStatus::InGrace(created + 30 * day)),
        (required, false, created + 30 * day - 1, EnrollmentStatus::InGrace(created + 30 * day)),
        (required, false, created + 30 * day, EnrollmentStatus::Required),
        (EnforcementPolicy { grace_days: 0, ..required }, false, created, EnrollmentStatus::Required),
        // The requirement started after the account: the grace period counts from it.
        (
            EnforcementPolicy { required_since: C, ..required },
            false,
            C + 29 * day,
            EnrollmentStatus::InGrace(C + 30 * day),
        ),
        (EnforcementPolicy { required_since: C, ..required }, false, C + 30 * day, EnrollmentStatus::Required),
    ];
    for (policy, has_factor, now, expected) in cases {
        check!(
            m,
            enrollment.call_standing(&mut store, policy, created, has_factor, now)?,
            expected,
            "{policy:?} {now}"
        );
    }
    m.finish();
    Ok(())
}
