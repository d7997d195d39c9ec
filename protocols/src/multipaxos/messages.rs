//! What Multi-Paxos nodes say to each other, and what a slot holds.

use sim_core::history::Operation;
use sim_core::{Message, RequestId};

use crate::kv::KvStore;
use crate::paxos::Ballot;

/// A command in a slot of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Fills a slot a new leader found empty below others, so execution can go past it.
    Noop,
    /// A client command, with the request id that makes retries apply once.
    Client {
        /// Who asked, and which of its requests this is.
        id: RequestId,
        /// What to do.
        op: Operation,
    },
}

impl Command {
    /// Approximate size on the wire.
    pub fn size(&self) -> usize {
        16 + match self {
            Command::Noop => 0,
            Command::Client { op, .. } => match op {
                Operation::Put { value, .. } | Operation::Append { value, .. } => value.len(),
                Operation::Cas { expected, new, .. } => expected.len() + new.len(),
                _ => 8,
            },
        }
    }
}

/// What an acceptor reports of one slot in a promise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reported {
    /// The slot.
    pub slot: u64,
    /// The ballot it accepted the command in.
    pub ballot: Ballot,
    /// The command.
    pub command: Command,
    /// The acceptor knows the command is chosen.
    pub chosen: bool,
}

/// The executed state up to a slot: the key-value store and its client sessions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// The last slot it includes.
    pub slot: u64,
    /// The state after executing it.
    pub kv: KvStore,
}

/// A Multi-Paxos message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MpMsg {
    /// Phase 1a for every slot from `from` on.
    Prepare {
        /// The candidate's ballot.
        ballot: Ballot,
        /// Its first slot not known chosen.
        from: u64,
    },
    /// Phase 1b: what the acceptor accepted from `from` on, and its snapshot if it
    /// compacted slots at or above `from`.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The accepted slots from `from` on.
        accepted: Vec<Reported>,
        /// The acceptor's snapshot, if it covers slots the candidate lacks.
        snapshot: Option<Snapshot>,
    },
    /// Phase 2a for one slot, with the leader's commit index (slots up to it are chosen).
    Accept {
        /// The leader's ballot.
        ballot: Ballot,
        /// The slot.
        slot: u64,
        /// The command proposed.
        command: Command,
        /// Every slot up to this one is chosen.
        commit: u64,
    },
    /// Phase 2b.
    Accepted {
        /// The ballot accepted in.
        ballot: Ballot,
        /// The slot.
        slot: u64,
        /// The acceptor's own commit index now.
        commit: u64,
        /// It could not learn every slot up to the leader's commit index (it needs them).
        behind: bool,
    },
    /// A refusal of a Prepare or Accept in `ballot`: the acceptor promised `promised`.
    Nack {
        /// The ballot refused.
        ballot: Ballot,
        /// The higher ballot promised.
        promised: Ballot,
    },
    /// The leader is alive; slots up to `commit` are chosen.
    Heartbeat {
        /// The leader's ballot.
        ballot: Ballot,
        /// The leader's commit index.
        commit: u64,
        /// The heartbeat round, acknowledged for leases.
        round: u64,
    },
    /// A follower's answer to a heartbeat.
    HeartbeatReply {
        /// The ballot it follows.
        ballot: Ballot,
        /// The round acknowledged.
        round: u64,
        /// Its commit index.
        commit: u64,
        /// It could not learn every slot up to the leader's commit index.
        behind: bool,
    },
    /// Catch-up: chosen commands (or a snapshot) a lagging replica lacks.
    Learn {
        /// The leader's ballot.
        ballot: Ballot,
        /// The snapshot to start from, if the leader compacted what the replica lacks.
        snapshot: Option<Snapshot>,
        /// Chosen commands, by slot, in order.
        entries: Vec<(u64, Command)>,
        /// The leader's commit index.
        commit: u64,
    },
}

/// Bytes of a message header (kind, ballot, framing).
const HEADER: usize = 32;

impl Message for MpMsg {
    fn kind(&self) -> &'static str {
        match self {
            MpMsg::Prepare { .. } => "Prepare",
            MpMsg::Promise { .. } => "Promise",
            MpMsg::Accept { .. } => "Accept",
            MpMsg::Accepted { .. } => "Accepted",
            MpMsg::Nack { .. } => "Nack",
            MpMsg::Heartbeat { .. } => "Heartbeat",
            MpMsg::HeartbeatReply { .. } => "HeartbeatReply",
            MpMsg::Learn { .. } => "Learn",
        }
    }

    fn size(&self) -> usize {
        let snap = |s: &Option<Snapshot>| s.as_ref().map_or(0, |s| 8 + s.kv.size());
        HEADER
            + match self {
                MpMsg::Prepare { .. } | MpMsg::Nack { .. } => 8,
                MpMsg::Promise {
                    accepted, snapshot, ..
                } => {
                    accepted
                        .iter()
                        .map(|r| 24 + r.command.size())
                        .sum::<usize>()
                        + snap(snapshot)
                }
                MpMsg::Accept { command, .. } => 16 + command.size(),
                MpMsg::Accepted { .. } | MpMsg::Heartbeat { .. } => 16,
                MpMsg::HeartbeatReply { .. } => 24,
                MpMsg::Learn {
                    snapshot, entries, ..
                } => entries.iter().map(|(_, c)| 8 + c.size()).sum::<usize>() + snap(snapshot),
            }
    }
}
