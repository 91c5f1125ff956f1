//! `fermyon:spin/redis@2.0.0` with the `redis` crate, as Spin's outbound Redis behaves: `open` checks the address
//! against the component's `allowed_outbound_hosts` (scheme `redis`, default port 6379) and refuses others with
//! `invalid-address`; each `open` holds one connection of its own (so MULTI/EXEC/WATCH never interleave between
//! requests), reused across requests after a reset ([`pool`]) where Spin opens a new one; `execute` flattens nested
//! reply arrays into one list and maps replies as Spin does (nil, status, int64, binary; doubles and big numbers as
//! their text, booleans as 0/1); server errors are `other`. Unlike Spin, connecting and each command give up after
//! the pool's timeout (`mfa-host up --redis-timeout-ms`), failing as `other`, so an app can tell a Redis that
//! stopped answering from a slow one.

mod pool;

use std::sync::Arc;

use redis::{Cmd, Value};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::app::allowed_hosts::AllowedHosts;
use pool::Lease;
pub use pool::{DEFAULT_TIMEOUT, RedisPool};

/// Bindings generated from `host/wit/redis.wit` (Spin's `fermyon:spin/redis@2.0.0`).
#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/redis.wit",
        world: "redis-host",
        imports: { default: async },
        additional_derives: [PartialEq],
        with: { "fermyon:spin/redis.connection": super::Connection },
    });
}

use bindings::fermyon::spin::redis::{Error, Host, HostConnection, RedisParameter, RedisResult};

/// An open connection, as the guest holds it.
pub struct Connection {
    lease: Lease,
}

fn other(error: impl std::fmt::Display) -> Error {
    Error::Other(error.to_string())
}

/// Spin's reply mapping: arrays and sets are spliced in place, recursively.
fn flatten(value: Value, out: &mut Vec<RedisResult>) -> Result<(), Error> {
    match value {
        Value::Nil => out.push(RedisResult::Nil),
        Value::Int(i) => out.push(RedisResult::Int64(i)),
        Value::BulkString(bytes) => out.push(RedisResult::Binary(bytes)),
        Value::SimpleString(status) => out.push(RedisResult::Status(status)),
        Value::Okay => out.push(RedisResult::Status("OK".to_owned())),
        Value::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        Value::Boolean(b) => out.push(RedisResult::Int64(i64::from(b))),
        Value::Array(values) | Value::Set(values) => {
            for value in values {
                flatten(value, out)?;
            }
        }
        Value::ServerError(error) => return Err(other(format!("{error:?}"))),
        unsupported => return Err(other(format!("unsupported reply {unsupported:?}"))),
    }
    Ok(())
}

/// What `fermyon:spin/redis` needs of a request: its resource table, the app's idle connections and its
/// component's `allowed_outbound_hosts`.
pub struct RedisView<'a> {
    /// The request's resources (its open connections).
    pub table: &'a mut ResourceTable,
    /// The app's idle connections.
    pub pool: &'a Arc<RedisPool>,
    /// Where the component may connect.
    pub allowed_hosts: &'a AllowedHosts,
}

impl RedisView<'_> {
    fn lease(&mut self, connection: &Resource<Connection>) -> Result<&mut Lease, Error> {
        self.table
            .get_mut(connection)
            .map(|c| &mut c.lease)
            .map_err(|_| other("could not find connection for resource"))
    }

    /// Runs `command` (named `name`) on the guest's connection, within the pool's timeout.
    async fn query<T: redis::FromRedisValue>(
        &mut self,
        resource: &Resource<Connection>,
        name: &str,
        command: Cmd,
    ) -> Result<T, Error> {
        let lease = self.lease(resource)?;
        let mut connection = lease.connection().ok_or_else(|| other("could not find connection for resource"))?;
        let unchanged_before = lease.sending();
        let answer = tokio::time::timeout(self.pool.timeout(), command.query_async(&mut connection)).await;
        if matches!(answer, Ok(Ok(_))) {
            self.lease(resource)?.answered(name, unchanged_before);
        }
        match answer {
            Ok(answer) => answer.map_err(|error| match error.kind() {
                redis::ErrorKind::TypeError => Error::TypeError,
                _ => other(error),
            }),
            Err(_) => Err(other(format!("Redis did not answer within {:?}", self.pool.timeout()))),
        }
    }
}

impl HostConnection for RedisView<'_> {
    async fn open(&mut self, address: String) -> Result<Resource<Connection>, Error> {
        if !self.allowed_hosts.allows_address(&address, "redis") {
            tracing::error!("outbound Redis destination not allowed");
            return Err(Error::InvalidAddress);
        }
        let lease = self.pool.lease(&address).await.map_err(|error| match error.kind() {
            redis::ErrorKind::InvalidClientConfig => Error::InvalidAddress,
            _ => other(error),
        })?;
        self.table.push(Connection { lease }).map_err(|_| Error::TooManyConnections)
    }

    async fn publish(&mut self, c: Resource<Connection>, channel: String, payload: Vec<u8>) -> Result<(), Error> {
        self.query(&c, "PUBLISH", redis::cmd("PUBLISH").arg(channel).arg(payload).clone()).await.map(|_: i64| ())
    }

    async fn get(&mut self, c: Resource<Connection>, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.query(&c, "GET", redis::cmd("GET").arg(key).clone()).await
    }

    async fn set(&mut self, c: Resource<Connection>, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.query(&c, "SET", redis::cmd("SET").arg(key).arg(value).clone()).await.map(|_: Value| ())
    }

    async fn incr(&mut self, c: Resource<Connection>, key: String) -> Result<i64, Error> {
        self.query(&c, "INCR", redis::cmd("INCR").arg(key).clone()).await
    }

    async fn del(&mut self, c: Resource<Connection>, keys: Vec<String>) -> Result<u32, Error> {
        self.query(&c, "DEL", redis::cmd("DEL").arg(keys).clone()).await
    }

    async fn sadd(&mut self, c: Resource<Connection>, key: String, values: Vec<String>) -> Result<u32, Error> {
        self.query(&c, "SADD", redis::cmd("SADD").arg(key).arg(values).clone()).await
    }

    async fn smembers(&mut self, c: Resource<Connection>, key: String) -> Result<Vec<String>, Error> {
        self.query(&c, "SMEMBERS", redis::cmd("SMEMBERS").arg(key).clone()).await
    }

    async fn srem(&mut self, c: Resource<Connection>, key: String, values: Vec<String>) -> Result<u32, Error> {
        self.query(&c, "SREM", redis::cmd("SREM").arg(key).arg(values).clone()).await
    }

    async fn execute(
        &mut self,
        c: Resource<Connection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>, Error> {
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(bytes) => cmd.arg(bytes),
            };
        }
        let reply: Value = self.query(&c, &command, cmd).await?;
        let mut results = Vec::new();
        flatten(reply, &mut results)?;
        Ok(results)
    }

    async fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl Host for RedisView<'_> {}

/// The interface's data in the store: a [`RedisView`].
struct Redis;

impl HasData for Redis {
    type Data<'a> = RedisView<'a>;
}

/// Adds `fermyon:spin/redis@2.0.0` to `linker`, served through the view `view` takes from the store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> RedisView<'_>,
) -> wasmtime::Result<()> {
    bindings::fermyon::spin::redis::add_to_linker::<T, Redis>(linker, view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_flattened_and_mapped_as_spin_does() {
        let reply = Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Nil, Value::Set(vec![Value::Okay])]),
            Value::SimpleString("QUEUED".into()),
            Value::Double(1.5),
            Value::Boolean(true),
        ]);
        let mut out = Vec::new();
        flatten(reply, &mut out).unwrap();
        assert_eq!(
            out,
            [
                RedisResult::Int64(1),
                RedisResult::Binary(b"a".to_vec()),
                RedisResult::Nil,
                RedisResult::Status("OK".into()),
                RedisResult::Status("QUEUED".into()),
                RedisResult::Binary(b"1.5".to_vec()),
                RedisResult::Int64(1),
            ]
        );
        let map = Value::Map(vec![(Value::Int(1), Value::Int(2))]);
        assert!(matches!(flatten(map, &mut Vec::new()), Err(Error::Other(_))));
    }
}
