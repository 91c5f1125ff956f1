//! Storage: the only place with SQL text, Redis commands and Lua. [`Store`] opens the configured backend once per
//! request and hands out its parts: the database ([`sql::Db`], over SQLite or Postgres), the sessions ([`sessions`])
//! and the counters ([`counters`]), whose live sides are a trait each, implemented in the database (SQLite's backend)
//! and in Redis falling back to the database during a Redis outage ([`outage`]), chosen here and nowhere else.
//!
//! The other files are the tables, one each, as functions over [`sql::Db`] with typed rows: accounts ([`users`]),
//! second factors ([`factors`], [`phones`], [`passkeys`], [`backup_codes`], [`sms_codes`], [`lockout`]), login
//! challenges ([`challenges`]), consents ([`consents`]), devices ([`devices`], [`trusted_devices`]), the security-event
//! chain ([`events`]), the user's own data ([`privacy`]) and the schema ([`migrate`]).

pub mod backup_codes;
pub mod challenges;
pub mod consents;
pub mod counters;
pub mod devices;
pub mod error;
pub mod events;
pub mod factors;
pub mod lockout;
pub mod migrate;
pub mod outage;
pub mod passkeys;
pub mod phones;
pub mod privacy;
pub mod redis;
pub mod sessions;
pub mod sms_codes;
pub mod sql;
pub mod trusted_devices;
pub mod users;

use std::rc::Rc;

use self::counters::Counters;
use self::counters::redis::RedisCounters;
use self::counters::resilient::ResilientCounters;
use self::counters::sql::SqlCounters;
use self::outage::Outage;
use self::redis::Redis;
use self::sessions::lifecycle::Sessions;
use self::sessions::redis::RedisSessions;
use self::sessions::resilient::ResilientSessions;
use self::sessions::sql::SqlSessions;
use self::sql::Db;
use crate::config::storage::Storage;

/// The stores of the configured backend.
pub struct Store {
    db: Rc<Db>,
    sessions: Sessions,
    counters: Box<dyn Counters>,
    outage: Option<Rc<Outage>>,
}

impl Store {
    /// The stores of `storage` for a request at `now` (each connected at its first use).
    pub fn open(storage: &Storage, now: i64) -> Self {
        match storage {
            Storage::Sqlite => {
                let db = Rc::new(Db::sqlite());
                Self {
                    sessions: Sessions::new(db.clone(), Box::new(SqlSessions)),
                    counters: Box::new(SqlCounters::new(db.clone())),
                    db,
                    outage: None,
                }
            }
            Storage::RedisPostgres { postgres, redis_url, redis_prefix } => {
                let db = Rc::new(Db::postgres(postgres.connection_string()));
                let redis = Rc::new(Redis::new(redis_url.clone(), redis_prefix.clone()));
                let outage = Rc::new(Outage::new(db.clone(), redis.clone(), now));
                let redis_counters = Rc::new(RedisCounters::new(redis.clone()));
                let live =
                    ResilientSessions::new(RedisSessions::new(redis.clone()), redis_counters.clone(), outage.clone());
                let counters = ResilientCounters::new(
                    redis_counters,
                    SqlCounters::new(db.clone()),
                    RedisSessions::new(redis),
                    outage.clone(),
                );
                Self {
                    sessions: Sessions::new(db.clone(), Box::new(live)),
                    counters: Box::new(counters),
                    db,
                    outage: Some(outage),
                }
            }
        }
    }

    /// The durable database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The counters.
    pub fn counters(&self) -> &dyn Counters {
        &*self.counters
    }

    /// The Redis outage bookkeeping, on the Redis + Postgres backend.
    pub fn outage(&self) -> Option<&Outage> {
        self.outage.as_deref()
    }
}
