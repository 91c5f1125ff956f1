//! The app's own counters, for an operator's monitoring: instances keep nothing between requests, so a counter
//! lives in Redis (`<prefix>metrics`, a hash with a 30-day time to live renewed at each count) on Redis + Postgres,
//! else in the database's `app_metrics` table. `GET /v1/admin/metrics` (service API key) answers them in
//! Prometheus' text format, named `mfa_<series>`.
//!
//! - `event_write_failures_total{kind}`: security events that could not be written (each also a log line naming
//!   its kind), so a broken audit trail never goes unnoticed.

use spin_sdk::redis::{RedisParameter, RedisResult};

use crate::sessions::{Store, StoreError};
use crate::sql::SqlValue;

/// How long the Redis hash of counters outlives its last count.
const REDIS_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// Adds one to each series in `series` (e.g. `event_write_failures_total{kind="login_failed"}`).
pub fn count(store: &Store, series: &[String]) -> Result<(), StoreError> {
    match store.redis() {
        Some(redis) => {
            let key = RedisParameter::Binary(redis.metrics_key().into_bytes());
            for name in series {
                let field = RedisParameter::Binary(name.clone().into_bytes());
                redis
                    .execute("HINCRBY", &[key.clone(), field, RedisParameter::Int64(1)])
                    .map_err(|error| StoreError::Redis(format!("{error:?}")))?;
            }
            redis
                .execute("EXPIRE", &[key, RedisParameter::Int64(REDIS_TTL_SECONDS)])
                .map_err(|error| StoreError::Redis(format!("{error:?}")))?;
        }
        None => {
            for name in series {
                store.db().execute(
                    "INSERT INTO app_metrics (name, value) VALUES ($1, 1) \
                     ON CONFLICT (name) DO UPDATE SET value = app_metrics.value + 1",
                    &[SqlValue::Text(name.clone())],
                )?;
            }
        }
    }
    Ok(())
}

/// Every counter, sorted by name.
pub fn all(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    let mut counters: Vec<(String, i64)> = match store.redis() {
        Some(redis) => {
            let key = RedisParameter::Binary(redis.metrics_key().into_bytes());
            let reply = redis.execute("HGETALL", &[key]).map_err(|error| StoreError::Redis(format!("{error:?}")))?;
            let text = |value: &RedisResult| match value {
                RedisResult::Binary(bytes) => String::from_utf8(bytes.clone()).ok(),
                RedisResult::Status(text) => Some(text.clone()),
                RedisResult::Int64(n) => Some(n.to_string()),
                _ => None,
            };
            reply
                .chunks(2)
                .filter_map(|pair| match pair {
                    [name, value] => Some((text(name)?, text(value)?.parse().ok()?)),
                    _ => None,
                })
                .collect()
        }
        None => store
            .db()
            .query("SELECT name, value FROM app_metrics", &[])?
            .into_iter()
            .filter_map(|row| match row.as_slice() {
                [name, value] => Some((name.as_str()?.to_owned(), value.as_i64()?)),
                _ => None,
            })
            .collect(),
    };
    counters.sort();
    Ok(counters)
}

/// The counters in Prometheus' text exposition format (each series family announced once, as a counter).
pub fn exposition(counters: &[(String, i64)]) -> String {
    let mut text = String::new();
    let mut announced: Vec<&str> = Vec::new();
    for (name, value) in counters {
        let family = name.split('{').next().unwrap_or(name);
        if !announced.contains(&family) {
            announced.push(family);
            text.push_str(&format!("# TYPE mfa_{family} counter\n"));
        }
        text.push_str(&format!("mfa_{name} {value}\n"));
    }
    text
}

/// The series of a failed event write of `kind`.
pub fn event_write_failure(kind: &str) -> String {
    // Kinds are the app's own snake_case words; anything else is escaped as Prometheus label values need.
    let kind: String = kind.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    format!("event_write_failures_total{{kind=\"{kind}\"}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_exposed_with_one_type_line_per_family() {
        let counters = vec![(event_write_failure("login_failed"), 2), (event_write_failure("session_created"), 1)];
        assert_eq!(
            exposition(&counters),
            "# TYPE mfa_event_write_failures_total counter\n\
             mfa_event_write_failures_total{kind=\"login_failed\"} 2\n\
             mfa_event_write_failures_total{kind=\"session_created\"} 1\n"
        );
        assert_eq!(event_write_failure("a\"b}"), "event_write_failures_total{kind=\"ab\"}");
    }
}
