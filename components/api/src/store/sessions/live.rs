//! Where live sessions are kept: one trait, implemented by the SQLite table ([`super::sqlite`]) and by Redis
//! ([`super::redis`]), chosen once when the store opens. Everything else about sessions is written once, over it
//! ([`super::lifecycle`]).

use super::records::Records;
use super::{Admitted, Session};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::store::error::StoreError;

/// A session to admit: the session, the policy it is admitted under, the time, and when it ends at the latest.
pub struct Admission<'a> {
    /// The new session.
    pub session: &'a Session,
    /// The policy (its cap and over-limit action, lifetime and idle timeout).
    pub policy: &'a SessionPolicy,
    /// Now.
    pub now: i64,
    /// The end of its absolute lifetime.
    pub expires_at: i64,
}

/// The live side of sessions.
pub trait LiveSessions {
    /// Records the session and admits it under the policy (evicting the oldest or refusing at the cap)
    /// atomically; stale and evicted sessions' records are ended on the way.
    fn admit(&self, records: &Records<'_>, admission: &Admission<'_>) -> Result<Admitted, StoreError>;

    /// The live session under storage key `key`, as stored (not yet checked against the policy).
    fn get(&self, records: &Records<'_>, key: &str) -> Result<Option<Session>, StoreError>;

    /// Writes a live session's last activity, `session.last_seen_at` (the record's is written besides).
    fn touch(&self, session: &Session) -> Result<(), StoreError>;

    /// Removes the live session under `key` of `user_id` (its record is ended besides).
    fn remove(&self, user_id: &str, key: &str) -> Result<(), StoreError>;

    /// Removes every live session of `user_id` (an erased account; its records are deleted besides).
    fn forget_user(&self, records: &Records<'_>, user_id: &str) -> Result<(), StoreError>;

    /// The storage keys of the user's live sessions, oldest first.
    fn keys_of(&self, records: &Records<'_>, user_id: &str) -> Result<Vec<String>, StoreError>;

    /// Drops the user's index entry for `key`, a session gone from the live store; whether its record is still to
    /// be ended (the live store dropped it by its own expiry).
    fn unindex(&self, user_id: &str, key: &str) -> Result<bool, StoreError>;

    /// Moves the live session `session` to `renewed`'s key and proof; false when it is gone.
    fn rename(&self, session: &Session, renewed: &Session) -> Result<bool, StoreError>;

    /// Checks that the live store answers.
    fn ping(&self) -> Result<(), StoreError>;
}
