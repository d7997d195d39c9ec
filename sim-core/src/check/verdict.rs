//! What the checker answers, and the limits it answers within.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A limit the caller measures and the checker only asks about, such as a wall-clock
/// deadline: sim-core never reads a clock (DESIGN.md, Determinism), so a program that
/// wants one builds it here from its own.
#[derive(Clone)]
pub struct GiveUp {
    /// Asked now and then during the search; `true` ends it with [`Verdict::Unknown`].
    pub reached: Arc<dyn Fn() -> bool + Send + Sync>,
    /// What the limit was, for the verdict's reason ("time budget of 60s").
    pub what: String,
}

impl fmt::Debug for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GiveUp({})", self.what)
    }
}

/// Limits on one check. Whatever they are, the checker never hangs and never guesses:
/// when a limit is reached the verdict is [`Verdict::Unknown`].
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// A limit measured by the caller, typically wall-clock time for the whole check; use
    /// `max_steps` where the verdict itself must be reproducible.
    pub give_up: Option<GiveUp>,
    /// Limit on search steps per partition (deterministic). Partitions are searched in
    /// rounds of doubling budgets up to this one, each round from scratch, so a partition
    /// may spend up to about twice it in all; the reported total counts every round.
    pub max_steps: Option<u64>,
    /// Limit on the memory the search may hold (bytes): the configurations it has visited
    /// and the states it has met, counted as allocated and including the growth of a
    /// container before the next look at the budget, so that the peak stays under it.
    /// Partitions searched at the same time each get an equal share. A few MiB at least:
    /// below that even a small history's first tables do not fit.
    pub max_memo_bytes: usize,
    /// Check partitions on several threads (rayon) when there are several.
    pub parallel: bool,
    /// Try each partition first with a quick search (a few steps per operation, on top of
    /// `max_steps`) that can only prove it linearizable, before the full search. It
    /// changes no verdict reached within the step budget and no counterexample, only the
    /// time easy histories take; off, every partition gets the full search (its rules are
    /// tested that way).
    pub quick_pass: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            give_up: None,
            max_steps: None,
            max_memo_bytes: 1 << 30,
            parallel: true,
            quick_pass: true,
        }
    }
}

/// One operation of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpRef {
    /// Position of the operation in the checked history (0-based).
    pub index: usize,
    /// The client or process that issued it.
    pub client: u64,
    /// The operation and its answer, as the model describes them.
    pub description: String,
}

/// Why a history is not linearizable, in one partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counterexample {
    /// The partition (key) that cannot be linearized.
    pub partition: u64,
    /// The longest linearizable prefix the search found, in linearization order.
    pub linearized: Vec<OpRef>,
    /// The model state after that prefix.
    pub state: String,
    /// The operations that could not be placed next: the first is one whose return was
    /// reached without it being placed, or a read the state can no longer grow into; the
    /// others were concurrent candidates that did not fit either.
    pub unplaceable: Vec<OpRef>,
}

/// The answer of a check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Some order of the operations respects real time and the model.
    Linearizable,
    /// No such order exists.
    NotLinearizable {
        /// Where and why.
        counterexample: Box<Counterexample>,
    },
    /// The checker could not decide within its limits.
    Unknown {
        /// Which limit was reached.
        reason: String,
    },
}

impl Verdict {
    /// The verdict's name as printed and as written in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable { .. } => "not-linearizable",
            Verdict::Unknown { .. } => "unknown",
        }
    }
}

/// A verdict with figures about how it was reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The answer.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The model's name.
    pub model: String,
    /// Operations checked (after dropping failed ones).
    pub ops: usize,
    /// Partitions the history split into.
    pub partitions: usize,
    /// Search steps taken, summed over partitions.
    pub steps: u64,
}

impl Counterexample {
    /// A multi-line, human-readable account.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "partition (key) {}:", self.partition);
        let _ = writeln!(
            s,
            "  longest linearizable prefix ({} ops):",
            self.linearized.len()
        );
        for op in &self.linearized {
            let _ = writeln!(
                s,
                "    #{:<6} client {:<4} {}",
                op.index, op.client, op.description
            );
        }
        let _ = writeln!(s, "  state after it: {}", self.state);
        let _ = writeln!(s, "  operations that cannot be placed next:");
        for op in &self.unplaceable {
            let _ = writeln!(
                s,
                "    #{:<6} client {:<4} {}",
                op.index, op.client, op.description
            );
        }
        s
    }
}
