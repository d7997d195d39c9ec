//! The simulation: nodes, network, clients and faults driven by one event loop. The loop
//! and the run's configuration and result live here; building a simulation, delivering
//! messages and running node steps, the clients' state machine, applying faults and
//! recording the trace each have a module of their own.

mod builder;
mod clients;
mod delivery;
mod faults;
pub(crate) mod scripted;
mod tracing;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::byzantine::{Adversary, Forged};
use crate::client::{ClientConfig, Workload};
use crate::clock::NodeClock;
use crate::disk::{Disk, DiskConfig};
use crate::fabric::{Event, Fabric};
use crate::fault::{AppliedFault, Fault, LeaderWatch};
use crate::fingerprint::Fingerprint;
use crate::history::History;
use crate::invariant::{Invariant, NodeStatus, Observed, World};
use crate::metrics::MetricsSummary;
use crate::network::{NetworkConfig, NetworkError};
use crate::protocol::{NodeId, Protocol, TimerTable};
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};
use crate::trace::{TraceKind, TraceSink};

pub use builder::SimBuilder;
use clients::ClientSlot;

/// Everything about a run that is not the protocol's own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// The run seed: every random choice comes from it.
    pub seed: u64,
    /// Number of nodes.
    pub nodes: u32,
    /// Virtual-time horizon: the run ends when the next event is later.
    pub horizon: SimDuration,
    /// The run ends after this many processed events.
    pub max_events: Option<u64>,
    /// The run ends when clients have work outstanding and no operation completed for
    /// this long (a stuck system).
    pub no_progress: Option<SimDuration>,
    /// End the run as soon as every client is done (otherwise run to the horizon).
    pub stop_when_done: bool,
    /// The network.
    pub network: NetworkConfig,
    /// Every node's disk.
    pub disk: DiskConfig,
    /// Clients, if the run has a workload.
    pub clients: Option<ClientConfig>,
    /// Keep every observation in the result (they also reach invariants either way).
    pub record_observations: bool,
    /// Record when each node starts and stops believing it leads
    /// ([`Protocol::leader_term`]) in [`RunResult::leadership`]: the reports' leader
    /// timeline. Off, the run is the same; only the record is missing.
    pub record_leadership: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            nodes: 3,
            horizon: SimDuration::from_secs(10),
            max_events: None,
            no_progress: None,
            stop_when_done: true,
            network: NetworkConfig::default(),
            disk: DiskConfig::default(),
            clients: None,
            record_observations: true,
            record_leadership: true,
        }
    }
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EndReason {
    /// The next event was past the horizon.
    Horizon,
    /// Every client finished its operations.
    WorkDone,
    /// Nothing was left to happen.
    Quiescent,
    /// The event limit was reached.
    EventLimit {
        /// The limit.
        limit: u64,
    },
    /// Clients had work outstanding and nothing completed for `window`.
    NoProgress {
        /// When the last operation completed (or the clients started).
        since: SimTime,
        /// The configured window.
        window: SimDuration,
        /// Operations outstanding at the end.
        outstanding: usize,
    },
    /// A fixed schedule ran out, or one of its steps named nothing that was waiting.
    Schedule {
        /// Steps that ran.
        steps: u64,
        /// The step that matched nothing, if one did.
        unmatched: Option<String>,
    },
    /// An invariant failed.
    InvariantViolated {
        /// Its name.
        invariant: String,
        /// Index of the event after which it failed.
        event: u64,
        /// What it said.
        message: String,
    },
}

impl EndReason {
    /// A short name ("horizon", "invariant_violated").
    pub fn name(&self) -> &'static str {
        match self {
            EndReason::Horizon => "horizon",
            EndReason::WorkDone => "work_done",
            EndReason::Quiescent => "quiescent",
            EndReason::EventLimit { .. } => "event_limit",
            EndReason::NoProgress { .. } => "no_progress",
            EndReason::InvariantViolated { .. } => "invariant_violated",
            EndReason::Schedule {
                unmatched: None, ..
            } => "schedule_done",
            EndReason::Schedule { .. } => "schedule_unmatched",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::Horizon => f.write_str("reached the time horizon"),
            EndReason::WorkDone => f.write_str("all client operations finished"),
            EndReason::Quiescent => f.write_str("nothing left to happen (no pending events)"),
            EndReason::EventLimit { limit } => write!(
                f,
                "stopped at the event limit of {limit} events before the horizon"
            ),
            EndReason::NoProgress {
                since,
                window,
                outstanding,
            } => write!(
                f,
                "no progress: {outstanding} operation(s) outstanding and none completed for {window} (last progress at {since})"
            ),
            EndReason::InvariantViolated {
                invariant,
                event,
                message,
            } => write!(
                f,
                "invariant {invariant} violated at event {event}: {message}"
            ),
            EndReason::Schedule {
                steps,
                unmatched: None,
            } => write!(f, "the fixed schedule ran out after {steps} steps"),
            EndReason::Schedule {
                steps,
                unmatched: Some(step),
            } => write!(
                f,
                "step {} of the fixed schedule ({step}) matched nothing waiting: the schedule belongs to another scenario or build",
                steps + 1
            ),
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunResult {
    /// The run seed.
    pub seed: u64,
    /// Why it ended.
    pub end: EndReason,
    /// Virtual time at the end.
    pub end_time: SimTime,
    /// Processed events.
    pub events: u64,
    /// The trace fingerprint, folded from every processed event.
    pub fingerprint: u64,
    /// The client history.
    pub history: History,
    /// Message and protocol metrics.
    pub metrics: MetricsSummary,
    /// The faults as they happened.
    pub faults: Vec<AppliedFault>,
    /// Observations nodes reported (if recorded).
    pub observations: Vec<Observed>,
    /// Each change in which node believes it leads, in time order (if recorded).
    pub leadership: Vec<LeaderChange>,
    /// Why the trace stopped early, if it did.
    pub trace_error: Option<String>,
}

/// A node starting or ceasing to believe it leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaderChange {
    /// When.
    pub at: SimTime,
    /// Which node.
    pub node: NodeId,
    /// The term it now leads in, or `None` when it stopped leading (stepped down,
    /// crashed).
    pub term: Option<u64>,
}

/// Why a simulation could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Bad network settings.
    #[error("network: {0}")]
    Network(#[from] NetworkError),
    /// Clients without a workload, or the reverse.
    #[error("{0}")]
    Clients(String),
    /// A node id out of range.
    #[error("{0}")]
    NoSuchNode(String),
}

/// One node slot: the protocol state (none while crashed) and what survives it.
#[derive(Clone)]
pub(crate) struct NodeSlot<P: Protocol> {
    pub(crate) proto: Option<P>,
    pub(crate) status: NodeStatus,
    pub(crate) incarnation: u32,
    clock: NodeClock,
    rng: SimRng,
    pub(crate) disk: Disk,
    timers: TimerTable,
    held: Vec<Event<P::Msg>>,
    /// When it last crashed, for [`SenderCrash::Drop`].
    last_crash: Option<SimTime>,
}

/// A simulation of one protocol on a cluster, ready to run.
pub struct Simulation<P: Protocol> {
    // Shared, not copied, by the forks of `explore`: neither changes during a run.
    config: std::sync::Arc<SimConfig>,
    horizon: SimTime,
    protocol: std::sync::Arc<P::Config>,
    nodes: Vec<NodeSlot<P>>,
    fabric: Fabric<P::Msg>,
    fault_rng: SimRng,
    workload_rng: SimRng,
    client_rng: SimRng,
    adversary_rngs: Vec<SimRng>,
    adversaries: Vec<Option<Box<dyn Adversary<P>>>>,
    /// The node identity each slot runs (slot i runs identity i, and twin slots after
    /// the cluster's own run the identities they twin).
    identity: Vec<NodeId>,
    /// Slots whose identity runs twice: both count as Byzantine.
    twinned: Vec<bool>,
    /// The digest of every request a client sent, for validity checks.
    issued: std::collections::BTreeSet<u64>,
    forged: Vec<Forged<P::Msg>>,
    workload: Option<Box<dyn Workload>>,
    clients: Vec<ClientSlot>,
    active_clients: usize,
    fault_list: Vec<Fault>,
    /// Armed [`Fault::NextLeaders`], waiting for elections.
    leader_watch: Vec<LeaderWatch>,
    /// The term each node last led in, if it leads now.
    leading: Vec<Option<u64>>,
    /// Changes of [`Simulation::leading`], for [`RunResult::leadership`].
    leadership: Vec<LeaderChange>,
    /// The network's [`SenderCrash`] rule is `Drop`.
    drop_from_crashed: bool,
    invariants: Vec<Box<dyn Invariant<P>>>,
    trace: Option<Box<dyn TraceSink>>,
    trace_error: Option<String>,
    event_obs: Vec<Observed>,
    observations: Vec<Observed>,
    history: History,
    fingerprint: Fingerprint,
    applied: Vec<AppliedFault>,
    now: SimTime,
    events: u64,
    last_progress: SimTime,
    violation: Option<EndReason>,
}

// Tags folded into the fingerprint, one per event kind.
const FP_START: u64 = 1;
const FP_DELIVER: u64 = 2;
const FP_TIMER: u64 = 3;
const FP_REQUEST: u64 = 4;
const FP_RESPONSE: u64 = 5;
const FP_CLIENT: u64 = 6;
const FP_FAULT: u64 = 7;
const FP_OBSERVE: u64 = 8;
const FP_DROP: u64 = 9;
const FP_DUPLICATE: u64 = 10;

impl<P: Protocol> Simulation<P> {
    /// Starts building a simulation with `config`.
    pub fn builder(config: SimConfig) -> SimBuilder<P> {
        SimBuilder::new(config)
    }

    /// Runs to the end and returns what happened.
    pub fn run(self) -> RunResult {
        self.run_with_final_states().0
    }

    /// Runs to the end and returns what happened and every node's final state (`None`
    /// for a crashed node), for checks that look at the end state (convergence).
    pub fn run_with_final_states(mut self) -> (RunResult, Vec<Option<P>>) {
        let end = self.run_loop();
        self.into_result(end)
    }

    /// What the run produced, ended for `end`, and every node's final state.
    fn into_result(mut self, end: EndReason) -> (RunResult, Vec<Option<P>>) {
        self.history.close();
        let end_time = self.now;
        let states = self.nodes.iter_mut().map(|s| s.proto.take()).collect();
        let result = RunResult {
            seed: self.config.seed,
            end,
            end_time,
            events: self.events,
            fingerprint: self.fingerprint.value(),
            history: self.history,
            metrics: self.fabric.metrics.summary(),
            faults: self.applied,
            observations: self.observations,
            leadership: self.leadership,
            trace_error: self.trace_error,
        };
        (result, states)
    }

    fn run_loop(&mut self) -> EndReason {
        for i in 0..self.nodes.len() as u32 {
            self.start_node(NodeId(i));
            if let Some(v) = self.violation.take() {
                return v;
            }
        }
        self.start_clients();
        let max_events = self.config.max_events.unwrap_or(u64::MAX);
        loop {
            if self.events >= max_events {
                return EndReason::EventLimit { limit: max_events };
            }
            let Some((t, ev)) = self.fabric.queue.pop() else {
                return EndReason::Quiescent;
            };
            if t > self.horizon {
                // The run ends here; the event beyond the horizon never happens.
                self.now = self.horizon;
                return EndReason::Horizon;
            }
            self.now = t;
            self.dispatch(ev, false);
            if self.violation.is_some() {
                return self.violation.take().expect("checked");
            }
            if !self.clients.is_empty() {
                if self.active_clients == 0 && self.config.stop_when_done {
                    return EndReason::WorkDone;
                }
                if let Some(window) = self.config.no_progress
                    && self.active_clients > 0
                    && self.now.saturating_since(self.last_progress) > window
                {
                    return EndReason::NoProgress {
                        since: self.last_progress,
                        window,
                        outstanding: self.clients.iter().map(|c| c.pending.len()).sum(),
                    };
                }
            }
        }
    }

    /// Processes one event. `held`: the event was held by a paused node and already
    /// arrived, so the network is not consulted again.
    #[inline]
    fn dispatch(&mut self, ev: Event<P::Msg>, held: bool) {
        // Deliveries are most events: their path stays small and inlined, everything else
        // goes through a separate function so the hot loop carries no large stack frame.
        match ev {
            Event::Deliver {
                from,
                to,
                sent,
                msg,
            } => self.deliver(from, to, sent, msg, held),
            other => self.dispatch_other(other, held),
        }
    }

    #[inline(never)]
    fn dispatch_other(&mut self, ev: Event<P::Msg>, held: bool) {
        match ev {
            deliver @ Event::Deliver { .. } => self.dispatch(deliver, held),
            Event::Timer {
                node,
                incarnation,
                id,
                generation,
            } => {
                let slot = &mut self.nodes[node.index()];
                if slot.incarnation != incarnation || slot.status == NodeStatus::Down {
                    return;
                }
                if slot.status == NodeStatus::Paused {
                    slot.held.push(Event::Timer {
                        node,
                        incarnation,
                        id,
                        generation,
                    });
                    return;
                }
                if !slot.timers.take(id, generation) {
                    return; // reset or cancelled since
                }
                self.begin_event(FP_TIMER, node, id.0);
                self.fabric.metrics.timer_fired();
                if self.trace.is_some() {
                    self.record(
                        TraceKind::Timer,
                        Some(node),
                        None,
                        None,
                        format!("timer {}", id.0),
                    );
                }
                self.with_node(node, |p, ctx| {
                    if let Some(p) = p {
                        p.on_timer(ctx, id);
                    }
                });
                self.check_invariants(Some(node));
            }
            Event::Request { node, req } => {
                let slot = &mut self.nodes[node.index()];
                match slot.status {
                    NodeStatus::Down => return, // the client will time out
                    NodeStatus::Paused => {
                        slot.held.push(Event::Request { node, req });
                        return;
                    }
                    NodeStatus::Up => {}
                }
                self.begin_event(FP_REQUEST, node, req.id.seq);
                self.fingerprint.fold_hash(&*req);
                if self.trace.is_some() {
                    let s = format!("client {} #{}: {:?}", req.id.client, req.id.seq, req.op);
                    self.record(TraceKind::Request, Some(node), None, None, s);
                }
                self.with_node(node, |p, ctx| {
                    if let Some(p) = p {
                        p.on_request(ctx, *req);
                    }
                });
                self.check_invariants(Some(node));
            }
            Event::Response { from, id, reply } => self.on_response(from, id, *reply),
            Event::ClientWake(c) => self.client_wake(c),
            Event::ClientTimeout { id, attempt } => self.client_timeout(id, attempt),
            Event::ClientResend { id, attempt } => {
                let c = id.client;
                if let Some(i) = self.clients[c as usize]
                    .pending
                    .iter()
                    .position(|p| p.id == id && p.attempt == attempt)
                {
                    self.events += 1;
                    self.fingerprint.fold(self.now.0);
                    self.fingerprint.fold(FP_CLIENT | 0x40 | (id.seq << 40));
                    self.transmit_request(c, i);
                }
            }
            Event::Fault(i) => {
                let fault = self.fault_list[i as usize].clone();
                self.apply_fault(fault);
                self.check_invariants(None);
            }
            Event::Held(inner) => self.dispatch(*inner, true),
        }
    }

    /// Counts an event and folds its identity into the fingerprint.
    #[inline]
    fn begin_event(&mut self, tag: u64, node: NodeId, detail: u64) {
        self.events += 1;
        self.event_obs.clear();
        self.fingerprint.fold(self.now.0);
        self.fingerprint
            .fold(tag | (u64::from(node.0) << 8) | (detail << 40));
    }

    #[inline]
    fn check_invariants(&mut self, node: Option<NodeId>) {
        if !self.invariants.is_empty() {
            self.run_invariants(node);
        }
    }

    fn run_invariants(&mut self, node: Option<NodeId>) {
        if self.violation.is_some() {
            return;
        }
        let world = World {
            time: self.now,
            event: self.events.saturating_sub(1),
            node,
            observations: &self.event_obs,
            nodes: &self.nodes,
            adversaries: &self.adversaries,
            twinned: &self.twinned,
            identity: &self.identity,
            identities: self.fabric.identities,
            issued: &self.issued,
        };
        for inv in self.invariants.iter_mut() {
            if let Err(message) = inv.check(&world) {
                self.violation = Some(EndReason::InvariantViolated {
                    invariant: inv.name().to_string(),
                    event: world.event,
                    message,
                });
                return;
            }
        }
    }

    // ---- clients ----
}
