//! Atomic commitment: two-phase commit (Gray 1978; presumed abort after Mohan, Lindsay &
//! Obermarck 1986) and three-phase commit (Skeen 1981), over one transaction workload.
//!
//! One node (the configured coordinator, node 0 by default) runs transactions for the
//! clients; every other node is a participant that holds the keys `k` with
//! `k % participants == its rank` and locks them from prepare to decision (strict
//! two-phase locking). The participant machinery both protocols share (locks, the
//! versioned store, the durable per-transaction record, voting) lives in `txn.rs`; what
//! their nodes share beyond it (the coordinator's bookkeeping, vote requests, the timer)
//! in `node.rs`; the protocols in `two_phase.rs` and `three_phase.rs`; the checks in `invariants.rs`; the
//! uncertainty ("blocking") figures in `blocking.rs`.
//!
//! Facts reported to the checkers (`ctx.observe`), all keyed by transaction id:
//! `begin` (value: bit mask of its participants), `vote` (1 yes, 0 no), `prepared` (a
//! participant became uncertain), `decide` (a participant applied 1 commit / 0 abort),
//! `coord_decide` (a coordinator decided), `timeout` (a timeout, i.e. a suspected
//! failure, affected it), `write` (value: a key it wrote, in apply order), `read` and
//! `read_from` (a key it read and the transaction whose write it saw, in pairs).

pub mod blocking;
pub mod invariants;
mod node;
pub mod three_phase;
pub mod two_phase;
pub mod txn;

pub use three_phase::{ThreePhaseCommit, ThreePhaseConfig};
pub use two_phase::{TwoPhaseCommit, TwoPhaseConfig};
pub use txn::{TxnBody, TxnId, txn_id};

/// Observation kinds, shared by the protocols and the checkers.
pub mod obs {
    /// A coordinator started a transaction; value: bit mask of its participants.
    pub const BEGIN: &str = "begin";
    /// A participant voted; value: 1 yes, 0 no.
    pub const VOTE: &str = "vote";
    /// A participant voted yes and is now uncertain of the outcome.
    pub const PREPARED: &str = "prepared";
    /// A participant applied a decision; value: 1 commit, 0 abort.
    pub const DECIDE: &str = "decide";
    /// A coordinator (or a 3PC backup coordinator) decided; value: 1 commit, 0 abort.
    pub const COORD_DECIDE: &str = "coord_decide";
    /// A timeout (a suspected failure) affected the transaction.
    pub const TIMEOUT: &str = "timeout";
    /// A committed transaction wrote this key (value), in the order the holder applied it.
    pub const WRITE: &str = "write";
    /// A committed transaction read this key (value); followed by its `read_from`.
    pub const READ: &str = "read";
    /// The transaction (value) whose write the preceding `read` saw; 0: the initial value.
    pub const READ_FROM: &str = "read_from";
}
