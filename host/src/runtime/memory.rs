//! The memory caps of one store, and how large its linear memories have grown: an instance whose memory grew past
//! [`KEEP_MEMORY_BYTES`] is not kept for reuse ([`super::reuse`]), so the memory of a rare large request (a password
//! hash takes 19 MiB) goes back to the system instead of staying with a parked instance.

use wasmtime::{ResourceLimiter, StoreLimits};

/// The most linear memory an instance may have grown to and still be kept for another request.
pub const KEEP_MEMORY_BYTES: usize = 16 << 20;

/// A store's limits, watching the largest linear memory its instances asked for.
pub struct MemoryWatch {
    limits: StoreLimits,
    largest: usize,
}

impl MemoryWatch {
    /// Enforces `limits`.
    pub fn new(limits: StoreLimits) -> Self {
        Self { limits, largest: 0 }
    }

    /// Whether every linear memory stayed within [`KEEP_MEMORY_BYTES`].
    pub fn small(&self) -> bool {
        self.largest <= KEEP_MEMORY_BYTES
    }
}

impl ResourceLimiter for MemoryWatch {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.largest = self.largest.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::StoreLimitsBuilder;

    #[test]
    fn the_largest_growth_allowed_is_remembered() {
        let mut watch = MemoryWatch::new(StoreLimitsBuilder::new().memory_size(64 << 20).build());
        assert!(watch.small());
        assert!(watch.memory_growing(0, 8 << 20, None).unwrap());
        assert!(watch.small());
        // Refused growth (over the cap) is not counted.
        assert!(!watch.memory_growing(8 << 20, 128 << 20, None).unwrap());
        assert!(watch.small());
        assert!(watch.memory_growing(8 << 20, 20 << 20, None).unwrap());
        assert!(!watch.small());
    }
}
