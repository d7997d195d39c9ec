//! The limits a search runs within: the caller's give-up signal, a step budget, a memory
//! budget and a cancel signal from the other partitions.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Limits shared by the partitions of one check.
pub(crate) struct Limits {
    pub(crate) give_up: Option<super::GiveUp>,
    pub(crate) max_steps: Option<u64>,
    pub(crate) max_memo_bytes: usize,
    /// The part of `max_memo_bytes` each search may hold: all of it, or an equal share
    /// for each partition searched at the same time. A fixed share, not a shared count,
    /// keeps the verdict independent of thread timing.
    pub(crate) memory_share: usize,
    /// How many partitions are searched at the same time.
    pub(crate) memory_ways: usize,
    /// The lowest partition position known to be non-linearizable (`usize::MAX`: none).
    /// Partitions after it stop early: the reported counterexample is always the first
    /// failing partition's, whatever the thread timing.
    pub(crate) first_failure: AtomicUsize,
    /// Whether each partition is first tried by a quick pass, without the bookkeeping of
    /// what waiting operations wait for. Only in the first round: the partitions left for
    /// later rounds are those the quick pass did not settle.
    pub(crate) quick_pass: bool,
}

impl Limits {
    pub(crate) fn cancelled(&self, position: usize) -> bool {
        self.first_failure.load(Ordering::Relaxed) < position
    }

    pub(crate) fn failed_at(&self, position: usize) {
        self.first_failure.fetch_min(position, Ordering::Relaxed);
    }
}
