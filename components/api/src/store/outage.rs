//! A Redis outage on the Redis + Postgres backend: noticing it, working on without Redis, and trusting Redis again
//! only once it holds the truth.
//!
//! - Redis is trusted for at most [`TRUST_SECONDS`] at a time: the marker `<prefix>m:trusted` lives that long.
//!   The first request that finds it gone (by expiry, or because Redis restarted) reconciles before anyone uses
//!   Redis again: it applies the repairs written while Redis was unreachable (`redis_repairs`: deletes the keys of
//!   sessions ended, rotated away, evicted or erased; puts back those created or rotated to, if still open), puts
//!   back every open session when Redis lost its data (`<prefix>m:populated2` is gone; so also after an upgrade
//!   from the sessions' first layout in Redis), copies the throttle counters counted in the database meanwhile
//!   into Redis where Redis has none, and sets the marker again. A session check reads the marker with the
//!   session in one round trip ([`Outage::first_read`]). While one request reconciles (`<prefix>m:reconciling`), others wait for it (up to 2 s, then they use the database
//!   for their request), so that no count is split between the two.
//! - A request whose Redis command fails (refused, broken, timed out by the host) records the outage in
//!   `redis_outages` and serves the rest of the request from the database: sessions from their records,
//!   counters from `throttle_counters`, and what Redis must be told afterwards in `redis_repairs`.
//! - So no session ended during an outage comes back through Redis, sessions created during it keep working, and
//!   counters are not reset. Bounded window: a revocation on an instance that cannot reach Redis, while another can,
//!   is seen by the other within [`TRUST_SECONDS`].

use std::cell::Cell;
use std::rc::Rc;

use super::counters::redis::RedisCounters;
use super::error::StoreError;
use super::redis::{Redis, int, text};
use super::sessions::records::Records;
use super::sessions::redis::RedisSessions;
use super::sql::{Db, DbError, SqlValue};

/// How long Redis is trusted before the next check for an outage to reconcile.
pub const TRUST_SECONDS: u64 = 2;

/// How long a reconciliation may hold its lock.
const RECONCILING_SECONDS: u64 = 10;

/// How often, and how many times, a request looks whether another one finished reconciling (2 s in all).
const RECONCILE_WAIT_MS: u64 = 10;
const RECONCILE_WAIT_ROUNDS: u32 = 200;

/// An outage whose last failure is this old is over.
const QUIET_SECONDS: i64 = 10;

/// What this request knows of Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    /// Not asked yet.
    Unknown,
    /// Usable for this request.
    Trusted,
    /// Not usable for this request (down, or being reconciled by another request).
    Avoided,
}

/// Redis' health for one request, and the outage's bookkeeping.
pub struct Outage {
    db: Rc<Db>,
    redis: Rc<Redis>,
    now: i64,
    health: Cell<Health>,
    fell_back: Cell<bool>,
}

impl Outage {
    /// The bookkeeping of a request at `now`.
    pub fn new(db: Rc<Db>, redis: Rc<Redis>, now: i64) -> Self {
        Self { db, redis, now, health: Cell::new(Health::Unknown), fell_back: Cell::new(false) }
    }

    /// The request's time.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Whether this request may use Redis (reconciling first when its trust ran out).
    pub fn redis_usable(&self, sessions: &RedisSessions, counters: &RedisCounters) -> bool {
        if self.health.get() == Health::Unknown {
            let health = match self.trust(sessions, counters) {
                Ok(health) => health,
                Err(error) => {
                    self.failed(&error);
                    Health::Avoided
                }
            };
            self.health.set(health);
        }
        self.health.get() == Health::Trusted
    }

    /// A request's first use of Redis folded into its trust check: `read` is one Redis command that answers `None`
    /// when the `trusted` marker is gone (or it cannot tell). When it answers, Redis is trusted for the rest of the
    /// request; when Redis fails it, the outage is recorded and the request avoids Redis. `None` (also once Redis'
    /// health is known) sends the caller the usual way, through [`Outage::redis_usable`].
    pub fn first_read<T>(&self, read: impl FnOnce() -> Result<Option<T>, StoreError>) -> Option<T> {
        if self.health.get() != Health::Unknown {
            return None;
        }
        match read() {
            Ok(Some(answer)) => {
                self.health.set(Health::Trusted);
                Some(answer)
            }
            Ok(None) => None,
            Err(error @ StoreError::Redis(_)) => {
                self.failed(&error);
                None
            }
            Err(_) => None,
        }
    }

    /// Whether this request served anything from the database because Redis failed it.
    pub fn fell_back(&self) -> bool {
        self.fell_back.get()
    }

    /// Redis failed this request with `error`: the outage is recorded, and the rest of the request avoids Redis.
    pub fn failed(&self, error: &StoreError) {
        self.health.set(Health::Avoided);
        if self.fell_back.replace(true) {
            return;
        }
        eprintln!("redis unavailable, serving from the database: {error}");
        let recorded = self.db.execute(
            "INSERT INTO redis_outages (id, started_at, last_failure_at) VALUES (1, $1, $1) \
             ON CONFLICT (id) DO UPDATE SET last_failure_at = excluded.last_failure_at",
            &[SqlValue::Int(self.now)],
        );
        let counted = self.db.execute(
            "INSERT INTO app_metrics (name, value) VALUES ('redis_fallbacks_total', 1) \
             ON CONFLICT (name) DO UPDATE SET value = app_metrics.value + 1",
            &[],
        );
        if let Err(error) = recorded.and(counted) {
            eprintln!("redis outage: not recorded: {error}");
        }
    }

    /// Records that the session under `key` of `user_id` must leave Redis before Redis is trusted again.
    pub fn tombstone(&self, user_id: &str, key: &str) -> Result<(), DbError> {
        self.repair(user_id, key, Repair::Delete)
    }

    /// Records that the session under `key` of `user_id` (created or rotated to while Redis was avoided) must be put
    /// into Redis before Redis is trusted again.
    pub fn restore_later(&self, user_id: &str, key: &str) -> Result<(), DbError> {
        self.repair(user_id, key, Repair::Restore)
    }

    /// Whether the session under `key` still waits to be put into Redis (its repair came after the reconciliation
    /// that let Redis be trusted again).
    pub fn restore_pending(&self, key: &str) -> Result<bool, DbError> {
        self.db.exists(
            "SELECT 1 FROM redis_repairs WHERE token_hash = $1 AND action = $2",
            &[SqlValue::Text(key.to_owned()), SqlValue::Text(Repair::Restore.as_str().to_owned())],
        )
    }

    /// The session under `key` was put into Redis: its restore is done.
    pub fn restored(&self, key: &str) -> Result<(), DbError> {
        self.db.execute(
            "DELETE FROM redis_repairs WHERE token_hash = $1 AND action = $2",
            &[SqlValue::Text(key.to_owned()), SqlValue::Text(Repair::Restore.as_str().to_owned())],
        )?;
        Ok(())
    }

    fn repair(&self, user_id: &str, key: &str, repair: Repair) -> Result<(), DbError> {
        self.db.execute(
            "INSERT INTO redis_repairs (token_hash, user_id, action, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (token_hash) DO UPDATE SET action = excluded.action, at = excluded.at",
            &[
                SqlValue::Text(key.to_owned()),
                SqlValue::Text(user_id.to_owned()),
                SqlValue::Text(repair.as_str().to_owned()),
                SqlValue::Int(self.now),
            ],
        )?;
        Ok(())
    }

    /// Whether Redis is trusted now, reconciling when its trust ran out.
    fn trust(&self, sessions: &RedisSessions, counters: &RedisCounters) -> Result<Health, StoreError> {
        if !self.redis.run("GET", &[text(&self.redis.marker_key("trusted"))])?.iter().all(is_nil) {
            return Ok(Health::Trusted);
        }
        let lock =
            [text(&self.redis.marker_key("reconciling")), text("1"), text("NX"), text("EX"), int(RECONCILING_SECONDS)];
        if self.redis.run("SET", &lock)?.iter().all(is_nil) {
            return self.await_reconciliation();
        }
        match self.reconcile(sessions, counters) {
            Ok(()) => {
                let trusted = self.redis.marker_key("trusted");
                self.redis.run("SET", &[text(&trusted), text("1"), text("EX"), int(TRUST_SECONDS)])?;
            }
            // The database is down: nothing can have been tombstoned meanwhile, and Redis is all there is. It is
            // used for this request without being marked trusted, so the next one tries to reconcile again.
            Err(StoreError::Db(error)) => eprintln!("redis: not reconciled, the database failed: {error}"),
            Err(error) => return Err(error),
        }
        self.redis.run("DEL", &[text(&self.redis.marker_key("reconciling"))])?;
        Ok(Health::Trusted)
    }

    /// Waits (a little) for the request reconciling Redis to mark it trusted: counting in both places at once would
    /// split the counts. If it takes too long, this request keeps to the database.
    fn await_reconciliation(&self) -> Result<Health, StoreError> {
        let trusted = self.redis.marker_key("trusted");
        for _ in 0..RECONCILE_WAIT_ROUNDS {
            std::thread::sleep(std::time::Duration::from_millis(RECONCILE_WAIT_MS));
            if !self.redis.run("GET", &[text(&trusted)])?.iter().all(is_nil) {
                return Ok(Health::Trusted);
            }
        }
        Ok(Health::Avoided)
    }

    /// Makes Redis hold the truth again (see the module docs).
    fn reconcile(&self, sessions: &RedisSessions, counters: &RedisCounters) -> Result<(), StoreError> {
        let expired = std::cell::RefCell::default();
        let records = Records { db: &self.db, expired: &expired };
        let repairs: Vec<(String, String, String, i64)> =
            self.db.rows("SELECT token_hash, user_id, action, at FROM redis_repairs ORDER BY at", &[])?;
        for (key, user_id, action, at) in &repairs {
            self.redis.run("DEL", &[text(&self.redis.session_key(key))])?;
            self.redis.run("ZREM", &[text(&self.redis.index_key(user_id)), text(key)])?;
            // A restore puts the session back only if the database still holds it open.
            if action == Repair::Restore.as_str()
                && let Some((session, expires_at)) = records.open_with_end(key, self.now)?
            {
                sessions.restore(&session, expires_at, self.now)?;
            }
            self.db.execute(
                "DELETE FROM redis_repairs WHERE token_hash = $1 AND at = $2",
                &[SqlValue::Text(key.clone()), SqlValue::Int(*at)],
            )?;
        }
        let outage: Option<(i64, i64)> =
            self.db.row("SELECT started_at, last_failure_at FROM redis_outages WHERE id = 1", &[])?;
        // Per layout of the sessions' keys: after an upgrade to a new layout, the sessions go back in it.
        let populated = self.redis.marker_key("populated2");
        if self.redis.run("GET", &[text(&populated)])?.iter().all(is_nil) {
            // Redis lost its data (or never had it, in this layout): every open session goes back.
            for (session, expires_at) in records.open_since(0, self.now)? {
                sessions.restore(&session, expires_at, self.now)?;
            }
            self.redis.run("SET", &[text(&populated), text("1")])?;
        }
        if outage.is_some() {
            let counted: Vec<(String, i64, i64, i64)> = self.db.rows(
                "SELECT key, first, second, expires_at FROM throttle_counters WHERE expires_at > $1",
                &[SqlValue::Int(self.now)],
            )?;
            for (key, first, second, expires_at) in counted {
                let pair = (u64::try_from(first).unwrap_or(0), u64::try_from(second).unwrap_or(0));
                counters.restore(&key, pair, u64::try_from(expires_at.saturating_sub(self.now)).unwrap_or(1))?;
            }
        }
        if let Some((_, last_failure_at)) = outage
            && last_failure_at < self.now.saturating_sub(QUIET_SECONDS)
        {
            self.db.execute(
                "DELETE FROM redis_outages WHERE id = 1 AND last_failure_at = $1",
                &[SqlValue::Int(last_failure_at)],
            )?;
            self.db.execute("DELETE FROM throttle_counters", &[])?;
        }
        Ok(())
    }

    /// When the outage in progress began, if one is (for `/readyz`).
    pub fn since(&self) -> Result<Option<i64>, DbError> {
        Ok(self.db.row::<(i64,)>("SELECT started_at FROM redis_outages WHERE id = 1", &[])?.map(|(at,)| at))
    }
}

/// What Redis must be told about one session key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// Delete it.
    Delete,
    /// Put it back from its record, if it is still open.
    Restore,
}

impl Repair {
    fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Restore => "restore",
        }
    }
}

fn is_nil(value: &spin_sdk::redis::RedisResult) -> bool {
    matches!(value, spin_sdk::redis::RedisResult::Nil)
}
