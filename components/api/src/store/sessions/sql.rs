//! Live sessions in the database: the `user_sessions` records are the live store, so most operations are the
//! records' own. The SQLite backend's live sessions, and the Redis + Postgres backend's while Redis is unreachable.
//! Admission runs in one transaction that serialises the user's admissions (SQLite's `BEGIN IMMEDIATE`; on
//! Postgres an advisory lock on the user), and session-policy's `admit-session` decides, so parallel logins cannot
//! exceed the cap.

use super::live::{Admission, LiveSessions};
use super::records::Records;
use super::{Admitted, EndReason, Session};
use crate::bindings::mfa::session::sessions::{self as decide, LiveSession};
use crate::store::error::StoreError;
use crate::store::sql::SqlValue;
use sha2::{Digest, Sha256};

/// Live sessions kept in the records themselves.
pub struct SqlSessions;

/// The advisory lock key of `user_id`'s admissions on Postgres: the first 8 bytes of a digest of the id.
fn user_lock(user_id: &str) -> i64 {
    let digest = Sha256::new().chain_update(b"mfa session admission\0").chain_update(user_id.as_bytes()).finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    i64::from_be_bytes(bytes)
}

fn seconds(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl LiveSessions for SqlSessions {
    fn admit(&self, records: &Records<'_>, admission: &Admission<'_>) -> Result<Admitted, StoreError> {
        let Admission { session, policy, now, expires_at } = *admission;
        let db = records.db;
        db.transaction(|| {
            if db.is_postgres() {
                db.query("SELECT pg_advisory_xact_lock($1)::text", &[SqlValue::Int(user_lock(&session.user_id))])?;
            }
            let live: Vec<LiveSession> = records
                .open_times(&session.user_id)?
                .into_iter()
                .map(|(id, created, seen)| LiveSession {
                    id,
                    created_at: seconds(created),
                    last_seen_at: seconds(seen),
                })
                .collect();
            match decide::admit_session(*policy, &live, seconds(now)) {
                decide::Admission::Refuse => Ok(Admitted::Refused),
                decide::Admission::Admit(plan) => {
                    for key in &plan.stale {
                        records.end(key, EndReason::Expired, now)?;
                    }
                    for key in &plan.evict {
                        records.end(key, EndReason::Evicted, now)?;
                    }
                    records.insert(session, expires_at)?;
                    Ok(Admitted::Created { evicted: plan.evict })
                }
            }
        })
    }

    fn get(&self, records: &Records<'_>, key: &str) -> Result<Option<Session>, StoreError> {
        Ok(records.find_open(key)?)
    }

    fn touch(&self, _session: &Session) -> Result<(), StoreError> {
        Ok(())
    }

    fn remove(&self, _user_id: &str, _key: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn forget_user(&self, _records: &Records<'_>, _user_id: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn keys_of(&self, records: &Records<'_>, user_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(records.open_keys(user_id)?)
    }

    fn unindex(&self, _user_id: &str, _key: &str) -> Result<bool, StoreError> {
        Ok(false)
    }

    fn rename(&self, _session: &Session, _renewed: &Session) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
