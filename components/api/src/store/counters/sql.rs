//! Counters in the database: throttle counters in the `throttle_counters` table, metrics in `app_metrics`. The
//! SQLite backend's counters, and the Redis + Postgres backend's while Redis is unreachable. A swap runs in one
//! transaction that serialises writers (SQLite's `BEGIN IMMEDIATE`; on Postgres an advisory lock), in at most five
//! statements: a writer holds the lock meanwhile.

use std::rc::Rc;

use super::{Counters, Pair, Swap, Values, Write};
use crate::store::error::StoreError;
use crate::store::sql::{Db, SqlValue, placeholders};

/// The advisory lock counter swaps hold on Postgres ("mfa-cntr").
const LOCK_KEY: i64 = 0x6d66_612d_636e_7472;

/// The advisory lock a read of the metrics holds on Postgres ("mfa-metr"), so one instance at a time moves what
/// Redis counted into the database ([`crate::store::counters::resilient`]).
const METRICS_LOCK_KEY: i64 = 0x6d66_612d_6d65_7472;

/// Counters in the database.
pub struct SqlCounters {
    db: Rc<Db>,
}

impl SqlCounters {
    /// Counters in `db`.
    pub fn new(db: Rc<Db>) -> Self {
        Self { db }
    }

    /// Adds `amounts` (series, amount) to the metrics.
    pub fn add(&self, amounts: &[(String, i64)]) -> Result<(), StoreError> {
        for (name, amount) in amounts {
            self.db.execute(
                "INSERT INTO app_metrics (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = app_metrics.value + excluded.value",
                &[SqlValue::Text(name.clone()), SqlValue::Int(*amount)],
            )?;
        }
        Ok(())
    }

    /// Runs `work` in one transaction holding the metrics' lock (on Postgres; SQLite's transaction is lock enough):
    /// one reader of the metrics at a time. Its steps ([`Db::step`]) may fail without failing it.
    pub fn with_metrics_locked<T>(&self, work: impl FnOnce(&Db) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.db.transaction(|| {
            if self.db.is_postgres() {
                self.db.query("SELECT pg_advisory_xact_lock($1)::text", &[SqlValue::Int(METRICS_LOCK_KEY)])?;
            }
            work(&self.db)
        })
    }

    /// Writes `writes` to `keys` in at most two statements (the forgotten ones and the expired go in one, the rest
    /// in one upsert).
    fn write(&self, keys: &[String], writes: &[Write], now: i64) -> Result<(), StoreError> {
        let int = |value: u64| SqlValue::Int(i64::try_from(value).unwrap_or(i64::MAX));
        let forgotten: Vec<SqlValue> = keys
            .iter()
            .zip(writes)
            .filter(|(_, write)| write.is_none())
            .map(|(key, _)| SqlValue::Text(key.clone()))
            .collect();
        let sweep = if forgotten.is_empty() {
            "DELETE FROM throttle_counters WHERE expires_at <= $1".to_owned()
        } else {
            format!(
                "DELETE FROM throttle_counters WHERE expires_at <= $1 OR key IN ({})",
                placeholders(2, forgotten.len())
            )
        };
        let mut params = vec![SqlValue::Int(now)];
        params.extend(forgotten);
        self.db.execute(&sweep, &params)?;
        let kept: Vec<(&String, Pair, u64)> =
            keys.iter().zip(writes).filter_map(|(key, write)| write.map(|(pair, ttl)| (key, pair, ttl))).collect();
        if kept.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::new();
        let mut params = Vec::new();
        for (key, (first, second), ttl) in kept {
            let n = params.len();
            rows.push(format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
            let expires_at = now.saturating_add(i64::try_from(ttl.max(1)).unwrap_or(i64::MAX));
            params.extend([SqlValue::Text(key.clone()), int(first), int(second), SqlValue::Int(expires_at)]);
        }
        self.db.execute(
            &format!(
                "INSERT INTO throttle_counters (key, first, second, expires_at) VALUES {} ON CONFLICT (key) DO \
                 UPDATE SET first = excluded.first, second = excluded.second, expires_at = excluded.expires_at",
                rows.join(", ")
            ),
            &params,
        )?;
        Ok(())
    }
}

impl Counters for SqlCounters {
    fn read(&self, keys: &[String], now: i64) -> Result<Values, StoreError> {
        let mut params = vec![SqlValue::Int(now)];
        params.extend(keys.iter().cloned().map(SqlValue::Text));
        let found: Vec<(String, i64, i64)> = self.db.rows(
            &format!(
                "SELECT key, first, second FROM throttle_counters WHERE expires_at > $1 AND key IN ({})",
                placeholders(2, keys.len())
            ),
            &params,
        )?;
        let pair = |first: i64, second: i64| Some((u64::try_from(first).ok()?, u64::try_from(second).ok()?));
        Ok(keys
            .iter()
            .map(|key| found.iter().find(|(k, _, _)| k == key).and_then(|(_, first, second)| pair(*first, *second)))
            .collect())
    }

    fn swap(&self, swap: &Swap<'_>) -> Result<Option<Values>, StoreError> {
        let Swap { keys, expected, writes, now } = *swap;
        self.db.transaction(|| {
            if self.db.is_postgres() {
                self.db.query("SELECT pg_advisory_xact_lock($1)::text", &[SqlValue::Int(LOCK_KEY)])?;
            }
            let current = self.read(keys, now)?;
            if current != expected {
                return Ok(Some(current));
            }
            self.write(keys, writes, now)?;
            Ok(None)
        })
    }

    fn count(&self, series: &[String]) -> Result<(), StoreError> {
        self.add(&series.iter().map(|name| (name.clone(), 1)).collect::<Vec<_>>())
    }

    fn metrics(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut counts: Vec<(String, i64)> = self.db.rows("SELECT name, value FROM app_metrics", &[])?;
        counts.sort();
        Ok(counts)
    }
}
