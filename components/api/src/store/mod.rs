//! Storage: the only place with SQL text, Redis commands and Lua. [`Store`] opens the configured backend once per
//! request and hands out its parts: the database ([`sql::Db`], over SQLite or Postgres), the sessions
//! ([`sessions`]) and the counters ([`counters`]), whose live sides are one SQLite and one Redis implementation of
//! a trait each, chosen here and nowhere else.
//!
//! The other files are the tables, one each, as functions over [`sql::Db`] with typed rows: accounts ([`users`]),
//! second factors ([`factors`], [`phones`], [`backup_codes`], [`sms_codes`], [`lockout`]), login challenges
//! ([`challenges`]), devices ([`devices`], [`trusted_devices`]), the security-event chain ([`events`]), the user's
//! own data ([`privacy`]) and the schema ([`migrate`]).

pub mod backup_codes;
pub mod challenges;
pub mod counters;
pub mod devices;
pub mod error;
pub mod events;
pub mod factors;
pub mod lockout;
pub mod migrate;
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
use self::counters::sqlite::SqliteCounters;
use self::redis::Redis;
use self::sessions::lifecycle::Sessions;
use self::sessions::redis::RedisSessions;
use self::sessions::sqlite::SqliteSessions;
use self::sql::Db;
use crate::config::storage::Storage;

/// The stores of the configured backend.
pub struct Store {
    db: Rc<Db>,
    sessions: Sessions,
    counters: Box<dyn Counters>,
}

impl Store {
    /// The stores of `storage` (each connected at its first use).
    pub fn open(storage: &Storage) -> Self {
        match storage {
            Storage::Sqlite => {
                let db = Rc::new(Db::sqlite());
                Self {
                    sessions: Sessions::new(db.clone(), Box::new(SqliteSessions)),
                    counters: Box::new(SqliteCounters::new(db.clone())),
                    db,
                }
            }
            Storage::RedisPostgres { postgres, redis_url, redis_prefix } => {
                let db = Rc::new(Db::postgres(postgres.connection_string()));
                let redis = Rc::new(Redis::new(redis_url.clone(), redis_prefix.clone()));
                Self {
                    sessions: Sessions::new(db.clone(), Box::new(RedisSessions::new(redis.clone()))),
                    counters: Box::new(RedisCounters::new(redis)),
                    db,
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
}
