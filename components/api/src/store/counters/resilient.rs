//! Counters on the Redis + Postgres backend: in Redis while it is usable, in the database when it is not
//! ([`crate::store::outage`]: what the database counted is copied into Redis when Redis is trusted again). The
//! metrics are the sum of both.

use std::rc::Rc;

use super::redis::RedisCounters;
use super::sql::SqlCounters;
use super::{Counters, Swap, Values};
use crate::store::error::StoreError;
use crate::store::outage::Outage;
use crate::store::sessions::redis::RedisSessions;

/// Counters in Redis, falling back to the database.
pub struct ResilientCounters {
    redis: Rc<RedisCounters>,
    sql: SqlCounters,
    /// Used only to run the reconciliation that Redis sessions need too.
    sessions: RedisSessions,
    outage: Rc<Outage>,
}

impl ResilientCounters {
    /// Counters in `redis`, else in `sql`, with `outage`'s bookkeeping (`sessions` is reconciled with them).
    pub fn new(redis: Rc<RedisCounters>, sql: SqlCounters, sessions: RedisSessions, outage: Rc<Outage>) -> Self {
        Self { redis, sql, sessions, outage }
    }

    /// Runs `on_redis` when Redis is usable; when it is not, or fails, `on_sql`.
    fn either<T>(
        &self,
        on_redis: impl FnOnce(&RedisCounters) -> Result<T, StoreError>,
        on_sql: impl FnOnce(&SqlCounters) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.outage.redis_usable(&self.sessions, &self.redis) {
            match on_redis(&self.redis) {
                Err(error @ StoreError::Redis(_)) => self.outage.failed(&error),
                answer => return answer,
            }
        }
        on_sql(&self.sql)
    }
}

impl Counters for ResilientCounters {
    fn read(&self, keys: &[String], now: i64) -> Result<Values, StoreError> {
        self.either(|redis| redis.read(keys, now), |sql| sql.read(keys, now))
    }

    fn swap(&self, swap: &Swap<'_>) -> Result<Option<Values>, StoreError> {
        self.either(|redis| redis.swap(swap), |sql| sql.swap(swap))
    }

    fn count(&self, series: &[String]) -> Result<(), StoreError> {
        self.either(|redis| redis.count(series), |sql| sql.count(series))
    }

    fn metrics(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut counts = self.sql.metrics()?;
        if let Ok(in_redis) = self.either(|redis| redis.metrics().map(Some), |_| Ok(None))
            && let Some(in_redis) = in_redis
        {
            for (name, value) in in_redis {
                match counts.iter_mut().find(|(known, _)| *known == name) {
                    Some((_, total)) => *total = total.saturating_add(value),
                    None => counts.push((name, value)),
                }
            }
        }
        counts.sort();
        Ok(counts)
    }
}
