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
const MAX_ROUNDS: u32 = 200;

/// The longest pause between two attempts, in milliseconds.
const MAX_BACKOFF_MS: u32 = 16;

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
/// values whenever another writer got there first). A request that lost a swap pauses a random while, growing with
/// its losses up to [`MAX_BACKOFF_MS`], before it tries again, so that writers released at the same instant (a
/// thousand logins from one office's address, all counted under that address) spread out instead of losing in step;
/// after [`MAX_ROUNDS`] losses (over a second) it gives up with [`StoreError::Contended`].
pub fn update<T>(
    counters: &dyn Counters,
    keys: &[String],
    now: i64,
    mut decide: impl FnMut(&[Option<Pair>]) -> Step<T>,
) -> Result<T, StoreError> {
    let mut current = counters.read(keys, now)?;
    for round in 0..MAX_ROUNDS {
        match decide(&current) {
            Step::Stop(answer) => return Ok(answer),
            Step::Write(writes, answer) => {
                match counters.swap(&Swap { keys, expected: &current, writes: &writes, now })? {
                    None => return Ok(answer),
                    Some(found) => current = found,
                }
            }
        }
        back_off(round);
    }
    Err(StoreError::Contended)
}

/// Pauses between 0 and `min(2^round, MAX_BACKOFF_MS)` milliseconds (a random share of it; none after the first
/// loss, which is usually a single competitor).
fn back_off(round: u32) {
    use rand::TryRngCore as _;
    if round == 0 {
        return;
    }
    let ceiling = 1u32.checked_shl(round).unwrap_or(u32::MAX).min(MAX_BACKOFF_MS).saturating_mul(1000);
    // Without randomness the pause is the whole ceiling: still a pause, only not spread.
    let micros = rand::rngs::OsRng.try_next_u32().map_or(ceiling, |random| random % (ceiling + 1));
    std::thread::sleep(std::time::Duration::from_micros(u64::from(micros)));
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Counters whose swaps lose to another writer `losses` times, then win.
    struct Losing {
        losses: Cell<u32>,
        swaps: Cell<u32>,
    }

    impl Counters for Losing {
        fn read(&self, keys: &[String], _now: i64) -> Result<Values, StoreError> {
            Ok(vec![None; keys.len()])
        }

        fn swap(&self, _swap: &Swap<'_>) -> Result<Option<Values>, StoreError> {
            self.swaps.set(self.swaps.get() + 1);
            let left = self.losses.get();
            if left == 0 {
                return Ok(None);
            }
            self.losses.set(left - 1);
            Ok(Some(vec![Some((left.into(), 0))]))
        }

        fn count(&self, _series: &[String]) -> Result<(), StoreError> {
            Ok(())
        }

        fn metrics(&self) -> Result<Vec<(String, i64)>, StoreError> {
            Ok(Vec::new())
        }
    }

    fn count_one(counters: &Losing) -> Result<Option<Pair>, StoreError> {
        update(counters, &["k".to_owned()], 0, |current| {
            let seen = current.first().copied().flatten();
            Step::Write(vec![Some(((1, 0), 60))], seen)
        })
    }

    #[test]
    fn a_writer_that_keeps_losing_retries_on_what_it_found_until_it_wins() {
        // More losses than the 64 rounds this used to allow: a thousand logins from one address lost that many.
        let counters = Losing { losses: Cell::new(100), swaps: Cell::new(0) };
        // It decided last on what the final lost swap found.
        assert_eq!(count_one(&counters).unwrap(), Some((1, 0)));
        assert_eq!(counters.swaps.get(), 101);
    }

    #[test]
    fn a_writer_gives_up_after_the_last_round() {
        let counters = Losing { losses: Cell::new(MAX_ROUNDS), swaps: Cell::new(0) };
        assert!(matches!(count_one(&counters), Err(StoreError::Contended)));
        assert_eq!(counters.swaps.get(), MAX_ROUNDS);
    }
}
