//! What Raft nodes say to each other, and what a log entry holds.

use sim_core::history::Operation;
use sim_core::{Message, NodeId, RequestId};

use crate::kv::KvStore;

/// A command in the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// The entry a new leader appends at the start of its term, so that it can commit
    /// (and so learn the commit index) without waiting for a client.
    Noop,
    /// A client command, with the request id that makes retries apply once.
    Client {
        /// Who asked, and which of its requests this is.
        id: RequestId,
        /// What to do.
        op: Operation,
    },
    /// A new configuration: the voting members from this entry on (thesis §4.1: it takes
    /// effect on every server as soon as it is in its log, committed or not).
    Config(Vec<NodeId>),
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The term of the leader that created it.
    pub term: u64,
    /// What it does.
    pub command: Command,
}

impl Entry {
    /// Approximate size on the wire, for batching limits and byte counts.
    pub fn size(&self) -> usize {
        let payload = match &self.command {
            Command::Noop => 0,
            Command::Config(members) => 4 * members.len(),
            Command::Client { op, .. } => match op {
                Operation::Put { value, .. } | Operation::Append { value, .. } => value.len(),
                Operation::Cas { expected, new, .. } => expected.len() + new.len(),
                _ => 0,
            },
        };
        32 + payload
    }
}

/// RequestVote, or its PreVote form (thesis §9.6), which asks "would you vote for me in
/// `term`?" without anyone changing their term.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VoteRequest {
    /// The term the candidate stands in (for a pre-vote: the term it would stand in).
    pub term: u64,
    /// Index of the candidate's last log entry.
    pub last_log_index: u64,
    /// Term of the candidate's last log entry.
    pub last_log_term: u64,
    /// A pre-vote.
    pub pre_vote: bool,
    /// The candidate stands because the leader handed over to it (TimeoutNow): voters
    /// disregard a leader they still hear from (thesis §4.2.3).
    pub transfer: bool,
}

/// The answer to a [`VoteRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VoteResponse {
    /// The voter's term (for a granted pre-vote: the term asked about).
    pub term: u64,
    /// Whether the vote is granted.
    pub granted: bool,
    /// It answers a pre-vote.
    pub pre_vote: bool,
}

/// AppendEntries: entries to append after `prev_index`, or none (a heartbeat).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendRequest {
    /// The leader's term.
    pub term: u64,
    /// Index of the entry just before the new ones.
    pub prev_index: u64,
    /// Its term, for the consistency check.
    pub prev_term: u64,
    /// The entries, possibly none.
    pub entries: Vec<Entry>,
    /// The leader's commit index.
    pub leader_commit: u64,
    /// The leader's heartbeat round when it sent this, echoed back: acknowledgments of a
    /// round confirm leadership for ReadIndex and leases.
    pub round: u64,
}

/// The answer to an [`AppendRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendResponse {
    /// The follower's term.
    pub term: u64,
    /// Whether the entries were appended (the consistency check passed).
    pub success: bool,
    /// The request's `prev_index`, to spot stale rejections.
    pub prev_index: u64,
    /// On success: the index up to which the follower's log matches the leader's.
    pub match_index: u64,
    /// On failure: the term of the follower's conflicting entry at `prev_index`, if it
    /// has one there (fast backup, thesis §5.3 note).
    pub conflict_term: Option<u64>,
    /// On failure: the first index of `conflict_term` in the follower's log, or, without
    /// one, the follower's last index + 1.
    pub conflict_index: u64,
    /// The request's round.
    pub round: u64,
}

/// The state machine as of a log index, replacing the log up to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// The last index it includes.
    pub index: u64,
    /// The term of that entry.
    pub term: u64,
    /// The key-value state (and client sessions) after applying it.
    pub kv: KvStore,
    /// The configuration as of `index` (`None`: the initial one).
    pub members: Option<Vec<NodeId>>,
}

/// InstallSnapshot: the leader's snapshot, for a follower that needs entries the leader
/// has compacted away.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SnapshotRequest {
    /// The leader's term.
    pub term: u64,
    /// The snapshot.
    pub snapshot: Snapshot,
    /// The leader's heartbeat round, as in [`AppendRequest`].
    pub round: u64,
}

/// Raft's messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftMsg {
    /// Asks for a vote or pre-vote.
    Vote(VoteRequest),
    /// Answers one.
    VoteReply(VoteResponse),
    /// Replicates entries or beats the heart.
    Append(AppendRequest),
    /// Answers one, or an InstallSnapshot (as a success up to the snapshot's index).
    AppendReply(AppendResponse),
    /// Sends a snapshot.
    InstallSnapshot(SnapshotRequest),
    /// A leader handing over (thesis §3.10) tells a member whose log is complete to
    /// stand for election at once, in the term after `term`.
    TimeoutNow {
        /// The leader's term.
        term: u64,
    },
}

impl Message for RaftMsg {
    fn kind(&self) -> &'static str {
        match self {
            RaftMsg::Vote(v) if v.pre_vote => "PreVote",
            RaftMsg::Vote(_) => "RequestVote",
            RaftMsg::VoteReply(v) if v.pre_vote => "PreVoteResponse",
            RaftMsg::VoteReply(_) => "RequestVoteResponse",
            RaftMsg::Append(_) => "AppendEntries",
            RaftMsg::AppendReply(_) => "AppendEntriesResponse",
            RaftMsg::InstallSnapshot(_) => "InstallSnapshot",
            RaftMsg::TimeoutNow { .. } => "TimeoutNow",
        }
    }

    fn size(&self) -> usize {
        match self {
            RaftMsg::Append(a) => 48 + a.entries.iter().map(Entry::size).sum::<usize>(),
            RaftMsg::InstallSnapshot(s) => 48 + s.snapshot.kv.size(),
            _ => 40,
        }
    }
}
