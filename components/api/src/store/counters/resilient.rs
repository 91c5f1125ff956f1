//! Counters on the Redis + Postgres backend: in Redis while it is usable, in the database when it is not
//! ([`crate::store::outage`]: what the database counted is copied into Redis when Redis is trusted again).
//!
//! The metrics the other way round: in the database, in Redis only when the database cannot take a count (a
//! security event that could not be written often means the database fails), and each read of the metrics moves
//! what Redis holds into the database. So a Redis outage hides nothing the database could count, and a series never
//! goes down between two reads (Prometheus would take that for a reset); the one count that can hide is one Redis
//! took during a database failure and that no read has moved yet when Redis fails in turn.

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
        match self.sql.count(series) {
            Err(error) => self.either(|redis| redis.count(series), |_| Err(error)),
            counted => counted,
        }
    }

    /// The database's counts plus what Redis holds, which moves into the database (added there and taken from Redis
    /// as one step of the read's transaction: undone if either half fails, the answer the same either way). Reads
    /// hold one lock, so two instances never move the same counts twice, nor answer in between.
    fn metrics(&self) -> Result<Vec<(String, i64)>, StoreError> {
        // Whether Redis may be used is settled first: an outage it finds is recorded in transactions of its own.
        let usable = self.either(|_| Ok(true), |_| Ok(false))?;
        self.sql.with_metrics_locked(|db| {
            let mut counts = self.sql.metrics()?;
            let in_redis = if usable { self.redis.metrics().unwrap_or_default() } else { Vec::new() };
            let in_redis: Vec<(String, i64)> = in_redis.into_iter().filter(|(_, value)| *value != 0).collect();
            if !in_redis.is_empty() {
                let moved = db.step(|| {
                    self.sql.add(&in_redis)?;
                    self.redis.take(&in_redis)
                });
                if let Err(error) = moved {
                    eprintln!("metrics: what Redis counted stays there for now: {error}");
                }
            }
            for (name, value) in in_redis {
                match counts.iter_mut().find(|(known, _)| *known == name) {
                    Some((_, total)) => *total = total.saturating_add(value),
                    None => counts.push((name, value)),
                }
            }
            counts.sort();
            Ok(counts)
        })
    }
}
