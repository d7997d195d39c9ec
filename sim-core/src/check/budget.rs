//! The limits a search runs within: a wall-clock deadline, a step budget and a cancel
//! signal from the other partitions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A wall-clock deadline. Checking runs after a simulation has ended, never inside one, so
/// reading the clock here cannot make a run nondeterministic (DESIGN.md, Determinism).
#[allow(clippy::disallowed_types)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(std::time::Instant);

#[allow(clippy::disallowed_types)]
impl Deadline {
    pub(crate) fn after(timeout: Duration) -> Self {
        let now = std::time::Instant::now();
        Deadline(
            now.checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(1 << 40)),
        )
    }

    pub(crate) fn passed(&self) -> bool {
        std::time::Instant::now() >= self.0
    }
}

/// Limits shared by the partitions of one check.
pub(crate) struct Limits {
    pub(crate) deadline: Option<Deadline>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_steps: Option<u64>,
    pub(crate) max_memo_bytes: usize,
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
