//! Session lifecycle decisions (`mfa:session/sessions`): whether a session is still valid at a given time, and
//! which of a user's sessions a new login ends.
//!
//! Times are Unix seconds. Nothing here stores anything: the caller loads, decides here, then writes. All
//! arithmetic saturates, and a clock that runs behind a stored time never ends a session early.

use crate::policy::{OverLimitAction, SessionPolicy};

/// The times of one session that its validity depends on (WIT `session-times`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// When the session was created (login).
    pub created_at: u64,
    /// The last activity written for it.
    pub last_seen_at: u64,
    /// The last time the user proved who they are in it (login or step-up).
    pub auth_time: u64,
}

/// A still-valid session (WIT `active-session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveSession {
    /// When it ends if no further activity is recorded: min(absolute expiry, idle expiry), assuming the caller
    /// writes `now` as the last-seen time when [`ActiveSession::record_activity`] says so.
    pub expires_at: u64,
    /// When it ends whatever happens: created-at + absolute-lifetime.
    pub absolute_expires_at: u64,
    /// Whether the caller should write `now` as its last-seen time.
    pub record_activity: bool,
    /// Whether `auth_time` is recent enough for sensitive actions (step-up).
    pub step_up_fresh: bool,
}

/// What a session is at a given time (WIT `session-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Valid; carries its expiry.
    Active(ActiveSession),
    /// Ended: no activity for longer than the idle timeout.
    IdleExpired,
    /// Ended: older than the absolute lifetime.
    Expired,
}

/// One of a user's sessions as the per-user index lists it (WIT `live-session`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// The caller's id for it.
    pub id: String,
    /// When it was created.
    pub created_at: u64,
    /// Its last recorded activity.
    pub last_seen_at: u64,
}

/// What to do to admit a new session (WIT `admission-plan`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdmissionPlan {
    /// Live sessions to end now, oldest first, to stay within the limit.
    pub evict: Vec<String>,
    /// Listed sessions that had already expired and only need cleaning up, in the order listed.
    pub stale: Vec<String>,
}

/// The decision on a new login (WIT `admission`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Create the session after carrying out the plan.
    Admit(AdmissionPlan),
    /// The user is at the limit and the policy says refuse.
    Refuse,
}

/// The status of a session at `now`, and its new expiry.
///
/// - [`SessionStatus::Expired`] when `now >= created_at + absolute_lifetime` (this wins over idle expiry);
/// - [`SessionStatus::IdleExpired`] when `now >= last_seen_at + idle_timeout`;
/// - otherwise [`SessionStatus::Active`]: `record_activity` when `now - last_seen_at >= activity_write_interval`
///   (never when `now` is behind `last_seen_at`), `expires_at` = min(absolute expiry, (`now` if recording, else
///   `last_seen_at`) + idle timeout), and `step_up_fresh` when `now - auth_time < step_up_validity` or
///   `auth_time` is after `now`.
pub fn check_session(policy: &SessionPolicy, times: &SessionTimes, now: u64) -> SessionStatus {
    let absolute_expires_at = times.created_at.saturating_add(policy.absolute_lifetime);
    if now >= absolute_expires_at {
        return SessionStatus::Expired;
    }
    if now >= times.last_seen_at.saturating_add(policy.idle_timeout) {
        return SessionStatus::IdleExpired;
    }
    let record_activity =
        now.checked_sub(times.last_seen_at).is_some_and(|since| since >= policy.activity_write_interval);
    let last_seen = if record_activity { now } else { times.last_seen_at };
    let expires_at = last_seen.saturating_add(policy.idle_timeout).min(absolute_expires_at);
    let step_up_fresh = now.checked_sub(times.auth_time).is_none_or(|age| age < policy.step_up_validity);
    SessionStatus::Active(ActiveSession { expires_at, absolute_expires_at, record_activity, step_up_fresh })
}

/// Which of `live` must end so one more session fits within `max_sessions_per_user`.
///
/// Entries already expired at `now` (absolutely or idle) go to `stale` and never count. Of the others, when
/// `live + 1` would exceed the limit: under [`OverLimitAction::Refuse`] the login is refused; under
/// [`OverLimitAction::EvictOldest`] the oldest by creation (ties broken by last activity, then id) are evicted,
/// oldest first, as many as needed.
pub fn admit_session(policy: &SessionPolicy, live: Vec<LiveSession>, now: u64) -> Admission {
    let (mut alive, expired): (Vec<LiveSession>, Vec<LiveSession>) = live.into_iter().partition(|session| {
        let times = SessionTimes {
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            auth_time: session.created_at,
        };
        matches!(check_session(policy, &times, now), SessionStatus::Active(_))
    });
    let stale: Vec<String> = expired.into_iter().map(|session| session.id).collect();
    let max = usize::try_from(policy.max_sessions_per_user).unwrap_or(usize::MAX);
    // Sessions to end so that `alive - excess + 1 <= max`.
    let excess = alive.len().saturating_add(1).saturating_sub(max);
    if excess == 0 {
        return Admission::Admit(AdmissionPlan { evict: Vec::new(), stale });
    }
    match policy.over_limit_action {
        OverLimitAction::Refuse => Admission::Refuse,
        OverLimitAction::EvictOldest => {
            alive.sort_by(|a, b| {
                a.created_at.cmp(&b.created_at).then(a.last_seen_at.cmp(&b.last_seen_at)).then_with(|| a.id.cmp(&b.id))
            });
            let evict = alive.into_iter().take(excess).map(|session| session.id).collect();
            Admission::Admit(AdmissionPlan { evict, stale })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::default_policy;
    use proptest::prelude::*;

    const T0: u64 = 1_700_000_000;

    fn times(created_at: u64, last_seen_at: u64, auth_time: u64) -> SessionTimes {
        SessionTimes { created_at, last_seen_at, auth_time }
    }

    fn active(expires_at: u64, absolute_expires_at: u64, record_activity: bool, step_up_fresh: bool) -> SessionStatus {
        SessionStatus::Active(ActiveSession { expires_at, absolute_expires_at, record_activity, step_up_fresh })
    }

    #[test]
    fn fresh_session_is_active() {
        let policy = default_policy();
        assert_eq!(check_session(&policy, &times(T0, T0, T0), T0), active(T0 + 1_800, T0 + 86_400, false, true));
    }

    #[test]
    fn absolute_expiry_boundary() {
        let policy = default_policy();
        // Kept active by recent activity right up to the absolute expiry.
        let t = times(T0, T0 + 86_399, T0);
        assert_eq!(check_session(&policy, &t, T0 + 86_399), active(T0 + 86_400, T0 + 86_400, false, false));
        assert_eq!(check_session(&policy, &t, T0 + 86_400), SessionStatus::Expired);
    }

    #[test]
    fn absolute_expiry_wins_over_idle_expiry() {
        let policy = default_policy();
        assert_eq!(check_session(&policy, &times(T0, T0, T0), T0 + 86_400), SessionStatus::Expired);
    }

    #[test]
    fn idle_expiry_boundary() {
        let policy = default_policy();
        let t = times(T0, T0 + 100, T0);
        assert_eq!(
            check_session(&policy, &t, T0 + 100 + 1_799),
            active(T0 + 100 + 1_799 + 1_800, T0 + 86_400, true, false)
        );
        assert_eq!(check_session(&policy, &t, T0 + 100 + 1_800), SessionStatus::IdleExpired);
    }

    #[test]
    fn activity_written_once_per_interval() {
        let policy = default_policy();
        let t = times(T0, T0 + 1_000, T0);
        // 59 s after the last write: not yet; expiry counts from the stored last-seen time.
        assert_eq!(check_session(&policy, &t, T0 + 1_059), active(T0 + 1_000 + 1_800, T0 + 86_400, false, false));
        // 60 s after: write, and expiry counts from now.
        assert_eq!(check_session(&policy, &t, T0 + 1_060), active(T0 + 1_060 + 1_800, T0 + 86_400, true, false));
    }

    #[test]
    fn expiry_is_capped_by_the_absolute_expiry() {
        let policy = default_policy();
        let t = times(T0, T0 + 85_000, T0);
        assert_eq!(check_session(&policy, &t, T0 + 85_500), active(T0 + 86_400, T0 + 86_400, true, false));
    }

    #[test]
    fn step_up_freshness_boundary() {
        let policy = default_policy();
        let t = times(T0, T0, T0);
        let at = |now| match check_session(&policy, &t, now) {
            SessionStatus::Active(session) => Some(session.step_up_fresh),
            _ => None,
        };
        assert_eq!(at(T0 + 599), Some(true));
        assert_eq!(at(T0 + 600), Some(false));
    }

    #[test]
    fn clock_behind_never_ends_early() {
        let policy = default_policy();
        // Every stored time is after `now`.
        let t = times(T0 + 500, T0 + 1_000, T0 + 2_000);
        assert_eq!(check_session(&policy, &t, T0), active(T0 + 1_000 + 1_800, T0 + 500 + 86_400, false, true));
    }

    #[test]
    fn zero_write_interval_records_every_time_but_never_backwards() {
        let policy = SessionPolicy { activity_write_interval: 0, ..default_policy() };
        let t = times(T0, T0 + 10, T0);
        assert_eq!(check_session(&policy, &t, T0 + 10), active(T0 + 10 + 1_800, T0 + 86_400, true, true));
        assert_eq!(check_session(&policy, &t, T0 + 9), active(T0 + 10 + 1_800, T0 + 86_400, false, true));
    }

    #[test]
    fn saturates_at_the_end_of_time() {
        let policy = default_policy();
        let t = times(u64::MAX - 5, u64::MAX - 5, u64::MAX - 5);
        assert_eq!(check_session(&policy, &t, u64::MAX - 1), active(u64::MAX, u64::MAX, false, true));
        assert_eq!(check_session(&policy, &t, u64::MAX), SessionStatus::Expired);
    }

    fn live(id: &str, created_at: u64, last_seen_at: u64) -> LiveSession {
        LiveSession { id: id.to_owned(), created_at, last_seen_at }
    }

    fn admit(evict: &[&str], stale: &[&str]) -> Admission {
        Admission::Admit(AdmissionPlan {
            evict: evict.iter().map(|s| (*s).to_owned()).collect(),
            stale: stale.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    #[test]
    fn below_the_limit_admits_without_eviction() {
        let policy = default_policy();
        let sessions = (0..4u64).map(|i| live(&format!("s{i}"), T0 + i, T0 + i)).collect();
        assert_eq!(admit_session(&policy, sessions, T0 + 10), admit(&[], &[]));
        assert_eq!(admit_session(&policy, Vec::new(), T0), admit(&[], &[]));
    }

    #[test]
    fn at_the_limit_evicts_the_oldest() {
        let policy = default_policy();
        let sessions = vec![
            live("c", T0 + 3, T0 + 3),
            live("a", T0 + 1, T0 + 9),
            live("e", T0 + 5, T0 + 5),
            live("b", T0 + 2, T0 + 2),
            live("d", T0 + 4, T0 + 4),
        ];
        assert_eq!(admit_session(&policy, sessions, T0 + 10), admit(&["a"], &[]));
    }

    #[test]
    fn over_the_limit_evicts_enough_oldest_first() {
        let policy = SessionPolicy { max_sessions_per_user: 2, ..default_policy() };
        let sessions = vec![
            live("c", T0 + 3, T0 + 3),
            live("a", T0 + 1, T0 + 1),
            live("d", T0 + 4, T0 + 4),
            live("b", T0 + 2, T0 + 2),
        ];
        assert_eq!(admit_session(&policy, sessions, T0 + 10), admit(&["a", "b", "c"], &[]));
    }

    #[test]
    fn ties_break_by_last_activity_then_id() {
        let policy = SessionPolicy { max_sessions_per_user: 1, ..default_policy() };
        let sessions = vec![live("z", T0, T0 + 5), live("y", T0, T0 + 3), live("x", T0, T0 + 3)];
        assert_eq!(admit_session(&policy, sessions, T0 + 10), admit(&["x", "y", "z"], &[]));
        let policy = SessionPolicy { max_sessions_per_user: 2, ..default_policy() };
        // Last activity decides before the id does.
        let sessions = vec![live("a", T0, T0 + 5), live("y", T0, T0 + 3), live("x", T0, T0 + 3)];
        assert_eq!(admit_session(&policy, sessions, T0 + 10), admit(&["x", "y"], &[]));
    }

    #[test]
    fn expired_entries_are_stale_and_do_not_count() {
        let policy = SessionPolicy { max_sessions_per_user: 2, ..default_policy() };
        let now = T0 + 90_000;
        let sessions = vec![
            // Absolutely expired although recently active.
            live("old", T0, now - 10),
            // Idle for exactly the idle timeout.
            live("idle", now - 5_000, now - 1_800),
            live("live", now - 4_000, now - 1_799),
        ];
        assert_eq!(admit_session(&policy, sessions, now), admit(&[], &["old", "idle"]));
    }

    #[test]
    fn stale_entries_come_with_evictions() {
        let policy = SessionPolicy { max_sessions_per_user: 1, ..default_policy() };
        let now = T0 + 100_000;
        let sessions = vec![live("fresh", now - 5, now - 5), live("dead", T0, T0)];
        assert_eq!(admit_session(&policy, sessions, now), admit(&["fresh"], &["dead"]));
    }

    #[test]
    fn refuse_at_the_limit_only() {
        let policy =
            SessionPolicy { max_sessions_per_user: 2, over_limit_action: OverLimitAction::Refuse, ..default_policy() };
        let one = vec![live("a", T0, T0)];
        assert_eq!(admit_session(&policy, one, T0 + 1), admit(&[], &[]));
        let two = vec![live("a", T0, T0), live("b", T0, T0)];
        assert_eq!(admit_session(&policy, two, T0 + 1), Admission::Refuse);
        // An expired entry does not count towards the limit.
        let two_one_dead = vec![live("a", T0, T0), live("b", T0 - 90_000, T0 - 90_000)];
        assert_eq!(admit_session(&policy, two_one_dead, T0 + 1), admit(&[], &["b"]));
    }

    #[test]
    fn zero_limit_evicts_everything_live() {
        let policy = SessionPolicy { max_sessions_per_user: 0, ..default_policy() };
        let sessions = vec![live("b", T0 + 1, T0 + 1), live("a", T0, T0)];
        assert_eq!(admit_session(&policy, sessions, T0 + 2), admit(&["a", "b"], &[]));
    }

    fn any_policy() -> impl Strategy<Value = SessionPolicy> {
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u32>(), any::<bool>(), any::<u64>()).prop_map(
            |(absolute, idle, interval, max, refuse, step_up)| SessionPolicy {
                absolute_lifetime: absolute,
                idle_timeout: idle,
                activity_write_interval: interval,
                max_sessions_per_user: max,
                over_limit_action: if refuse { OverLimitAction::Refuse } else { OverLimitAction::EvictOldest },
                step_up_validity: step_up,
                trusted_device_lifetime: 0,
            },
        )
    }

    proptest! {
        #[test]
        fn check_session_never_panics_and_expiry_is_consistent(
            policy in any_policy(),
            created_at in any::<u64>(),
            last_seen_at in any::<u64>(),
            auth_time in any::<u64>(),
            now in any::<u64>(),
        ) {
            let t = times(created_at, last_seen_at, auth_time);
            if let SessionStatus::Active(session) = check_session(&policy, &t, now) {
                prop_assert!(session.expires_at <= session.absolute_expires_at);
                prop_assert!(session.expires_at > now);
            }
        }

        #[test]
        fn clock_behind_the_last_activity_never_expires_a_valid_policy_session(
            created_at in 0u64..1u64 << 40,
            ahead in 0u64..1_000,
            behind in 0u64..1_000,
        ) {
            let policy = default_policy();
            let last_seen_at = created_at + ahead;
            let t = times(created_at, last_seen_at, created_at);
            let now = last_seen_at.saturating_sub(behind);
            let status = check_session(&policy, &t, now);
            prop_assert!(matches!(status, SessionStatus::Active(_)));
        }

        #[test]
        fn admit_session_never_panics_and_respects_the_limit(
            policy in any_policy(),
            entries in proptest::collection::vec((any::<u64>(), any::<u64>()), 0..12),
            now in any::<u64>(),
        ) {
            let sessions: Vec<LiveSession> = entries
                .iter()
                .enumerate()
                .map(|(i, (created, seen))| live(&format!("s{i}"), *created, *seen))
                .collect();
            let total = sessions.len();
            match admit_session(&policy, sessions, now) {
                Admission::Admit(plan) => {
                    let remaining = total - plan.stale.len() - plan.evict.len();
                    prop_assert!(
                        remaining < usize::try_from(policy.max_sessions_per_user).unwrap_or(usize::MAX)
                            || (policy.max_sessions_per_user == 0 && remaining == 0)
                    );
                }
                Admission::Refuse => prop_assert_eq!(policy.over_limit_action, OverLimitAction::Refuse),
            }
        }
    }
}
