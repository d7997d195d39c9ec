//! Multi-Paxos (Lamport, "Paxos Made Simple" §3; van Renesse & Altinbuken, "Paxos Made
//! Moderately Complex", 2015) as a replicated key-value store.
//!
//! Every node is an acceptor and a replica; one at a time leads. A node that hears no
//! leader for an election timeout becomes a candidate: it runs phase 1 once, in a ballot
//! above every one it has seen, for every slot from its first one not known chosen. With a
//! majority of promises it leads: it re-proposes in its own ballot the highest-ballot
//! value reported for each of those slots (a value reported chosen as it is), fills the
//! slots nobody reported with no-ops, and then runs phase 2 alone for each new command.
//! Accepts carry the leader's commit index, so followers learn what is chosen without
//! further messages (2(N−1) per command); a follower that cannot (it missed slots, or
//! holds other ballots' values there) says so and the leader sends it the chosen commands,
//! or its snapshot if it compacted them. Commands execute in slot order, with no gaps;
//! client sessions make retried commands take effect once. Reads go through the log, or
//! under a leader lease.
//!
//! The handlers live in `election.rs` (timeouts, phase 1, taking over),
//! `replication.rs` (phase 2, commit, heartbeats, catch-up), `execute.rs` (execution
//! and snapshots) and `client.rs` (requests and reads); the checks in `invariants.rs`.

mod client;
mod config;
mod election;
mod execute;
pub mod invariants;
mod messages;
mod persist;
mod replication;

use std::collections::{BTreeMap, BTreeSet};

use sim_core::invariant::Invariant;
use sim_core::{ClientRequest, Ctx, NodeId, Protocol, RequestId, SimTime, TimerId};

pub use config::{MpReadMode, MultiPaxosBugs, MultiPaxosConfig};
pub use messages::{Command, MpMsg, Reported, Snapshot};

use crate::kv::KvStore;
use crate::paxos::Ballot;
use crate::{Family, ProtocolSpec};

/// Fires when a follower or candidate has heard no leader for too long.
const ELECTION_TIMER: TimerId = TimerId(1);
/// Fires every heartbeat interval on a leader.
const HEARTBEAT_TIMER: TimerId = TimerId(2);

/// Observation kinds, shared by the protocol and its checkers. Commands travel as digests.
pub mod obs {
    /// A node took the lead; key: its ballot ([`crate::paxos::Ballot::encode`]), value:
    /// its id.
    pub const LEADER: &str = "leader";
    /// An acceptor accepted a command; key: the slot, value: the ballot. Followed by
    /// `accept_value`.
    pub const ACCEPT: &str = "accept";
    /// The digest of the command just accepted.
    pub const ACCEPT_VALUE: &str = "accept_value";
    /// A replica executed a slot; key: the slot, value: the command's digest.
    pub const EXECUTE: &str = "execute";
    /// A replica's state now starts after this slot (key): at start from its snapshot,
    /// or on installing one; value 0.
    pub const RESTORE: &str = "restore";
    /// An acceptor's promise rose to this ballot (key); value 0.
    pub const PROMISE: &str = "promise";
}

/// What a node currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Runs phase 1 to lead.
    Candidate,
    /// Leads: runs phase 2 for client commands.
    Leader,
}

/// A command the leader proposed and a majority has not yet accepted.
#[derive(Clone, Debug, Hash)]
struct Proposal {
    command: Command,
    acks: BTreeSet<NodeId>,
    sent_at: SimTime,
}

/// State only a candidate has: the promises gathered so far.
#[derive(Clone, Debug, Hash)]
struct Candidacy {
    from: u64,
    promises: BTreeMap<NodeId, (Vec<Reported>, Option<Snapshot>)>,
}

/// State only a leader has.
#[derive(Clone, Debug, Hash)]
struct Leading {
    /// The next slot to propose in.
    next_slot: u64,
    /// Proposals not yet chosen, by slot.
    proposals: BTreeMap<u64, Proposal>,
    /// When anything was last sent to each node (heartbeats go only to quiet links).
    last_sent: Vec<Option<SimTime>>,
    /// When each node was last sent catch-up, to send it at most once a heartbeat.
    caught_up_at: Vec<Option<SimTime>>,
    /// Heartbeat rounds started, and the latest one each node acknowledged.
    round: u64,
    acked_round: Vec<u64>,
    /// When each round not yet superseded by a confirmed one started.
    round_sent: BTreeMap<u64, SimTime>,
    /// When each node was last heard in this ballot (the leader itself: always now), to
    /// step down when no majority has answered for an election timeout.
    heard: Vec<Option<SimTime>>,
    /// When this node took the lead.
    since: SimTime,
    /// The last slot the takeover recovered: until it is chosen, the leader does not
    /// know every chosen command.
    recovered_upto: u64,
}

/// One Multi-Paxos node.
#[derive(Debug, Clone, Hash)]
pub struct MultiPaxos {
    id: NodeId,
    cluster: u32,
    config: MultiPaxosConfig,
    /// The acceptor's promise, for every slot (durable).
    promised: Ballot,
    /// The highest round this node used as a candidate (durable).
    round: u64,
    /// Accepted slots (durable).
    accepted: BTreeMap<u64, (Ballot, Command)>,
    /// Slots known chosen and not yet folded into the snapshot.
    chosen: BTreeMap<u64, Command>,
    /// Every slot up to this one is chosen and known here.
    commit: u64,
    /// Every slot up to this one is executed.
    executed: u64,
    kv: KvStore,
    snapshot: Option<Snapshot>,
    role: Role,
    /// The leader this node follows, if it knows one.
    leader: Option<NodeId>,
    /// When this node last heard from the leader it follows (local clock).
    leader_contact: Option<SimTime>,
    /// Under leases, until when this node refuses every candidate: a restarted acceptor
    /// does not know whose lease it may have confirmed before it crashed.
    refuse_until: Option<SimTime>,
    candidacy: Option<Candidacy>,
    leading: Option<Leading>,
    /// Client commands this node proposed as leader, by slot, to answer on execution.
    waiting: BTreeMap<u64, RequestId>,
    /// How far the commit index of a ballot's leader has been looked at: the slots up to
    /// it accepted in that ballot are already known chosen.
    scanned: (Ballot, u64),
}

impl MultiPaxos {
    /// What this node is.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The ballot this node promised (and leads in, if it leads).
    pub fn promised(&self) -> Ballot {
        self.promised
    }
    /// Every slot up to this one is known chosen here.
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    /// Every slot up to this one is executed here.
    pub fn executed(&self) -> u64 {
        self.executed
    }
    /// The key-value state machine.
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }
    /// The command this node accepted in `slot`, and the ballot, if it holds one.
    pub fn accepted(&self, slot: u64) -> Option<&(Ballot, Command)> {
        self.accepted.get(&slot)
    }

    /// A majority of the cluster.
    fn majority(&self) -> usize {
        self.cluster as usize / 2 + 1
    }

    /// Raises the acceptor's promise to `ballot` (made durable before anything is sent).
    fn promise(&mut self, ctx: &mut Ctx<'_, MpMsg>, ballot: Ballot) {
        self.promised = ballot;
        persist::save_promise(ctx.disk(), ballot);
        ctx.observe(obs::PROMISE, ballot.encode(), 0);
    }

    /// Sends after making every durable write so far durable: nothing leaves a node
    /// before the state it depends on is on disk.
    fn send(&mut self, ctx: &mut Ctx<'_, MpMsg>, to: NodeId, msg: MpMsg) {
        ctx.disk().sync();
        if let Some(l) = self.leading.as_mut() {
            l.last_sent[to.index()] = Some(ctx.now());
        }
        ctx.send(to, msg);
    }

    fn reset_election_timer(&self, ctx: &mut Ctx<'_, MpMsg>) {
        let c = &self.config;
        crate::timeouts::set_election_timer(
            ctx,
            ELECTION_TIMER,
            c.election_timeout_min,
            c.election_timeout_max,
        );
    }
}

impl Protocol for MultiPaxos {
    type Msg = MpMsg;
    type Config = MultiPaxosConfig;

    fn start(ctx: &mut Ctx<'_, MpMsg>, config: &MultiPaxosConfig) -> Self {
        let durable = persist::load(ctx.disk());
        let (base, kv) = durable
            .snapshot
            .as_ref()
            .map_or((0, KvStore::new()), |s| (s.slot, s.kv.clone()));
        let mut node = MultiPaxos {
            id: ctx.id(),
            cluster: ctx.cluster_size(),
            config: config.clone(),
            promised: durable.promised,
            round: durable.round,
            accepted: durable.accepted,
            chosen: BTreeMap::new(),
            commit: base,
            executed: base,
            kv,
            snapshot: durable.snapshot,
            role: Role::Follower,
            leader: None,
            leader_contact: None,
            refuse_until: (config.read_mode == MpReadMode::Lease)
                .then(|| ctx.now() + config.election_timeout_min),
            candidacy: None,
            leading: None,
            waiting: BTreeMap::new(),
            scanned: (Ballot::ZERO, 0),
        };
        ctx.observe(obs::RESTORE, base, 0);
        node.advance_commit(ctx);
        node.reset_election_timer(ctx);
        node
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, MpMsg>, from: NodeId, msg: MpMsg) {
        match msg {
            MpMsg::Prepare { ballot, from: slot } => self.on_prepare(ctx, from, ballot, slot),
            MpMsg::Promise {
                ballot,
                accepted,
                snapshot,
            } => self.on_promise(ctx, from, ballot, accepted, snapshot),
            MpMsg::Accept {
                ballot,
                slot,
                command,
                commit,
            } => self.on_accept(ctx, from, ballot, slot, command, commit),
            MpMsg::Accepted {
                ballot,
                slot,
                commit,
                behind,
            } => self.on_accepted(ctx, from, ballot, slot, commit, behind),
            MpMsg::Nack { ballot, promised } => self.on_nack(ctx, ballot, promised),
            MpMsg::Heartbeat {
                ballot,
                commit,
                round,
            } => self.on_heartbeat(ctx, from, ballot, commit, round),
            MpMsg::HeartbeatReply {
                ballot,
                round,
                commit,
                behind,
            } => self.on_heartbeat_reply(ctx, from, ballot, round, commit, behind),
            MpMsg::Learn {
                ballot,
                snapshot,
                entries,
                commit,
            } => self.on_learn(ctx, from, ballot, snapshot, entries, commit),
        }
        // Durable before the handler's outputs apply, even with nothing sent (a
        // one-node cluster answers its clients without a message).
        ctx.disk().sync();
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, MpMsg>, timer: TimerId) {
        match timer {
            ELECTION_TIMER => self.on_election_timeout(ctx),
            HEARTBEAT_TIMER => self.on_heartbeat_tick(ctx),
            _ => {}
        }
        ctx.disk().sync();
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, MpMsg>, request: ClientRequest) {
        self.on_client_request(ctx, request);
        ctx.disk().sync();
    }

    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    fn leader_term(&self) -> Option<u64> {
        self.is_leader().then_some(self.promised.encode())
    }
}

impl ProtocolSpec for MultiPaxos {
    const NAME: &'static str = "MultiPaxos";
    const FAMILY: Family = Family::KeyValue;
    type Bugs = MultiPaxosBugs;

    fn messages_per_op(_config: &MultiPaxosConfig, nodes: u32) -> Option<(f64, &'static str)> {
        Some((2.0 * (f64::from(nodes.max(1)) - 1.0), "2(N−1)"))
    }

    fn enable_bug(config: &mut MultiPaxosConfig, name: &str) -> bool {
        crate::BugSet::enable(&mut config.bugs, name)
    }

    fn invariants(_config: &MultiPaxosConfig) -> Vec<Box<dyn Invariant<Self>>> {
        invariants::all()
    }

    fn validate(config: &MultiPaxosConfig, _nodes: u32) -> Result<(), crate::BadSetting> {
        config.validate()
    }
}
