//! Live sessions in Redis: each one string (its fields packed, [`super::packed`]) under `<prefix>s2:<storage
//! key>` whose TTL is the absolute lifetime, indexed per user in the sorted set `<prefix>u2:<user id>` of storage
//! keys (score = creation time). Admission and rotation are Lua scripts, so each is atomic however many instances
//! run; a check is one `MGET` of the trust marker and the session, activity a `SET ... XX KEEPTTL`. The durable
//! record is written before a session enters Redis, so whoever evicts it always finds the record to end.
//!
//! The `2` in the keys is the layout: the first one (a hash per session under `s:`, indexed by full keys under
//! `u:<user id>:s`) is left to expire; its sessions are put back in this layout from their records by the first
//! reconciliation after an upgrade ([`crate::store::outage`], whose `populated` marker is per layout).

use std::rc::Rc;

use spin_sdk::redis::{RedisParameter, RedisResult};

use super::live::{Admission, LiveSessions};
use super::packed::{pack, unpack};
use super::records::Records;
use super::{Admitted, EndReason, Session};
use crate::bindings::mfa::session::policy::{OverLimitAction, SessionPolicy};
use crate::store::error::StoreError;
use crate::store::redis::{Redis, int, text, text_of, unexpected};
use crate::store::sql::DbError;

/// Admits a session atomically (KEYS: index, session; ARGV: now, cap, refuse 0/1, ttl, idle timeout, the prefix of
/// session keys, the storage key, the packed session). Returns `{0}` when refused, else `{1, number evicted,
/// evicted keys..., stale keys...}` (storage keys; stale: expired or idle-expired entries cleaned up on the way).
pub const ADMIT_SCRIPT: &str = r"
local now, cap, refuse, ttl, idle = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local sessions = ARGV[6]
local live, stale = {}, {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local value = redis.call('GET', sessions .. member)
  local last = value and tonumber(string.match(value, '^%[(%d+)'))
  if last and last + idle > now then
    table.insert(live, member)
  else
    table.insert(stale, member)
    redis.call('DEL', sessions .. member)
    redis.call('ZREM', KEYS[1], member)
  end
end
local evicted = {}
if #live >= cap then
  if refuse == '1' then return {0} end
  for i = 1, #live - cap + 1 do
    table.insert(evicted, live[i])
    redis.call('DEL', sessions .. live[i])
    redis.call('ZREM', KEYS[1], live[i])
  end
end
redis.call('SET', KEYS[2], ARGV[8], 'EX', ttl)
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('EXPIRE', KEYS[1], ttl)
local reply = {1, #evicted}
for _, key in ipairs(evicted) do table.insert(reply, key) end
for _, key in ipairs(stale) do table.insert(reply, key) end
return reply
";

/// Puts a session back (KEYS: session, index; ARGV: ttl, creation time, storage key, packed session), the index
/// living at least as long as it (no `EXPIRE ... GT`: Redis 6 has none).
pub const RESTORE_SCRIPT: &str = r"
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return {1}
";

/// Moves a session to a new key with its new packed value, keeping its TTL, and re-indexes it, atomically (KEYS:
/// old, new, index; ARGV: old storage key, new storage key, packed session). `{1}` done, `{0}` gone.
pub const ROTATE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SET', KEYS[2], ARGV[3], 'KEEPTTL')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[3], score or 0, ARGV[2])
return {1}
";

/// Live sessions in Redis.
pub struct RedisSessions {
    redis: Rc<Redis>,
}

impl RedisSessions {
    /// Live sessions on `redis`.
    pub fn new(redis: Rc<Redis>) -> Self {
        Self { redis }
    }

    /// Puts `session` (living until `expires_at`) back into Redis and its user's index, as admission would have:
    /// a session the database holds open that Redis lost or never saw (created while it was unreachable).
    pub fn restore(&self, session: &Session, expires_at: i64, now: i64) -> Result<(), StoreError> {
        let Some(ttl) = u64::try_from(expires_at.saturating_sub(now)).ok().filter(|ttl| *ttl > 0) else {
            return Ok(());
        };
        let keys = [self.redis.session_key(&session.key), self.redis.index_key(&session.user_id)];
        let arguments = [int(ttl), RedisParameter::Int64(session.created_at), text(&session.key), text(&pack(session))];
        self.redis.eval(RESTORE_SCRIPT, &keys, arguments)?;
        Ok(())
    }

    /// The storage keys in the user's index.
    fn index(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let reply =
            self.redis.run("ZRANGE", &[text(&self.redis.index_key(user_id)), int(0), RedisParameter::Int64(-1)])?;
        Ok(reply.iter().filter_map(text_of).collect())
    }

    /// The session under `key` if Redis is trusted (its `trusted` marker is set), read with the marker in one
    /// `MGET`; `None` when the marker is gone.
    pub fn get_if_trusted(&self, key: &str) -> Result<Option<Option<Session>>, StoreError> {
        let keys = [text(&self.redis.marker_key("trusted")), text(&self.redis.session_key(key))];
        let reply = self.redis.run("MGET", &keys)?;
        match reply.as_slice() {
            [RedisResult::Nil, _] => Ok(None),
            [_, session] => Ok(Some(session_of(key, session))),
            _ => Err(unexpected("MGET", &reply)),
        }
    }

    /// Runs the admission script: the decision and the stale sessions it cleaned up (storage keys).
    fn run_admission(
        &self,
        session: &Session,
        policy: &SessionPolicy,
        now: i64,
    ) -> Result<(Admitted, Vec<String>), StoreError> {
        let refuse = if policy.over_limit_action == OverLimitAction::Refuse { "1" } else { "0" };
        let keys = [self.redis.index_key(&session.user_id), self.redis.session_key(&session.key)];
        let arguments = [
            RedisParameter::Int64(now),
            RedisParameter::Int64(i64::from(policy.max_sessions_per_user)),
            text(refuse),
            int(policy.absolute_lifetime),
            int(policy.idle_timeout),
            text(&self.redis.session_key("")),
            text(&session.key),
            text(&pack(session)),
        ];
        let reply = self.redis.eval(ADMIT_SCRIPT, &keys, arguments)?;
        match reply.as_slice() {
            [RedisResult::Int64(1), RedisResult::Int64(count), rest @ ..] => {
                let split = usize::try_from(*count).unwrap_or(0).min(rest.len());
                let (evicted, stale) = rest.split_at(split);
                let keys = |values: &[RedisResult]| values.iter().filter_map(text_of).collect();
                Ok((Admitted::Created { evicted: keys(evicted) }, keys(stale)))
            }
            [RedisResult::Int64(0), ..] => Ok((Admitted::Refused, Vec::new())),
            _ => Err(unexpected("the admission script", &reply)),
        }
    }
}

impl LiveSessions for RedisSessions {
    fn admit(&self, records: &Records<'_>, admission: &Admission<'_>) -> Result<Admitted, StoreError> {
        let Admission { session, policy, now, expires_at } = *admission;
        // The durable record first: whoever evicts this session from Redis then finds it to end.
        records.insert(session, expires_at)?;
        let (admitted, stale) = match self.run_admission(session, policy, now) {
            Ok(decided) => decided,
            Err(error) => {
                let _ = records.delete(&session.key);
                return Err(error);
            }
        };
        let Admitted::Created { evicted } = &admitted else {
            records.delete(&session.key)?;
            return Ok(admitted);
        };
        let recorded = (|| -> Result<(), StoreError> {
            for key in &stale {
                records.end(key, EndReason::Expired, now)?;
            }
            for key in evicted {
                records.end(key, EndReason::Evicted, now)?;
            }
            // An erasure of the account racing this login deletes the record: the session must not outlive it.
            if !records.exists(&session.key)? {
                return Err(StoreError::Db(DbError::Gone));
            }
            Ok(())
        })();
        if let Err(error) = recorded {
            let _ = self.remove(&session.user_id, &session.key);
            let _ = records.delete(&session.key);
            return Err(error);
        }
        Ok(admitted)
    }

    fn get(&self, _records: &Records<'_>, key: &str) -> Result<Option<Session>, StoreError> {
        let reply = self.redis.run("GET", &[text(&self.redis.session_key(key))])?;
        Ok(reply.first().and_then(|value| session_of(key, value)))
    }

    fn touch(&self, session: &Session) -> Result<(), StoreError> {
        // Only while it exists (XX), so a request racing a logout or rotation cannot bring back a deleted key. Its
        // other fields cannot have changed meanwhile: a rotation moves a session to another key.
        let key = self.redis.session_key(&session.key);
        self.redis.run("SET", &[text(&key), text(&pack(session)), text("XX"), text("KEEPTTL")])?;
        Ok(())
    }

    fn remove(&self, user_id: &str, key: &str) -> Result<(), StoreError> {
        self.redis.run("DEL", &[text(&self.redis.session_key(key))])?;
        self.redis.run("ZREM", &[text(&self.redis.index_key(user_id)), text(key)])?;
        Ok(())
    }

    fn forget_user(&self, _records: &Records<'_>, user_id: &str) -> Result<(), StoreError> {
        let mut keys = vec![text(&self.redis.index_key(user_id))];
        keys.extend(self.index(user_id)?.iter().map(|key| text(&self.redis.session_key(key))));
        self.redis.run("DEL", &keys)?;
        Ok(())
    }

    fn keys_of(&self, _records: &Records<'_>, user_id: &str) -> Result<Vec<String>, StoreError> {
        self.index(user_id)
    }

    fn unindex(&self, user_id: &str, key: &str) -> Result<bool, StoreError> {
        self.redis.run("ZREM", &[text(&self.redis.index_key(user_id)), text(key)])?;
        // Its Redis TTL (the absolute lifetime) ran out: the durable record is still open.
        Ok(true)
    }

    fn rename(&self, session: &Session, renewed: &Session) -> Result<bool, StoreError> {
        let keys = [
            self.redis.session_key(&session.key),
            self.redis.session_key(&renewed.key),
            self.redis.index_key(&session.user_id),
        ];
        let arguments = [text(&session.key), text(&renewed.key), text(&pack(&session.with_proof_of(renewed)))];
        let reply = self.redis.eval(ROTATE_SCRIPT, &keys, arguments)?;
        Ok(matches!(reply.first(), Some(RedisResult::Int64(1))))
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.redis.run("PING", &[])?;
        Ok(())
    }
}

/// The session under `key` from a `GET`'s reply (`None` for nil, or a value that is no packed session).
fn session_of(key: &str, value: &RedisResult) -> Option<Session> {
    match value {
        RedisResult::Binary(bytes) => unpack(key, bytes),
        _ => None,
    }
}
