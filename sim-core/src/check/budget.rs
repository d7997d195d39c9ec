//! The limits a search runs within: the caller's give-up signal, a step budget, a memory
//! budget and a cancel signal from the other partitions.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Limits shared by the partitions of one check.
pub(crate) struct Limits {
    pub(crate) give_up: Option<super::GiveUp>,
    pub(crate) max_steps: Option<u64>,
    pub(crate) max_memo_bytes: usize,
    /// The memory the searches of all partitions hold now (see [`Held`]).
    pub(crate) memory: AtomicUsize,
    /// The lowest partition position known to be non-linearizable (`usize::MAX`: none).
    /// Partitions after it stop early: the reported counterexample is always the first
    /// failing partition's, whatever the thread timing.
    pub(crate) first_failure: AtomicUsize,
}

impl Limits {
    pub(crate) fn cancelled(&self, position: usize) -> bool {
        self.first_failure.load(Ordering::Relaxed) < position
    }

    pub(crate) fn failed_at(&self, position: usize) {
        self.first_failure.fetch_min(position, Ordering::Relaxed);
    }
}

/// One search's share of [`Limits::memory`]: updated at each look at the budget, given
/// back when the search ends, so partitions searched at the same time share the budget.
pub(crate) struct Held<'a> {
    limits: &'a Limits,
    bytes: usize,
}

impl<'a> Held<'a> {
    pub(crate) fn new(limits: &'a Limits) -> Self {
        Held { limits, bytes: 0 }
    }

    /// Records that this search holds `bytes` now; returns what all searches hold.
    pub(crate) fn update(&mut self, bytes: usize) -> usize {
        let memory = &self.limits.memory;
        let total = if bytes >= self.bytes {
            memory.fetch_add(bytes - self.bytes, Ordering::Relaxed) + (bytes - self.bytes)
        } else {
            memory.fetch_sub(self.bytes - bytes, Ordering::Relaxed) - (self.bytes - bytes)
        };
        self.bytes = bytes;
        total
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.limits.memory.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_share_the_memory_count_and_give_it_back() {
        let limits = Limits {
            give_up: None,
            max_steps: None,
            max_memo_bytes: 1 << 20,
            memory: AtomicUsize::new(0),
            first_failure: AtomicUsize::new(usize::MAX),
        };
        let mut a = Held::new(&limits);
        assert_eq!(a.update(1000), 1000);
        {
            let mut b = Held::new(&limits);
            assert_eq!(b.update(500), 1500);
            assert_eq!(
                a.update(200),
                700,
                "a search that shrank gives back the rest"
            );
        }
        assert_eq!(
            limits.memory.load(Ordering::Relaxed),
            200,
            "an ended search gives back all"
        );
        drop(a);
        assert_eq!(limits.memory.load(Ordering::Relaxed), 0);
    }
}
