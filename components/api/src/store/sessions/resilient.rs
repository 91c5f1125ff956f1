//! Live sessions on the Redis + Postgres backend: in Redis while it is usable, from their database records when
//! it is not ([`crate::store::outage`]), so a Redis outage costs speed, not service. What the database does
//! meanwhile (sessions ended, rotated, evicted, created) is written down as repairs, applied to Redis before Redis
//! is trusted again. A session whose repair came after that is put back into Redis when asked for.

use std::rc::Rc;

use super::live::{Admission, LiveSessions};
use super::records::Records;
use super::redis::RedisSessions;
use super::sql::SqlSessions;
use super::{Admitted, Session};
use crate::store::counters::redis::RedisCounters;
use crate::store::error::StoreError;
use crate::store::outage::Outage;

/// Live sessions in Redis, falling back to the records.
pub struct ResilientSessions {
    redis: RedisSessions,
    /// Used only to run the reconciliation that Redis counters need too.
    counters: Rc<RedisCounters>,
    outage: Rc<Outage>,
}

impl ResilientSessions {
    /// Sessions in `redis` with `outage`'s bookkeeping (`counters` is reconciled with them).
    pub fn new(redis: RedisSessions, counters: Rc<RedisCounters>, outage: Rc<Outage>) -> Self {
        Self { redis, counters, outage }
    }

    /// Runs `on_redis` when Redis is usable; when it is not, or fails, `on_records`.
    fn either<T>(
        &self,
        on_redis: impl FnOnce(&RedisSessions) -> Result<T, StoreError>,
        on_records: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.outage.redis_usable(&self.redis, &self.counters) {
            match on_redis(&self.redis) {
                Err(error @ StoreError::Redis(_)) => self.outage.failed(&error),
                answer => return answer,
            }
        }
        on_records()
    }
}

impl LiveSessions for ResilientSessions {
    fn admit(&self, records: &Records<'_>, admission: &Admission<'_>) -> Result<Admitted, StoreError> {
        self.either(
            |redis| redis.admit(records, admission),
            || {
                let admitted = SqlSessions.admit(records, admission)?;
                if let Admitted::Created { evicted } = &admitted {
                    let user_id = &admission.session.user_id;
                    for key in evicted {
                        self.outage.tombstone(user_id, key)?;
                    }
                    self.outage.restore_later(user_id, &admission.session.key)?;
                }
                Ok(admitted)
            },
        )
    }

    fn get(&self, records: &Records<'_>, key: &str) -> Result<Option<Session>, StoreError> {
        // Usually one round trip: the trust check and the read together.
        let found = match self.outage.first_read(|| self.redis.get_if_trusted(key)) {
            Some(found) => (found, true),
            None => self.either(
                |redis| redis.get(records, key).map(|found| (found, true)),
                || SqlSessions.get(records, key).map(|found| (found, false)),
            )?,
        };
        match found {
            (Some(session), _) => Ok(Some(session)),
            // Not in Redis, but still to be put back (created or rotated to by a request that could not reach
            // Redis, as Redis came back: its repair came after the reconciliation that let Redis be trusted again):
            // from its record, if that is still open. Only then: a session merely missing from Redis was rotated
            // away, evicted or ended a moment ago, and its record may not say so yet.
            (None, true) => {
                if !self.outage.restore_pending(key)? {
                    return Ok(None);
                }
                let Some((session, expires_at)) = records.open_with_end(key, self.outage.now())? else {
                    return Ok(None);
                };
                match self.redis.restore(&session, expires_at, self.outage.now()) {
                    Ok(()) => self.outage.restored(key)?,
                    Err(error) => self.outage.failed(&error),
                }
                Ok(Some(session))
            }
            (None, false) => Ok(None),
        }
    }

    fn touch(&self, session: &Session) -> Result<(), StoreError> {
        self.either(|redis| redis.touch(session), || Ok(()))
    }

    fn remove(&self, user_id: &str, key: &str) -> Result<(), StoreError> {
        self.either(|redis| redis.remove(user_id, key), || Ok(self.outage.tombstone(user_id, key)?))
    }

    fn forget_user(&self, records: &Records<'_>, user_id: &str) -> Result<(), StoreError> {
        self.either(
            |redis| redis.forget_user(records, user_id),
            || {
                for key in records.open_keys(user_id)? {
                    self.outage.tombstone(user_id, &key)?;
                }
                Ok(())
            },
        )
    }

    fn keys_of(&self, records: &Records<'_>, user_id: &str) -> Result<Vec<String>, StoreError> {
        self.either(|redis| redis.keys_of(records, user_id), || SqlSessions.keys_of(records, user_id))
    }

    fn unindex(&self, user_id: &str, key: &str) -> Result<bool, StoreError> {
        self.either(|redis| redis.unindex(user_id, key), || SqlSessions.unindex(user_id, key))
    }

    fn rename(&self, session: &Session, renewed: &Session) -> Result<bool, StoreError> {
        self.either(
            |redis| redis.rename(session, renewed),
            || {
                self.outage.tombstone(&session.user_id, &session.key)?;
                self.outage.restore_later(&session.user_id, &renewed.key)?;
                Ok(true)
            },
        )
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.redis.ping()
    }
}
