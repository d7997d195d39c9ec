//! Raft (Ongaro & Ousterhout 2014; Ongaro's thesis 2014) as a replicated key-value store.
//!
//! Election with randomised timeouts, PreVote and CheckQuorum; log replication with the
//! consistency check, fast backup of `nextIndex`, batching and optional pipelining;
//! commitment of current-term entries by counting, with a no-op at the start of each
//! term; durable term, vote, log and snapshots; client sessions for exactly-once commands; reads by
//! ReadIndex, through the log, or under a leader lease.
//!
//! Single-server membership change, with the leader's own-term commit before a change,
//! catch-up of a server before it is added, and hand-over by a leader that removes itself.
//!
//! The handlers live in `election.rs` (votes and roles), `replication.rs` (AppendEntries
//! and commitment), `client.rs` (requests, reads, replies), `snapshot.rs` (log
//! compaction and InstallSnapshot) and `membership.rs` (configurations and their
//! changes).

mod client;
mod config;
mod election;
pub mod invariants;
mod log;
mod membership;
mod messages;
mod persist;
mod replication;
mod snapshot;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sim_core::invariant::Invariant;
use sim_core::{
    ClientRequest, Ctx, MembershipChange, NodeId, Protocol, RequestId, SimTime, TimerId,
};

pub use config::{RaftBugs, RaftConfig, ReadMode};
pub use log::RaftLog;
pub use messages::{
    AppendRequest, AppendResponse, Command, Entry, RaftMsg, Snapshot, SnapshotRequest, VoteRequest,
    VoteResponse,
};

use crate::kv::KvStore;
use crate::{Family, ProtocolSpec};

/// Fires when a follower or candidate has heard nothing from a leader for too long.
const ELECTION_TIMER: TimerId = TimerId(1);
/// Fires every heartbeat interval on a leader (heartbeats) and on a candidate (vote
/// retries).
const HEARTBEAT_TIMER: TimerId = TimerId(2);
/// Fires every election timeout on a leader, to check it still hears from a majority.
const QUORUM_TIMER: TimerId = TimerId(3);

/// What a node currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for pre-votes before standing for election.
    PreCandidate,
    /// Stands for election in the current term.
    Candidate,
    /// Leads the current term.
    Leader,
}

/// The leader's view of one follower.
#[derive(Clone, Debug, Hash)]
struct Progress {
    next_index: u64,
    match_index: u64,
    /// AppendEntries with entries sent and not yet answered.
    inflight: usize,
    /// When entries were last sent, to presume them lost after a heartbeat interval.
    sent_at: SimTime,
    /// Where the oldest unanswered entries began: what a presumed loss resends from.
    resend_from: u64,
    /// The latest heartbeat round the follower acknowledged.
    acked_round: u64,
    /// Heard from since the last CheckQuorum.
    active: bool,
}

/// A `Get` waiting for leadership to be confirmed and its read index applied.
#[derive(Clone, Debug, Hash)]
struct PendingRead {
    request: ClientRequest,
    /// The round whose acknowledgment by a majority confirms leadership.
    round: u64,
    /// The commit index when the read arrived; `None` until the leader has committed an
    /// entry of its term (before that it does not know the commit index).
    read_index: Option<u64>,
}

/// State only a leader has.
#[derive(Clone, Debug, Hash)]
struct LeaderState {
    /// Indexed by node id; the leader's own slot is unused.
    progress: Vec<Progress>,
    /// Heartbeat rounds started (each broadcast of AppendEntries starts one).
    round: u64,
    /// When each round not yet confirmed, and the latest confirmed one, started.
    round_sent: BTreeMap<u64, SimTime>,
    reads: Vec<PendingRead>,
    /// An entry of this term is committed, so `commit` is the true commit index.
    term_committed: bool,
    /// Membership changes asked for and not yet started.
    changes: VecDeque<MembershipChange>,
    /// The server being brought up to date before the change at the head of `changes`
    /// adds it.
    catch_up: Option<membership::CatchUp>,
}

/// One Raft node.
#[derive(Debug, Clone, Hash)]
pub struct Raft {
    id: NodeId,
    cluster: u32,
    config: RaftConfig,
    term: u64,
    voted_for: Option<NodeId>,
    log: RaftLog,
    role: Role,
    leader: Option<NodeId>,
    /// When this node last heard from the leader of its term (for CheckQuorum's refusal
    /// to vote while a leader is alive).
    leader_contact: Option<SimTime>,
    /// Under lease reads, until when this node refuses every vote after it started: it
    /// forgot whose lease it may have confirmed before it crashed.
    refuse_until: Option<SimTime>,
    /// The term this node stands in because a leader handed over to it (TimeoutNow).
    handed_over: Option<u64>,
    votes: BTreeSet<NodeId>,
    commit: u64,
    applied: u64,
    kv: KvStore,
    leading: Option<LeaderState>,
    /// Client commands this node appended as leader, by log index, to answer on apply
    /// (even after losing leadership, if the entry survives).
    waiting: BTreeMap<u64, RequestId>,
    /// The latest snapshot, to send to followers that fell behind it.
    snapshot: Option<Snapshot>,
    /// The configuration before any configuration entry or snapshot says otherwise.
    initial: Vec<NodeId>,
}

impl Raft {
    /// The current term.
    pub fn term(&self) -> u64 {
        self.term
    }
    /// What this node is.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Whom this node voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The log.
    pub fn log(&self) -> &RaftLog {
        &self.log
    }
    /// The highest index known committed (volatile: 0 after a restart until learnt).
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    /// The highest index applied to the key-value store.
    pub fn last_applied(&self) -> u64 {
        self.applied
    }
    /// The key-value state machine.
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }
    /// The leader this node knows of in its term.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// Sends after making every durable write so far durable: nothing leaves a node
    /// before the state it depends on is on disk.
    fn send(&self, ctx: &mut Ctx<'_, RaftMsg>, to: NodeId, msg: RaftMsg) {
        ctx.disk().sync();
        ctx.send(to, msg);
    }

    fn persist_hard_state(&self, ctx: &mut Ctx<'_, RaftMsg>) {
        persist::save_hard_state(ctx.disk(), self.term, self.voted_for);
    }

    fn reset_election_timer(&self, ctx: &mut Ctx<'_, RaftMsg>) {
        let c = &self.config;
        crate::timeouts::set_election_timer(
            ctx,
            ELECTION_TIMER,
            c.election_timeout_min,
            c.election_timeout_max,
        );
    }
}

impl Protocol for Raft {
    type Msg = RaftMsg;
    type Config = RaftConfig;

    fn start(ctx: &mut Ctx<'_, RaftMsg>, config: &RaftConfig) -> Self {
        let durable = persist::load(ctx.disk());
        let voted_for = if config.bugs.forget_vote_on_restart {
            None
        } else {
            durable.voted_for
        };
        let (applied, kv) = match &durable.snapshot {
            // The snapshot holds only committed entries: that much is known at once.
            Some(s) => (s.index, s.kv.clone()),
            None => (0, KvStore::new()),
        };
        let cluster = ctx.cluster_size();
        let mut initial: Vec<NodeId> = config
            .initial_members
            .iter()
            .filter(|&&n| n < cluster)
            .map(|&n| NodeId(n))
            .collect();
        initial.sort();
        initial.dedup();
        if initial.is_empty() {
            initial = (0..cluster).map(NodeId).collect();
        }
        let raft = Raft {
            initial,
            id: ctx.id(),
            cluster: ctx.cluster_size(),
            config: config.clone(),
            term: durable.term,
            voted_for,
            log: durable.log,
            role: Role::Follower,
            leader: None,
            leader_contact: None,
            refuse_until: (config.read_mode == ReadMode::Lease)
                .then(|| ctx.now() + config.election_timeout_min),
            handed_over: None,
            votes: BTreeSet::new(),
            commit: applied,
            applied,
            kv,
            leading: None,
            waiting: BTreeMap::new(),
            snapshot: durable.snapshot,
        };
        raft.reset_election_timer(ctx);
        raft
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RaftMsg>, from: NodeId, msg: RaftMsg) {
        match msg {
            RaftMsg::Vote(req) => self.on_vote_request(ctx, from, req),
            RaftMsg::VoteReply(resp) => self.on_vote_response(ctx, from, resp),
            RaftMsg::Append(req) => self.on_append(ctx, from, req),
            RaftMsg::AppendReply(resp) => self.on_append_response(ctx, from, resp),
            RaftMsg::InstallSnapshot(req) => self.on_install_snapshot(ctx, from, req),
            RaftMsg::TimeoutNow { term } => self.on_timeout_now(ctx, from, term),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>, timer: TimerId) {
        match timer {
            ELECTION_TIMER => self.on_election_timeout(ctx),
            HEARTBEAT_TIMER => self.on_heartbeat(ctx),
            QUORUM_TIMER => self.on_check_quorum(ctx),
            _ => {}
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, RaftMsg>, request: ClientRequest) {
        self.on_client_request(ctx, request);
    }

    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    fn leader_term(&self) -> Option<u64> {
        self.is_leader().then_some(self.term)
    }

    fn on_membership(&mut self, ctx: &mut Ctx<'_, RaftMsg>, change: MembershipChange) {
        self.on_membership_change(ctx, change);
    }
}

impl ProtocolSpec for Raft {
    const NAME: &'static str = "Raft";
    const FAMILY: Family = Family::KeyValue;
    type Bugs = RaftBugs;

    fn messages_per_op(_config: &RaftConfig, nodes: u32) -> Option<(f64, &'static str)> {
        Some((2.0 * (f64::from(nodes.max(1)) - 1.0), "2(N−1)"))
    }

    fn enable_bug(config: &mut RaftConfig, name: &str) -> bool {
        config.enable_bug(name)
    }

    fn invariants(_config: &RaftConfig) -> Vec<Box<dyn Invariant<Self>>> {
        invariants::all()
    }

    fn validate(config: &RaftConfig, nodes: u32) -> Result<(), crate::BadSetting> {
        config.validate(nodes)
    }
}
