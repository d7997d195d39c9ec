//! Epidemic dissemination (Demers et al., "Epidemic algorithms for replicated database
//! maintenance", 1987): rumor mongering in push, pull and push-pull modes with the
//! feedback/blind × counter/coin stop rules, and anti-entropy between replicas of a
//! last-writer-wins key-value store, comparing Merkle trees over key ranges (or, as a
//! baseline, the whole state). Run together, rumors spread updates fast and anti-entropy
//! repairs what rumors missed.
//!
//! Clients talk to any replica: a `Put` or `Delete` is stamped and stored durably at the
//! replica that gets it and acknowledged at once; a `Broadcast` becomes a register under
//! a reserved key ([`store::BROADCAST_KEYS`]); a `Get` reads the local replica.
//!
//! Facts for the checkers (`ctx.observe`): `inject` (update id) where a broadcast enters,
//! `have` (update id) when a node first holds one, `kv` (key, [`store::value_digest`])
//! whenever a client key changes at a node, and `digest` (0, root hash) after every change
//! of the store and at every start.
//!
//! Handlers: `rumor.rs` (mongering), `anti_entropy.rs` (repair). State: `store.rs`
//! (registers and their tree), `merkle.rs`, `crdt.rs` (the replicated data types).

mod anti_entropy;
mod config;
pub mod crdt;
pub mod invariants;
pub mod merkle;
mod messages;
mod rumor;
pub mod store;

use std::collections::BTreeMap;

use rand::Rng;
use sim_core::history::OpOutput;
use sim_core::invariant::Invariant;
use sim_core::{ClientRequest, Ctx, NodeId, Operation, Protocol, Reply, SimDuration, TimerId};

pub use config::{
    AntiEntropyConfig, Digest, GossipBugs, GossipConfig, Mode, RumorConfig, StopRule,
};
pub use messages::{GossipMsg, Update, is_rumor_kind};

use crate::{Family, ProtocolSpec};
use crdt::Lww;
use store::{BROADCAST_KEYS, Store, broadcast_key, value_digest};

/// Fires once per rumor period.
const RUMOR_TIMER: TimerId = TimerId(1);
/// Fires once per anti-entropy period.
const ANTI_ENTROPY_TIMER: TimerId = TimerId(2);
/// The disk namespace of the registers, indexed by key.
const DISK_NS: &str = "gossip";

/// How much a rumor has been spread to no purpose.
#[derive(Clone, Copy, Debug, Default, Hash)]
struct Hot {
    /// Contacts counted towards the stop rule.
    counter: u32,
}

/// One gossip node: a replica of the store and the rumors it is spreading.
#[derive(Debug, Clone, Hash)]
pub struct Gossip {
    id: NodeId,
    cluster: u32,
    config: GossipConfig,
    store: Store,
    /// Keys whose current register this node is spreading as a rumor (volatile: a node
    /// that restarts has lost interest in everything).
    hot: BTreeMap<u64, Hot>,
}

impl Gossip {
    /// The replica's registers.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The keys this node is spreading as rumors.
    pub fn hot_rumors(&self) -> impl Iterator<Item = u64> + '_ {
        self.hot.keys().copied()
    }

    /// Whether the node holds broadcast update `id`.
    pub fn has_update(&self, id: u64) -> bool {
        self.store.get(broadcast_key(id)).is_some()
    }

    /// The value of client key `key` here (`None`: absent or deleted).
    pub fn value(&self, key: u64) -> Option<&str> {
        self.store.get(key).and_then(|e| e.value.as_deref())
    }

    /// Sends after making every write so far durable: nothing leaves a node before the
    /// state it reflects is on disk.
    fn send(&self, ctx: &mut Ctx<'_, GossipMsg>, to: NodeId, msg: GossipMsg) {
        ctx.disk().sync();
        ctx.send(to, msg);
    }

    /// A uniformly random other node (the membership view is the whole cluster).
    fn random_peer(&self, ctx: &mut Ctx<'_, GossipMsg>) -> Option<NodeId> {
        if self.cluster < 2 {
            return None;
        }
        let r = ctx.rng().random_range(0..self.cluster - 1);
        Some(NodeId(if r >= self.id.0 { r + 1 } else { r }))
    }

    /// `k` distinct random peers (all of them if there are fewer).
    fn random_peers(&self, ctx: &mut Ctx<'_, GossipMsg>, k: u32) -> Vec<NodeId> {
        let others = self.cluster.saturating_sub(1);
        let k = k.min(others) as usize;
        let mut out: Vec<NodeId> = Vec::with_capacity(k);
        while out.len() < k {
            let Some(p) = self.random_peer(ctx) else {
                break;
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// Delay until the next period boundary plus a random offset of at most `jitter`, on
    /// the node's own clock: with a small jitter, all nodes act in step, once per round.
    fn next_tick(
        ctx: &mut Ctx<'_, GossipMsg>,
        period: SimDuration,
        jitter: SimDuration,
    ) -> SimDuration {
        let p = period.as_nanos().max(1);
        let now = ctx.now().as_nanos();
        let boundary = (now / p + 1) * p;
        let offset = if jitter.as_nanos() == 0 {
            0
        } else {
            ctx.rng().random_range(0..=jitter.as_nanos())
        };
        SimDuration::from_nanos(boundary + offset - now)
    }

    /// Merges registers received from a peer. Returns the keys that were already known
    /// (no change), for feedback; new ones become hot rumors.
    fn merge(&mut self, ctx: &mut Ctx<'_, GossipMsg>, updates: Vec<Update>) -> Vec<u64> {
        let mut known = Vec::new();
        let mut changed = false;
        for (key, entry) in updates {
            if self.install(ctx, key, entry) {
                changed = true;
                if self.config.rumor.is_some() {
                    self.hot.insert(key, Hot::default());
                }
            } else {
                known.push(key);
            }
        }
        if changed {
            ctx.disk().sync();
            ctx.observe("digest", 0, self.store.digest());
        }
        known
    }

    /// Stores one register if it wins over the local one, persists it and reports it.
    fn install(&mut self, ctx: &mut Ctx<'_, GossipMsg>, key: u64, entry: Lww) -> bool {
        if !self.store.apply(key, entry.clone()) {
            return false;
        }
        if key >= BROADCAST_KEYS {
            ctx.observe("have", key & !BROADCAST_KEYS, 0);
        } else {
            ctx.observe("kv", key, value_digest(entry.value.as_deref()));
        }
        ctx.disk().put(DISK_NS, key, entry);
        true
    }

    /// A local write by a client: stamped past everything seen for the key.
    fn write(&mut self, ctx: &mut Ctx<'_, GossipMsg>, key: u64, value: Option<String>) {
        let stamp = self.store.next_stamp(key, self.id.0, ctx.now().as_nanos());
        let entry = Lww { stamp, value };
        self.install(ctx, key, entry);
        if self.config.rumor.is_some() {
            self.hot.insert(key, Hot::default());
        }
    }

    /// The `no_tombstones` delete: the key is simply dropped.
    fn forget(&mut self, ctx: &mut Ctx<'_, GossipMsg>, key: u64) {
        if self.store.forget(key) {
            ctx.disk().delete(DISK_NS, key);
            ctx.observe("kv", key, 0);
        }
        self.hot.remove(&key);
    }
}

impl Protocol for Gossip {
    type Msg = GossipMsg;
    type Config = GossipConfig;

    fn start(ctx: &mut Ctx<'_, GossipMsg>, config: &GossipConfig) -> Self {
        let mut store = Store::new(config.tree_depth());
        let saved: Vec<(u64, Lww)> = ctx
            .disk()
            .range::<Lww>(DISK_NS)
            .map(|(k, e)| (k, e.clone()))
            .collect();
        for (k, e) in saved {
            store.apply(k, e);
        }
        // Report what survived, so checkers track this incarnation from its real state.
        for (k, e) in store.entries() {
            if k >= BROADCAST_KEYS {
                ctx.observe("have", k & !BROADCAST_KEYS, 0);
            } else {
                ctx.observe("kv", k, value_digest(e.value.as_deref()));
            }
        }
        ctx.observe("digest", 0, store.digest());
        let node = Gossip {
            id: ctx.id(),
            cluster: ctx.cluster_size(),
            config: config.clone(),
            store,
            hot: BTreeMap::new(),
        };
        if let Some(r) = &node.config.rumor {
            let d = Self::next_tick(ctx, r.period, r.jitter);
            ctx.set_timer(RUMOR_TIMER, d);
        }
        if let Some(a) = node.config.active_anti_entropy() {
            let d = Self::next_tick(ctx, a.period, a.jitter);
            ctx.set_timer(ANTI_ENTROPY_TIMER, d);
        }
        node
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, GossipMsg>, from: NodeId, msg: GossipMsg) {
        match msg {
            GossipMsg::Push { updates } => self.on_push(ctx, from, updates),
            GossipMsg::Pull => self.on_pull(ctx, from),
            GossipMsg::PullReply { updates } => self.on_pull_reply(ctx, from, updates),
            GossipMsg::PushPull { updates } => self.on_push_pull(ctx, from, updates),
            GossipMsg::PushPullReply { updates, known } => {
                self.on_push_pull_reply(ctx, from, updates, known)
            }
            GossipMsg::Feedback { known } => self.on_feedback(ctx, known),
            GossipMsg::Tree { nodes } => self.on_tree(ctx, from, nodes),
            GossipMsg::Entries {
                buckets,
                updates,
                reply,
            } => self.on_entries(ctx, from, buckets, updates, reply),
            GossipMsg::FullState { updates, reply } => {
                self.on_full_state(ctx, from, updates, reply)
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, GossipMsg>, timer: TimerId) {
        match timer {
            RUMOR_TIMER => self.on_rumor_round(ctx),
            ANTI_ENTROPY_TIMER => self.on_anti_entropy_round(ctx),
            _ => {}
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, GossipMsg>, request: ClientRequest) {
        let out = match request.op {
            Operation::Get { key } if key < BROADCAST_KEYS => {
                Ok(OpOutput::Value(self.value(key).unwrap_or("").to_string()))
            }
            Operation::Put { key, value } if key < BROADCAST_KEYS => {
                self.write(ctx, key, Some(value));
                Ok(OpOutput::Done)
            }
            Operation::Delete { key } if key < BROADCAST_KEYS => {
                if self.config.bugs.no_tombstones {
                    self.forget(ctx, key);
                } else {
                    self.write(ctx, key, None);
                }
                Ok(OpOutput::Done)
            }
            Operation::Broadcast { id } if id < BROADCAST_KEYS => {
                let key = broadcast_key(id);
                if self.store.get(key).is_none() {
                    ctx.observe("inject", id, 0);
                    self.write(ctx, key, Some(String::new()));
                }
                Ok(OpOutput::Done)
            }
            Operation::Get { .. }
            | Operation::Put { .. }
            | Operation::Delete { .. }
            | Operation::Broadcast { .. } => Err(format!(
                "keys and update ids must be below 2^63; got {}",
                request.op.key()
            )),
            other => Err(format!(
                "gossip replicas serve get, put, delete and broadcast, not {}",
                other.kind()
            )),
        };
        ctx.disk().sync();
        ctx.observe("digest", 0, self.store.digest());
        let reply = match out {
            Ok(o) => Reply::Ok(o),
            Err(e) => Reply::Fail(e),
        };
        ctx.reply(request.id, reply);
    }
}

impl ProtocolSpec for Gossip {
    const NAME: &'static str = "Gossip";
    const FAMILY: Family = Family::Dissemination;
    type Bugs = GossipBugs;

    fn enable_bug(config: &mut GossipConfig, name: &str) -> bool {
        config.enable_bug(name)
    }

    fn invariants(_config: &GossipConfig) -> Vec<Box<dyn Invariant<Self>>> {
        invariants::all()
    }

    fn validate(config: &GossipConfig, _nodes: u32) -> Result<(), crate::BadSetting> {
        use crate::BadSetting as Bad;
        if let Some(r) = &config.rumor {
            if r.period == SimDuration::ZERO {
                return Err(Bad::new(
                    "period",
                    "found 0, expected a rumor period above zero",
                ));
            }
            if r.fanout == 0 {
                return Err(Bad::new(
                    "fanout",
                    "found 0, expected at least one peer per period",
                ));
            }
        }
        if let Some(a) = &config.anti_entropy
            && a.period == SimDuration::ZERO
        {
            return Err(Bad::new(
                "period",
                "found 0, expected an anti-entropy period above zero",
            ));
        }
        Ok(())
    }

    fn round_period(config: &GossipConfig) -> Option<SimDuration> {
        config
            .rumor
            .as_ref()
            .map(|r| r.period)
            .or_else(|| config.anti_entropy.as_ref().map(|a| a.period))
    }
}
