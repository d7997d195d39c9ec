//! Faults: timed actions the engine applies to nodes, links and clocks.

use serde::{Deserialize, Serialize};

use crate::network::{LinkChange, LinkScope};
use crate::protocol::NodeId;

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
    /// Cut the target nodes off from everyone, both directions.
    Isolate(Target),
    /// Stop delivery from every node of `from` to every node of `to`, one direction.
    CutOneWay {
        /// Senders whose messages are cut.
        from: Vec<NodeId>,
        /// Receivers that stop hearing them.
        to: Vec<NodeId>,
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
}

impl Fault {
    /// A short name of the fault's kind, for metrics, plots and fault shading.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Pause(_) => "pause",
            Fault::Resume(_) => "resume",
            Fault::Partition(_) => "partition",
            Fault::Isolate(_) => "isolate",
            Fault::CutOneWay { .. } => "cut",
            Fault::Heal => "heal",
            Fault::Links { .. } => "links",
            Fault::ClockSkew { .. } => "clock_skew",
            Fault::ClockDrift { .. } => "clock_drift",
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
