//! The scenario format: one RON file describes one experiment.
//!
//! Every struct rejects unknown fields, every optional field has a default, durations are
//! strings (`"150ms"`), node ids are 0-based. See `scenarios/FORMAT.md` for the reference
//! and the files under `scenarios/<protocol>/` for examples.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use sim_core::network::{InFlight, Ordering, SenderCrash};
use sim_core::{LeaderAction, SimDuration};

use crate::checked::{BugName, DelaySpec, NodeRef, Positive, Prob, Signed};
use crate::groups::GroupSpec;
use crate::registry::ProtocolChoice;

/// One experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, shown in summaries.
    pub name: String,
    /// What the scenario demonstrates.
    #[serde(default)]
    pub description: String,
    /// The run seed (overridden by `--seed` and by the fuzzer).
    #[serde(default)]
    pub seed: u64,
    /// Virtual-time horizon.
    pub duration: Positive,
    /// Number of nodes, numbered from 0.
    pub nodes: u32,
    /// The nodes' names, by id (optional): faults may name them, and output uses them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The protocol and its settings.
    pub protocol: ProtocolChoice,
    /// The system model the faults and checks respect.
    #[serde(default)]
    pub model: Model,
    /// The network.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The clients and what they ask.
    #[serde(default)]
    pub workload: WorkloadSpec,
    /// Faults at fixed times.
    #[serde(default)]
    pub faults: Vec<Timed>,
    /// Random faults drawn from the seed.
    #[serde(default)]
    pub nemesis: Option<NemesisSpec>,
    /// Byzantine nodes, each with a behaviour of the protocol (`faultline list` names
    /// them); no more than the model's `Byzantine(f)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byzantine: Vec<crate::byzantine::ByzantineNode>,
    /// Node identities that run twice (Twins), and the partitions drawn for them. Their
    /// second instances are slots `nodes`, `nodes + 1` …, which faults may name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twins: Option<crate::twins::TwinsSpec>,
    /// Bug switches of the protocol to turn on.
    #[serde(default)]
    pub bugs: Vec<BugName>,
    /// What to check.
    #[serde(default = "default_checks")]
    pub checks: Vec<CheckSpec>,
    /// The verdict the scenario is meant to produce.
    #[serde(default)]
    pub expect: Expect,
    /// When to give up on a run.
    #[serde(default)]
    pub limits: Limits,
    /// The fingerprint this scenario is known to produce (written into reproducers;
    /// `replay` confirms it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Bounds of `faultline explore` on this scenario: the faults it may add, how deep
    /// and how many states it may look (the command line overrides each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explore: Option<crate::explore::ExploreSpec>,
    /// A fixed schedule: the run takes these steps in order instead of following
    /// virtual time (`explore` writes one for each violation; see FORMAT.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Vec<sim_core::schedule::Step>>,
}

fn default_checks() -> Vec<CheckSpec> {
    vec![CheckSpec::Invariants]
}

/// The textbook system model of a scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    /// What links may do.
    pub network: NetModel,
    /// What nodes may do.
    pub nodes: NodeModel,
    /// What is known about timing.
    pub timing: Timing,
}

/// Link behaviour allowed by the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetModel {
    /// Every message sent is delivered: no loss, no partitions.
    Reliable,
    /// Messages may be lost, duplicated, reordered, or cut off by partitions, but a message
    /// sent infinitely often gets through.
    #[default]
    FairLoss,
    /// Anything, including corruption by Byzantine nodes.
    Arbitrary,
}

/// Node behaviour allowed by the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeModel {
    /// Nodes may crash and never come back.
    CrashStop,
    /// Nodes may crash, lose volatile state, and restart from their disk.
    #[default]
    CrashRecovery,
    /// Up to `f` nodes may behave arbitrarily (and others crash-recover).
    Byzantine {
        /// The number of Byzantine nodes tolerated.
        f: u32,
    },
}

/// Timing assumptions of the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timing {
    /// Message delay is bounded by a known bound; no partitions or pauses.
    Synchronous(SimDuration),
    /// Anything goes until the global stabilisation time; after it, no network or timing
    /// faults.
    PartiallySynchronous(SimDuration),
    /// No bound at all.
    #[default]
    Asynchronous,
}

/// The network of a scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way latency of every link.
    pub latency: DelaySpec,
    /// Probability of losing a message.
    pub loss: Prob,
    /// Probability of delivering a message twice.
    pub duplicate: Prob,
    /// FIFO or unordered links.
    pub ordering: Ordering,
    /// Bytes per second per link (unlimited if absent).
    pub bandwidth: Option<u64>,
    /// Explicit directed links; a full mesh if absent.
    pub links: Option<Vec<(NodeRef, NodeRef)>>,
    /// Links with their own settings.
    pub overrides: Vec<LinkOverride>,
    /// Regions with a latency matrix.
    pub regions: Option<RegionSpec>,
    /// Messages in flight when a partition starts: `Drop` (default) or `Deliver`.
    pub in_flight: InFlight,
    /// Messages in flight when their sender crashes: `Deliver` (default: they were on
    /// the wire) or `Drop` (the crash loses the sender's buffers).
    pub sender_crash: SenderCrash,
}

/// Settings of one directed link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    /// Sender.
    pub from: NodeRef,
    /// Receiver.
    pub to: NodeRef,
    /// Latency (the default link's if absent).
    #[serde(default)]
    pub latency: Option<DelaySpec>,
    /// Loss probability.
    #[serde(default)]
    pub loss: Option<Prob>,
    /// Duplication probability.
    #[serde(default)]
    pub duplicate: Option<Prob>,
}

/// Regions for wide-area scenarios.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// The region of each node, by node id.
    pub nodes: Vec<u32>,
    /// `latency[a][b]`: one-way latency from region a to region b.
    pub latency: Vec<Vec<DelaySpec>>,
    /// The regions' names, by region index (optional), for faults to name them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// Declares [`WorkloadSpec`] from one line per workload: its name in files, the settings
/// type (in its family's module), and what it is.
macro_rules! workloads {
    ($($(#[doc = $doc:expr])+ $name:ident($spec:ty),)*) => {
        /// The workload of a scenario: one line per workload a file may name, each read
        /// through [`family::served`](crate::family::served) so that the protocol must
        /// serve it. What a workload does lives in its family's module (`crate::family`).
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub enum WorkloadSpec {
            /// No clients.
            #[default]
            None,
            $(
                $(#[doc = $doc])+
                #[serde(deserialize_with = "crate::family::served")]
                $name($spec),
            )*
        }

        impl WorkloadSpec {
            /// The workload's settings and behaviour; `None` without clients.
            pub fn kind(&self) -> Option<&dyn crate::family::WorkloadKind> {
                match self {
                    WorkloadSpec::None => None,
                    $(WorkloadSpec::$name(w) => Some(w),)*
                }
            }

            /// The same, mutably (for swarm choices).
            pub fn kind_mut(&mut self) -> Option<&mut dyn crate::family::WorkloadKind> {
                match self {
                    WorkloadSpec::None => None,
                    $(WorkloadSpec::$name(w) => Some(w),)*
                }
            }

            /// Every workload with its default settings, for `faultline list`.
            pub fn defaults() -> Vec<WorkloadSpec> {
                vec![$(WorkloadSpec::$name(<$spec>::default()),)*]
            }
        }
    };
}

workloads! {
    /// Key-value clients (get, put, cas, append).
    KeyValue(crate::family::key_value::KvSpec),
    /// Updates to spread, injected at random nodes at a rate (dissemination family).
    Broadcast(crate::family::dissemination::BroadcastSpec),
    /// Clients of an optimistically replicated store (get, put, delete), each talking to
    /// whichever replica it is next to (dissemination family).
    Replicated(crate::family::dissemination::ReplicatedSpec),
    /// Transaction clients (the atomic-commit family).
    Transactions(crate::family::transactions::TxnSpec),
    /// Clients proposing values for numbered instances (the consensus family).
    Consensus(crate::family::consensus::ConsensusSpec),
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Timed {
    /// `At("2s", Crash(Leader))`.
    At(SimDuration, FaultSpec),
}

impl<'de> Deserialize<'de> for Timed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The same shape, read without the model check.
        #[derive(Deserialize)]
        enum Raw {
            At(SimDuration, FaultSpec),
        }
        let Raw::At(at, fault) = Raw::deserialize(d)?;
        crate::checked::check_timed_fault(at, &fault).map_err(D::Error::custom)?;
        Ok(Timed::At(at, fault))
    }
}

impl Timed {
    /// When the fault happens.
    pub fn time(&self) -> SimDuration {
        match self {
            Timed::At(t, _) => *t,
        }
    }
    /// The fault.
    pub fn fault(&self) -> &FaultSpec {
        match self {
            Timed::At(_, f) => f,
        }
    }
}

/// Which nodes a fault hits; resolved when it happens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TargetSpec {
    /// One node.
    Node(NodeRef),
    /// Several nodes.
    Nodes(Vec<NodeRef>),
    /// The current leader (nobody if there is none).
    Leader,
    /// One random eligible node.
    Random,
    /// A random minority.
    RandomMinority,
    /// A random majority.
    RandomMajority,
    /// Every eligible node.
    All,
}

/// Which links a link fault changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LinkScopeSpec {
    /// Every link.
    All,
    /// Both directions between two nodes.
    Between(NodeRef, NodeRef),
    /// Every link out of a node.
    From(NodeRef),
    /// Every link into a node.
    To(NodeRef),
}

/// One fault, as written in a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FaultSpec {
    /// Crash nodes (volatile state, timers and unsynced writes lost).
    Crash(TargetSpec),
    /// Restart crashed nodes from their disk.
    Restart(TargetSpec),
    /// Freeze nodes (input held until resume).
    Pause(TargetSpec),
    /// Unfreeze paused nodes.
    Resume(TargetSpec),
    /// Split the cluster into groups; unnamed nodes form one more group. A group is a
    /// list (ids, ranges `"0..3"`, node or region names) or chosen when the fault
    /// happens (`Leader`, `RandomMinority`, …).
    Partition(Vec<GroupSpec>),
    /// Cut nodes off from everyone.
    Isolate(TargetSpec),
    /// Stop delivery from `from` to `to`, one direction only.
    Cut {
        /// Senders.
        from: GroupSpec,
        /// Receivers (chosen among the nodes `from` did not take).
        to: GroupSpec,
    },
    /// End every partition and cut.
    Heal,
    /// Change link behaviour.
    Links {
        /// Which links.
        scope: LinkScopeSpec,
        /// New latency.
        #[serde(default)]
        latency: Option<DelaySpec>,
        /// New loss probability.
        #[serde(default)]
        loss: Option<Prob>,
        /// New duplication probability.
        #[serde(default)]
        duplicate: Option<Prob>,
    },
    /// Set nodes' clock offset (`"-50ms"`, `"+1s"`).
    ClockSkew {
        /// Whose clocks.
        target: TargetSpec,
        /// Local minus virtual time.
        offset: Signed,
    },
    /// Set nodes' clock drift in parts per million.
    ClockDrift {
        /// Whose clocks.
        target: TargetSpec,
        /// Rate error (positive: fast).
        ppm: i64,
    },
    /// Ask the cluster to make a node a voting member (protocols with reconfiguration:
    /// Raft; the others ignore it).
    AddNode(NodeRef),
    /// Ask the cluster to take a node out of its membership.
    RemoveNode(NodeRef),
    /// Hit each of the next `times` newly elected leaders `after` its election, for
    /// `down`: `NextLeaders(after: Uniform("0ms", "20ms"), down: "50ms", action: Crash)`.
    NextLeaders {
        /// How many elections to answer (default 1).
        #[serde(default = "one")]
        times: u32,
        /// Delay from the election to the action.
        after: DelaySpec,
        /// How long the leader stays crashed, paused or cut off.
        down: Positive,
        /// `Crash` (then restart), `Pause` (then resume) or `Isolate` (then heal).
        action: LeaderAction,
        /// Stop watching for elections after this long (default: never).
        #[serde(default)]
        within: Option<Positive>,
        /// At most this many of the leaders hit are down at a time (default 1).
        #[serde(default = "one")]
        at_once: u32,
    },
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    /// The fault kind's name as written in files.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultSpec::Crash(_) => "Crash",
            FaultSpec::Restart(_) => "Restart",
            FaultSpec::Pause(_) => "Pause",
            FaultSpec::Resume(_) => "Resume",
            FaultSpec::Partition(_) => "Partition",
            FaultSpec::Isolate(_) => "Isolate",
            FaultSpec::Cut { .. } => "Cut",
            FaultSpec::Heal => "Heal",
            FaultSpec::Links { .. } => "Links",
            FaultSpec::ClockSkew { .. } => "ClockSkew",
            FaultSpec::ClockDrift { .. } => "ClockDrift",
            FaultSpec::NextLeaders { .. } => "NextLeaders",
            FaultSpec::AddNode(_) => "AddNode",
            FaultSpec::RemoveNode(_) => "RemoveNode",
        }
    }

    /// For a fault whose effects come later than its time (`NextLeaders`): how long
    /// after it the last of them can end — the watch, the delay after an election, the
    /// down time. `None` for the others, whose effect is immediate.
    pub fn latest_effect(&self) -> Option<SimDuration> {
        match self {
            FaultSpec::NextLeaders {
                after,
                down,
                within,
                ..
            } => {
                let after = match after.0 {
                    sim_core::rng::Delay::Constant(d) | sim_core::rng::Delay::Uniform(_, d) => d,
                    _ => SimDuration::MAX,
                };
                let within = within.map_or(SimDuration::MAX, |w| w.0);
                Some(within + after + down.0)
            }
            _ => None,
        }
    }
}

/// Random faults drawn from the run seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NemesisSpec {
    /// Which kinds of fault to draw (those outside the model are never drawn).
    pub kinds: Vec<NemesisKind>,
    /// Mean time between faults (exponentially distributed).
    pub interval: Positive,
    /// How long each fault lasts before it is healed.
    pub fault_duration: DelaySpec,
    /// At most this many nodes crashed or paused at once (default: a minority).
    pub max_down: Option<u32>,
    /// No faults before this time.
    pub start: SimDuration,
    /// No new faults in this last part of the run, and everything healed when it starts,
    /// so liveness can be judged (default: a quarter of the duration).
    pub quiet: Option<SimDuration>,
    /// Byzantine nodes to draw from the seed, with their behaviours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byzantine: Option<crate::byzantine::ByzantineDraw>,
}

impl Default for NemesisSpec {
    fn default() -> Self {
        NemesisSpec {
            kinds: vec![NemesisKind::Crash, NemesisKind::Partition],
            interval: Positive(SimDuration::from_millis(500)),
            fault_duration: DelaySpec(sim_core::rng::Delay::Uniform(
                SimDuration::from_millis(100),
                SimDuration::from_millis(1500),
            )),
            max_down: None,
            start: SimDuration::ZERO,
            quiet: None,
            byzantine: None,
        }
    }
}

/// A kind of fault the nemesis may draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NemesisKind {
    /// Crash a node, restart it later (crash-recovery) or never (crash-stop).
    Crash,
    /// Pause a node, resume it later.
    Pause,
    /// Split the cluster in two, heal later.
    Partition,
    /// Isolate one node, heal later.
    Isolate,
    /// Cut one direction between two groups, heal later.
    OneWay,
    /// Raise loss on every link, restore later.
    Loss,
    /// Raise duplication on every link, restore later.
    Duplicate,
    /// Slow every link down, restore later.
    Latency,
    /// Skew one node's clock.
    ClockSkew,
    /// Make one node's clock drift.
    ClockDrift,
    /// Crash whichever node leads at that moment, restart it later (under crash-recovery).
    LeaderCrash,
    /// Pause whichever node leads at that moment (a stop-the-world GC pause), resume later.
    LeaderPause,
    /// Cut whichever node leads at that moment off from the other nodes (not from the
    /// clients), heal later.
    LeaderIsolate,
    /// A burst of two to four quick crash-restarts, the leader first, each node down for
    /// a few milliseconds: they land inside the elections they cause (crash-recovery only).
    Bounce,
    /// For the fault's duration, every 10–80 ms: crash the leader, restart the crashed
    /// nodes, isolate the leader or heal. New leaders often fail before their entries
    /// spread: the history of the Raft paper's Figure 8 (crash-recovery only).
    LeaderChurn,
    /// On slow links, crash the leader, then each of the next one to three leaders
    /// elected, within six message delays of its election; each is back 1–300 ms later.
    /// A new leader fails while its first entries have reached only some followers, and
    /// comes back to stand again: the history of the Raft paper's Figure 8
    /// (crash-recovery only; protocols with leaders).
    NewLeaderCrash,
    /// Remove a random node from the membership, or add back one removed before; never
    /// fewer than three members (or all of a smaller cluster), everyone back in the quiet
    /// period (protocols with reconfiguration).
    Membership,
    /// Remove a random node and add it back 1–100 ms later: two changes in quick
    /// succession, often across a change of leader (the single-server bug of 2015).
    MembershipChurn,
}

/// A check to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CheckSpec {
    /// The protocol's invariants, after every event.
    Invariants,
    /// Linearizability of the client history.
    Linearizable,
    /// After the last fault, client operations complete again within `within`.
    Liveness {
        /// The bound.
        within: Positive,
    },
    /// Every broadcast update a client saw acknowledged reaches at least `fraction` of
    /// the nodes up at the end (dissemination family). Its detail reports coverage over
    /// rounds, rounds to 95/99/100 %, the residue and messages per node per update.
    Coverage {
        /// The least fraction of live nodes each update must reach.
        fraction: Prob,
    },
    /// After the last fault and the last client operation, every replica up at the end
    /// holds the same state within `within`; no acknowledged write is lost and no deleted
    /// key comes back (dissemination family).
    Convergence {
        /// The bound.
        within: Positive,
    },
    /// Only a value some client proposed for an instance is decided for it (consensus
    /// family).
    Validity,
    /// Clients and learners never disagree: every answer and every learned value of an
    /// instance is the same (consensus family).
    Decisions,
}

impl CheckSpec {
    /// The name its results and violations go by (`linearizability`), which `expect`
    /// names.
    pub fn result_name(&self) -> &'static str {
        match self {
            CheckSpec::Invariants => "invariants",
            CheckSpec::Linearizable => "linearizability",
            CheckSpec::Liveness { .. } => "liveness",
            CheckSpec::Coverage { .. } => "coverage",
            CheckSpec::Convergence { .. } => "convergence",
            CheckSpec::Validity => "validity",
            CheckSpec::Decisions => "decisions",
        }
    }

    /// The check's name as written in files (`Linearizable`).
    pub fn name(&self) -> &'static str {
        match self {
            CheckSpec::Invariants => "Invariants",
            CheckSpec::Linearizable => "Linearizable",
            CheckSpec::Liveness { .. } => "Liveness",
            CheckSpec::Coverage { .. } => "Coverage",
            CheckSpec::Convergence { .. } => "Convergence",
            CheckSpec::Validity => "Validity",
            CheckSpec::Decisions => "Decisions",
        }
    }
}

/// What verdict a scenario is meant to produce.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// Every check passes.
    #[default]
    Pass,
    /// The named check fails (an invariant's name, `linearizability` or `liveness`).
    Violation(String),
}

/// When to give up on a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Stop after this many events.
    pub max_events: Option<u64>,
    /// Stop when clients have work outstanding and nothing completed for this long.
    pub no_progress: Option<Positive>,
    /// Stop as soon as every client is done (otherwise run to the horizon).
    pub stop_when_done: bool,
    /// Search steps the linearizability check may spend before it gives up undecided
    /// (default 20 000 000: a few seconds). A step budget, not a clock, so the verdict is
    /// reproducible.
    pub check_steps: Option<u64>,
}

/// The linearizability check's step budget when `limits.check_steps` is not given.
pub const DEFAULT_CHECK_STEPS: u64 = 20_000_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: Some(50_000_000),
            no_progress: None,
            stop_when_done: true,
            check_steps: None,
        }
    }
}
