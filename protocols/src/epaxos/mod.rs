//! EPaxos (Moraru, Andersen & Kaminsky, "There Is More Consensus in Egalitarian
//! Parliaments", SOSP 2013, and the technical report's proof and recovery), with Sutra's
//! correction ("On the correctness of Egalitarian Paxos", IPL 2020), as a replicated
//! key-value store.
//!
//! Every replica leads the commands its clients send it, each in an instance of its own
//! instance space. The leader pre-accepts the command with attributes — a sequence
//! number and the interfering instances it depends on — and sends them to a fast quorum
//! (F + ⌊(F+1)/2⌋ replicas with itself, N = 2F + 1), each of which widens them by what it
//! knows. If the fast quorum answers with the leader's own attributes, the command is
//! committed after one round trip; otherwise the leader takes the union and runs a Paxos
//! accept on a majority (the slow path) and then commits. Commands execute once their
//! dependencies are committed, strongly connected components in reverse topological
//! order and by sequence number within one.
//!
//! A replica that finds an instance uncommitted for too long (its leader may have
//! crashed) recovers it: explicit Prepare in a higher ballot of that instance, then,
//! depending on what a majority reports, a commit, an accept of the newest accepted
//! attributes, TryPreAccept of attributes a fast path may have committed, or phase 1 again
//! (with a no-op if nobody knows the command). Each instance keeps its promise and the
//! ballot of its vote apart (Sutra's correction).
//!
//! The handlers live in `leader.rs` (client commands, phase 1 and 2 as leader),
//! `replica.rs` (answers to a leader), `recovery.rs` (explicit prepare and TryPreAccept),
//! `execute.rs` (the dependency graph), `persist.rs`; the checks in `invariants.rs`.

mod config;
mod execute;
pub mod instance;
pub mod invariants;
mod leader;
mod messages;
mod persist;
mod recovery;
mod replica;

use std::collections::{BTreeMap, BTreeSet};

use sim_core::invariant::Invariant;
use sim_core::{ClientRequest, Ctx, NodeId, Protocol, RequestId, SimDuration, SimTime, TimerId};

pub use config::{EPaxosBugs, EPaxosConfig, fast_quorum, majority};
pub use instance::{Attrs, InstanceId, Record, Status, Vote};
pub use messages::EpMsg;

use crate::kv::KvStore;
use crate::paxos::Ballot;
use crate::{Family, ProtocolSpec};

use instance::Interference;
use leader::Coord;

/// Fires every retry interval: resends, and recoveries of instances stalled too long.
const TICK_TIMER: TimerId = TimerId(1);

/// Observation kinds, shared by the protocol and its checkers.
pub mod obs {
    /// A replica committed an instance; key: [`super::InstanceId::encode`], value: the
    /// digest of its attributes (command, sequence number, dependencies).
    pub const COMMIT: &str = "commit";
    /// A replica executed an instance; key: the instance, value: the command's digest.
    /// A client command's is followed by `execute_access`.
    pub const EXECUTE: &str = "execute";
    /// The key the command just executed touched (key), and 1 if it writes (value).
    pub const EXECUTE_ACCESS: &str = "execute_access";
    /// A replica (re)started: it executes everything again from an empty store.
    pub const RESTORE: &str = "restore";
    /// A command committed on the fast path (key: the instance), or the slow path
    /// (`slow_commit`); counted for the fast-path share.
    pub const FAST_COMMIT: &str = "fast_commit";
    /// See [`FAST_COMMIT`].
    pub const SLOW_COMMIT: &str = "slow_commit";
}

/// One EPaxos replica.
#[derive(Clone, Debug, Hash)]
pub struct EPaxos {
    id: NodeId,
    cluster: u32,
    config: EPaxosConfig,
    /// Every instance this replica knows (durable).
    instances: BTreeMap<InstanceId, Record>,
    /// The interfering instances known, by key.
    index: Interference,
    /// The slot of this replica's next instance.
    next_slot: u64,
    /// Per replica: every one of its instances up to here is committed here.
    committed_upto: Vec<u64>,
    /// Executed instances.
    executed: BTreeSet<InstanceId>,
    /// Committed, unexecuted client commands, by key.
    unexecuted: BTreeMap<u64, BTreeSet<InstanceId>>,
    /// Instances that cannot execute yet, and the uncommitted instance each waits for.
    blocked_on: BTreeMap<InstanceId, InstanceId>,
    /// The reverse: per uncommitted instance, who waits for it.
    waiters: BTreeMap<InstanceId, Vec<InstanceId>>,
    kv: KvStore,
    /// Instances this replica drives now (as their leader or as a recoverer).
    coords: BTreeMap<InstanceId, Coord>,
    /// Client commands this replica leads, answered on execution.
    waiting: BTreeMap<InstanceId, RequestId>,
    /// Instances known here and not committed (or waited for), since when.
    stalled: BTreeMap<InstanceId, SimTime>,
    /// Measured round trips to each replica (itself: zero).
    rtt: Vec<Option<SimDuration>>,
    /// When each probe went out.
    probed_at: SimTime,
    /// Ballots others refused this replica's messages with, per instance: its next
    /// recovery of the instance starts above them.
    hints: BTreeMap<InstanceId, Ballot>,
    /// This replica's extra wait before recovering, drawn at start.
    jitter: SimDuration,
}

impl EPaxos {
    /// The key-value state machine.
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }
    /// What this replica knows of `inst`.
    pub fn record(&self, inst: InstanceId) -> Option<&Record> {
        self.instances.get(&inst)
    }

    /// F + ⌊(F+1)/2⌋ (see [`fast_quorum`]).
    fn fast_quorum(&self) -> usize {
        fast_quorum(self.cluster, self.config.bugs.fast_quorum_majority)
    }
    fn majority(&self) -> usize {
        majority(self.cluster)
    }

    /// Sends after making every durable write so far durable: nothing leaves a replica
    /// before the state it depends on is on disk.
    fn send(&mut self, ctx: &mut Ctx<'_, EpMsg>, to: NodeId, msg: EpMsg) {
        ctx.disk().sync();
        ctx.send(to, msg);
    }

    /// The other replicas, closest first by measured round trip (unmeasured ones last,
    /// then by id after this one), so thrifty leaders ask the closest.
    fn peers_by_distance(&self) -> Vec<NodeId> {
        let n = self.cluster;
        let mut peers: Vec<NodeId> = (1..n).map(|k| NodeId((self.id.0 + k) % n)).collect();
        peers.sort_by_key(|p| {
            (
                self.rtt[p.index()].map_or(u64::MAX, |d| d.as_nanos()),
                (p.0 + n - self.id.0) % n,
            )
        });
        peers
    }

    /// Writes what this replica knows of `inst` to disk (synced before the next send).
    fn persist(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) {
        if let Some(r) = self.instances.get(&inst) {
            persist::save(ctx.disk(), inst, r);
        }
    }

    /// Sets this replica's vote for `inst`, indexes its command, and writes it to disk
    /// unless `durable` is false (only under the `preaccept_not_durable` bug).
    fn vote(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId, vote: Vote, durable: bool) {
        self.index.record(inst, &vote.attrs.command, vote.attrs.seq);
        self.join(inst, vote.ballot);
        let status = vote.status;
        let rec = self.instances.entry(inst).or_default();
        rec.vote = Some(vote);
        if inst.replica == self.id.0 {
            self.next_slot = self.next_slot.max(inst.slot + 1);
        }
        if status == Status::Committed {
            let digest = crate::kv::digest(&rec.vote.as_ref().map(|v| &v.attrs));
            ctx.observe(obs::COMMIT, inst.encode(), digest);
        } else {
            self.stalled.entry(inst).or_insert(ctx.now());
        }
        if durable {
            self.persist(ctx, inst);
        }
    }

    /// The promise this replica holds for `inst`.
    fn promised(&self, inst: InstanceId) -> Ballot {
        self.instances
            .get(&inst)
            .map_or(Ballot::ZERO, |r| r.promised)
    }

    /// Joins `ballot` for `inst` (the caller persists): this replica's promise rises, and
    /// if it drove the instance in a lower ballot, it stops (answers to that ballot can no
    /// longer make a decision it may act on).
    fn join(&mut self, inst: InstanceId, ballot: Ballot) {
        let rec = self.instances.entry(inst).or_default();
        rec.promised = rec.promised.max(ballot);
        if inst.replica == self.id.0 {
            self.next_slot = self.next_slot.max(inst.slot + 1);
        }
        if self.coords.get(&inst).is_some_and(|c| c.ballot < ballot) {
            self.coords.remove(&inst);
        }
    }

    fn reset_tick(&self, ctx: &mut Ctx<'_, EpMsg>) {
        ctx.set_timer(TICK_TIMER, self.config.retry_interval);
    }
}

impl Protocol for EPaxos {
    type Msg = EpMsg;
    type Config = EPaxosConfig;

    fn start(ctx: &mut Ctx<'_, EpMsg>, config: &EPaxosConfig) -> Self {
        let n = ctx.cluster_size();
        let id = ctx.id();
        let instances = persist::load(ctx.disk());
        let jitter = {
            use rand::Rng;
            let max = config.recovery_timeout.as_nanos().max(1);
            SimDuration(ctx.rng().random_range(0..max))
        };
        let mut node = EPaxos {
            id,
            cluster: n,
            config: config.clone(),
            instances: BTreeMap::new(),
            index: Interference::new(n, config.reads_commute),
            next_slot: 1,
            committed_upto: vec![0; n as usize],
            executed: BTreeSet::new(),
            unexecuted: BTreeMap::new(),
            blocked_on: BTreeMap::new(),
            waiters: BTreeMap::new(),
            kv: KvStore::new(),
            coords: BTreeMap::new(),
            waiting: BTreeMap::new(),
            stalled: BTreeMap::new(),
            rtt: vec![None; n as usize],
            probed_at: ctx.now(),
            hints: BTreeMap::new(),
            jitter,
        };
        node.rtt[id.index()] = Some(SimDuration::ZERO);
        ctx.observe(obs::RESTORE, 0, 0);
        node.restore(ctx, instances);
        for p in ctx.peers().collect::<Vec<_>>() {
            node.send(ctx, p, EpMsg::Probe);
        }
        node.reset_tick(ctx);
        node
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, EpMsg>, from: NodeId, msg: EpMsg) {
        match msg {
            EpMsg::Probe => self.send(ctx, from, EpMsg::ProbeReply),
            EpMsg::ProbeReply => {
                if self.rtt[from.index()].is_none() {
                    self.rtt[from.index()] = Some(ctx.now() - self.probed_at);
                }
            }
            EpMsg::PreAccept {
                inst,
                ballot,
                attrs,
            } => self.on_preaccept(ctx, from, inst, ballot, attrs),
            EpMsg::PreAcceptOk {
                inst,
                ballot,
                seq,
                deps,
                deps_committed,
            } => self.on_preaccept_ok(ctx, from, inst, ballot, seq, deps, deps_committed),
            EpMsg::Accept {
                inst,
                ballot,
                attrs,
            } => self.on_accept(ctx, from, inst, ballot, attrs),
            EpMsg::AcceptOk { inst, ballot } => self.on_accept_ok(ctx, from, inst, ballot),
            EpMsg::Commit { inst, attrs } => self.on_commit(ctx, inst, attrs),
            EpMsg::Nack {
                inst,
                ballot,
                promised,
            } => self.on_nack(ctx, inst, ballot, promised),
            EpMsg::Prepare { inst, ballot } => self.on_prepare(ctx, from, inst, ballot),
            EpMsg::PrepareOk { inst, ballot, vote } => {
                self.on_prepare_ok(ctx, from, inst, ballot, vote)
            }
            EpMsg::TryPreAccept {
                inst,
                ballot,
                attrs,
                eq,
            } => self.on_try_preaccept(ctx, from, inst, ballot, attrs, eq),
            EpMsg::TryPreAcceptReply {
                inst,
                ballot,
                ok,
                conflict,
            } => self.on_try_preaccept_reply(ctx, from, inst, ballot, ok, conflict),
        }
        ctx.disk().sync();
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, EpMsg>, timer: TimerId) {
        if timer == TICK_TIMER {
            self.on_tick(ctx);
            self.reset_tick(ctx);
        }
        ctx.disk().sync();
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, EpMsg>, request: ClientRequest) {
        self.on_client_request(ctx, request);
        ctx.disk().sync();
    }
}

impl ProtocolSpec for EPaxos {
    const NAME: &'static str = "EPaxos";
    const FAMILY: Family = Family::KeyValue;
    type Bugs = EPaxosBugs;

    fn messages_per_op(config: &EPaxosConfig, nodes: u32) -> Option<(f64, &'static str)> {
        // The fast path: PreAccept and its answer to every other replica (thrifty: to the
        // rest of the fast quorum only), and a Commit to every other replica.
        let n = f64::from(nodes.max(1));
        if config.thrifty {
            let fq = fast_quorum(nodes.max(1), config.bugs.fast_quorum_majority) as f64;
            Some((2.0 * (fq - 1.0) + (n - 1.0), "2(FQ−1)+(N−1)"))
        } else {
            Some((3.0 * (n - 1.0), "3(N−1)"))
        }
    }

    fn enable_bug(config: &mut EPaxosConfig, name: &str) -> bool {
        crate::BugSet::enable(&mut config.bugs, name)
    }

    fn invariants(config: &EPaxosConfig) -> Vec<Box<dyn Invariant<Self>>> {
        invariants::all(config.reads_commute)
    }

    fn validate(config: &EPaxosConfig, nodes: u32) -> Result<(), crate::BadSetting> {
        if nodes % 2 == 0 {
            return Err(crate::BadSetting::new(
                "nodes",
                format!(
                    "found {nodes}, expected an odd cluster size: EPaxos's quorums are defined for N = 2F + 1"
                ),
            ));
        }
        config.validate()
    }
}
