//! The invariant hook: checkers that see every processed event with a god's-eye view of
//! all nodes, and stop the run at the first violation.

use crate::disk::Disk;
use crate::protocol::{NodeId, Observation, Protocol};
use crate::time::SimTime;

/// An observation as the engine recorded it: who reported it and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Observed {
    /// The reporting node.
    pub node: NodeId,
    /// Virtual time of the report.
    pub time: SimTime,
    /// Its incarnation (restarts count up).
    pub incarnation: u32,
    /// The fact.
    pub obs: Observation,
}

/// The state of one node as checkers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Frozen: neither receives nor fires timers.
    Paused,
    /// Crashed, until a restart.
    Down,
}

/// What an invariant sees after one event.
pub struct World<'a, P: Protocol> {
    /// Virtual time of the event.
    pub time: SimTime,
    /// Index of the event in the run.
    pub event: u64,
    /// The node the event happened at, if one (checkers may look only at it).
    pub node: Option<NodeId>,
    /// The observations nodes reported during this event.
    pub observations: &'a [Observed],
    pub(crate) nodes: &'a [crate::sim::NodeSlot<P>],
    pub(crate) adversaries: &'a [Option<Box<dyn crate::byzantine::Adversary<P>>>],
    pub(crate) twinned: &'a [bool],
    pub(crate) identity: &'a [NodeId],
    pub(crate) identities: u32,
    pub(crate) issued: &'a std::collections::BTreeSet<u64>,
}

impl<'a, P: Protocol> World<'a, P> {
    /// The protocol state of `id`, if it is up or paused.
    pub fn node(&self, id: NodeId) -> Option<&'a P> {
        self.nodes.get(id.index()).and_then(|s| s.proto.as_ref())
    }
    /// Every node with its state (`None` while crashed).
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Option<&'a P>)> + 'a {
        let nodes: &'a [crate::sim::NodeSlot<P>] = self.nodes;
        nodes
            .iter()
            .enumerate()
            .map(|(i, s)| (NodeId(i as u32), s.proto.as_ref()))
    }
    /// Whether `id` is up, paused or down.
    pub fn status(&self, id: NodeId) -> NodeStatus {
        self.nodes[id.index()].status
    }
    /// Whether slot `id` is Byzantine (an adversary controls what it sends, or its
    /// identity runs twice): safety properties of Byzantine-tolerant protocols hold for
    /// the honest nodes only.
    pub fn faulty(&self, id: NodeId) -> bool {
        self.adversaries
            .get(id.index())
            .is_some_and(Option::is_some)
            || self.twinned.get(id.index()).copied().unwrap_or(false)
    }
    /// The node identity slot `id` runs: itself, unless it is a twin's second slot.
    pub fn identity(&self, id: NodeId) -> NodeId {
        self.identity.get(id.index()).copied().unwrap_or(id)
    }
    /// The number of node identities, the cluster the protocol sees (the slots less
    /// the twins' second ones): what majorities are counted against.
    pub fn identities(&self) -> usize {
        self.identities as usize
    }
    /// Whether some client sent a request with this digest
    /// ([`ClientRequest::digest`](crate::ClientRequest::digest)): what a node executes
    /// must be one (validity).
    pub fn client_issued(&self, digest: u64) -> bool {
        self.issued.contains(&digest)
    }
    /// The incarnation of `id` (0 at the start, +1 at each restart).
    pub fn incarnation(&self, id: NodeId) -> u32 {
        self.nodes[id.index()].incarnation
    }
    /// The disk of `id`, as the node sees it.
    pub fn disk(&self, id: NodeId) -> &'a Disk {
        &self.nodes[id.index()].disk
    }
    /// The number of node slots (more than [`World::identities`] under Twins).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    /// Whether the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// A property that must hold after every event.
pub trait Invariant<P: Protocol>: Send {
    /// A short name, shown with a violation ("election_safety").
    fn name(&self) -> &str;
    /// Checks the world after one event; `Err` describes the violation and stops the run.
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String>;
    /// A copy with everything it has seen so far, for `explore`, which forks a run at
    /// every choice. `None` (the default): it cannot be copied, and `explore` refuses the
    /// scenario, naming it. [`forkable!`](crate::forkable) writes this and
    /// [`Invariant::memory`] for a checker that is `Clone + Hash`.
    fn fork(&self) -> Option<Box<dyn Invariant<P>>> {
        None
    }
    /// A digest of what it remembers of the run, which `explore` folds into its state
    /// digest: two states merge only if their checkers remember the same, or a violation
    /// that needs the memory of one path could be missed on the other. A checker that can
    /// [`fork`](Invariant::fork) must give one.
    fn memory(&self) -> u64 {
        0
    }
}

/// Writes [`Invariant::fork`] and [`Invariant::memory`] inside an `impl Invariant<P>`
/// block, for a checker that is `Clone + Hash`: `sim_core::forkable!(Raft);`.
#[macro_export]
macro_rules! forkable {
    ($p:ty) => {
        fn fork(&self) -> Option<Box<dyn $crate::invariant::Invariant<$p>>> {
            Some(Box::new(Clone::clone(self)))
        }
        fn memory(&self) -> u64 {
            $crate::fingerprint::digest(self)
        }
    };
}

/// An invariant from a name and a closure.
pub struct FnInvariant<F> {
    name: String,
    f: F,
}

/// Wraps a closure as an [`Invariant`].
pub fn invariant_fn<P, F>(name: impl Into<String>, f: F) -> FnInvariant<F>
where
    P: Protocol,
    F: FnMut(&World<'_, P>) -> Result<(), String> + Send,
{
    FnInvariant {
        name: name.into(),
        f,
    }
}

impl<P, F> Invariant<P> for FnInvariant<F>
where
    P: Protocol,
    F: FnMut(&World<'_, P>) -> Result<(), String> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        (self.f)(world)
    }
}

/// An invariant from a name and a closure that remembers nothing between events (`Fn`,
/// not `FnMut`): it forks with the run for `explore`, and has no memory to digest.
#[derive(Clone)]
pub struct StatelessFn<F> {
    name: String,
    f: F,
}

/// Wraps a closure that keeps no state as an [`Invariant`] that `explore` can fork.
pub fn stateless_invariant<P, F>(name: impl Into<String>, f: F) -> StatelessFn<F>
where
    P: Protocol,
    F: Fn(&World<'_, P>) -> Result<(), String> + Clone + Send + 'static,
{
    StatelessFn {
        name: name.into(),
        f,
    }
}

impl<P, F> Invariant<P> for StatelessFn<F>
where
    P: Protocol,
    F: Fn(&World<'_, P>) -> Result<(), String> + Clone + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        (self.f)(world)
    }
    fn fork(&self) -> Option<Box<dyn Invariant<P>>> {
        Some(Box::new(self.clone()))
    }
}
