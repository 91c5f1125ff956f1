//! Throttle counters: small pairs of numbers under a key, each forgotten after its own time to live, updated by
//! compare-and-set so that parallel requests (and parallel app instances) never lose a count.
//!
//! - `redis-postgres`: `mfa:t:<key>` strings (under the app's key prefix) `"<first>:<second>"` with `EX`; [`SWAP_SCRIPT`] writes a set of them
//!   only if every one still holds what the caller read.
//! - `sqlite`: the `throttle_counters` table; the swap runs in `BEGIN IMMEDIATE`, which serialises writers.
//!
//! [`update`] reads, lets the caller decide from what it read, and swaps; a swap that lost a race re-decides on
//! what it found. The arithmetic (what a counter becomes, whether an attempt may go ahead) is session-policy's.

use spin_sdk::redis::{RedisParameter, RedisResult};

use crate::sessions::{Store, StoreError};
use crate::sql::SqlValue;

/// A counter's two numbers (a count and a time, in every use).
pub type Pair = (u64, u64);

/// What to write to one counter: a value with its time to live in seconds, or `None` to forget it.
pub type Write = Option<(Pair, u64)>;

/// What a caller decided after reading its counters.
pub enum Step<T> {
    /// Write these (one per key, in order), then answer `T`.
    Write(Vec<Write>, T),
    /// Write nothing; answer `T`.
    Stop(T),
}

/// Attempts before [`update`] gives up under contention.
const MAX_ROUNDS: usize = 64;

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

fn encode(pair: Option<Pair>) -> String {
    pair.map(|(first, second)| format!("{first}:{second}")).unwrap_or_default()
}

fn decode(text: &str) -> Option<Pair> {
    let (first, second) = text.split_once(':')?;
    Some((first.parse().ok()?, second.parse().ok()?))
}

fn redis_values(reply: &[RedisResult]) -> Vec<Option<Pair>> {
    reply
        .iter()
        .map(|value| match value {
            RedisResult::Binary(bytes) => std::str::from_utf8(bytes).ok().and_then(decode),
            RedisResult::Status(text) => decode(text),
            _ => None,
        })
        .collect()
}

fn text(value: &str) -> RedisParameter {
    RedisParameter::Binary(value.as_bytes().to_vec())
}

fn redis_error(error: impl std::fmt::Debug) -> StoreError {
    StoreError::Redis(format!("{error:?}"))
}

/// The counters under `keys` now (`None`: nothing counted, or forgotten).
pub fn read(store: &Store, keys: &[String], now: i64) -> Result<Vec<Option<Pair>>, StoreError> {
    match store.redis() {
        Some(redis) => {
            let keys: Vec<RedisParameter> = keys.iter().map(|key| text(&redis.counter_key(key))).collect();
            Ok(redis_values(&redis.execute("MGET", &keys).map_err(redis_error)?))
        }
        None => read_sqlite(store, keys, now),
    }
}

/// `$first, $first+1, ...`: one placeholder per key.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// The live counters under `keys` in one statement (as few as possible: a writer holds SQLite's lock meanwhile).
fn read_sqlite(store: &Store, keys: &[String], now: i64) -> Result<Vec<Option<Pair>>, StoreError> {
    let mut params = vec![SqlValue::Int(now)];
    params.extend(keys.iter().cloned().map(SqlValue::Text));
    let rows = store.db().query(
        &format!(
            "SELECT key, first, second FROM throttle_counters WHERE expires_at > $1 AND key IN ({})",
            placeholders(2, keys.len())
        ),
        &params,
    )?;
    let found: Vec<(String, Pair)> = rows
        .iter()
        .filter_map(|row| match row.as_slice() {
            [key, first, second] => Some((
                key.as_str()?.to_owned(),
                (u64::try_from(first.as_i64()?).ok()?, u64::try_from(second.as_i64()?).ok()?),
            )),
            _ => None,
        })
        .collect();
    Ok(keys.iter().map(|key| found.iter().find(|(k, _)| k == key).map(|(_, pair)| *pair)).collect())
}

/// Writes `writes` to `keys` if they still hold `expected`; else returns what they hold.
fn swap(
    store: &Store,
    keys: &[String],
    expected: &[Option<Pair>],
    writes: &[Write],
    now: i64,
) -> Result<Option<Vec<Option<Pair>>>, StoreError> {
    match store.redis() {
        Some(redis) => {
            let mut arguments = vec![text(SWAP_SCRIPT), RedisParameter::Int64(i64::try_from(keys.len()).unwrap_or(0))];
            arguments.extend(keys.iter().map(|key| text(&redis.counter_key(key))));
            arguments.extend(expected.iter().map(|value| text(&encode(*value))));
            for write in writes {
                let (value, ttl) = write.map_or((None, 1), |(pair, ttl)| (Some(pair), ttl.max(1)));
                arguments.push(text(&encode(value)));
                arguments.push(RedisParameter::Int64(i64::try_from(ttl).unwrap_or(i64::MAX)));
            }
            let reply = redis.execute("EVAL", &arguments).map_err(redis_error)?;
            match reply.split_first() {
                Some((RedisResult::Int64(1), _)) => Ok(None),
                Some((RedisResult::Int64(0), current)) => Ok(Some(redis_values(current))),
                _ => Err(StoreError::Redis(format!("unexpected reply to the counter swap: {reply:?}"))),
            }
        }
        None => {
            let db = store.db();
            db.execute("BEGIN IMMEDIATE", &[])?;
            let result = (|| {
                let current = read_sqlite(store, keys, now)?;
                if current != expected {
                    return Ok(Some(current));
                }
                write_sqlite(store, keys, writes, now)?;
                Ok(None)
            })();
            let end = if matches!(result, Ok(None)) { "COMMIT" } else { "ROLLBACK" };
            db.execute(end, &[])?;
            result
        }
    }
}

/// Writes `writes` to `keys` in at most two statements (the forgotten ones and the expired go in one, the rest
/// in one upsert).
fn write_sqlite(store: &Store, keys: &[String], writes: &[Write], now: i64) -> Result<(), StoreError> {
    let db = store.db();
    let int = |value: u64| SqlValue::Int(i64::try_from(value).unwrap_or(i64::MAX));
    let forgotten: Vec<SqlValue> = keys
        .iter()
        .zip(writes)
        .filter(|(_, write)| write.is_none())
        .map(|(key, _)| SqlValue::Text(key.clone()))
        .collect();
    let mut params = vec![SqlValue::Int(now)];
    let sweep = format!(
        "DELETE FROM throttle_counters WHERE expires_at <= $1 OR key IN ({})",
        placeholders(2, forgotten.len())
    );
    params.extend(forgotten);
    db.execute(&sweep, &params)?;
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
    db.execute(
        &format!(
            "INSERT INTO throttle_counters (key, first, second, expires_at) VALUES {} ON CONFLICT (key) DO UPDATE \
             SET first = excluded.first, second = excluded.second, expires_at = excluded.expires_at",
            rows.join(", ")
        ),
        &params,
    )?;
    Ok(())
}

/// Reads `keys`, asks `decide` what to do with what it read, and writes that atomically (re-deciding on fresh
/// values whenever another writer got there first).
pub fn update<T>(
    store: &Store,
    keys: &[String],
    now: i64,
    mut decide: impl FnMut(&[Option<Pair>]) -> Step<T>,
) -> Result<T, StoreError> {
    let mut current = read(store, keys, now)?;
    for _ in 0..MAX_ROUNDS {
        match decide(&current) {
            Step::Stop(answer) => return Ok(answer),
            Step::Write(writes, answer) => match swap(store, keys, &current, &writes, now)? {
                None => return Ok(answer),
                Some(found) => current = found,
            },
        }
    }
    Err(StoreError::Contended)
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
