//! Building a simulation: the configuration first, then the optional parts.

use crate::byzantine::Adversary;
use crate::client::Workload;
use crate::clock::NodeClock;
use crate::disk::Disk;
use crate::fabric::{Event, Fabric};
use crate::fault::Fault;
use crate::fingerprint::Fingerprint;
use crate::history::History;
use crate::invariant::{Invariant, NodeStatus};
use crate::metrics::Metrics;
use crate::network::{Network, SenderCrash};
use crate::protocol::{NodeId, Protocol, TimerTable};
use crate::queue::EventQueue;
use crate::rng::{RunSeed, Stream};
use crate::time::{SimDuration, SimTime};
use crate::trace::TraceSink;

use super::*;

/// Builds a [`Simulation`]: configuration first, then the optional parts.
pub struct SimBuilder<P: Protocol> {
    config: SimConfig,
    protocol: P::Config,
    workload: Option<Box<dyn Workload>>,
    faults: Vec<(SimTime, Fault)>,
    invariants: Vec<Box<dyn Invariant<P>>>,
    adversaries: Vec<(NodeId, Box<dyn Adversary<P>>)>,
    twins: Vec<NodeId>,
    trace: Option<Box<dyn TraceSink>>,
}

impl<P: Protocol> SimBuilder<P> {
    /// A builder with nothing but the configuration.
    pub(super) fn new(config: SimConfig) -> Self {
        SimBuilder {
            config,
            protocol: P::Config::default(),
            workload: None,
            faults: Vec::new(),
            invariants: Vec::new(),
            adversaries: Vec::new(),
            twins: Vec::new(),
            trace: None,
        }
    }

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
    /// Makes `node` Byzantine, its sends controlled by an adversary given as a box (as a
    /// protocol's behaviours hand them out).
    pub fn boxed_adversary(mut self, node: NodeId, adversary: Box<dyn Adversary<P>>) -> Self {
        self.adversaries.push((node, adversary));
        self
    }
    /// Runs node identity `node` twice (Twins, Bano et al. 2020): a second slot, numbered
    /// after the cluster's nodes in the order of these calls, runs the same honest code
    /// under the same identity and key, with a disk of its own. Messages to the identity
    /// reach both; what either sends comes from the identity. Faults and partitions name
    /// slots, so the two can be put on different sides. Both count as Byzantine.
    pub fn twin(mut self, node: NodeId) -> Self {
        self.twins.push(node);
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
        // Node identities, and slots: one per identity, then one per twin.
        let identities = c.nodes;
        if let Some(t) = self.twins.iter().find(|t| t.0 >= identities) {
            return Err(BuildError::NoSuchNode(format!(
                "a twin of {t}, but the cluster has {identities} nodes"
            )));
        }
        let n = identities + self.twins.len() as u32;
        let mut identity: Vec<NodeId> = (0..identities).map(NodeId).collect();
        identity.extend(self.twins.iter().copied());
        let twinned: Vec<bool> = identity.iter().map(|i| self.twins.contains(i)).collect();
        let twin_slots: Vec<(NodeId, NodeId)> = self
            .twins
            .iter()
            .enumerate()
            .map(|(k, t)| (*t, NodeId(identities + k as u32)))
            .collect();
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
                if identities == 0 && cc.count > 0 {
                    return Err(BuildError::Clients("clients need at least one node".into()));
                }
                if cc.reply_quorum == 0 || (identities > 0 && cc.reply_quorum > identities) {
                    return Err(BuildError::Clients(format!(
                        "reply_quorum {} must be between 1 and the {identities} nodes that can answer",
                        cc.reply_quorum
                    )));
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
                        target: NodeId(i % identities.max(1)),
                        pending: Vec::new(),
                        exhausted: false,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Simulation {
            horizon: SimTime::ZERO + c.horizon,
            protocol: std::sync::Arc::new(self.protocol),
            nodes,
            fabric: Fabric {
                queue,
                network,
                net_rng: seed.stream(Stream::Network),
                metrics: Metrics::new(n as usize),
                out: Vec::new(),
                nodes: n,
                identities,
                twin_slots,
            },
            fault_rng: seed.stream(Stream::Faults),
            workload_rng: seed.stream(Stream::Workload),
            client_rng: seed.stream(Stream::Clients),
            adversary_rngs: (0..n).map(|i| seed.stream(Stream::Adversary(i))).collect(),
            adversaries,
            identity,
            twinned,
            issued: Default::default(),
            forged: Vec::new(),
            workload: self.workload,
            clients,
            active_clients: c.clients.as_ref().map_or(0, |cc| cc.count as usize),
            fault_list,
            leader_watch: Vec::new(),
            leading: vec![None; n as usize],
            leadership: Vec::new(),
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
            config: std::sync::Arc::new(c),
        })
    }
}
