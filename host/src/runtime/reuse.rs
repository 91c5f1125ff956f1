//! Instances kept between requests, as Spin 4 keeps WASIp3 instances (`spin up --max-instance-reuse-count`,
//! `--idle-instance-timeout`): an instance that answered a request cleanly is parked, and the next request to its
//! component runs in it instead of a fresh one, saving the instantiation. mfa-host applies it to WASIp2 components
//! too, where Spin 4.0.2 always instantiates afresh; so it is off unless asked for (a count of 1, Spin's WASIp2
//! behaviour, is the default).
//!
//! What is kept apart: an instance serves one request at a time; it is reused only by the same component, at most
//! `max_uses` times in all, and never after a trap, a timeout, or a request that left any host resource open (a
//! database connection, a stream). One whose memory grew past [`super::memory::KEEP_MEMORY_BYTES`] is not kept
//! either (unlike Spin), so a rare large request does not leave its memory parked. Each request gets its own epoch
//! deadline and its own WASI-HTTP context. What is shared, by design, between the sequential requests of one
//! instance: the guest's own memory and globals (its statics, its allocator's free lists), exactly as within a
//! Spin WASIp3 instance. An app that keeps request data in statics must not be served with reuse on.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::Proxy;

use super::state::RequestState;

/// An instance that answered cleanly, with its store.
pub struct Warm {
    /// Its store (the request state inside is reset before the next use).
    pub store: Store<RequestState>,
    /// The instance.
    pub proxy: Proxy,
    /// How many requests it has served.
    pub uses: u32,
    parked: Instant,
}

/// How instances are reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReusePolicy {
    /// Requests one instance may serve in all (1: a fresh instance for every request).
    pub max_uses: u32,
    /// How long a parked instance is kept for reuse.
    pub idle_timeout: Duration,
    /// How many instances may be parked at once.
    pub max_parked: usize,
}

/// The parked instances of one component, newest last.
pub struct WarmInstances {
    policy: ReusePolicy,
    parked: Mutex<Vec<Warm>>,
}

impl WarmInstances {
    /// None parked yet.
    pub fn new(policy: ReusePolicy) -> Self {
        Self { policy, parked: Mutex::default() }
    }

    /// The most recently parked instance still within its idle time, if any (older ones are dropped).
    pub fn take(&self) -> Option<Warm> {
        if self.policy.max_uses <= 1 {
            return None;
        }
        let mut parked = self.parked.lock().ok()?;
        let fresh_from = parked.iter().position(|warm| warm.parked.elapsed() < self.policy.idle_timeout);
        let stale_count = fresh_from.unwrap_or(parked.len());
        let stale: Vec<Warm> = parked.drain(..stale_count).collect();
        let warm = parked.pop();
        drop(parked);
        drop(stale);
        warm
    }

    /// Parks an instance that has served `uses` requests and answered the last one cleanly, unless it is used up,
    /// still holds host resources, or enough are parked already.
    pub fn park(&self, store: Store<RequestState>, proxy: Proxy, uses: u32) {
        if uses >= self.policy.max_uses {
            return;
        }
        if !store.data().is_idle() {
            tracing::debug!(uses, "an instance left host resources open and is not reused");
            return;
        }
        if !store.data().is_small() {
            tracing::debug!(uses, "an instance's memory grew large and is not kept");
            return;
        }
        let Ok(mut parked) = self.parked.lock() else { return };
        if parked.len() < self.policy.max_parked {
            parked.push(Warm { store, proxy, uses, parked: Instant::now() });
        }
    }
}
