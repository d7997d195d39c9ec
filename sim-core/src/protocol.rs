//! The sans-IO protocol interface: a protocol is a plain state machine that reacts to
//! messages, timers and client requests, and emits its outputs into a [`Ctx`]. It never
//! touches time, randomness, the network or storage directly, which is what makes a run
//! reproducible.

use std::fmt::{self, Debug};
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::NodeClock;
use crate::disk::Disk;
use crate::fabric::{Event, Fabric};
use crate::history::{ClientId, OpOutput, Operation};
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};

/// Identifies a node of the simulated cluster (0-based index).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index of the node, for indexing per-node tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A protocol-chosen timer name. Setting a timer whose id is already pending replaces
/// it (the usual "reset the election timer"); per-peer timers encode the peer in the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimerId(pub u64);

/// What the engine needs of a protocol's message type.
pub trait Message: Clone + Debug + Hash + Send + 'static {
    /// A short name of the message kind for metrics and traces ("AppendEntries").
    fn kind(&self) -> &'static str;
    /// The size in bytes on the wire, for bandwidth and byte counts.
    fn size(&self) -> usize {
        64
    }
}

/// Identifies one client request: the client and its own sequence number. A retry with
/// the same id lets the protocol apply the command exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The client that sent it.
    pub client: ClientId,
    /// The client's sequence number for it.
    pub seq: u64,
}

/// A request from a client, as a node receives it. The client signs it (see
/// [`crate::auth`]): a node can pass it on, and every receiver can tell it is what the
/// client asked ([`ClientRequest::authentic`]), so a Byzantine node cannot make one up
/// or change one (only replay it). Only the engine makes one.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// Its identity, to answer it with [`Ctx::reply`].
    pub id: RequestId,
    /// What is asked.
    pub op: Operation,
    /// The client's signature over the digest of `id` and `op`.
    signature: crate::auth::Signed<u64>,
}

impl ClientRequest {
    /// The request client `id.client` sends, signed by it.
    pub(crate) fn new(id: RequestId, op: Operation) -> Self {
        let d = Self::digest_of(id, &op);
        let signature = crate::auth::Signed::new(crate::auth::Principal::Client(id.client), d);
        ClientRequest { id, op, signature }
    }
    /// A digest of what is asked and by whom: equal requests have equal digests, and
    /// none is 0 (protocols may give 0 a meaning of their own, PBFT its null request).
    pub fn digest(&self) -> u64 {
        Self::digest_of(self.id, &self.op)
    }
    fn digest_of(id: RequestId, op: &Operation) -> u64 {
        // A tag first: the plain hash of an all-zero request (client 0's first Get of
        // key 0) is 0.
        const TAG: u64 = 0x9E37_79B9_7F4A_7C15;
        crate::fingerprint::digest(&(TAG, id, op)) | 1
    }
    /// Whether the request is what its client signed: a request whose fields were
    /// changed after signing is not.
    pub fn authentic(&self) -> bool {
        self.signature.signer() == crate::auth::Principal::Client(self.id.client)
            && *self.signature.value() == self.digest()
    }
}

// The signature follows from the id and the operation, so hashing those alone keeps the
// fingerprints of runs from before requests were signed.
impl Hash for ClientRequest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.op.hash(state);
    }
}

impl Debug for ClientRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRequest")
            .field("id", &self.id)
            .field("op", &self.op)
            .finish()
    }
}

/// A node's answer to a client request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// Done, with this output.
    Ok(OpOutput),
    /// Definitely not done (and never will be, under this request id).
    Fail(String),
    /// Not done here: try the given node (the leader this node knows), or another one.
    Redirect(Option<NodeId>),
}

/// A fact a protocol reports to invariant checkers ("committed index 7 with digest h",
/// "leader of term 3"). The engine stamps the node and time on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Observation {
    /// What kind of fact ("commit", "leader", "apply").
    pub kind: &'static str,
    /// Its subject (an index, a term, a transaction id).
    pub key: u64,
    /// Its value (a digest, a node, a decision).
    pub value: u64,
}

/// A replicated protocol, as a pure state machine driven by the engine.
pub trait Protocol: Sized + Send + 'static {
    /// The messages nodes exchange.
    type Msg: Message;
    /// The protocol's settings, the same for every node, read from a scenario.
    type Config: Clone + Debug + Default + DeserializeOwned + Send + Sync;

    /// Builds the node at the start and again at every restart, from what its disk holds
    /// (`ctx.disk()`); volatile state starts afresh.
    fn start(ctx: &mut Ctx<'_, Self::Msg>, config: &Self::Config) -> Self;
    /// Reacts to a message. `from` is stamped by the network and is always the true sender.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg>, from: NodeId, msg: Self::Msg);
    /// Reacts to one of its timers firing.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg>, timer: TimerId);
    /// Reacts to a client request; answered now or later with [`Ctx::reply`].
    fn on_request(&mut self, ctx: &mut Ctx<'_, Self::Msg>, request: ClientRequest) {
        ctx.reply(
            request.id,
            Reply::Fail("this protocol serves no client requests".into()),
        );
    }
    /// Whether this node currently believes it leads (resolves the `Leader` fault target).
    fn is_leader(&self) -> bool {
        false
    }
    /// The term (or view, epoch, ballot) in which this node believes it leads, if it does.
    /// When several nodes believe they lead, the `Leader` fault target picks the one with
    /// the highest term: a cut-off stale leader is not the cluster's real leader. The
    /// default knows no terms (0 for every leader), so ties fall back to the lowest id.
    fn leader_term(&self) -> Option<u64> {
        self.is_leader().then_some(0)
    }
    /// An operator asks the cluster to add or remove a server (a scheduled
    /// [`crate::Fault::Membership`]). Every node that is up hears it; a protocol that
    /// supports reconfiguration acts where it can (in Raft, the leader), the default
    /// ignores it.
    fn on_membership(&mut self, ctx: &mut Ctx<'_, Self::Msg>, change: MembershipChange) {
        let _ = (ctx, change);
    }
}

/// A change of the cluster's membership that an operator asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Make this node a voting member.
    Add(NodeId),
    /// Take this node out of the membership.
    Remove(NodeId),
}

/// An output of a handler, applied by the engine when the handler returns.
#[derive(Clone, Debug)]
pub(crate) enum Output<M> {
    Send { to: NodeId, msg: M },
    Reply { id: RequestId, reply: Box<Reply> },
    Observe(Observation),
}

/// The timers pending on one node incarnation: id → generation of the latest setting.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    pending: rustc_hash::FxHashMap<TimerId, u64>,
    next_generation: u64,
}

impl TimerTable {
    /// Registers a (re)setting of `id` and returns its generation.
    pub(crate) fn set(&mut self, id: TimerId) -> u64 {
        self.next_generation += 1;
        self.pending.insert(id, self.next_generation);
        self.next_generation
    }
    pub(crate) fn cancel(&mut self, id: TimerId) -> bool {
        self.pending.remove(&id).is_some()
    }
    /// Whether a firing of `id` at `generation` is still wanted; consumes it if so.
    pub(crate) fn take(&mut self, id: TimerId, generation: u64) -> bool {
        if self.pending.get(&id) == Some(&generation) {
            self.pending.remove(&id);
            true
        } else {
            false
        }
    }
    /// Whether `generation` is the latest setting of `id`, still pending.
    pub(crate) fn is_current(&self, id: TimerId, generation: u64) -> bool {
        self.pending.get(&id) == Some(&generation)
    }
    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }
    pub(crate) fn is_pending(&self, id: TimerId) -> bool {
        self.pending.contains_key(&id)
    }
}

/// The handle a protocol handler gets: everything it may do to the outside world.
pub struct Ctx<'a, M> {
    /// The node's identity: who it is to the protocol, and who it signs as.
    pub(crate) node: NodeId,
    /// The slot running it (its identity, unless it is the second instance of a twinned
    /// identity): where its sends leave from and its timers fire.
    pub(crate) slot: NodeId,
    pub(crate) cluster_size: u32,
    pub(crate) now: SimTime,
    pub(crate) clock: &'a NodeClock,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) disk: &'a mut Disk,
    pub(crate) timers: &'a mut TimerTable,
    pub(crate) fabric: &'a mut Fabric<M>,
    /// Sends go straight to the network (no adversary, no trace).
    pub(crate) direct: bool,
    pub(crate) incarnation: u32,
}

impl<M: Message> Ctx<'_, M> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.node
    }

    /// The number of nodes in the cluster (ids `0..cluster_size`).
    pub fn cluster_size(&self) -> u32 {
        self.cluster_size
    }

    /// Every other node of the cluster.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> + use<M> {
        let me = self.node;
        (0..self.cluster_size).map(NodeId).filter(move |n| *n != me)
    }

    /// The node's local clock, which may be skewed and drift from virtual time.
    pub fn now(&self) -> SimTime {
        self.clock.local(self.now)
    }

    /// Sends `msg` to `to` over the simulated network.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: M) {
        if self.direct {
            // Outputs wait for a sync in progress (the node waits for its fsync).
            let depart = self.disk.busy_until().max(self.now);
            let _ = self.fabric.send(self.slot, to, msg, depart);
        } else {
            self.fabric.out.push(Output::Send { to, msg });
        }
    }

    /// Sends `msg` to every other node.
    pub fn broadcast(&mut self, msg: M) {
        for to in 0..self.cluster_size {
            if to != self.node.0 {
                self.send(NodeId(to), msg.clone());
            }
        }
    }

    /// Sets timer `id` to fire after `after` of this node's local time, replacing any
    /// pending setting of the same id. Timers die with the node incarnation.
    pub fn set_timer(&mut self, id: TimerId, after: SimDuration) {
        let generation = self.timers.set(id);
        let at = self.now + self.clock.to_global(after);
        self.fabric.queue.push(
            at,
            Event::Timer {
                node: self.slot,
                incarnation: self.incarnation,
                id,
                generation,
            },
        );
    }

    /// Cancels timer `id`; returns whether it was pending.
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.timers.cancel(id)
    }

    /// Whether timer `id` is pending.
    pub fn timer_pending(&self, id: TimerId) -> bool {
        self.timers.is_pending(id)
    }

    /// Signs `value` as this node: receivers can tell who signed it, and no other node
    /// can sign as this one (see [`crate::auth`]).
    pub fn sign<T>(&self, value: T) -> crate::auth::Signed<T> {
        crate::auth::Signed::new(crate::auth::Principal::Node(self.node), value)
    }

    /// This node's random stream (seeded from the run seed, independent of every other).
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// This node's durable storage.
    pub fn disk(&mut self) -> &mut Disk {
        self.disk
    }

    /// Answers client request `id`.
    pub fn reply(&mut self, id: RequestId, reply: Reply) {
        self.fabric.out.push(Output::Reply {
            id,
            reply: Box::new(reply),
        });
    }

    /// Reports a fact to the invariant checkers.
    pub fn observe(&mut self, kind: &'static str, key: u64, value: u64) {
        self.fabric
            .out
            .push(Output::Observe(Observation { kind, key, value }));
    }

    /// Adds `n` to a protocol-defined counter in the run's metrics ("elections").
    pub fn count(&mut self, name: &'static str, n: u64) {
        self.fabric.metrics.count(name, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_authentic_until_changed_and_its_digest_is_never_zero() {
        let zero = ClientRequest::new(RequestId { client: 0, seq: 0 }, Operation::Get { key: 0 });
        assert_ne!(zero.digest(), 0);
        assert!(zero.authentic());
        let mut changed = zero.clone();
        changed.op = Operation::Get { key: 1 };
        assert!(!changed.authentic(), "the signature covers the operation");
        let mut other_client = zero.clone();
        other_client.id.client = 1;
        assert!(!other_client.authentic(), "and who asked");
        assert_ne!(changed.digest(), zero.digest());
    }
}
