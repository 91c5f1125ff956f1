//! The wasmtime engine every component is compiled with (Cranelift, async calls, epoch interruption, the pooling
//! allocator sized for the instances that may run at once, the on-disk compilation cache), and the clock that
//! advances its epoch ([`EpochTicker`]), by which a running guest yields and is stopped over its time budget.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::{Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: a running guest yields to other requests at each tick, and its time budget is checked.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What the engine is sized and cached for.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Instances running at once.
    pub max_instances: u32,
    /// Linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Where compiled components are cached, keyed by a hash of their bytes and the engine's settings; `None`
    /// compiles every start.
    pub cache_dir: Option<PathBuf>,
}

/// The engine: Cranelift, async calls, epoch interruption, and the pooling allocator sized by `config`.
pub fn new(config: &EngineConfig) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(config.max_instances.saturating_mul(2))
        .total_memories(config.max_instances.saturating_mul(4))
        .total_tables(config.max_instances.saturating_mul(8))
        .max_memory_size(config.memory_bytes);
    let mut wasmtime = Config::new();
    wasmtime.epoch_interruption(true).allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if let Some(dir) = &config.cache_dir {
        let dir = std::path::absolute(dir).with_context(|| format!("cache directory {}", dir.display()))?;
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        wasmtime.cache(Some(Cache::new(cache).map_err(anyhow::Error::from).context("opening the compilation cache")?));
    }
    Engine::new(&wasmtime).map_err(anyhow::Error::from).context("configuring wasmtime")
}

/// Advances an engine's epoch every [`EPOCH_TICK`] until dropped, on a thread of its own, so a guest spinning on
/// every tokio worker cannot stop the clock that stops it.
pub struct EpochTicker {
    ticking: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch.
    pub fn start(engine: &Engine) -> std::io::Result<Self> {
        let ticking = Arc::new(AtomicBool::new(true));
        let thread = {
            let (engine, ticking) = (engine.clone(), ticking.clone());
            std::thread::Builder::new().name("epoch-ticker".into()).spawn(move || {
                while ticking.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?
        };
        Ok(Self { ticking, thread: Some(thread) })
    }
}

impl Drop for EpochTicker {
    /// Stops the clock and waits for its thread.
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
