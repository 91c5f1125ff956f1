//! Counters in Redis: each throttle counter a string `<prefix>t:<key>` holding `"<first>:<second>"` with `EX`, a
//! set of them written by [`SWAP_SCRIPT`] only if every one still holds what the caller read; the metrics one hash
//! `<prefix>metrics` with a 30-day time to live renewed at each count (on the Redis + Postgres backend it holds
//! only what the database could not count, until the next read of the metrics moves it there).

use std::rc::Rc;

use spin_sdk::redis::{RedisParameter, RedisResult};

use super::{Counters, Pair, Swap, Values};
use crate::store::error::StoreError;
use crate::store::redis::{Redis, int, text, text_of, unexpected};

/// Writes counters `keys` only if all still hold what was read (KEYS: counters; ARGV: the expected values, `""` for
/// none, then a new value (`""`: delete) and a TTL per key). Returns `{1}` when written, else `{0, current values}`.
pub const SWAP_SCRIPT: &str = r"
local n = #KEYS
for i = 1, n do
  if (redis.call('GET', KEYS[i]) or '') ~= ARGV[i] then
    local reply = {0}
    for j = 1, n do table.insert(reply, redis.call('GET', KEYS[j]) or '') end
    return reply
  end
end
for i = 1, n do
  local value, ttl = ARGV[n + 2 * i - 1], ARGV[n + 2 * i]
  if value == '' then redis.call('DEL', KEYS[i]) else redis.call('SET', KEYS[i], value, 'EX', ttl) end
end
return {1}
";

/// Takes amounts from the metrics hash (KEYS: the hash; ARGV: series and amount, in pairs), dropping a series that
/// reaches zero: all or nothing, in one script.
const TAKE_SCRIPT: &str = r"
for i = 1, #ARGV, 2 do
  if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) == 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
";

/// How long the metrics hash outlives its last count.
const METRICS_TTL_SECONDS: u64 = 30 * 24 * 3600;

/// Counters in Redis.
pub struct RedisCounters {
    redis: Rc<Redis>,
}

impl RedisCounters {
    /// Counters on `redis`.
    pub fn new(redis: Rc<Redis>) -> Self {
        Self { redis }
    }

    /// Sets counter `key` to `pair` for `ttl` seconds unless Redis already counts it (what the database counted
    /// while Redis was unreachable).
    pub fn restore(&self, key: &str, pair: Pair, ttl: u64) -> Result<(), StoreError> {
        let arguments =
            [text(&self.redis.counter_key(key)), text(&encode(Some(pair))), text("NX"), text("EX"), int(ttl.max(1))];
        self.redis.run("SET", &arguments)?;
        Ok(())
    }

    /// Takes `amounts` (series, amount) from the metrics Redis holds (the database holds them now).
    pub fn take(&self, amounts: &[(String, i64)]) -> Result<(), StoreError> {
        let arguments = amounts.iter().flat_map(|(name, amount)| [text(name), RedisParameter::Int64(*amount)]);
        self.redis.eval(TAKE_SCRIPT, &[self.redis.metrics_key()], arguments.collect::<Vec<_>>())?;
        Ok(())
    }

    fn keys(&self, keys: &[String]) -> Vec<String> {
        keys.iter().map(|key| self.redis.counter_key(key)).collect()
    }
}

fn encode(pair: Option<Pair>) -> String {
    pair.map(|(first, second)| format!("{first}:{second}")).unwrap_or_default()
}

fn decode(text: &str) -> Option<Pair> {
    let (first, second) = text.split_once(':')?;
    Some((first.parse().ok()?, second.parse().ok()?))
}

fn pairs(reply: &[RedisResult]) -> Vec<Option<Pair>> {
    reply.iter().map(|value| text_of(value).as_deref().and_then(decode)).collect()
}

impl Counters for RedisCounters {
    fn read(&self, keys: &[String], _now: i64) -> Result<Values, StoreError> {
        let keys: Vec<RedisParameter> = self.keys(keys).iter().map(|key| text(key)).collect();
        Ok(pairs(&self.redis.run("MGET", &keys)?))
    }

    fn swap(&self, swap: &Swap<'_>) -> Result<Option<Values>, StoreError> {
        let Swap { keys, expected, writes, now: _ } = *swap;
        let mut arguments: Vec<RedisParameter> = expected.iter().map(|value| text(&encode(*value))).collect();
        for write in writes {
            let (value, ttl) = write.map_or((None, 1), |(pair, ttl)| (Some(pair), ttl.max(1)));
            arguments.push(text(&encode(value)));
            arguments.push(int(ttl));
        }
        let reply = self.redis.eval(SWAP_SCRIPT, &self.keys(keys), arguments)?;
        match reply.split_first() {
            Some((RedisResult::Int64(1), _)) => Ok(None),
            Some((RedisResult::Int64(0), current)) => Ok(Some(pairs(current))),
            _ => Err(unexpected("the counter swap", &reply)),
        }
    }

    fn count(&self, series: &[String]) -> Result<(), StoreError> {
        let key = text(&self.redis.metrics_key());
        for name in series {
            self.redis.run("HINCRBY", &[key.clone(), text(name), RedisParameter::Int64(1)])?;
        }
        self.redis.run("EXPIRE", &[key, int(METRICS_TTL_SECONDS)])?;
        Ok(())
    }

    fn metrics(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let reply = self.redis.run("HGETALL", &[text(&self.redis.metrics_key())])?;
        let mut counts: Vec<(String, i64)> = reply
            .chunks(2)
            .filter_map(|pair| match pair {
                [name, value] => Some((text_of(name)?, text_of(value)?.parse().ok()?)),
                _ => None,
            })
            .collect();
        counts.sort();
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_and_junk_reads_as_nothing() {
        assert_eq!(decode(&encode(Some((3, 1_700_000_000)))), Some((3, 1_700_000_000)));
        assert_eq!(encode(None), "");
        assert_eq!(decode(""), None);
        assert_eq!(decode("3"), None);
        assert_eq!(decode("a:1"), None);
    }
}
