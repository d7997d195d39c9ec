//! What Basic Paxos nodes say to each other (Lamport, "Paxos Made Simple", §2.2–2.3),
//! with NACKs so that a preempted proposer learns the ballot that beat it, and the
//! distinguished learner's announcement of a chosen value.

use sim_core::Message;

use super::ballot::Ballot;

/// A ballot and a value an acceptor accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Accepted {
    /// The ballot it was accepted in.
    pub ballot: Ballot,
    /// The value.
    pub value: String,
}

/// A Basic Paxos message; every one names the instance (decree) it is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosMsg {
    /// Phase 1a: promise to ignore ballots below `ballot`, and say what you accepted.
    Prepare {
        /// The instance.
        instance: u64,
        /// The proposer's ballot.
        ballot: Ballot,
    },
    /// Phase 1b: the promise, with the highest-ballot proposal the acceptor accepted.
    Promise {
        /// The instance.
        instance: u64,
        /// The ballot promised.
        ballot: Ballot,
        /// What the acceptor accepted before, if anything.
        accepted: Option<Accepted>,
    },
    /// Phase 2a: accept `value` in `ballot`.
    Accept {
        /// The instance.
        instance: u64,
        /// The proposer's ballot.
        ballot: Ballot,
        /// The value proposed.
        value: String,
    },
    /// Phase 2b, sent to the ballot's proposer (the distinguished learner).
    Accepted {
        /// The instance.
        instance: u64,
        /// The ballot accepted.
        ballot: Ballot,
        /// The value accepted.
        value: String,
    },
    /// A refusal of a Prepare or Accept in `ballot`: the acceptor promised `promised`.
    Nack {
        /// The instance.
        instance: u64,
        /// The ballot refused.
        ballot: Ballot,
        /// The higher ballot the acceptor has promised.
        promised: Ballot,
    },
    /// `value` is chosen for `instance`: the learner that saw a majority of matching
    /// Accepted tells the others, and a node that knows the outcome answers a Prepare
    /// with it.
    Chosen {
        /// The instance.
        instance: u64,
        /// The chosen value.
        value: String,
    },
}

/// Bytes of a message header (kind, instance, framing).
const HEADER: usize = 24;
/// Bytes of a ballot on the wire.
const BALLOT: usize = 12;

impl Message for PaxosMsg {
    fn kind(&self) -> &'static str {
        match self {
            PaxosMsg::Prepare { .. } => "Prepare",
            PaxosMsg::Promise { .. } => "Promise",
            PaxosMsg::Accept { .. } => "Accept",
            PaxosMsg::Accepted { .. } => "Accepted",
            PaxosMsg::Nack { .. } => "Nack",
            PaxosMsg::Chosen { .. } => "Chosen",
        }
    }

    fn size(&self) -> usize {
        HEADER
            + match self {
                PaxosMsg::Prepare { .. } => BALLOT,
                PaxosMsg::Promise { accepted, .. } => {
                    BALLOT + accepted.as_ref().map_or(1, |a| 1 + BALLOT + a.value.len())
                }
                PaxosMsg::Accept { value, .. } | PaxosMsg::Accepted { value, .. } => {
                    BALLOT + value.len()
                }
                PaxosMsg::Nack { .. } => 2 * BALLOT,
                PaxosMsg::Chosen { value, .. } => value.len(),
            }
    }
}
