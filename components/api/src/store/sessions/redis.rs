//! Live sessions in Redis: a hash per session under `<prefix>s:<storage key>` whose TTL is the absolute lifetime,
//! indexed per user in the sorted set `<prefix>u:<user id>:s` (score = creation time). Admission, activity and
//! rotation are Lua scripts, so each is atomic however many instances run. The durable record is written before
//! a session enters Redis, so whoever evicts it always finds the record to end.

use std::rc::Rc;

use spin_sdk::redis::{RedisParameter, RedisResult};

use super::live::{Admission, LiveSessions};
use super::records::Records;
use super::{Admitted, EndReason, Session};
use crate::bindings::mfa::session::policy::{OverLimitAction, SessionPolicy};
use crate::store::error::StoreError;
use crate::store::redis::{Redis, int, text, text_of, unexpected};
use crate::store::sql::DbError;

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

/// Reads a session only while Redis is trusted (KEYS: the `trusted` marker, the session): `{0}` when the marker is
/// gone, else `{1}` and the session's field/value pairs (none when there is no such session). A request's first
/// look at Redis, its trust check and the session read in one round trip.
pub const TRUSTED_GET_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local reply = redis.call('HGETALL', KEYS[2])
table.insert(reply, 1, 1)
return reply
";

/// Puts a session back (KEYS: session, index; ARGV: ttl, creation time, then its field/value pairs), the index
/// living at least as long as it (no `EXPIRE ... GT`: Redis 6 has none).
pub const RESTORE_SCRIPT: &str = r"
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return {1}
";

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
        let mut arguments = vec![int(ttl), RedisParameter::Int64(session.created_at)];
        arguments.extend(session.fields().iter().flat_map(|(field, value)| [text(field), text(value)]));
        self.redis.eval(RESTORE_SCRIPT, &keys, arguments)?;
        Ok(())
    }

    /// The members of the user's index (Redis keys of sessions).
    fn index(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let reply =
            self.redis.run("ZRANGE", &[text(&self.redis.index_key(user_id)), int(0), RedisParameter::Int64(-1)])?;
        Ok(reply.iter().filter_map(text_of).collect())
    }

    /// The storage keys inside a reply's Redis keys.
    fn storage_keys(&self, values: &[RedisResult]) -> Vec<String> {
        values.iter().filter_map(text_of).map(|key| self.redis.storage_key_of(&key).to_owned()).collect()
    }

    /// The session under `key` if Redis is trusted (its `trusted` marker is set) and has `EVAL_RO`; `None` if
    /// either is not so ([`TRUSTED_GET_SCRIPT`]).
    pub fn get_if_trusted(&self, key: &str) -> Result<Option<Option<Session>>, StoreError> {
        let keys = [self.redis.marker_key("trusted"), self.redis.session_key(key)];
        let Some(reply) = self.redis.eval_read_only(TRUSTED_GET_SCRIPT, &keys, [])? else { return Ok(None) };
        match reply.split_first() {
            Some((RedisResult::Int64(1), fields)) => Ok(Some(session_of(key, fields))),
            Some((RedisResult::Int64(0), [])) => Ok(None),
            _ => Err(unexpected("the trusted read", &reply)),
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
        let mut arguments = vec![
            RedisParameter::Int64(now),
            RedisParameter::Int64(i64::from(policy.max_sessions_per_user)),
            text(refuse),
            int(policy.absolute_lifetime),
            int(policy.idle_timeout),
        ];
        arguments.extend(session.fields().iter().flat_map(|(field, value)| [text(field), text(value)]));
        let reply = self.redis.eval(ADMIT_SCRIPT, &keys, arguments)?;
        match reply.as_slice() {
            [RedisResult::Int64(1), RedisResult::Int64(count), rest @ ..] => {
                let split = usize::try_from(*count).unwrap_or(0).min(rest.len());
                let (evicted, stale) = rest.split_at(split);
                Ok((Admitted::Created { evicted: self.storage_keys(evicted) }, self.storage_keys(stale)))
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
        let reply = self.redis.run("HGETALL", &[text(&self.redis.session_key(key))])?;
        Ok(session_of(key, &reply))
    }

    fn touch(&self, key: &str, now: i64) -> Result<(), StoreError> {
        self.redis.eval(TOUCH_SCRIPT, &[self.redis.session_key(key)], [RedisParameter::Int64(now)])?;
        Ok(())
    }

    fn remove(&self, user_id: &str, key: &str) -> Result<(), StoreError> {
        let live = self.redis.session_key(key);
        self.redis.run("DEL", &[text(&live)])?;
        self.redis.run("ZREM", &[text(&self.redis.index_key(user_id)), text(&live)])?;
        Ok(())
    }

    fn forget_user(&self, _records: &Records<'_>, user_id: &str) -> Result<(), StoreError> {
        let index = self.redis.index_key(user_id);
        let mut keys = vec![text(&index)];
        keys.extend(self.index(user_id)?.iter().map(|key| text(key)));
        self.redis.run("DEL", &keys)?;
        Ok(())
    }

    fn keys_of(&self, _records: &Records<'_>, user_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.index(user_id)?.iter().map(|key| self.redis.storage_key_of(key).to_owned()).collect())
    }

    fn unindex(&self, user_id: &str, key: &str) -> Result<bool, StoreError> {
        self.redis.run("ZREM", &[text(&self.redis.index_key(user_id)), text(&self.redis.session_key(key))])?;
        // Its Redis TTL (the absolute lifetime) ran out: the durable record is still open.
        Ok(true)
    }

    fn rename(&self, session: &Session, renewed: &Session) -> Result<bool, StoreError> {
        let keys = [
            self.redis.session_key(&session.key),
            self.redis.session_key(&renewed.key),
            self.redis.index_key(&session.user_id),
        ];
        let arguments: Vec<RedisParameter> =
            renewed.proof_fields().iter().flat_map(|(field, value)| [text(field), text(value)]).collect();
        let reply = self.redis.eval(ROTATE_SCRIPT, &keys, arguments)?;
        Ok(matches!(reply.first(), Some(RedisResult::Int64(1))))
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.redis.run("PING", &[])?;
        Ok(())
    }
}

/// The session under `key` from a hash's field/value pairs as HGETALL answers them (`None` when there are none).
fn session_of(key: &str, reply: &[RedisResult]) -> Option<Session> {
    let values: Vec<String> = reply.iter().map(|value| text_of(value).unwrap_or_default()).collect();
    if values.is_empty() {
        return None;
    }
    let field = |name: &str| {
        values.chunks(2).find(|pair| pair.first().is_some_and(|n| n == name)).and_then(|pair| pair.get(1)).cloned()
    };
    Session::from_fields(key, field)
}
