//! The password-guessing defence, the registration limit and the SMS limits, over the atomic
//! [`counters`](crate::store::counters).
//!
//! A password attempt is checked under all three limits of the design (per account and client IP with a growing
//! delay, per client IP with IPv6 grouped by /64, per account unless the device cookie already logged in to that
//! account) and, when allowed, counted as a failure under all three in the same atomic compare-and-set, BEFORE the
//! password is looked at: a correct password does not bypass an active throttle, and guesses sent in parallel (to
//! one instance or to several) are never verified beyond the limit, since each one reserves its place first. A
//! refused attempt is not counted. A right password gives its reservation back: the account+IP delay starts again
//! and the windows lose the one failure it had counted. Unknown emails are counted under the email exactly as
//! known ones, so the throttle tells nothing about which emails exist.
//!
//! Counter keys are SHA-256 digests of what they count (no email or address is stored in a key).

use sha2::{Digest, Sha256};

use super::context::Ctx;
use super::error::{Error, Throttled};
use super::password;
use crate::bindings::mfa::session::risk;
use crate::bindings::mfa::session::throttle::{
    self, DelayCounter, PasswordCounters, PasswordDecision, PasswordLimit, ThrottlePolicy, WindowCounter,
};
use crate::config::policy::{MAX_PHONE_SLOTS, SmsCaps};
use crate::store::counters::{self, Counters, Pair, Step, Write};
use crate::store::error::StoreError;

/// A password attempt that was allowed and counted as a failure in advance; a right password gives it back with
/// [`PasswordAttempt::succeeded`].
#[derive(Debug)]
pub struct PasswordAttempt {
    keys: Vec<String>,
    /// The windows this attempt was counted in (per address, per account): start time and length.
    windows: [(u64, u64); 2],
}

fn digest_key(kind: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = data_encoding::HEXLOWER.encode(&hasher.finalize());
    format!("{kind}:{digest}")
}

/// The key an address is counted under (IPv6 by /64); all requests without an address share one.
pub fn address_key(ip: Option<std::net::IpAddr>) -> String {
    ip.and_then(|ip| risk::rate_limit_key(&ip.to_string()).ok()).unwrap_or_else(|| "unknown".to_owned())
}

fn at(now: i64) -> u64 {
    u64::try_from(now).unwrap_or(0)
}

fn window_counter(pair: Option<Pair>) -> Option<WindowCounter> {
    pair.map(|(count, window_start)| WindowCounter { count: u32::try_from(count).unwrap_or(u32::MAX), window_start })
}

fn delay_counter(pair: Option<Pair>) -> Option<DelayCounter> {
    pair.map(|(failures, last_failure)| DelayCounter {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_failure,
    })
}

/// Seconds until a window that opened at `start` closes (at least 1).
fn remaining(start: u64, window: u64, now: u64) -> u64 {
    start.saturating_add(window).saturating_sub(now).max(1)
}

fn fixed_write(counter: WindowCounter, window: u64, now: u64) -> Write {
    Some(((u64::from(counter.count), counter.window_start), remaining(counter.window_start, window, now)))
}

/// Checks a password attempt for `email` (normalised; unknown ones too) from address key `ip_key` and, when the
/// limits allow it, counts it as a failure at once: allowed (a right password then gives it back on the returned
/// attempt) or refused by a limit (nothing counted).
pub fn reserve_password_attempt(
    counters: &dyn Counters,
    policy: &ThrottlePolicy,
    email: &str,
    ip_key: &str,
    known_device: bool,
    now: i64,
) -> Result<Result<PasswordAttempt, Throttled>, StoreError> {
    let keys = vec![
        digest_key("password:account-ip", &[email, ip_key]),
        digest_key("password:ip", &[ip_key]),
        digest_key("password:account", &[email]),
    ];
    let moment = at(now);
    counters::update(counters, &keys, now, |current| {
        let counters = password_counters(current, known_device);
        if let PasswordDecision::Throttled(throttled) = throttle::check_password_attempt(*policy, counters, moment) {
            let limit = match throttled.limit {
                PasswordLimit::AccountIp => "account_ip",
                PasswordLimit::Ip => "ip",
                PasswordLimit::Account => "account",
            };
            return Step::Stop(Err(Throttled { limit, retry_after: throttled.retry_after }));
        }
        let delay = throttle::count_delay(policy.password_per_account_ip, counters.account_ip, moment);
        let ip = throttle::count_fixed(policy.password_per_ip, counters.ip, moment);
        let account = throttle::count_fixed(policy.password_per_account, counters.account, moment);
        let writes = vec![
            Some(((u64::from(delay.failures), delay.last_failure), policy.password_per_account_ip.window)),
            fixed_write(ip, policy.password_per_ip.window, moment),
            fixed_write(account, policy.password_per_account.window, moment),
        ];
        let windows = [
            (ip.window_start, policy.password_per_ip.window),
            (account.window_start, policy.password_per_account.window),
        ];
        let attempt = PasswordAttempt { keys: keys.clone(), windows };
        Step::Write(writes, Ok(attempt))
    })
}

fn password_counters(current: &[Option<Pair>], known_device: bool) -> PasswordCounters {
    let get = |i: usize| current.get(i).copied().flatten();
    PasswordCounters {
        account_ip: delay_counter(get(0)),
        ip: window_counter(get(1)),
        account: window_counter(get(2)),
        known_device,
    }
}

impl PasswordAttempt {
    /// The password was right: the reservation is given back. The growing delay for this account and address
    /// starts again; each window loses this attempt's failure if it is still the window it was counted in.
    pub fn succeeded(&self, counters: &dyn Counters, now: i64) -> Result<(), StoreError> {
        let moment = at(now);
        counters::update(counters, &self.keys, now, |current| {
            let mut writes = vec![None];
            for (index, (counted_in, window)) in self.windows.iter().enumerate() {
                let write = current.get(index + 1).copied().flatten().map(|(count, start)| {
                    let count = if start == *counted_in { count.saturating_sub(1) } else { count };
                    ((count, start), remaining(start, *window, moment))
                });
                writes.push(write);
            }
            Step::Write(writes, ())
        })
    }
}

/// The outcome of a password check under the password-guessing limits.
pub enum Verdict {
    /// A limit refused the attempt; the password was not looked at.
    Throttled(Throttled),
    /// The password is wrong (or the account unknown).
    Wrong,
    /// The password is right.
    Right,
}

/// Checks `password` against `stored_hash` (none: an unknown email, checked against a decoy) for `email` from the
/// request's address, under the password-guessing limits.
pub fn guarded_verify(
    ctx: &Ctx,
    email: &str,
    stored_hash: Option<&str>,
    known_device: bool,
    password: &str,
) -> Result<Verdict, Error> {
    let policy = ctx.throttles()?;
    let counters = ctx.store()?.counters();
    let ip_key = address_key(ctx.client().ip);
    // A failure that cannot be counted must not go unnoticed: the attempt is answered as unavailable.
    let attempt = match reserve_password_attempt(counters, &policy, email, &ip_key, known_device, ctx.now)? {
        Ok(attempt) => attempt,
        Err(throttled) => return Ok(Verdict::Throttled(throttled)),
    };
    if !password::verify(password, stored_hash) {
        return Ok(Verdict::Wrong);
    }
    if let Err(error) = attempt.succeeded(counters, ctx.now) {
        // The reservation stays: the user is no worse off than after one wrong password.
        eprintln!("password throttle: {error}");
    }
    Ok(Verdict::Right)
}

/// Checks and counts a registration from address key `ip_key`.
pub fn registration(
    counters: &dyn Counters,
    policy: &ThrottlePolicy,
    ip_key: &str,
    now: i64,
) -> Result<Result<(), Throttled>, StoreError> {
    per_address(counters, policy.registrations_per_ip, ("registration:ip", "registrations_ip"), ip_key, now)
}

/// Checks and counts a passwordless passkey sign-in started from address key `ip_key` (each stores a challenge
/// for a client nobody knows yet): as many an address as password failures (`password_limit_ip`).
pub fn passkey_sign_in(
    counters: &dyn Counters,
    policy: &ThrottlePolicy,
    ip_key: &str,
    now: i64,
) -> Result<Result<(), Throttled>, StoreError> {
    per_address(counters, policy.password_per_ip, ("passkey:ip", "passkey_ip"), ip_key, now)
}

/// Checks and counts one event under the fixed-window `limit` of address key `ip_key`; `names` are the counter's
/// and the limit's (as a refusal says it).
fn per_address(
    counters: &dyn Counters,
    limit: throttle::FixedLimit,
    (counter, name): (&str, &'static str),
    ip_key: &str,
    now: i64,
) -> Result<Result<(), Throttled>, StoreError> {
    let keys = vec![digest_key(counter, &[ip_key])];
    let moment = at(now);
    counters::update(counters, &keys, now, |current| {
        let counter = window_counter(current.first().copied().flatten());
        match throttle::check_fixed(limit, counter, moment) {
            throttle::Decision::RetryAfter(retry_after) => Step::Stop(Err(Throttled { limit: name, retry_after })),
            throttle::Decision::Allowed => {
                let counted = throttle::count_fixed(limit, counter, moment);
                Step::Write(vec![fixed_write(counted, limit.window, moment)], Ok(()))
            }
        }
    })
}

/// Checks and counts one SMS send to `phone` (E.164) in country calling code `country`, asked from address key
/// `ip_key`, under every SMS limit at once: the per-phone sliding window (one counter slot per allowed send, holding
/// its time) and the toll-fraud caps per address, per country and per day. Nothing is counted when any refuses.
/// Allowed, it answers how many more sends to this phone the window allows after this one.
pub fn sms_send(
    counters: &dyn Counters,
    policy: &ThrottlePolicy,
    caps: &SmsCaps,
    phone: &str,
    country: &str,
    ip_key: &str,
    now: i64,
) -> Result<Result<u32, Throttled>, StoreError> {
    let moment = at(now);
    let slots = usize::try_from(policy.sms_per_phone.max.min(MAX_PHONE_SLOTS)).unwrap_or(1);
    let mut keys: Vec<String> = (0..slots).map(|slot| digest_key("sms:phone", &[phone, &slot.to_string()])).collect();
    keys.push(digest_key("sms:ip", &[ip_key]));
    keys.push(digest_key("sms:country", &[country]));
    keys.push(digest_key("sms:all", &[]));
    let fixed = [("sms_ip", caps.per_ip), ("sms_country", caps.per_country), ("sms_daily_budget", caps.daily)];
    counters::update(counters, &keys, now, |current| {
        let (phone_slots, windows) = current.split_at(slots.min(current.len()));
        let recent: Vec<u64> = phone_slots.iter().flatten().map(|(sent_at, _)| *sent_at).collect();
        if let throttle::Decision::RetryAfter(retry_after) = throttle::check_sms_send(*policy, &recent, moment) {
            return Step::Stop(Err(Throttled { limit: "sms_phone", retry_after }));
        }
        let mut writes: Vec<Write> =
            phone_slots.iter().map(|slot| slot.map(|pair| (pair, policy.sms_per_phone.window))).collect();
        // This send takes an empty slot, or the oldest one (which the sliding window no longer counts).
        let oldest = phone_slots
            .iter()
            .enumerate()
            .min_by_key(|(_, slot)| slot.map_or(0, |(sent_at, _)| sent_at.saturating_add(1)))
            .map_or(0, |(index, _)| index);
        if let Some(write) = writes.get_mut(oldest) {
            *write = Some(((moment, 0), policy.sms_per_phone.window));
        }
        for ((limit_name, limit), counter) in fixed.iter().zip(windows) {
            let counter = window_counter(*counter);
            if let throttle::Decision::RetryAfter(retry_after) = throttle::check_fixed(*limit, counter, moment) {
                return Step::Stop(Err(Throttled { limit: limit_name, retry_after }));
            }
            writes.push(fixed_write(throttle::count_fixed(*limit, counter, moment), limit.window, moment));
        }
        let after: Vec<u64> = recent.iter().copied().chain([moment]).collect();
        Step::Write(writes, Ok(throttle::sliding_left(policy.sms_per_phone, &after, moment)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_digests_that_separate_their_parts() {
        let key = digest_key("password:account", &["alice@example.com"]);
        assert!(key.starts_with("password:account:") && !key.contains("alice"));
        assert_ne!(digest_key("k", &["ab", "c"]), digest_key("k", &["a", "bc"]));
        assert_eq!(key.len(), "password:account:".len() + 64);
    }

    #[test]
    fn windows_close_at_least_a_second_ahead() {
        assert_eq!(remaining(100, 60, 130), 30);
        assert_eq!(remaining(100, 60, 500), 1);
    }
}
