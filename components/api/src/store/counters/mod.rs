//! Counters: throttle counters (small pairs of numbers under a key, each forgotten after its own time to live,
//! updated by compare-and-set so that parallel requests and parallel app instances never lose a count) and the
//! app's own monotonic metrics. One trait ([`Counters`]), implemented in the database ([`sql`]) and in Redis
//! ([`redis`]), the latter falling back to the former while Redis is unreachable ([`resilient`]), chosen once when
//! the store opens.
//!
//! [`update`] reads, lets the caller decide from what it read, and swaps; a swap that lost a race re-decides on
//! what it found. The arithmetic (what a counter becomes, whether an attempt may go ahead) is session-policy's.

pub mod redis;
pub mod resilient;
pub mod sql;

use super::error::StoreError;

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

/// A compare-and-set over several counters: write `writes` to `keys` if they all still hold `expected`.
pub struct Swap<'a> {
    /// The counters.
    pub keys: &'a [String],
    /// What the caller read (and decided on).
    pub expected: &'a [Option<Pair>],
    /// What to write, one per key.
    pub writes: &'a [Write],
    /// Now.
    pub now: i64,
}

/// What counters hold (`None`: nothing counted, or forgotten), one per key.
pub type Values = Vec<Option<Pair>>;

/// Where counters are kept.
pub trait Counters {
    /// The counters under `keys` now.
    fn read(&self, keys: &[String], now: i64) -> Result<Values, StoreError>;

    /// Does `swap`: `None` when written, else what the counters hold now.
    fn swap(&self, swap: &Swap<'_>) -> Result<Option<Values>, StoreError>;

    /// Adds one to each metric series in `series` (e.g. `event_write_failures_total{kind="login_failed"}`).
    fn count(&self, series: &[String]) -> Result<(), StoreError>;

    /// Every metric series with its count, sorted by name.
    fn metrics(&self) -> Result<Vec<(String, i64)>, StoreError>;
}

/// Reads `keys`, asks `decide` what to do with what it read, and writes that atomically (re-deciding on fresh
/// values whenever another writer got there first).
pub fn update<T>(
    counters: &dyn Counters,
    keys: &[String],
    now: i64,
    mut decide: impl FnMut(&[Option<Pair>]) -> Step<T>,
) -> Result<T, StoreError> {
    let mut current = counters.read(keys, now)?;
    for _ in 0..MAX_ROUNDS {
        match decide(&current) {
            Step::Stop(answer) => return Ok(answer),
            Step::Write(writes, answer) => {
                match counters.swap(&Swap { keys, expected: &current, writes: &writes, now })? {
                    None => return Ok(answer),
                    Some(found) => current = found,
                }
            }
        }
    }
    Err(StoreError::Contended)
}
