//! What happens to a session, written once for both backends over [`LiveSessions`]: admitted at login, found and
//! checked at each request (expired ones ended on the way), rotated to a new token, ended, listed.

use std::cell::RefCell;
use std::rc::Rc;

use super::live::{Admission, LiveSessions};
use super::records::Records;
use super::{Admitted, EndReason, Expired, Found, Session};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::sessions::{self as decide, SessionStatus, SessionTimes};
use crate::store::error::StoreError;
use crate::store::sql::Db;

/// The sessions of the configured backend.
pub struct Sessions {
    db: Rc<Db>,
    live: Box<dyn LiveSessions>,
    expired: RefCell<Vec<Expired>>,
}

fn seconds(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Sessions {
    /// Sessions recorded in `db`, live in `live`.
    pub fn new(db: Rc<Db>, live: Box<dyn LiveSessions>) -> Self {
        Self { db, live, expired: RefCell::default() }
    }

    fn records(&self) -> Records<'_> {
        Records { db: &self.db, expired: &self.expired }
    }

    /// The sessions found expired and ended since the last call (to record as events).
    pub fn take_expired(&self) -> Vec<Expired> {
        self.expired.take()
    }

    /// Checks that the live store answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.live.ping()
    }

    /// Records `session` and admits it under `policy` (evicting the oldest or refusing at the cap), atomically.
    pub fn admit(&self, session: &Session, policy: &SessionPolicy, now: i64) -> Result<Admitted, StoreError> {
        let expires_at = session.created_at.saturating_add(i64::try_from(policy.absolute_lifetime).unwrap_or(i64::MAX));
        self.live.admit(&self.records(), &Admission { session, policy, now, expires_at })
    }

    /// The live session with storage key `key`, checked against `policy` at `now`: an expired one is ended (and
    /// remembered as expired) and not returned; activity is written when session-policy says it is due.
    pub fn find(&self, key: &str, policy: &SessionPolicy, now: i64) -> Result<Found, StoreError> {
        self.check(key, policy, now, true)
    }

    /// As [`Sessions::find`], without counting as the session's activity (a refused request must not keep it
    /// alive, and listing the user's sessions must not keep the others alive).
    pub fn peek(&self, key: &str, policy: &SessionPolicy, now: i64) -> Result<Found, StoreError> {
        self.check(key, policy, now, false)
    }

    fn check(&self, key: &str, policy: &SessionPolicy, now: i64, record_activity: bool) -> Result<Found, StoreError> {
        let Some(mut session) = self.live.get(&self.records(), key)? else { return Ok(Found::Missing) };
        let times = SessionTimes {
            created_at: seconds(session.created_at),
            last_seen_at: seconds(session.last_seen_at),
            auth_time: seconds(session.auth_time),
        };
        let reason = match decide::check_session(*policy, times, seconds(now)) {
            SessionStatus::Active(active) => {
                if active.record_activity && record_activity {
                    session.last_seen_at = now;
                    self.live.touch(&session)?;
                    // The live store has the activity; a record that cannot be written now (the database is down
                    // while Redis answers) catches up at the next write.
                    if let Err(error) = self.records().touch(key, now) {
                        eprintln!("session activity not recorded: {error}");
                    }
                }
                return Ok(Found::Live(Box::new(session)));
            }
            SessionStatus::IdleExpired => EndReason::IdleExpired,
            SessionStatus::Expired => EndReason::Expired,
        };
        self.end(&session, reason, now)?;
        Ok(Found::Ended)
    }

    /// Ends `session` for `reason`: gone from the live store and recorded.
    pub fn end(&self, session: &Session, reason: EndReason, now: i64) -> Result<(), StoreError> {
        self.live.remove(&session.user_id, &session.key)?;
        Ok(self.records().end(&session.key, reason, now)?)
    }

    /// Ends, as revoked, every live session of the user but `keep` (a session id) that was established (or last
    /// stepped up) with second factor `factor_id`; their public ids.
    pub fn end_established_with(
        &self,
        user_id: &str,
        factor_id: &str,
        keep: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut ended = Vec::new();
        for (id, key) in self.records().established_with(user_id, factor_id, keep)? {
            self.live.remove(user_id, &key)?;
            self.records().end(&key, EndReason::Revoked, now)?;
            ended.push(id);
        }
        Ok(ended)
    }

    /// Removes every live session of `user_id` for an erased account (the records are deleted with the account).
    pub fn forget_live(&self, user_id: &str) -> Result<(), StoreError> {
        self.live.forget_user(&self.records(), user_id)
    }

    /// The user's live sessions, oldest first (expired ones are ended on the way, as [`Sessions::find`] does).
    pub fn list(&self, user_id: &str, policy: &SessionPolicy, now: i64) -> Result<Vec<Session>, StoreError> {
        let mut sessions = Vec::new();
        for key in self.live.keys_of(&self.records(), user_id)? {
            match self.peek(&key, policy, now)? {
                Found::Live(session) if session.user_id == user_id => sessions.push(*session),
                Found::Missing => {
                    if self.live.unindex(user_id, &key)? {
                        self.records().end(&key, EndReason::Expired, now)?;
                    }
                }
                Found::Live(_) | Found::Ended => {}
            }
        }
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(sessions)
    }

    /// Moves `session` to `renewed.key` (a new token): the old token stops working at once. The session keeps its
    /// id and times but takes `renewed`'s proof (`aal`, `method`, `factor_id`, `auth_time`): a refresh passes them
    /// unchanged, a step-up the new ones. [`StoreError::Ended`] when it ended meanwhile.
    pub fn rotate(&self, session: &Session, renewed: &Session) -> Result<(), StoreError> {
        if !self.live.rename(session, renewed)? || !self.records().rotate(&session.key, renewed)? {
            return Err(StoreError::Ended);
        }
        Ok(())
    }
}
