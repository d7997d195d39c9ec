//! Faults: timed actions the engine applies to nodes, links and clocks.

use serde::{Deserialize, Serialize};

use crate::network::{LinkChange, LinkScope};
use crate::protocol::{MembershipChange, NodeId};
use crate::rng::Delay;
use crate::time::SimDuration;

/// Which nodes a fault hits, resolved when the fault happens (from the faults stream).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// One named node.
    Node(NodeId),
    /// Several named nodes.
    Nodes(Vec<NodeId>),
    /// The node that believes it leads in the highest term (the lowest id among equals;
    /// nobody if none does).
    Leader,
    /// One node chosen at random among those the fault applies to.
    Random,
    /// A random minority of the cluster: ⌊(n−1)/2⌋ nodes.
    RandomMinority,
    /// A random majority of the cluster: ⌊n/2⌋+1 nodes.
    RandomMajority,
    /// Every node the fault applies to.
    All,
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Stop the node: volatile state, timers, queued input and unsynced writes are lost.
    Crash(Target),
    /// Start a crashed node again from its durable state, as a new incarnation.
    Restart(Target),
    /// Freeze the node: it neither receives nor fires timers; its input queues up.
    Pause(Target),
    /// Unfreeze a paused node: its queued input is delivered in arrival order.
    Resume(Target),
    /// Split the cluster into groups that cannot talk; unnamed nodes form one more group.
    Partition(Vec<Vec<NodeId>>),
    /// Split the cluster into groups chosen when the fault happens (the leader alone, a
    /// random minority …), each from the nodes no earlier group took; the nodes left over
    /// form one more group, and a group that chose nobody is dropped.
    PartitionChosen(Vec<Target>),
    /// Cut the target nodes off from everyone, both directions.
    Isolate(Target),
    /// Stop delivery from every node of `from` to every node of `to`, one direction.
    CutOneWay {
        /// Senders whose messages are cut.
        from: Vec<NodeId>,
        /// Receivers that stop hearing them.
        to: Vec<NodeId>,
    },
    /// [`Fault::CutOneWay`] between nodes chosen when the fault happens: `to` is chosen
    /// from the nodes `from` did not take.
    CutChosen {
        /// Senders whose messages are cut.
        from: Target,
        /// Receivers that stop hearing them.
        to: Target,
    },
    /// End every partition, isolation and cut.
    Heal,
    /// Change loss, duplication or latency of some links.
    Links {
        /// Which links.
        scope: LinkScope,
        /// What changes.
        change: LinkChange,
    },
    /// Set the target nodes' clock offset from virtual time, in nanoseconds.
    ClockSkew {
        /// Whose clock.
        target: Target,
        /// Local minus virtual time from now on (negative: behind).
        offset_ns: i64,
    },
    /// Set the target nodes' clock drift, in parts per million (positive: fast).
    ClockDrift {
        /// Whose clock.
        target: Target,
        /// Rate error.
        ppm: i64,
    },
    /// Ask the cluster to add or remove a server; every node that is up hears it
    /// ([`crate::Protocol::on_membership`]).
    Membership(MembershipChange),
    /// Answer each of the next `times` elections: a node that starts to lead in a term
    /// above every term led so far is hit by `action` `after` it won, for `down` (an
    /// election while `at_once` of those hit are still down is not answered). Faults
    /// scheduled in advance can only guess when elections happen; this one lands in the
    /// window right after an election, when a new leader's first entries have reached
    /// only some followers — where Raft's subtle bugs (Figure 8) live. Needs a protocol
    /// that reports [`crate::Protocol::leader_term`].
    NextLeaders {
        /// How many elections to answer.
        times: u32,
        /// How long after the election the leader is hit (drawn per election from the
        /// faults stream).
        after: Delay,
        /// How long it stays down, paused or cut off.
        down: SimDuration,
        /// What happens to it.
        action: LeaderAction,
        /// Elections later than this after the fault are no longer answered.
        within: SimDuration,
        /// At most this many of the leaders it hit are down at a time.
        at_once: u32,
    },
}

/// An armed [`Fault::NextLeaders`]: the engine's side of it.
#[derive(Clone, Debug)]
pub(crate) struct LeaderWatch {
    /// The highest term seen led; only a leader of a higher term is new.
    pub above: u64,
    /// Elections still to answer.
    pub left: u32,
    /// After this, the watch is over.
    pub until: crate::time::SimTime,
    /// At most this many victims down at a time.
    pub at_once: u32,
    /// When each victim still down comes back.
    pub busy: Vec<crate::time::SimTime>,
    pub after: Delay,
    pub down: SimDuration,
    pub action: LeaderAction,
}

/// What a [`Fault::NextLeaders`] does to a newly elected leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaderAction {
    /// Crash it; restart it when the down time is over.
    Crash,
    /// Pause it; resume it when the down time is over.
    Pause,
    /// Isolate it; heal every cut when the down time is over.
    Isolate,
}

impl LeaderAction {
    /// The fault that starts the action on `node`, and the one that ends it.
    pub fn faults(self, node: NodeId) -> (Fault, Fault) {
        let t = Target::Node(node);
        match self {
            LeaderAction::Crash => (Fault::Crash(t.clone()), Fault::Restart(t)),
            LeaderAction::Pause => (Fault::Pause(t.clone()), Fault::Resume(t)),
            LeaderAction::Isolate => (Fault::Isolate(t), Fault::Heal),
        }
    }
}

impl Fault {
    /// A short name of the fault's kind, for metrics, plots and fault shading.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Pause(_) => "pause",
            Fault::Resume(_) => "resume",
            Fault::Partition(_) | Fault::PartitionChosen(_) => "partition",
            Fault::Isolate(_) => "isolate",
            Fault::CutOneWay { .. } | Fault::CutChosen { .. } => "cut",
            Fault::Heal => "heal",
            Fault::Links { .. } => "links",
            Fault::ClockSkew { .. } => "clock_skew",
            Fault::ClockDrift { .. } => "clock_drift",
            Fault::NextLeaders { .. } => "next_leaders",
            Fault::Membership(_) => "membership",
        }
    }
}

/// A fault as it happened: when, what, and which nodes it hit after resolving targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppliedFault {
    /// Virtual time, ns.
    pub at: crate::time::SimTime,
    /// The fault's kind.
    pub kind: String,
    /// The nodes it hit (empty for network-wide faults such as `Heal`).
    pub nodes: Vec<NodeId>,
    /// A readable description.
    pub description: String,
}
