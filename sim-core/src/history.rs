//! Client operations and the history of a run: what each client asked, when, and what
//! it was told. This is the input of the linearizability checker.

use serde::{Deserialize, Serialize};

use crate::time::SimTime;

/// Identifies a client of the simulated system.
pub type ClientId = u32;

/// One operation a client asks of the system. Key-value operations come first; other
/// workload families (transactions, broadcast, proposals) add variants as they arrive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Operation {
    /// Read a key; an absent key reads as the empty string.
    Get {
        /// The key.
        key: u64,
    },
    /// Set a key to a value.
    Put {
        /// The key.
        key: u64,
        /// The new value.
        value: String,
    },
    /// Set a key to `new` if it holds `expected` (absent reads as the empty string).
    Cas {
        /// The key.
        key: u64,
        /// The value the key must hold.
        expected: String,
        /// The value it gets if so.
        new: String,
    },
    /// Append a string to a key's value.
    Append {
        /// The key.
        key: u64,
        /// What is appended.
        value: String,
    },
    /// Remove a key; it then reads as the empty string. Replicas that merge optimistically
    /// must remember the removal (a tombstone) so that an older write does not bring the key
    /// back.
    Delete {
        /// The key.
        key: u64,
    },
    /// Spread update `id` to every node (the dissemination family). The node that gets it
    /// answers once it holds the update durably; reaching the others is the protocol's job.
    Broadcast {
        /// The update's identity, unique in a run.
        id: u64,
    },
    /// A transaction (atomic commit): read `reads` and write `writes`, all or nothing.
    Txn {
        /// Keys read; their values come back if the transaction commits.
        reads: Vec<u64>,
        /// Keys written, with their new values.
        writes: Vec<(u64, String)>,
    },
    /// Propose `value` for consensus instance `instance` (the consensus family); the
    /// answer is the value decided for that instance, which may be another proposal.
    Propose {
        /// The instance (one independent decree).
        instance: u64,
        /// The value proposed.
        value: String,
    },
}

impl Operation {
    /// The key the operation touches (for a broadcast, the update's id).
    pub fn key(&self) -> u64 {
        match self {
            Operation::Get { key }
            | Operation::Put { key, .. }
            | Operation::Cas { key, .. }
            | Operation::Append { key, .. }
            | Operation::Delete { key } => *key,
            Operation::Broadcast { id } => *id,
            Operation::Propose { instance, .. } => *instance,
            // A transaction spans keys; its first key stands for it in per-key views.
            Operation::Txn { reads, writes } => writes
                .first()
                .map(|w| w.0)
                .or_else(|| reads.first().copied())
                .unwrap_or(0),
        }
    }

    /// A short name of the operation's kind, for metrics and plots.
    pub fn kind(&self) -> &'static str {
        match self {
            Operation::Get { .. } => "get",
            Operation::Put { .. } => "put",
            Operation::Cas { .. } => "cas",
            Operation::Append { .. } => "append",
            Operation::Delete { .. } => "delete",
            Operation::Broadcast { .. } => "broadcast",
            Operation::Txn { .. } => "txn",
            Operation::Propose { .. } => "propose",
        }
    }

    /// Whether the operation can never change state (safe to serve from any replica that
    /// is known to be current, and to retry freely).
    pub fn is_read_only(&self) -> bool {
        matches!(self, Operation::Get { .. })
    }
}

/// What a completed operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OpOutput {
    /// The value a `Get` read.
    Value(String),
    /// A `Put` or `Append` took effect.
    Done,
    /// Whether a `Cas` took effect (`false`: the key did not hold the expected value).
    Cas(bool),
    /// What became of a `Txn`: committed with the values it read, or aborted.
    Txn {
        /// Whether it committed.
        committed: bool,
        /// The values of its read keys (empty if aborted).
        reads: Vec<(u64, String)>,
    },
    /// The value decided for the instance a `Propose` named.
    Decided(String),
}

/// What became of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Still waiting for an answer (only while a run is going).
    Pending,
    /// Completed with this output.
    Ok(OpOutput),
    /// Definitely did not take effect (the system said so).
    Failed,
    /// Unknown: it timed out, or the run ended first. It may have taken effect at any
    /// point after its invocation, or never.
    Indeterminate,
}

/// One operation in the history.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub struct HistoryOp {
    /// Position in the history, in invocation order.
    pub id: u64,
    /// The client that issued it.
    pub client: ClientId,
    /// What was asked.
    pub op: Operation,
    /// When the client sent it (virtual time, ns).
    pub invoked: SimTime,
    /// When the client learnt its outcome (`None` if it never did).
    pub completed: Option<SimTime>,
    /// What became of it.
    pub outcome: Outcome,
    /// The node whose answer the client took (none for a timeout or a history from
    /// elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_by: Option<crate::NodeId>,
}

/// All operations of a run, in invocation order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    ops: Vec<HistoryOp>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a history from operations (e.g. read from a file); ids are renumbered in
    /// order.
    pub fn from_ops(mut ops: Vec<HistoryOp>) -> Self {
        for (i, op) in ops.iter_mut().enumerate() {
            op.id = i as u64;
        }
        History { ops }
    }

    /// Records an invocation and returns its id.
    pub fn invoke(&mut self, client: ClientId, op: Operation, at: SimTime) -> u64 {
        let id = self.ops.len() as u64;
        self.ops.push(HistoryOp {
            id,
            client,
            op,
            invoked: at,
            completed: None,
            outcome: Outcome::Pending,
            served_by: None,
        });
        id
    }

    /// Records that node `node` gave operation `id` its answer.
    pub fn served(&mut self, id: u64, node: crate::NodeId) {
        if let Some(op) = self.ops.get_mut(id as usize) {
            op.served_by = Some(node);
        }
    }

    /// Records the outcome of operation `id`. An indeterminate outcome keeps no
    /// completion time: the operation may take effect arbitrarily late.
    pub fn complete(&mut self, id: u64, outcome: Outcome, at: SimTime) {
        if let Some(op) = self.ops.get_mut(id as usize) {
            op.completed = match outcome {
                Outcome::Indeterminate | Outcome::Pending => None,
                _ => Some(at),
            };
            op.outcome = outcome;
        }
    }

    /// Marks every operation still pending as indeterminate (the run ended).
    pub fn close(&mut self) {
        for op in &mut self.ops {
            if op.outcome == Outcome::Pending {
                op.outcome = Outcome::Indeterminate;
            }
        }
    }

    /// The operations in invocation order.
    pub fn ops(&self) -> &[HistoryOp] {
        &self.ops
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
