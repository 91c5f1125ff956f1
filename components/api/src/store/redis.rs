//! Redis, with every key under the app's prefix (the `redis_key_prefix` variable, `mfa:` by default): sessions at
//! `<prefix>s2:<storage key>`, a user's index at `<prefix>u2:<user id>` ([`super::sessions::redis`]), throttle
//! counters at `<prefix>t:<key>`, the app's metrics at `<prefix>metrics`. Also the few conversions every Redis store
//! needs (arguments, replies, errors), in one place.

use std::cell::OnceCell;

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

use super::error::StoreError;

/// Redis at a URL, connected at its first command (so a request that never needs it never connects), and the
/// app's key prefix.
pub struct Redis {
    url: String,
    connection: OnceCell<Connection>,
    prefix: String,
}

impl Redis {
    /// Redis at `url`; every key the app writes starts with `prefix`.
    pub fn new(url: String, prefix: String) -> Self {
        Self { url, connection: OnceCell::new(), prefix }
    }

    fn connection(&self) -> Result<&Connection, StoreError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection);
        }
        let connection = Connection::open(&self.url).map_err(failed)?;
        Ok(self.connection.get_or_init(|| connection))
    }

    /// Runs one command.
    pub fn run(&self, command: &str, arguments: &[RedisParameter]) -> Result<Vec<RedisResult>, StoreError> {
        self.connection()?.execute(command, arguments).map_err(failed)
    }

    /// Runs a Lua script over `keys` with `arguments`.
    pub fn eval(
        &self,
        script: &str,
        keys: &[String],
        arguments: impl IntoIterator<Item = RedisParameter>,
    ) -> Result<Vec<RedisResult>, StoreError> {
        let mut all = vec![text(script), RedisParameter::Int64(i64::try_from(keys.len()).unwrap_or(0))];
        all.extend(keys.iter().map(|key| text(key)));
        all.extend(arguments);
        self.run("EVAL", &all)
    }

    /// The key of a session.
    pub fn session_key(&self, storage_key: &str) -> String {
        format!("{}s2:{storage_key}", self.prefix)
    }

    /// The key of a user's session index.
    pub fn index_key(&self, user_id: &str) -> String {
        format!("{}u2:{user_id}", self.prefix)
    }

    /// The key of a throttle counter.
    pub fn counter_key(&self, key: &str) -> String {
        format!("{}t:{key}", self.prefix)
    }

    /// The key of one of the app's own markers (`trusted`, `populated2`, `reconciling`).
    pub fn marker_key(&self, name: &str) -> String {
        format!("{}m:{name}", self.prefix)
    }

    /// The key of the app's own counters.
    pub fn metrics_key(&self) -> String {
        format!("{}metrics", self.prefix)
    }
}

/// A text argument.
pub fn text(value: &str) -> RedisParameter {
    RedisParameter::Binary(value.as_bytes().to_vec())
}

/// An integer argument (saturating).
pub fn int(value: u64) -> RedisParameter {
    RedisParameter::Int64(i64::try_from(value).unwrap_or(i64::MAX))
}

/// A reply value as text (nil and non-UTF-8 as `None`).
pub fn text_of(value: &RedisResult) -> Option<String> {
    match value {
        RedisResult::Binary(bytes) => String::from_utf8(bytes.clone()).ok(),
        RedisResult::Status(text) => Some(text.clone()),
        RedisResult::Int64(number) => Some(number.to_string()),
        RedisResult::Nil => None,
    }
}

/// A Redis failure as a store error.
fn failed(error: impl std::fmt::Debug) -> StoreError {
    StoreError::Redis(format!("{error:?}"))
}

/// An answer Redis should never give (a script's reply of another shape).
pub fn unexpected(what: &str, reply: &[RedisResult]) -> StoreError {
    StoreError::Redis(format!("unexpected reply to {what}: {reply:?}"))
}
