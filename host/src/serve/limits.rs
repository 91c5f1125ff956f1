//! The limits `mfa-host up` serves under: instances, memory and time per request, and what a client may cost before
//! it gets an instance (header and body timeouts, body size, open connections).

use std::path::PathBuf;
use std::time::Duration;

use crate::runtime::engine::EngineConfig;
use crate::runtime::reuse::ReusePolicy;

/// Limits for serving.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Instances running at once; further requests wait up to `queue_timeout`, then get 503.
    pub max_instances: u32,
    /// How long a request may wait for an instance slot.
    pub queue_timeout: Duration,
    /// Linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// How long a guest may run for one request before it is stopped (504).
    pub request_timeout: Duration,
    /// Where compiled components are cached, keyed by a hash of their bytes and the engine's settings;
    /// `None` compiles every start.
    pub cache_dir: Option<PathBuf>,
    /// How long a client may take to send a request's head; then the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a client may pause while sending a request's body; then it gets 408.
    pub body_idle_timeout: Duration,
    /// The largest request body taken, in bytes; a larger one gets 413.
    pub max_body_bytes: u64,
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// How long connecting to Redis, or one Redis command, may take before it fails.
    pub redis_timeout: Duration,
    /// Requests one instance may serve (1, the default: a fresh instance for every request, as Spin serves WASIp2
    /// components); see [`crate::runtime::reuse`].
    pub max_instance_reuse_count: u32,
    /// How long an instance kept for reuse waits for a next request.
    pub idle_instance_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_instances: 64,
            queue_timeout: Duration::from_secs(5),
            memory_bytes: 128 << 20,
            request_timeout: Duration::from_secs(30),
            cache_dir: None,
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(10),
            max_body_bytes: 1 << 20,
            max_connections: 1024,
            redis_timeout: crate::capabilities::redis::DEFAULT_TIMEOUT,
            max_instance_reuse_count: 1,
            idle_instance_timeout: Duration::from_secs(1),
        }
    }
}

impl Limits {
    /// How instances are reused: as many may be kept as may run at once (each holds its memory), so the pooling
    /// allocator, sized for twice `max_instances`, always has room for new ones; and every instance that just
    /// answered can be kept, however many requests run at once (with a quarter kept, three in four of 64 parallel
    /// requests paid a new instantiation).
    pub fn reuse(&self) -> ReusePolicy {
        ReusePolicy {
            max_uses: self.max_instance_reuse_count.max(1),
            idle_timeout: self.idle_instance_timeout,
            max_parked: usize::try_from(self.max_instances).unwrap_or(usize::MAX).max(1),
        }
    }

    /// What the engine is sized and cached for.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            max_instances: self.max_instances,
            memory_bytes: self.memory_bytes,
            cache_dir: self.cache_dir.clone(),
        }
    }
}
