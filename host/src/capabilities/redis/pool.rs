//! Redis connections kept between requests: Spin opens a new connection for every `open`; mfa-host reuses them
//! without changing what a guest can observe.
//!
//! A connection is held by ONE guest `connection` resource at a time (never shared while open, so MULTI/EXEC and
//! WATCH can never interleave between requests). When the guest drops it, or its request ends, the connection is
//! reset in the background: `RESET` (Redis >= 6.2: discards a pending MULTI, unwatches keys, leaves pub/sub and
//! client tracking, selects database 0, deauthenticates), then `AUTH` and `SELECT` again as the address asks. Only
//! a connection whose reset succeeded goes back to the idle list of its address; others are closed. So the next
//! `open` of that address starts exactly where a fresh connection would. A connection that only ran commands which
//! read or write keys and nothing else ([`STATELESS`]), each answered, is already in that state: it goes back at
//! once, sparing Redis a round trip per request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{ConnectionAddr, IntoConnectionInfo, Pipeline, RedisError, TlsCertificates};

use crate::capabilities::tls::TrustedRoots;

/// Idle connections kept per address.
const MAX_IDLE_PER_ADDRESS: usize = 64;
/// How long a reset may take before the connection is given up.
const RESET_TIMEOUT: Duration = Duration::from_secs(2);

/// How long connecting, or one command, may take by default before it fails as Redis being unreachable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The app's idle Redis connections, by address, handed out oldest first, and how long Redis may take to answer.
pub struct RedisPool {
    idle: Mutex<HashMap<String, VecDeque<MultiplexedConnection>>>,
    timeout: Duration,
    roots: TrustedRoots,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPool").finish_non_exhaustive()
    }
}

/// Commands that read or write keys and change nothing about the connection (no transaction, watch, database,
/// subscription, client setting or authentication). Scripts are not among them (before Redis 7 a script's SELECT
/// changed the caller's database), except the read-only ones, which exist only since Redis 7.
#[rustfmt::skip]
const STATELESS: &[&str] = &[
    "APPEND", "COPY", "DBSIZE", "DECR", "DECRBY", "DEL", "ECHO", "EVAL_RO", "EVALSHA_RO", "EXISTS", "EXPIRE",
    "EXPIREAT", "EXPIRETIME", "FCALL_RO", "GET", "GETDEL", "GETEX", "GETRANGE", "GETSET", "HDEL", "HEXISTS", "HGET",
    "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HKEYS", "HLEN", "HMGET", "HMSET", "HSET", "HSETNX", "HSTRLEN", "HVALS",
    "INCR", "INCRBY", "INCRBYFLOAT", "LINDEX", "LLEN", "LPOP", "LPUSH", "LRANGE", "LREM", "LSET", "LTRIM", "MGET",
    "MSET", "MSETNX", "PERSIST", "PEXPIRE", "PEXPIREAT", "PEXPIRETIME", "PFADD", "PFCOUNT", "PING", "PSETEX", "PTTL",
    "PUBLISH", "RENAME", "RENAMENX", "RPOP", "RPUSH", "SADD", "SCARD", "SET", "SETEX", "SETNX", "SETRANGE", "SISMEMBER",
    "SMEMBERS", "SMISMEMBER", "SPOP", "SRANDMEMBER", "SREM", "STRLEN", "TIME", "TOUCH", "TTL", "TYPE", "UNLINK", "ZADD",
    "ZCARD", "ZCOUNT", "ZINCRBY", "ZMSCORE", "ZPOPMAX", "ZPOPMIN", "ZRANGE", "ZRANGEBYSCORE", "ZRANK", "ZREM",
    "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZREVRANK", "ZSCORE",
];

/// A connection lent to one guest resource; returned to the pool when dropped, reset first unless it is still as
/// it was lent.
pub struct Lease {
    connection: Option<MultiplexedConnection>,
    /// Whether every command so far was [`STATELESS`] and answered (a failed, timed-out or interrupted command, or
    /// any other command, makes the connection reset before its next use).
    unchanged: bool,
    address: String,
    reset: Arc<Pipeline>,
    pool: Arc<RedisPool>,
}

impl Lease {
    /// A handle to the connection for one command.
    pub fn connection(&self) -> Option<MultiplexedConnection> {
        self.connection.clone()
    }

    /// A command is about to be sent: until [`Lease::answered`] says otherwise, the connection is not known to be
    /// unchanged. Whether it was before.
    pub fn sending(&mut self) -> bool {
        std::mem::replace(&mut self.unchanged, false)
    }

    /// Command `name`, sent when the connection was `unchanged_before`, was answered: the connection is unchanged
    /// still if it was and the command is [`STATELESS`].
    pub fn answered(&mut self, name: &str, unchanged_before: bool) {
        self.unchanged = unchanged_before && STATELESS.iter().any(|command| command.eq_ignore_ascii_case(name));
    }
}

/// The commands that bring a used connection back to the state of a fresh one for `address`.
fn reset_pipeline(address: &str) -> Result<Pipeline, RedisError> {
    let info = address.into_connection_info()?.redis;
    let mut pipeline = redis::pipe();
    pipeline.cmd("RESET").ignore();
    if let Some(password) = &info.password {
        let auth = pipeline.cmd("AUTH");
        if let Some(username) = &info.username {
            auth.arg(username);
        }
        auth.arg(password).ignore();
    }
    if info.db != 0 {
        pipeline.cmd("SELECT").arg(info.db).ignore();
    }
    Ok(pipeline)
}

impl RedisPool {
    /// An empty pool whose connections and commands fail after `timeout` without an answer (so a Redis that stops
    /// answering costs a request that long, not the request timeout), and whose TLS servers are verified against
    /// `roots`.
    pub fn new(timeout: Duration, roots: TrustedRoots) -> Self {
        Self { idle: Mutex::default(), timeout, roots }
    }

    /// How long connecting or one command may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// An idle connection to `address`, or a new one.
    pub async fn lease(self: &Arc<Self>, address: &str) -> Result<Lease, RedisError> {
        let reset = Arc::new(reset_pipeline(address)?);
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.get_mut(address).and_then(VecDeque::pop_front));
        let connection = match idle {
            Some(connection) => connection,
            None => {
                let info = address.into_connection_info()?;
                let client = match (self.roots.pem(), &info.addr) {
                    (Some(pem), ConnectionAddr::TcpTls { .. }) => {
                        redis::Client::build_with_tls(info, TlsCertificates { client_tls: None, root_cert: Some(pem) })?
                    }
                    _ => redis::Client::open(info)?,
                };
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_response_timeout(self.timeout);
                client.get_multiplexed_async_connection_with_config(&config).await?
            }
        };
        Ok(Lease {
            connection: Some(connection),
            unchanged: true,
            address: address.to_owned(),
            reset,
            pool: self.clone(),
        })
    }

    fn put_back(&self, address: String, connection: MultiplexedConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            let list = idle.entry(address).or_default();
            if list.len() < MAX_IDLE_PER_ADDRESS {
                list.push_back(connection);
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut connection) = self.connection.take() else { return };
        if self.unchanged {
            self.pool.put_back(std::mem::take(&mut self.address), connection);
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (pool, reset, address) = (self.pool.clone(), self.reset.clone(), std::mem::take(&mut self.address));
        runtime.spawn(async move {
            let done = tokio::time::timeout(RESET_TIMEOUT, reset.query_async::<()>(&mut connection)).await;
            match done {
                Ok(Ok(())) => pool.put_back(address, connection),
                Ok(Err(error)) => tracing::debug!(%error, "a Redis connection failed its reset and is closed"),
                Err(_) => tracing::debug!("a Redis connection did not reset in time and is closed"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(address: &str) -> String {
        String::from_utf8_lossy(&reset_pipeline(address).unwrap().get_packed_pipeline()).into_owned()
    }

    #[test]
    fn the_reset_restores_what_the_address_asks_for() {
        let plain = commands("redis://127.0.0.1:6379");
        assert!(plain.contains("RESET") && !plain.contains("AUTH") && !plain.contains("SELECT"), "{plain:?}");
        let full = commands("redis://app:s3cret@127.0.0.1:6379/4");
        assert!(full.contains("AUTH\r\n$3\r\napp\r\n$6\r\ns3cret"), "{full:?}");
        assert!(full.contains("SELECT\r\n$1\r\n4"), "{full:?}");
        let password_only = commands("redis://:pw@127.0.0.1:6379");
        assert!(password_only.contains("AUTH\r\n$2\r\npw"), "{password_only:?}");
    }
}
