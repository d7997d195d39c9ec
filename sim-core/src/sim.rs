//! The simulation: nodes, network, clients and faults driven by one event loop.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::byzantine::{Adversary, Forged};
use crate::client::{ClientConfig, Load, Retry, Workload};
use crate::clock::NodeClock;
use crate::disk::{Disk, DiskConfig};
use crate::fabric::{Event, Fabric};
use crate::fault::{AppliedFault, Fault, LeaderWatch, Target};
use crate::fingerprint::Fingerprint;
use crate::history::{ClientId, History, Operation, Outcome};
use crate::invariant::{Invariant, NodeStatus, Observed, World};
use crate::metrics::{Metrics, MetricsSummary};
use crate::network::{DropReason, Network, NetworkConfig, NetworkError, SenderCrash};
use crate::protocol::{
    ClientRequest, Ctx, Message, NodeId, Output, Protocol, Reply, RequestId, TimerTable,
};
use crate::queue::EventQueue;
use crate::rng::{RunSeed, SimRng, Stream};
use crate::time::{SimDuration, SimTime};
use crate::trace::{TraceEvent, TraceKind, TraceSink};

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
    /// Why the trace stopped early, if it did.
    pub trace_error: Option<String>,
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

struct PendingOp {
    history_id: u64,
    id: RequestId,
    op: Operation,
    attempt: u32,
    redirects: u32,
    /// A earlier attempt timed out, so it may still take effect.
    uncertain: bool,
}

struct ClientSlot {
    next_seq: u64,
    target: NodeId,
    pending: Vec<PendingOp>,
    exhausted: bool,
}

/// Builds a [`Simulation`]: configuration first, then the optional parts.
pub struct SimBuilder<P: Protocol> {
    config: SimConfig,
    protocol: P::Config,
    workload: Option<Box<dyn Workload>>,
    faults: Vec<(SimTime, Fault)>,
    invariants: Vec<Box<dyn Invariant<P>>>,
    adversaries: Vec<(NodeId, Box<dyn Adversary<P>>)>,
    trace: Option<Box<dyn TraceSink>>,
}

impl<P: Protocol> SimBuilder<P> {
    /// The protocol's settings (default otherwise).
    pub fn protocol_config(mut self, config: P::Config) -> Self {
        self.protocol = config;
        self
    }
    /// Where client operations come from (requires `clients` in the configuration).
    pub fn workload(mut self, workload: impl Workload + 'static) -> Self {
        self.workload = Some(Box::new(workload));
        self
    }
    /// Where client operations come from, already boxed (a workload chosen at run time).
    pub fn boxed_workload(mut self, workload: Box<dyn Workload>) -> Self {
        self.workload = Some(workload);
        self
    }
    /// Schedules `fault` at virtual time `at`.
    pub fn fault(mut self, at: SimDuration, fault: Fault) -> Self {
        self.faults.push((SimTime::ZERO + at, fault));
        self
    }
    /// Adds an invariant checked after every event.
    pub fn invariant(mut self, invariant: impl Invariant<P> + 'static) -> Self {
        self.invariants.push(Box::new(invariant));
        self
    }
    /// Adds invariants given as boxes (as protocols hand them out).
    pub fn invariants(mut self, invariants: Vec<Box<dyn Invariant<P>>>) -> Self {
        self.invariants.extend(invariants);
        self
    }
    /// Makes `node` Byzantine, its sends controlled by `adversary`.
    pub fn adversary(mut self, node: NodeId, adversary: impl Adversary<P> + 'static) -> Self {
        self.adversaries.push((node, Box::new(adversary)));
        self
    }
    /// Streams a trace record of every processed event to `sink`.
    pub fn trace(mut self, sink: impl TraceSink + 'static) -> Self {
        self.trace = Some(Box::new(sink));
        self
    }

    /// Checks the configuration and builds the simulation.
    pub fn build(self) -> Result<Simulation<P>, BuildError> {
        let c = self.config;
        let n = c.nodes;
        let network = Network::new(n, c.network.clone())?;
        match (&c.clients, &self.workload) {
            (Some(_), None) => {
                return Err(BuildError::Clients(
                    "clients are configured but no workload was given".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(BuildError::Clients(
                    "a workload was given but no clients are configured".into(),
                ));
            }
            (Some(cc), _) => {
                cc.latency
                    .validate()
                    .map_err(|e| BuildError::Clients(format!("client latency: {e}")))?;
                if n == 0 && cc.count > 0 {
                    return Err(BuildError::Clients("clients need at least one node".into()));
                }
            }
            _ => {}
        }
        let seed = RunSeed(c.seed);
        let nodes = (0..n)
            .map(|i| NodeSlot {
                proto: None,
                status: NodeStatus::Up,
                incarnation: 0,
                clock: NodeClock::default(),
                rng: seed.stream(Stream::Node(i)),
                disk: Disk::new(c.disk.clone()),
                timers: TimerTable::default(),
                held: Vec::new(),
                last_crash: None,
            })
            .collect();
        let mut adversaries: Vec<Option<Box<dyn Adversary<P>>>> = (0..n).map(|_| None).collect();
        for (node, a) in self.adversaries {
            let slot = adversaries.get_mut(node.index()).ok_or_else(|| {
                BuildError::NoSuchNode(format!(
                    "adversary for {node}, but the cluster has {n} nodes"
                ))
            })?;
            *slot = Some(a);
        }
        let mut queue = EventQueue::new();
        let mut fault_list = Vec::new();
        let mut faults = self.faults;
        // Stable: faults at one time apply in the order given.
        faults.sort_by_key(|(t, _)| *t);
        for (i, (at, f)) in faults.into_iter().enumerate() {
            queue.push(at, Event::Fault(i as u32));
            fault_list.push(f);
        }
        let clients = c
            .clients
            .as_ref()
            .map(|cc| {
                (0..cc.count)
                    .map(|i| ClientSlot {
                        next_seq: 0,
                        target: NodeId(i % n.max(1)),
                        pending: Vec::new(),
                        exhausted: false,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Simulation {
            horizon: SimTime::ZERO + c.horizon,
            protocol: self.protocol,
            nodes,
            fabric: Fabric {
                queue,
                network,
                net_rng: seed.stream(Stream::Network),
                metrics: Metrics::new(n as usize),
                out: Vec::new(),
                nodes: n,
            },
            fault_rng: seed.stream(Stream::Faults),
            workload_rng: seed.stream(Stream::Workload),
            client_rng: seed.stream(Stream::Clients),
            adversary_rngs: (0..n).map(|i| seed.stream(Stream::Adversary(i))).collect(),
            adversaries,
            forged: Vec::new(),
            workload: self.workload,
            clients,
            active_clients: c.clients.as_ref().map_or(0, |cc| cc.count as usize),
            fault_list,
            leader_watch: Vec::new(),
            drop_from_crashed: c.network.sender_crash == SenderCrash::Drop,
            invariants: self.invariants,
            trace: self.trace,
            trace_error: None,
            event_obs: Vec::new(),
            observations: Vec::new(),
            history: History::new(),
            fingerprint: Fingerprint::default(),
            applied: Vec::new(),
            now: SimTime::ZERO,
            events: 0,
            last_progress: SimTime::ZERO,
            violation: None,
            config: c,
        })
    }
}

/// A simulation of one protocol on a cluster, ready to run.
pub struct Simulation<P: Protocol> {
    config: SimConfig,
    horizon: SimTime,
    protocol: P::Config,
    nodes: Vec<NodeSlot<P>>,
    fabric: Fabric<P::Msg>,
    fault_rng: SimRng,
    workload_rng: SimRng,
    client_rng: SimRng,
    adversary_rngs: Vec<SimRng>,
    adversaries: Vec<Option<Box<dyn Adversary<P>>>>,
    forged: Vec<Forged<P::Msg>>,
    workload: Option<Box<dyn Workload>>,
    clients: Vec<ClientSlot>,
    active_clients: usize,
    fault_list: Vec<Fault>,
    /// Armed [`Fault::NextLeaders`], waiting for elections.
    leader_watch: Vec<LeaderWatch>,
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

impl<P: Protocol> Simulation<P> {
    /// Starts building a simulation with `config`.
    pub fn builder(config: SimConfig) -> SimBuilder<P> {
        SimBuilder {
            config,
            protocol: P::Config::default(),
            workload: None,
            faults: Vec::new(),
            invariants: Vec::new(),
            adversaries: Vec::new(),
            trace: None,
        }
    }

    /// Runs to the end and returns what happened.
    pub fn run(self) -> RunResult {
        self.run_with_final_states().0
    }

    /// Runs to the end and returns what happened and every node's final state (`None`
    /// for a crashed node), for checks that look at the end state (convergence).
    pub fn run_with_final_states(mut self) -> (RunResult, Vec<Option<P>>) {
        let end = self.run_loop();
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

    #[inline]
    fn deliver(&mut self, from: NodeId, to: NodeId, sent: SimTime, msg: P::Msg, held: bool) {
        let status = self.nodes[to.index()].status;
        if status != NodeStatus::Up || (!held && !self.fabric.network.arrives(from, to)) {
            self.not_delivered(from, to, sent, msg, status);
            return;
        }
        if self.drop_from_crashed
            && self.nodes[from.index()]
                .last_crash
                .is_some_and(|c| c >= sent)
        {
            self.drop_message(from, to, sent, &msg, DropReason::SenderCrashed);
            return;
        }
        self.begin_event(FP_DELIVER, to, u64::from(from.0));
        self.fingerprint.fold_hash(&msg);
        self.fabric
            .metrics
            .delivered(msg.kind(), to.index(), msg.size());
        if self.trace.is_some() {
            self.trace_delivery(from, to, sent, &msg);
        }
        self.with_node(to, |p, ctx| {
            if let Some(p) = p {
                p.on_message(ctx, from, msg);
            }
        });
        self.check_invariants(Some(to));
    }

    /// A message that reached a node that is down or paused, or across a cut.
    #[cold]
    #[inline(never)]
    fn not_delivered(
        &mut self,
        from: NodeId,
        to: NodeId,
        sent: SimTime,
        msg: P::Msg,
        status: NodeStatus,
    ) {
        match status {
            NodeStatus::Down => self.drop_message(from, to, sent, &msg, DropReason::NodeDown),
            NodeStatus::Paused => {
                self.nodes[to.index()].held.push(Event::Deliver {
                    from,
                    to,
                    sent,
                    msg,
                });
            }
            NodeStatus::Up => self.drop_message(from, to, sent, &msg, DropReason::Partition),
        }
    }

    #[cold]
    #[inline(never)]
    fn trace_delivery(&mut self, from: NodeId, to: NodeId, sent: SimTime, msg: &P::Msg) {
        let summary = format!("{msg:?}");
        self.record_sent(
            TraceKind::Deliver,
            Some(to),
            Some(from),
            Some(msg.kind()),
            summary,
            Some(sent),
        );
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

    fn drop_message(
        &mut self,
        from: NodeId,
        to: NodeId,
        sent: SimTime,
        msg: &P::Msg,
        reason: DropReason,
    ) {
        self.fabric.metrics.dropped(msg.kind(), reason);
        self.trace_drop(from, to, sent, msg, reason);
    }

    fn trace_drop(
        &mut self,
        from: NodeId,
        to: NodeId,
        sent: SimTime,
        msg: &P::Msg,
        reason: DropReason,
    ) {
        if self.trace.is_some() {
            let s = format!(
                "{} from {from} dropped ({}): {msg:?}",
                msg.kind(),
                reason.name()
            );
            let kind = Some(msg.kind());
            self.record_sent(TraceKind::Drop, Some(to), Some(from), kind, s, Some(sent));
        }
    }

    fn record(
        &mut self,
        kind: TraceKind,
        node: Option<NodeId>,
        from: Option<NodeId>,
        msg: Option<&str>,
        summary: String,
    ) {
        self.record_sent(kind, node, from, msg, summary, None);
    }

    /// A trace record; `sent` is when a message left its sender.
    fn record_sent(
        &mut self,
        kind: TraceKind,
        node: Option<NodeId>,
        from: Option<NodeId>,
        msg: Option<&str>,
        summary: String,
        sent: Option<SimTime>,
    ) {
        if let Some(sink) = &mut self.trace {
            let ev = TraceEvent {
                index: self.events.saturating_sub(1),
                time: self.now,
                kind,
                node,
                from,
                msg: msg.map(str::to_string),
                summary,
                sent,
            };
            if let Err(e) = sink.record(&ev) {
                self.trace_error = Some(e.to_string());
                self.trace = None;
            }
        }
    }

    /// Runs a handler of `node` with a fresh context, then applies its outputs.
    #[inline]
    fn with_node(&mut self, node: NodeId, f: impl FnOnce(&mut Option<P>, &mut Ctx<'_, P::Msg>)) {
        let cluster_size = self.nodes.len() as u32;
        // Sends go straight to the network unless an adversary or the trace must see them.
        let direct = self.trace.is_none() && self.adversaries[node.index()].is_none();
        let slot = &mut self.nodes[node.index()];
        slot.disk.set_now(self.now);
        let mut ctx = Ctx {
            node,
            cluster_size,
            now: self.now,
            clock: &slot.clock,
            rng: &mut slot.rng,
            disk: &mut slot.disk,
            timers: &mut slot.timers,
            fabric: &mut self.fabric,
            direct,
            incarnation: slot.incarnation,
        };
        f(&mut slot.proto, &mut ctx);
        self.apply_outputs(node);
        // Leadership changes only inside a handler, so this is where an election shows.
        if !self.leader_watch.is_empty() {
            self.watch_leader(node);
        }
    }

    /// Answers armed [`Fault::NextLeaders`] if `node` now leads in a term above every
    /// term they have seen: schedules the action and its end.
    #[inline(never)]
    fn watch_leader(&mut self, node: NodeId) {
        let Some(term) = self.nodes[node.index()]
            .proto
            .as_ref()
            .and_then(|p| p.leader_term())
        else {
            return;
        };
        let now = self.now;
        self.leader_watch.retain(|w| w.until >= now);
        let mut i = 0;
        while i < self.leader_watch.len() {
            let w = &mut self.leader_watch[i];
            if term <= w.above {
                i += 1;
                continue;
            }
            w.above = term;
            // A leader elected while `at_once` victims are still down is let be, so the
            // watch never has more nodes down than it was allowed.
            w.busy.retain(|back| *back > now);
            if w.busy.len() >= w.at_once as usize {
                i += 1;
                continue;
            }
            w.left -= 1;
            let at = now + w.after.sample(&mut self.fault_rng);
            w.busy.push(at + w.down);
            let (down, action) = (w.down, w.action);
            if w.left == 0 {
                self.leader_watch.remove(i);
            } else {
                i += 1;
            }
            let (start, end) = action.faults(node);
            for (when, f) in [(at, start), (at + down, end)] {
                self.fabric
                    .queue
                    .push(when, Event::Fault(self.fault_list.len() as u32));
                self.fault_list.push(f);
            }
        }
    }

    fn start_node(&mut self, node: NodeId) {
        let incarnation = self.nodes[node.index()].incarnation;
        self.begin_event(FP_START, node, u64::from(incarnation));
        if self.trace.is_some() {
            let s = format!("incarnation {incarnation}");
            self.record(TraceKind::Start, Some(node), None, None, s);
        }
        let config = self.protocol.clone();
        self.nodes[node.index()].status = NodeStatus::Up;
        self.with_node(node, |proto, ctx| *proto = Some(P::start(ctx, &config)));
        self.check_invariants(Some(node));
    }

    #[inline]
    fn apply_outputs(&mut self, node: NodeId) {
        // Most handlers of the direct path leave nothing here.
        if !self.fabric.out.is_empty() {
            self.apply_buffered_outputs(node);
        }
    }

    #[inline(never)]
    fn apply_buffered_outputs(&mut self, node: NodeId) {
        let mut out = std::mem::take(&mut self.fabric.out);
        let slot = &self.nodes[node.index()];
        let incarnation = slot.incarnation;
        // Outputs wait for a sync in progress (the node waits for its fsync).
        let depart = slot.disk.busy_until().max(self.now);
        for o in out.drain(..) {
            match o {
                Output::Send { to, msg } => self.send(node, to, msg, depart),
                Output::Reply { id, reply } => {
                    let lat = self.client_latency();
                    self.fabric.queue.push(
                        depart + lat,
                        Event::Response {
                            from: node,
                            id,
                            reply,
                        },
                    );
                }
                Output::Observe(obs) => {
                    let o = Observed {
                        node,
                        time: self.now,
                        incarnation,
                        obs,
                    };
                    self.fingerprint.fold(FP_OBSERVE);
                    self.fingerprint.fold_hash(&obs);
                    if self.trace.is_some() {
                        let s = format!("{} {} = {}", obs.kind, obs.key, obs.value);
                        self.record(TraceKind::Observe, Some(node), None, None, s);
                    }
                    self.event_obs.push(o);
                    if self.config.record_observations {
                        self.observations.push(o);
                    }
                }
            }
        }
        self.fabric.out = out;
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg, depart: SimTime) {
        if to.index() >= self.nodes.len() {
            return; // no such node: nothing to deliver to
        }
        let Some(adversary) = self.adversaries[from.index()].as_mut() else {
            self.transmit(from, to, msg, depart);
            return;
        };
        let mut forged = std::mem::take(&mut self.forged);
        let kind = msg.kind();
        adversary.intercept(
            from,
            to,
            msg,
            &mut self.adversary_rngs[from.index()],
            &mut forged,
        );
        if forged.is_empty() {
            self.fabric.metrics.dropped(kind, DropReason::Withheld);
        }
        for f in forged.drain(..) {
            if f.to.index() < self.nodes.len() {
                // The true sender, whatever the contents claim.
                self.transmit(from, f.to, f.msg, depart + f.delay);
            }
        }
        self.forged = forged;
    }

    /// Sends one message from the simulation (slow path: adversary or tracing).
    fn transmit(&mut self, from: NodeId, to: NodeId, msg: P::Msg, depart: SimTime) {
        if let Err((reason, msg)) = self.fabric.transmit(from, to, msg, depart) {
            self.trace_drop(from, to, depart, &msg, reason);
        }
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

    fn client_config(&self) -> &ClientConfig {
        self.config
            .clients
            .as_ref()
            .expect("client events exist only when clients are configured")
    }

    fn client_latency(&mut self) -> SimDuration {
        match &self.config.clients {
            Some(c) => c.latency.sample(&mut self.client_rng),
            None => SimDuration::ZERO,
        }
    }

    fn start_clients(&mut self) {
        for c in 0..self.clients.len() as u32 {
            let delay = self.pace_delay();
            self.fabric
                .queue
                .push(self.now + delay, Event::ClientWake(c));
        }
        self.last_progress = self.now;
    }

    /// Think time (closed loop) or inter-arrival time (open loop).
    fn pace_delay(&mut self) -> SimDuration {
        let d = match &self.client_config().load {
            Load::Closed { think } => think.clone(),
            Load::Open { interval } => interval.clone(),
        };
        d.sample(&mut self.client_rng)
    }

    fn client_wake(&mut self, c: ClientId) {
        let open = matches!(self.client_config().load, Load::Open { .. });
        let slot = &self.clients[c as usize];
        if slot.exhausted || (!open && !slot.pending.is_empty()) {
            return;
        }
        self.events += 1;
        self.fingerprint.fold(self.now.0);
        self.fingerprint.fold(FP_CLIENT | (u64::from(c) << 8));
        let op = match self.workload.as_mut() {
            Some(w) => w.next_op(c, &mut self.workload_rng),
            None => None,
        };
        let Some(op) = op else {
            let slot = &mut self.clients[c as usize];
            slot.exhausted = true;
            if slot.pending.is_empty() {
                self.active_clients -= 1;
            }
            return;
        };
        self.fingerprint.fold_hash(&op);
        self.issue(c, op, 0, false);
        if open {
            let delay = self.pace_delay();
            self.fabric
                .queue
                .push(self.now + delay, Event::ClientWake(c));
        }
    }

    /// Starts a new history operation for `op` and sends it.
    fn issue(&mut self, c: ClientId, op: Operation, attempt: u32, uncertain: bool) {
        let history_id = self.history.invoke(c, op.clone(), self.now);
        let slot = &mut self.clients[c as usize];
        let id = RequestId {
            client: c,
            seq: slot.next_seq,
        };
        slot.next_seq += 1;
        slot.pending.push(PendingOp {
            history_id,
            id,
            op,
            attempt,
            redirects: 0,
            uncertain,
        });
        let i = slot.pending.len() - 1;
        self.transmit_request(c, i);
    }

    /// Sends pending operation `i` of client `c` to the client's target and arms its timeout.
    fn transmit_request(&mut self, c: ClientId, i: usize) {
        let slot = &self.clients[c as usize];
        let p = &slot.pending[i];
        let node = slot.target;
        let req = ClientRequest {
            id: p.id,
            op: p.op.clone(),
        };
        let (id, attempt) = (p.id, p.attempt);
        let lat = self.client_latency();
        let timeout = self.client_config().timeout;
        self.fabric.queue.push(
            self.now + lat,
            Event::Request {
                node,
                req: Box::new(req),
            },
        );
        self.fabric
            .queue
            .push(self.now + timeout, Event::ClientTimeout { id, attempt });
    }

    fn finish(&mut self, c: ClientId, i: usize, outcome: Outcome) {
        let slot = &mut self.clients[c as usize];
        let p = slot.pending.swap_remove(i);
        let progress = !matches!(outcome, Outcome::Indeterminate);
        self.history.complete(p.history_id, outcome, self.now);
        if progress {
            self.last_progress = self.now;
        }
        let open = matches!(self.client_config().load, Load::Open { .. });
        let slot = &self.clients[c as usize];
        if slot.exhausted {
            if slot.pending.is_empty() {
                self.active_clients -= 1;
            }
        } else if !open {
            let delay = self.pace_delay();
            self.fabric
                .queue
                .push(self.now + delay, Event::ClientWake(c));
        }
    }

    fn on_response(&mut self, from: NodeId, id: RequestId, reply: Reply) {
        let c = id.client;
        let Some(i) = self.clients[c as usize]
            .pending
            .iter()
            .position(|p| p.id == id)
        else {
            return; // an answer to an attempt the client gave up on
        };
        self.events += 1;
        self.fingerprint.fold(self.now.0);
        self.fingerprint
            .fold(FP_RESPONSE | (u64::from(from.0) << 8) | (id.seq << 40));
        self.fingerprint.fold_hash(&reply);
        if self.trace.is_some() {
            let s = format!("client {} #{}: {reply:?}", id.client, id.seq);
            self.record(TraceKind::Response, None, Some(from), None, s);
        }
        match reply {
            Reply::Ok(out) => self.finish(c, i, Outcome::Ok(out)),
            Reply::Fail(_) => {
                let uncertain = self.clients[c as usize].pending[i].uncertain;
                let outcome = if uncertain {
                    Outcome::Indeterminate
                } else {
                    Outcome::Failed
                };
                self.finish(c, i, outcome);
            }
            Reply::Redirect(hint) => {
                let max = self.client_config().max_redirects;
                let n = self.nodes.len() as u32;
                let slot = &mut self.clients[c as usize];
                let p = &mut slot.pending[i];
                p.redirects += 1;
                if p.redirects > max {
                    let outcome = if p.uncertain {
                        Outcome::Indeterminate
                    } else {
                        Outcome::Failed
                    };
                    self.finish(c, i, outcome);
                    return;
                }
                p.attempt += 1;
                let (id, attempt) = (p.id, p.attempt);
                match hint {
                    Some(h) if h.0 < n => {
                        slot.target = h;
                        self.transmit_request(c, i);
                    }
                    _ => {
                        // Nobody knows a leader yet (an election is on): ask the next node
                        // after a pause rather than spinning through the cluster.
                        slot.target = NodeId((from.0 + 1) % n);
                        let backoff = self.client_config().redirect_backoff;
                        self.fabric
                            .queue
                            .push(self.now + backoff, Event::ClientResend { id, attempt });
                    }
                }
            }
        }
    }

    fn client_timeout(&mut self, id: RequestId, attempt: u32) {
        let c = id.client;
        let Some(i) = self.clients[c as usize]
            .pending
            .iter()
            .position(|p| p.id == id && p.attempt == attempt)
        else {
            return;
        };
        self.events += 1;
        self.fingerprint.fold(self.now.0);
        self.fingerprint.fold(FP_CLIENT | 0x80 | (id.seq << 40));
        if self.trace.is_some() {
            let s = format!("client {} #{} timed out", id.client, id.seq);
            self.record(TraceKind::Timeout, None, None, None, s);
        }
        let retry = self.client_config().retry;
        let n = self.nodes.len() as u32;
        let slot = &mut self.clients[c as usize];
        // Try another node next: the one we asked may be down or cut off.
        slot.target = NodeId((slot.target.0 + 1) % n);
        let p = &mut slot.pending[i];
        match retry {
            Retry::SameId { max_attempts } if p.attempt + 1 < max_attempts => {
                p.attempt += 1;
                p.uncertain = true;
                self.transmit_request(c, i);
            }
            Retry::NewId { max_attempts } if p.attempt + 1 < max_attempts => {
                let op = p.op.clone();
                let next = p.attempt + 1;
                let hid = p.history_id;
                slot.pending.swap_remove(i);
                self.history.complete(hid, Outcome::Indeterminate, self.now);
                self.issue(c, op, next, false);
            }
            _ => self.finish(c, i, Outcome::Indeterminate),
        }
    }

    // ---- faults ----

    fn apply_fault(&mut self, fault: Fault) {
        let kind = fault.kind();
        let (nodes, description) = match &fault {
            Fault::Crash(t) => {
                let hit = self.resolve(t, |s| s.status != NodeStatus::Down);
                for &n in &hit {
                    let slot = &mut self.nodes[n.index()];
                    slot.proto = None;
                    slot.status = NodeStatus::Down;
                    slot.incarnation += 1;
                    slot.timers.clear();
                    slot.held.clear();
                    slot.last_crash = Some(self.now);
                    slot.disk.crash(self.now);
                }
                (hit, format!("crash {t:?}"))
            }
            Fault::Restart(t) => {
                let hit = self.resolve(t, |s| s.status == NodeStatus::Down);
                (hit, format!("restart {t:?}"))
            }
            Fault::Pause(t) => {
                let hit = self.resolve(t, |s| s.status == NodeStatus::Up);
                for &n in &hit {
                    self.nodes[n.index()].status = NodeStatus::Paused;
                }
                (hit, format!("pause {t:?}"))
            }
            Fault::Resume(t) => {
                let hit = self.resolve(t, |s| s.status == NodeStatus::Paused);
                for &n in &hit {
                    let slot = &mut self.nodes[n.index()];
                    slot.status = NodeStatus::Up;
                    for ev in std::mem::take(&mut slot.held) {
                        self.fabric.queue.push(self.now, Event::Held(Box::new(ev)));
                    }
                }
                (hit, format!("resume {t:?}"))
            }
            Fault::Partition(groups) => {
                self.fabric.network.partition(groups);
                (Vec::new(), format!("partition {groups:?}"))
            }
            Fault::Isolate(t) => {
                let hit = self.resolve(t, |_| true);
                for &n in &hit {
                    self.fabric.network.isolate(n);
                }
                (hit, format!("isolate {t:?}"))
            }
            Fault::CutOneWay { from, to } => {
                self.fabric.network.cut_one_way(from, to);
                (from.clone(), format!("cut {from:?} -> {to:?}"))
            }
            Fault::Heal => {
                self.fabric.network.heal();
                (Vec::new(), "heal".to_string())
            }
            Fault::Links { scope, change } => {
                self.fabric.network.change_links(*scope, change);
                (Vec::new(), format!("links {scope:?}: {change}"))
            }
            Fault::ClockSkew { target, offset_ns } => {
                let hit = self.resolve(target, |_| true);
                for &n in &hit {
                    self.nodes[n.index()].clock.set_offset(self.now, *offset_ns);
                }
                let sign = if *offset_ns < 0 { "-" } else { "+" };
                let size = SimDuration(offset_ns.unsigned_abs());
                (hit, format!("clock skew {target:?} {sign}{size}"))
            }
            Fault::ClockDrift { target, ppm } => {
                let hit = self.resolve(target, |_| true);
                for &n in &hit {
                    self.nodes[n.index()].clock.set_drift(self.now, *ppm);
                }
                (hit, format!("clock drift {target:?} {ppm}ppm"))
            }
            Fault::Membership(change) => {
                let up = (0..self.nodes.len() as u32)
                    .map(NodeId)
                    .filter(|n| self.nodes[n.index()].status == NodeStatus::Up)
                    .collect();
                (up, format!("membership {change:?}"))
            }
            Fault::NextLeaders {
                times,
                after,
                down,
                action,
                within,
                at_once,
            } => {
                // Only elections after this moment count: the current leaders' terms are
                // already led.
                let above = self
                    .nodes
                    .iter()
                    .filter_map(|s| s.proto.as_ref()?.leader_term())
                    .max()
                    .unwrap_or(0);
                if *times > 0 {
                    self.leader_watch.push(LeaderWatch {
                        above,
                        left: *times,
                        until: self.now + *within,
                        at_once: *at_once,
                        busy: Vec::new(),
                        after: after.clone(),
                        down: *down,
                        action: *action,
                    });
                }
                let what = format!("{action:?}").to_lowercase();
                let description = format!(
                    "{what} each of the next {times} leaders elected within {within}, {after} after its election, for {down}"
                );
                (Vec::new(), description)
            }
        };
        self.events += 1;
        self.event_obs.clear();
        self.fingerprint.fold(self.now.0);
        self.fingerprint.fold(FP_FAULT);
        self.fingerprint.fold_hash(kind);
        for n in &nodes {
            self.fingerprint.fold(u64::from(n.0));
        }
        let description = format!("{description} -> {nodes:?}");
        if self.trace.is_some() {
            self.record(TraceKind::Fault, None, None, None, description.clone());
        }
        self.applied.push(AppliedFault {
            at: self.now,
            kind: kind.to_string(),
            nodes: nodes.clone(),
            description,
        });
        match fault {
            Fault::Restart(_) => {
                for n in nodes {
                    self.start_node(n);
                }
            }
            Fault::Membership(change) => {
                for n in nodes {
                    self.with_node(n, |proto, ctx| {
                        if let Some(p) = proto {
                            p.on_membership(ctx, change);
                        }
                    });
                }
            }
            _ => {}
        }
    }

    /// Resolves a target to concrete nodes among those `eligible` for the fault.
    fn resolve(&mut self, target: &Target, eligible: impl Fn(&NodeSlot<P>) -> bool) -> Vec<NodeId> {
        let n = self.nodes.len();
        let candidates: Vec<NodeId> = (0..n as u32)
            .map(NodeId)
            .filter(|id| eligible(&self.nodes[id.index()]))
            .collect();
        let pick = |rng: &mut SimRng, k: usize| -> Vec<NodeId> {
            let mut c = candidates.clone();
            let k = k.min(c.len());
            for i in 0..k {
                let j = rng.random_range(i..c.len());
                c.swap(i, j);
            }
            c.truncate(k);
            c.sort();
            c
        };
        match target {
            Target::Node(id) => candidates.iter().copied().filter(|c| c == id).collect(),
            Target::Nodes(ids) => candidates
                .iter()
                .copied()
                .filter(|c| ids.contains(c))
                .collect(),
            Target::Leader => {
                // Highest term first, then lowest id: `max_by_key` keeps the last
                // maximum, so candidates are walked from the highest id down.
                candidates
                    .iter()
                    .rev()
                    .copied()
                    .filter_map(|id| {
                        let p = self.nodes[id.index()].proto.as_ref()?;
                        Some((id, p.leader_term()?))
                    })
                    .max_by_key(|&(_, term)| term)
                    .map(|(id, _)| id)
                    .into_iter()
                    .collect()
            }
            Target::Random => pick(&mut self.fault_rng, 1),
            Target::RandomMinority => pick(&mut self.fault_rng, n.saturating_sub(1) / 2),
            Target::RandomMajority => pick(&mut self.fault_rng, n / 2 + 1),
            Target::All => candidates,
        }
    }
}
