//! Session records and the two stores they live in.
//!
//! - `sqlite`: the `user_sessions` table is the live store. Creating a session runs in one `BEGIN IMMEDIATE`
//!   transaction: the user's live sessions are read, session-policy's `admit-session` decides what to evict (or to
//!   refuse), and the evictions and the insert are written before `COMMIT`, so parallel logins cannot exceed the cap.
//! - `redis-postgres`: the live session is a Redis hash under `mfa:s:<SHA-256 of the token>` (never the token)
//!   whose TTL is the absolute lifetime, indexed per user in the sorted set `mfa:u:<user id>:s` (`mfa:` is the default [`Redis`] key prefix) (score = creation
//!   time). Creation is one Lua script ([`ADMIT_SCRIPT`]) that drops stale entries, evicts the oldest (or refuses)
//!   and writes the new session atomically; it returns a flat array (`1`, evicted keys...) or `0`, as Spin's
//!   `execute` flattens replies. Every session is also recorded in Postgres' `user_sessions`, BEFORE it enters
//!   Redis (so a parallel login that evicts it always finds the record to end), and evictions and endings are
//!   written there in the same request.
//!
//! Sessions found expired on the way (idle or past their lifetime, or gone from Redis by its TTL) are ended and
//! remembered by the [`Store`] until [`Store::take_expired`], so the request that noticed records them as events.
//!
//! Validity (absolute and idle expiry, when to write activity) is session-policy's `check-session`.

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

use crate::bindings::mfa::session::policy::{OverLimitAction, SessionPolicy};
use crate::bindings::mfa::session::sessions::{self as decide, Admission, LiveSession, SessionStatus, SessionTimes};
use crate::config::{self, Backend, Lookup};
use crate::sql::{Db, DbError, SqlValue};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The storage key: SHA-256 of the token, hex (session-policy's `storage-key`).
    pub key: String,
    /// The public id (shown in lists, used to revoke one).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// Authentication assurance level: 1 password, 2 with a second factor.
    pub aal: i64,
    /// How it was established, or last stepped up (`password`, `totp`, `sms`, `backup_code`, `trusted_device`).
    pub method: String,
    /// The second factor (authenticator or phone id) it was established or last stepped up with; empty for none.
    pub factor_id: String,
    /// When the user last proved who they are.
    pub auth_time: i64,
    /// Created at.
    pub created_at: i64,
    /// Last activity written.
    pub last_seen_at: i64,
    /// The client address at creation.
    pub ip: String,
    /// The user agent at creation.
    pub user_agent: String,
    /// SHA-256 of the device cookie's id at creation.
    pub device_hash: String,
    /// A readable name of the device ("Firefox on Linux").
    pub device_label: String,
    /// The login's risk signals, comma separated (`new_device,new_ip`; empty: none).
    pub risk: String,
}

/// Why an operation on sessions failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(String),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The session ended (logout, revocation, another rotation) while this request was using it.
    #[error("the session has ended")]
    Ended,
    /// Counters kept changing under this request: too many parallel writers.
    #[error("the counters are too contended to update")]
    Contended,
}

/// The outcome of admitting a new session.
#[derive(Debug, PartialEq, Eq)]
pub enum Admitted {
    /// Created; these sessions (storage keys) were evicted to make room.
    Created {
        /// Evicted storage keys.
        evicted: Vec<String>,
    },
    /// The user is at the limit and the policy refuses.
    Refused,
}

/// A session this request found expired and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// Whose.
    pub user_id: String,
    /// Its public id.
    pub session_id: String,
    /// `expired` or `idle_expired`.
    pub reason: &'static str,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// A live session (boxed: the other variants carry nothing).
    Live(Box<Session>),
    /// A session that had just expired, now ended (and remembered for [`Store::take_expired`]).
    Ended,
    /// Nothing under that key.
    Missing,
}

/// Redis, with every key under the app's prefix (the `redis_key_prefix` variable, `mfa:` by default): sessions
/// at `<prefix>s:<storage key>`, a user's index at `<prefix>u:<user id>:s`, throttle counters at `<prefix>t:<key>`.
pub struct Redis {
    connection: Connection,
    prefix: String,
}

impl Redis {
    /// Runs one command.
    pub fn execute(
        &self,
        command: &str,
        arguments: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, spin_sdk::redis::Error> {
        self.connection.execute(command, arguments)
    }

    /// The key of a session.
    pub fn session_key(&self, storage_key: &str) -> String {
        format!("{}s:{storage_key}", self.prefix)
    }

    /// The storage key inside a session's Redis key (the key itself if it is not one).
    pub fn storage_key_of<'a>(&self, redis_key: &'a str) -> &'a str {
        redis_key.strip_prefix(&self.prefix).and_then(|rest| rest.strip_prefix("s:")).unwrap_or(redis_key)
    }

    /// The key of a user's session index.
    pub fn index_key(&self, user_id: &str) -> String {
        format!("{}u:{user_id}:s", self.prefix)
    }

    /// The key of a throttle counter.
    pub fn counter_key(&self, key: &str) -> String {
        format!("{}t:{key}", self.prefix)
    }

    /// The key of the app's own counters ([`crate::app_metrics`]).
    pub fn metrics_key(&self) -> String {
        format!("{}metrics", self.prefix)
    }
}

/// Admits a session atomically (KEYS: index, session; ARGV: now, cap, refuse 0/1, ttl, idle timeout, then the
/// session's field/value pairs). Returns `{0}` when refused, else `{1, number evicted, evicted keys..., stale
/// keys...}` (stale: expired or idle-expired entries cleaned up on the way).
pub const ADMIT_SCRIPT: &str = r"
local now, cap, refuse, ttl, idle = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local live, stale = {}, {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local last = redis.call('HGET', member, 'last_seen_at')
  if last and tonumber(last) + idle > now then
    table.insert(live, member)
  else
    table.insert(stale, member)
    redis.call('DEL', member)
    redis.call('ZREM', KEYS[1], member)
  end
end
local evicted = {}
if #live >= cap then
  if refuse == '1' then return {0} end
  for i = 1, #live - cap + 1 do
    table.insert(evicted, live[i])
    redis.call('DEL', live[i])
    redis.call('ZREM', KEYS[1], live[i])
  end
end
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[1], now, KEYS[2])
redis.call('EXPIRE', KEYS[1], ttl)
local reply = {1, #evicted}
for _, key in ipairs(evicted) do table.insert(reply, key) end
for _, key in ipairs(stale) do table.insert(reply, key) end
return reply
";

/// Writes a session's last activity only while the session still exists (KEYS: session; ARGV: time), so a
/// request racing a logout or rotation cannot bring back a deleted key.
pub const TOUCH_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[1]) end
return {1}
";

fn u64_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn text(value: &str) -> RedisParameter {
    RedisParameter::Binary(value.as_bytes().to_vec())
}

fn redis_error(error: impl std::fmt::Debug) -> StoreError {
    StoreError::Redis(format!("{error:?}"))
}

/// The stores of the configured backend.
pub struct Store {
    db: Db,
    redis: Option<Redis>,
    expired: std::cell::RefCell<Vec<Expired>>,
}

impl Store {
    /// Opens the configured backend.
    pub fn open(get: Lookup<'_>) -> Result<Self, StoreError> {
        let db = Db::open(get)?;
        let redis = match config::backend(get)? {
            Backend::Sqlite => None,
            Backend::RedisPostgres => Some(Redis {
                connection: Connection::open(&config::redis_url(get)?).map_err(redis_error)?,
                prefix: config::redis_key_prefix(get)?,
            }),
        };
        Ok(Self { db, redis, expired: std::cell::RefCell::default() })
    }

    /// The sessions this store found expired and ended since the last call (to record as events).
    pub fn take_expired(&self) -> Vec<Expired> {
        self.expired.take()
    }

    /// Checks that Redis (when used) answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        if let Some(redis) = &self.redis {
            redis.execute("PING", &[]).map_err(redis_error)?;
        }
        Ok(())
    }

    /// The durable database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Redis, on the `redis-postgres` backend.
    pub fn redis(&self) -> Option<&Redis> {
        self.redis.as_ref()
    }

    /// Records `session` and admits it under `policy` (evicting the oldest or refusing at the cap), atomically.
    pub fn admit(&self, session: &Session, policy: &SessionPolicy, now: i64) -> Result<Admitted, StoreError> {
        let expires_at = session.created_at.saturating_add(i64::try_from(policy.absolute_lifetime).unwrap_or(i64::MAX));
        match &self.redis {
            None => self.admit_sqlite(session, policy, now, expires_at),
            Some(redis) => {
                // The durable record first: whoever evicts this session from Redis then finds it to end.
                self.insert_record(session, expires_at)?;
                let (admitted, stale) = match admit_redis(redis, session, policy, now) {
                    Ok(decided) => decided,
                    Err(error) => {
                        let _ = self.delete_record(&session.key);
                        return Err(error);
                    }
                };
                let Admitted::Created { evicted } = &admitted else {
                    self.delete_record(&session.key)?;
                    return Ok(admitted);
                };
                let recorded = (|| {
                    for key in &stale {
                        self.end_record(key, "expired", now)?;
                    }
                    for key in evicted {
                        self.end_record(key, "evicted", now)?;
                    }
                    // An erasure of the account racing this login deletes the record: the session must not outlive it.
                    if self
                        .db
                        .query(
                            "SELECT 1 FROM user_sessions WHERE token_hash = $1",
                            &[SqlValue::Text(session.key.clone())],
                        )?
                        .is_empty()
                    {
                        return Err(StoreError::Db(DbError::Gone));
                    }
                    Ok(())
                })();
                if let Err(error) = recorded {
                    let _ = self.end_live(redis, session);
                    let _ = self.delete_record(&session.key);
                    return Err(error);
                }
                Ok(admitted)
            }
        }
    }

    fn delete_record(&self, storage_key: &str) -> Result<(), StoreError> {
        self.db
            .execute("DELETE FROM user_sessions WHERE token_hash = $1", &[SqlValue::Text(storage_key.to_owned())])?;
        Ok(())
    }

    fn admit_sqlite(
        &self,
        session: &Session,
        policy: &SessionPolicy,
        now: i64,
        expires_at: i64,
    ) -> Result<Admitted, StoreError> {
        self.db.execute("BEGIN IMMEDIATE", &[])?;
        let result = (|| {
            let live: Vec<LiveSession> = self
                .db
                .query(
                    "SELECT token_hash, created_at, last_seen_at FROM user_sessions \
                     WHERE user_id = $1 AND ended_at IS NULL",
                    &[SqlValue::Text(session.user_id.clone())],
                )?
                .into_iter()
                .filter_map(|row| match row.as_slice() {
                    [key, created, seen] => Some(LiveSession {
                        id: key.as_str()?.to_owned(),
                        created_at: u64_of(created.as_i64()?),
                        last_seen_at: u64_of(seen.as_i64()?),
                    }),
                    _ => None,
                })
                .collect();
            match decide::admit_session(*policy, &live, u64_of(now)) {
                Admission::Refuse => Ok(Admitted::Refused),
                Admission::Admit(plan) => {
                    for key in &plan.stale {
                        self.end_record(key, "expired", now)?;
                    }
                    for key in &plan.evict {
                        self.end_record(key, "evicted", now)?;
                    }
                    self.insert_record(session, expires_at)?;
                    Ok(Admitted::Created { evicted: plan.evict })
                }
            }
        })();
        match result {
            Ok(admitted) => {
                self.db.execute(if admitted == Admitted::Refused { "ROLLBACK" } else { "COMMIT" }, &[])?;
                Ok(admitted)
            }
            Err(error) => {
                let _ = self.db.execute("ROLLBACK", &[]);
                Err(error)
            }
        }
    }

    fn insert_record(&self, session: &Session, expires_at: i64) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO user_sessions (id, token_hash, user_id, aal, method, auth_time, created_at, last_seen_at, \
             expires_at, ip, user_agent, device_hash, device_label, risk, factor_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                SqlValue::Text(session.id.clone()),
                SqlValue::Text(session.key.clone()),
                SqlValue::Text(session.user_id.clone()),
                SqlValue::Int(session.aal),
                SqlValue::Text(session.method.clone()),
                SqlValue::Int(session.auth_time),
                SqlValue::Int(session.created_at),
                SqlValue::Int(session.last_seen_at),
                SqlValue::Int(expires_at),
                SqlValue::Text(session.ip.clone()),
                SqlValue::Text(session.user_agent.clone()),
                SqlValue::Text(session.device_hash.clone()),
                SqlValue::Text(session.device_label.clone()),
                SqlValue::Text(session.risk.clone()),
                SqlValue::Text(session.factor_id.clone()),
            ],
        )?;
        Ok(())
    }

    /// Ends the durable record under `storage_key` for `reason` (if it is still open); an expiry is remembered for
    /// [`Store::take_expired`].
    fn end_record(&self, storage_key: &str, reason: &'static str, now: i64) -> Result<(), StoreError> {
        let ended = self.db.query(
            "UPDATE user_sessions SET ended_at = $1, end_reason = $2 WHERE token_hash = $3 AND ended_at IS NULL \
             RETURNING user_id, id",
            &[SqlValue::Int(now), SqlValue::Text(reason.to_owned()), SqlValue::Text(storage_key.to_owned())],
        )?;
        if matches!(reason, "expired" | "idle_expired") {
            let mut expired = self.expired.borrow_mut();
            for row in ended {
                if let [user, id] = row.as_slice()
                    && let (Some(user_id), Some(session_id)) = (user.as_str(), id.as_str())
                {
                    expired.push(Expired { user_id: user_id.to_owned(), session_id: session_id.to_owned(), reason });
                }
            }
        }
        Ok(())
    }

    /// The live session with storage key `key`, checked against `policy` at `now`: an expired one is ended (and
    /// recorded so) and not returned; activity is written when session-policy says it is due.
    pub fn find(&self, key: &str, policy: &SessionPolicy, now: i64) -> Result<Found, StoreError> {
        self.check(key, policy, now, true)
    }

    /// As [`Store::find`], without counting as the session's activity (a refused request must not keep it alive).
    pub fn peek(&self, key: &str, policy: &SessionPolicy, now: i64) -> Result<Found, StoreError> {
        self.check(key, policy, now, false)
    }

    /// As [`Store::find`]; `record_activity` false for reads on the user's behalf that are not the session's own
    /// use (listing the user's sessions must not keep the others alive).
    fn check(&self, key: &str, policy: &SessionPolicy, now: i64, record_activity: bool) -> Result<Found, StoreError> {
        let found = match &self.redis {
            None => self.find_sqlite(key)?,
            Some(redis) => find_redis(redis, key)?,
        };
        let Some(mut session) = found else { return Ok(Found::Missing) };
        let times = SessionTimes {
            created_at: u64_of(session.created_at),
            last_seen_at: u64_of(session.last_seen_at),
            auth_time: u64_of(session.auth_time),
        };
        match decide::check_session(*policy, times, u64_of(now)) {
            SessionStatus::Active(active) => {
                if active.record_activity && record_activity {
                    self.touch(&session, now)?;
                    session.last_seen_at = now;
                }
                Ok(Found::Live(Box::new(session)))
            }
            SessionStatus::IdleExpired => {
                self.end(&session, "idle_expired", now)?;
                Ok(Found::Ended)
            }
            SessionStatus::Expired => {
                self.end(&session, "expired", now)?;
                Ok(Found::Ended)
            }
        }
    }

    fn find_sqlite(&self, key: &str) -> Result<Option<Session>, StoreError> {
        let rows = self.db.query(
            "SELECT id, user_id, aal, method, auth_time, created_at, last_seen_at, ip, user_agent, device_hash, \
             device_label, risk, factor_id FROM user_sessions WHERE token_hash = $1 AND ended_at IS NULL",
            &[SqlValue::Text(key.to_owned())],
        )?;
        Ok(rows.first().and_then(|row| match row.as_slice() {
            [id, user, aal, method, auth, created, seen, ip, agent, device, label, risk, factor] => Some(Session {
                key: key.to_owned(),
                id: id.as_str()?.to_owned(),
                user_id: user.as_str()?.to_owned(),
                aal: aal.as_i64()?,
                method: method.as_str()?.to_owned(),
                auth_time: auth.as_i64()?,
                created_at: created.as_i64()?,
                last_seen_at: seen.as_i64()?,
                ip: ip.as_str().unwrap_or_default().to_owned(),
                user_agent: agent.as_str().unwrap_or_default().to_owned(),
                device_hash: device.as_str().unwrap_or_default().to_owned(),
                device_label: label.as_str().unwrap_or_default().to_owned(),
                risk: risk.as_str().unwrap_or_default().to_owned(),
                factor_id: factor.as_str().unwrap_or_default().to_owned(),
            }),
            _ => None,
        }))
    }

    fn touch(&self, session: &Session, now: i64) -> Result<(), StoreError> {
        if let Some(redis) = &self.redis {
            let arguments = [
                text(TOUCH_SCRIPT),
                RedisParameter::Int64(1),
                text(&redis.session_key(&session.key)),
                RedisParameter::Int64(now),
            ];
            redis.execute("EVAL", &arguments).map_err(redis_error)?;
        }
        self.db.execute(
            "UPDATE user_sessions SET last_seen_at = $1 WHERE token_hash = $2",
            &[SqlValue::Int(now), SqlValue::Text(session.key.clone())],
        )?;
        Ok(())
    }

    /// Ends `session` for `reason` (logout, revoked, expired...): gone from the live store and recorded.
    pub fn end(&self, session: &Session, reason: &'static str, now: i64) -> Result<(), StoreError> {
        if let Some(redis) = &self.redis {
            self.end_live(redis, session)?;
        }
        self.end_record(&session.key, reason, now)
    }

    /// Ends every live session of the user but `keep` (a session id) that was established (or last stepped up)
    /// with second factor `factor_id`, as revoked; their public ids.
    pub fn end_established_with(
        &self,
        user_id: &str,
        factor_id: &str,
        keep: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self.db.query(
            "SELECT id, token_hash FROM user_sessions \
             WHERE user_id = $1 AND factor_id = $2 AND id <> $3 AND ended_at IS NULL",
            &[
                SqlValue::Text(user_id.to_owned()),
                SqlValue::Text(factor_id.to_owned()),
                SqlValue::Text(keep.to_owned()),
            ],
        )?;
        let mut ended = Vec::new();
        for row in rows {
            if let [id, key] = row.as_slice()
                && let (Some(id), Some(key)) = (id.as_str(), key.as_str())
            {
                if let Some(redis) = &self.redis {
                    end_live_key(redis, user_id, key)?;
                }
                self.end_record(key, "revoked", now)?;
                ended.push(id.to_owned());
            }
        }
        Ok(ended)
    }

    /// Deletes every live session of `user_id` from Redis, and the user's index, for an erased account (their
    /// durable records are deleted, not ended; on SQLite the records are the live store: nothing to do here).
    pub fn forget_live_sessions(&self, user_id: &str) -> Result<(), StoreError> {
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        let index = redis.index_key(user_id);
        let mut keys = vec![text(&index)];
        keys.extend(
            redis
                .execute("ZRANGE", &[text(&index), RedisParameter::Int64(0), RedisParameter::Int64(-1)])
                .map_err(redis_error)?
                .into_iter()
                .filter_map(|r| match r {
                    RedisResult::Binary(bytes) => Some(RedisParameter::Binary(bytes)),
                    _ => None,
                }),
        );
        redis.execute("DEL", &keys).map_err(redis_error)?;
        Ok(())
    }

    fn end_live(&self, redis: &Redis, session: &Session) -> Result<(), StoreError> {
        end_live_key(redis, &session.user_id, &session.key)
    }

    /// The user's live sessions, oldest first (expired ones are ended on the way, as [`Store::find`] does).
    pub fn list(&self, user_id: &str, policy: &SessionPolicy, now: i64) -> Result<Vec<Session>, StoreError> {
        let keys: Vec<String> = match &self.redis {
            Some(redis) => redis
                .execute(
                    "ZRANGE",
                    &[text(&redis.index_key(user_id)), RedisParameter::Int64(0), RedisParameter::Int64(-1)],
                )
                .map_err(redis_error)?
                .into_iter()
                .filter_map(|r| match r {
                    RedisResult::Binary(bytes) => String::from_utf8(bytes).ok(),
                    _ => None,
                })
                .map(|key| redis.storage_key_of(&key).to_owned())
                .collect(),
            None => self
                .db
                .query(
                    "SELECT token_hash FROM user_sessions WHERE user_id = $1 AND ended_at IS NULL \
                     ORDER BY created_at, id",
                    &[SqlValue::Text(user_id.to_owned())],
                )?
                .into_iter()
                .filter_map(|row| row.first()?.as_str().map(str::to_owned))
                .collect(),
        };
        let mut sessions = Vec::new();
        for key in keys {
            match self.check(&key, policy, now, false)? {
                Found::Live(session) if session.user_id == user_id => sessions.push(*session),
                // Gone from the live store but still indexed: drop the stale index entry.
                Found::Missing => {
                    if let Some(redis) = &self.redis {
                        redis
                            .execute("ZREM", &[text(&redis.index_key(user_id)), text(&redis.session_key(&key))])
                            .map_err(redis_error)?;
                        // Its Redis TTL (the absolute lifetime) ran out: close the durable record too.
                        self.end_record(&key, "expired", now)?;
                    }
                }
                Found::Live(_) | Found::Ended => {}
            }
        }
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(sessions)
    }

    /// Moves `session` to `renewed.key` (a new token): the old token stops working at once. The session keeps its
    /// id and times but takes `renewed`'s proof (`aal`, `method`, `factor_id`, `auth_time`): a refresh passes them
    /// unchanged, a step-up the new ones.
    pub fn rotate(&self, session: &Session, renewed: &Session) -> Result<(), StoreError> {
        if let Some(redis) = &self.redis {
            let mut arguments = vec![
                text(ROTATE_SCRIPT),
                RedisParameter::Int64(3),
                text(&redis.session_key(&session.key)),
                text(&redis.session_key(&renewed.key)),
                text(&redis.index_key(&session.user_id)),
            ];
            for (field, value) in proof_fields(renewed) {
                arguments.push(text(field));
                arguments.push(text(&value));
            }
            let reply = redis.execute("EVAL", &arguments).map_err(redis_error)?;
            if !matches!(reply.first(), Some(RedisResult::Int64(1))) {
                return Err(StoreError::Ended);
            }
        }
        let moved = self.db.execute(
            "UPDATE user_sessions SET token_hash = $1, aal = $2, method = $3, factor_id = $4, auth_time = $5 \
             WHERE token_hash = $6 AND ended_at IS NULL",
            &[
                SqlValue::Text(renewed.key.clone()),
                SqlValue::Int(renewed.aal),
                SqlValue::Text(renewed.method.clone()),
                SqlValue::Text(renewed.factor_id.clone()),
                SqlValue::Int(renewed.auth_time),
                SqlValue::Text(session.key.clone()),
            ],
        )?;
        if moved == 0 {
            return Err(StoreError::Ended);
        }
        Ok(())
    }
}

/// Renames a session to a new key, writes its proof fields and re-indexes it, atomically (KEYS: old, new, index;
/// ARGV: field/value pairs). `{1}` done, `{0}` gone.
pub const ROTATE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local score = redis.call('ZSCORE', KEYS[3], KEYS[1])
redis.call('RENAME', KEYS[1], KEYS[2])
if #ARGV > 0 then redis.call('HSET', KEYS[2], unpack(ARGV)) end
redis.call('ZREM', KEYS[3], KEYS[1])
redis.call('ZADD', KEYS[3], score or 0, KEYS[2])
return {1}
";

/// Removes the live session under storage key `key` of `user_id` from Redis and from the user's index.
fn end_live_key(redis: &Redis, user_id: &str, key: &str) -> Result<(), StoreError> {
    let live = redis.session_key(key);
    redis.execute("DEL", &[text(&live)]).map_err(redis_error)?;
    redis.execute("ZREM", &[text(&redis.index_key(user_id)), text(&live)]).map_err(redis_error)?;
    Ok(())
}

/// Runs [`ADMIT_SCRIPT`]; returns the decision and the stale sessions cleaned up (storage keys).
fn admit_redis(
    redis: &Redis,
    session: &Session,
    policy: &SessionPolicy,
    now: i64,
) -> Result<(Admitted, Vec<String>), StoreError> {
    let refuse = if policy.over_limit_action == OverLimitAction::Refuse { "1" } else { "0" };
    let ttl = i64::try_from(policy.absolute_lifetime).unwrap_or(i64::MAX);
    let idle = i64::try_from(policy.idle_timeout).unwrap_or(i64::MAX);
    let mut arguments = vec![
        text(ADMIT_SCRIPT),
        RedisParameter::Int64(2),
        text(&redis.index_key(&session.user_id)),
        text(&redis.session_key(&session.key)),
        RedisParameter::Int64(now),
        RedisParameter::Int64(i64::from(policy.max_sessions_per_user)),
        text(refuse),
        RedisParameter::Int64(ttl),
        RedisParameter::Int64(idle),
    ];
    for (field, value) in fields(session) {
        arguments.push(text(field));
        arguments.push(text(&value));
    }
    let reply = redis.execute("EVAL", &arguments).map_err(redis_error)?;
    let keys = |values: &[RedisResult]| -> Vec<String> {
        values
            .iter()
            .filter_map(|r| match r {
                RedisResult::Binary(bytes) => String::from_utf8(bytes.clone()).ok(),
                _ => None,
            })
            .map(|key| redis.storage_key_of(&key).to_owned())
            .collect()
    };
    match reply.as_slice() {
        [RedisResult::Int64(1), RedisResult::Int64(count), rest @ ..] => {
            let split = usize::try_from(*count).unwrap_or(0).min(rest.len());
            let (evicted, stale) = rest.split_at(split);
            Ok((Admitted::Created { evicted: keys(evicted) }, keys(stale)))
        }
        [RedisResult::Int64(0), ..] => Ok((Admitted::Refused, Vec::new())),
        _ => Err(StoreError::Redis(format!("unexpected reply to the admission script: {reply:?}"))),
    }
}

/// The fields that say how a session's user last proved who they are.
fn proof_fields(session: &Session) -> [(&'static str, String); 4] {
    [
        ("aal", session.aal.to_string()),
        ("method", session.method.clone()),
        ("factor_id", session.factor_id.clone()),
        ("auth_time", session.auth_time.to_string()),
    ]
}

fn fields(session: &Session) -> Vec<(&'static str, String)> {
    vec![
        ("id", session.id.clone()),
        ("user_id", session.user_id.clone()),
        ("aal", session.aal.to_string()),
        ("method", session.method.clone()),
        ("auth_time", session.auth_time.to_string()),
        ("created_at", session.created_at.to_string()),
        ("last_seen_at", session.last_seen_at.to_string()),
        ("ip", session.ip.clone()),
        ("user_agent", session.user_agent.clone()),
        ("device_hash", session.device_hash.clone()),
        ("device_label", session.device_label.clone()),
        ("risk", session.risk.clone()),
        ("factor_id", session.factor_id.clone()),
    ]
}

fn find_redis(redis: &Redis, key: &str) -> Result<Option<Session>, StoreError> {
    let reply = redis.execute("HGETALL", &[text(&redis.session_key(key))]).map_err(redis_error)?;
    let values: Vec<String> = reply
        .into_iter()
        .map(|r| match r {
            RedisResult::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            RedisResult::Status(s) => s,
            RedisResult::Int64(i) => i.to_string(),
            RedisResult::Nil => String::new(),
        })
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let map: std::collections::HashMap<&str, &str> =
        values.chunks(2).filter_map(|pair| Some((pair.first()?.as_str(), pair.get(1)?.as_str()))).collect();
    let int = |name: &str| map.get(name).and_then(|v| v.parse::<i64>().ok());
    let string = |name: &str| map.get(name).map(|v| (*v).to_owned());
    Ok((|| {
        Some(Session {
            key: key.to_owned(),
            id: string("id")?,
            user_id: string("user_id")?,
            aal: int("aal")?,
            method: string("method")?,
            auth_time: int("auth_time")?,
            created_at: int("created_at")?,
            last_seen_at: int("last_seen_at")?,
            ip: string("ip").unwrap_or_default(),
            user_agent: string("user_agent").unwrap_or_default(),
            device_hash: string("device_hash").unwrap_or_default(),
            device_label: string("device_label").unwrap_or_default(),
            risk: string("risk").unwrap_or_default(),
            factor_id: string("factor_id").unwrap_or_default(),
        })
    })())
}
