//! Live sessions on SQLite: the `user_sessions` records are the live store, so most operations are the records'
//! own. Admission runs in one `BEGIN IMMEDIATE` transaction (session-policy's `admit-session` decides), so parallel
//! logins cannot exceed the cap.

use super::live::{Admission, LiveSessions};
use super::records::Records;
use super::{Admitted, EndReason, Session};
use crate::bindings::mfa::session::sessions::{self as decide, LiveSession};
use crate::store::error::StoreError;

/// Live sessions kept in the records themselves.
pub struct SqliteSessions;

fn seconds(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl LiveSessions for SqliteSessions {
    fn admit(&self, records: &Records<'_>, admission: &Admission<'_>) -> Result<Admitted, StoreError> {
        let Admission { session, policy, now, expires_at } = *admission;
        let db = records.db;
        db.execute("BEGIN IMMEDIATE", &[])?;
        let result = (|| {
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
        })();
        match result {
            Ok(admitted) => {
                db.execute(if admitted == Admitted::Refused { "ROLLBACK" } else { "COMMIT" }, &[])?;
                Ok(admitted)
            }
            Err(error) => {
                let _ = db.execute("ROLLBACK", &[]);
                Err(error)
            }
        }
    }

    fn get(&self, records: &Records<'_>, key: &str) -> Result<Option<Session>, StoreError> {
        Ok(records.find_open(key)?)
    }

    fn touch(&self, _key: &str, _now: i64) -> Result<(), StoreError> {
        Ok(())
    }

    fn remove(&self, _user_id: &str, _key: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn forget_user(&self, _user_id: &str) -> Result<(), StoreError> {
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
