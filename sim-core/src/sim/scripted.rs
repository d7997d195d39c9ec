//! A run driven one chosen event at a time instead of in time order: the waiting events
//! sit in a pool, and a caller (`explore`'s search, or a fixed schedule being replayed)
//! picks which happens next, or which fault strikes. Every event still runs through the
//! engine's own dispatch, so invariants, clients, history and fingerprint behave exactly
//! as in a timed run. See [`crate::schedule`] for the timing rules.

use std::hash::{Hash, Hasher};

use crate::fabric::{Event, Fabric};
use crate::fault::{Fault, Target};
use crate::invariant::NodeStatus;
use crate::metrics::Metrics;
use crate::network::DropReason;
use crate::protocol::{Message, NodeId, Protocol};
use crate::queue::EventQueue;
use crate::schedule::{Budget, Step};
use crate::time::SimTime;

use super::*;

/// An event waiting in a stepped run, with the time it was due at.
#[derive(Clone)]
pub(crate) struct Waiting<M> {
    pub(crate) at: SimTime,
    pub(crate) ev: Event<M>,
}

/// What can happen next in a stepped run: an index into its pool or a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The waiting event happens.
    Fire(u32),
    /// The waiting message is lost.
    Drop(u32),
    /// The waiting message is duplicated.
    Duplicate(u32),
    /// The node crashes.
    Crash(u32),
    /// The node restarts.
    Restart(u32),
}

/// A run driven step by step.
pub(crate) struct Stepped<P: Protocol> {
    pub(crate) sim: Simulation<P>,
    pub(crate) pool: Vec<Waiting<P::Msg>>,
    /// Faults still to spend.
    pub(crate) left: Budget,
    /// Messages on a link arrive in sending order.
    fifo: bool,
    /// Under synchronous timing, how long a message may wait at most.
    pub(crate) bound: Option<crate::time::SimDuration>,
    /// Timers fire in deadline order (nodes are never late), messages in any order.
    pub(crate) punctual: bool,
    /// Why the run stopped (an invariant failed), if it did.
    pub(crate) end: Option<EndReason>,
    /// How many observations are folded into the sum, and the sum: observations only
    /// grow, so each digest folds in the new ones alone.
    observed: std::cell::Cell<(usize, u64)>,
}

impl<M> Event<M> {
    /// Whether the event happens at a deadline (a timer of a node or client, or a
    /// scheduled fault) rather than whenever a message happens to arrive.
    fn timed(&self) -> bool {
        matches!(
            self,
            Event::Timer { .. }
                | Event::ClientWake(_)
                | Event::ClientTimeout { .. }
                | Event::ClientResend { .. }
                | Event::Fault(_)
        )
    }
}

impl<P: Protocol> Stepped<P> {
    /// Starts the nodes and clients of `sim`; `left` is what the caller may spend.
    pub(crate) fn start(mut sim: Simulation<P>, left: Budget) -> Self {
        sim.fabric.network.without_random_faults();
        let mut end = None;
        for i in 0..sim.nodes.len() as u32 {
            sim.start_node(NodeId(i));
            if let Some(v) = sim.violation.take() {
                end = Some(v);
                break;
            }
        }
        if end.is_none() {
            sim.start_clients();
        }
        let fifo = sim.fabric.network.all_fifo();
        let mut s = Stepped {
            sim,
            pool: Vec::new(),
            left,
            fifo,
            bound: None,
            punctual: false,
            end,
            observed: std::cell::Cell::new((0, 0)),
        };
        s.collect();
        s
    }

    /// Moves what the last step scheduled into the pool, in scheduling order, and lets
    /// go of timers that were reset or cancelled since (they would do nothing).
    fn collect(&mut self) {
        let queue = &mut self.sim.fabric.queue;
        self.pool.reserve(queue.len());
        queue.drain_into(|at, ev| self.pool.push(Waiting { at, ev }));
        let nodes = &self.sim.nodes;
        self.pool.retain(|w| match &w.ev {
            Event::Timer {
                node,
                incarnation,
                id,
                generation,
            } => {
                let slot = &nodes[node.index()];
                slot.incarnation == *incarnation
                    && slot.status != NodeStatus::Down
                    && slot.timers.is_current(*id, *generation)
            }
            _ => true,
        });
    }

    /// Whether waiting event `i` may happen now.
    fn enabled(&self, i: usize) -> bool {
        let w = &self.pool[i];
        let up = |n: NodeId| self.sim.nodes[n.index()].status == NodeStatus::Up;
        match &w.ev {
            Event::Deliver { from, to, .. } => {
                up(*to)
                    && !(self.fifo
                        && self.pool[..i].iter().any(|e| {
                            matches!(&e.ev, Event::Deliver { from: f, to: t, .. } if f == from && t == to)
                        }))
            }
            Event::Request { node, .. } => up(*node),
            Event::Timer { .. } if self.left.timers == Some(0) => false,
            Event::Fault(_) => {
                self.may_move_to(w.at)
                    && !self.pool[..i]
                        .iter()
                        .any(|e| matches!(e.ev, Event::Fault(_)))
            }
            ev if ev.timed() => self.may_move_to(w.at),
            _ => true,
        }
    }

    /// Whether a timed event due at `at` may happen now: within the horizon, no waiting
    /// message overstays the synchronous bound, and with timers on time, no other timed
    /// event that could still happen is due earlier.
    fn may_move_to(&self, at: SimTime) -> bool {
        at <= self.sim.horizon
            && self.in_time(at)
            && !(self.punctual
                && self.pool.iter().any(|e| {
                    e.ev.timed()
                        && e.at < at
                        && !(matches!(e.ev, Event::Timer { .. }) && self.left.timers == Some(0))
                }))
    }

    /// Under synchronous timing, whether time may move to `at` with no waiting message
    /// overstaying the bound.
    fn in_time(&self, at: SimTime) -> bool {
        let Some(bound) = self.bound else {
            return true;
        };
        let up = |n: &NodeId| self.sim.nodes[n.index()].status == NodeStatus::Up;
        // A message to a node that is down or paused waits no bound: it is lost when it
        // overstays (see `Stepped::expire`).
        self.pool.iter().all(|w| match &w.ev {
            Event::Deliver { sent, to, .. } => at <= *sent + bound || !up(to),
            Event::Request { node, .. } => at <= w.at + bound || !up(node),
            Event::Response { .. } => at <= w.at + bound,
            _ => true,
        })
    }

    /// Under synchronous timing, loses the messages to nodes that are not up and that
    /// overstayed the bound: they would have arrived while the node was down (and been
    /// lost) or paused (and been held, which the bound does not allow).
    fn expire(&mut self) {
        let Some(bound) = self.bound else {
            return;
        };
        let now = self.sim.now;
        let nodes = &self.sim.nodes;
        let up = |n: &NodeId| nodes[n.index()].status == NodeStatus::Up;
        self.pool.retain(|w| match &w.ev {
            Event::Deliver { sent, to, .. } => up(to) || now <= *sent + bound,
            Event::Request { node, .. } => up(node) || now <= w.at + bound,
            _ => true,
        });
    }

    /// Everything that may happen next, in a fixed order: the waiting events in the
    /// order they were scheduled, then losses and duplicates of messages, crashes and
    /// restarts, as far as `left` allows.
    pub(crate) fn choices(&self, out: &mut Vec<Choice>) {
        self.list_choices(out, Some(self.left));
    }

    /// The choices, with faults as far as `left` allows, or all of them (`None`: a
    /// replayed schedule already chose its faults).
    fn list_choices(&self, out: &mut Vec<Choice>, left: Option<Budget>) {
        out.clear();
        if self.end.is_some() {
            return;
        }
        for i in 0..self.pool.len() {
            if self.enabled(i) {
                out.push(Choice::Fire(i as u32));
            }
        }
        let allows = |n: fn(&Budget) -> u32| left.is_none_or(|l| n(&l) > 0);
        let messages = || {
            self.pool
                .iter()
                .enumerate()
                .filter(|(_, w)| matches!(w.ev, Event::Deliver { .. }))
                .map(|(i, _)| i as u32)
        };
        if allows(|b| b.drops) {
            out.extend(messages().map(Choice::Drop));
        }
        if allows(|b| b.duplicates) {
            out.extend(messages().map(Choice::Duplicate));
        }
        for (i, slot) in self.sim.nodes.iter().enumerate() {
            match slot.status {
                NodeStatus::Up if allows(|b| b.crashes) => out.push(Choice::Crash(i as u32)),
                NodeStatus::Down if allows(|b| b.restarts) => out.push(Choice::Restart(i as u32)),
                _ => {}
            }
        }
    }

    /// Makes `choice` happen, then runs the invariants as a timed run does.
    pub(crate) fn apply(&mut self, choice: Choice) {
        let sim = &mut self.sim;
        match choice {
            Choice::Fire(i) => {
                let w = self.pool.remove(i as usize);
                match &w.ev {
                    ev if ev.timed() => sim.now = sim.now.max(w.at),
                    // A message leaves its sender only once the sender's disk sync is
                    // done: it cannot arrive earlier.
                    Event::Deliver { sent, .. } => sim.now = sim.now.max(*sent),
                    _ => {}
                }
                if let (Event::Timer { .. }, Some(t)) = (&w.ev, &mut self.left.timers) {
                    *t = t.saturating_sub(1);
                }
                sim.dispatch(w.ev, false);
            }
            Choice::Drop(i) => {
                let w = self.pool.remove(i as usize);
                self.left.drops -= 1;
                if let Event::Deliver {
                    from,
                    to,
                    sent,
                    msg,
                } = w.ev
                {
                    sim.events += 1;
                    sim.fingerprint.fold(sim.now.0);
                    sim.fingerprint
                        .fold(FP_DROP | (u64::from(from.0) << 8) | (u64::from(to.0) << 40));
                    sim.drop_message(from, to, sent, &msg, DropReason::Loss);
                }
            }
            Choice::Duplicate(i) => {
                let copy = self.pool[i as usize].clone();
                self.left.duplicates -= 1;
                if let Event::Deliver { from, to, msg, .. } = &copy.ev {
                    sim.events += 1;
                    sim.fingerprint.fold(sim.now.0);
                    sim.fingerprint
                        .fold(FP_DUPLICATE | (u64::from(from.0) << 8) | (u64::from(to.0) << 40));
                    sim.fabric.metrics.duplicated(msg.kind());
                }
                self.pool.insert(i as usize + 1, copy);
            }
            Choice::Crash(n) => {
                self.left.crashes -= 1;
                sim.apply_fault(Fault::Crash(Target::Node(NodeId(n))));
                sim.check_invariants(None);
            }
            Choice::Restart(n) => {
                self.left.restarts -= 1;
                sim.apply_fault(Fault::Restart(Target::Node(NodeId(n))));
                sim.check_invariants(None);
            }
        }
        self.collect();
        self.expire();
        if let Some(v) = self.sim.violation.take() {
            self.end = Some(v);
        }
    }

    /// Puts the step next in time order first in `choices` (the event due earliest, the
    /// first scheduled among equals), if there is one, and leaves the others in their
    /// order.
    pub(crate) fn in_time_order(&self, choices: &mut [Choice]) {
        let due = |c: &Choice| match *c {
            Choice::Fire(i) => Some((self.pool[i as usize].at, i)),
            _ => None,
        };
        if let Some((k, _)) = choices
            .iter()
            .enumerate()
            .filter_map(|(k, c)| due(c).map(|d| (k, d)))
            .min_by_key(|(_, d)| *d)
        {
            choices[..=k].rotate_right(1);
        }
    }

    /// A digest of the waiting events in time order, each with its due time: the
    /// departure-bounded search charges by that order, which the state digest (a
    /// multiset, without a message's due time) leaves out, so it must tell states apart
    /// by it too.
    pub(crate) fn order_digest(&self) -> u64
    where
        P::Msg: Hash,
    {
        let mut order: Vec<(SimTime, usize)> = self
            .pool
            .iter()
            .enumerate()
            .map(|(i, w)| (w.at, i))
            .collect();
        order.sort_unstable();
        let mut h = rustc_hash::FxHasher::default();
        for (at, i) in order {
            (at, waiting_digest(&self.pool[i], true)).hash(&mut h);
        }
        h.finish()
    }

    /// The schedule step that names `choice`.
    pub(crate) fn step_of(&self, choice: Choice) -> Step {
        match choice {
            Choice::Fire(i) => self.numbered(i as usize, |s| s),
            Choice::Drop(i) => self.numbered(i as usize, |s| match s {
                Step::Deliver {
                    from,
                    to,
                    kind,
                    nth,
                } => Step::Drop {
                    from,
                    to,
                    kind,
                    nth,
                },
                other => other,
            }),
            Choice::Duplicate(i) => self.numbered(i as usize, |s| match s {
                Step::Deliver {
                    from,
                    to,
                    kind,
                    nth,
                } => Step::Duplicate {
                    from,
                    to,
                    kind,
                    nth,
                },
                other => other,
            }),
            Choice::Crash(node) => Step::Crash { node },
            Choice::Restart(node) => Step::Restart { node },
        }
    }

    /// The choice a schedule step names, if anything waiting matches it.
    pub(crate) fn find(&self, step: &Step) -> Option<Choice> {
        let mut all = Vec::new();
        self.list_choices(&mut all, None);
        all.into_iter().find(|c| self.step_of(*c) == *step)
    }

    /// The step of waiting event `i`, numbered among the waiting events that look alike,
    /// and mapped by `f` (to a loss or a duplicate).
    fn numbered(&self, i: usize, f: impl Fn(Step) -> Step) -> Step {
        let base = describe(&self.pool[i].ev);
        let nth = self.pool[..i]
            .iter()
            .filter(|w| describe(&w.ev) == base)
            .count() as u32;
        f(base.with_nth(nth))
    }
}

/// The step that names a waiting event (with `nth` 0).
fn describe<M: Message>(ev: &Event<M>) -> Step {
    match ev {
        Event::Deliver { from, to, msg, .. } => Step::Deliver {
            from: from.0,
            to: to.0,
            kind: msg.kind().to_string(),
            nth: 0,
        },
        Event::Timer { node, id, .. } => Step::Timer {
            node: node.0,
            id: id.0,
        },
        Event::Request { node, req } => Step::Request {
            client: req.id.client,
            to: node.0,
            nth: 0,
        },
        Event::Response { from, id, .. } => Step::Response {
            client: id.client,
            from: from.0,
            nth: 0,
        },
        Event::ClientWake(c) => Step::ClientWake { client: *c },
        Event::ClientTimeout { id, .. } => Step::ClientTimeout {
            client: id.client,
            nth: 0,
        },
        Event::ClientResend { id, .. } => Step::ClientResend {
            client: id.client,
            nth: 0,
        },
        Event::Fault(_) => Step::Fault,
        Event::Held(inner) => describe(inner),
    }
}

impl<P: Protocol> Stepped<P> {
    /// The observations so far as a multiset: the sum of their digests.
    fn observed(&self) -> u64 {
        let (done, mut sum) = self.observed.get();
        let all = &self.sim.observations;
        for o in &all[done.min(all.len())..] {
            sum = sum.wrapping_add(crate::fingerprint::digest(&(o.node, o.incarnation, o.obs)));
        }
        self.observed.set((all.len(), sum));
        sum
    }

    /// A digest of what the history checks judge: the history and the observations.
    pub(crate) fn history_digest(&self) -> u64 {
        let sim = &self.sim;
        let observed = self.observed();
        crate::fingerprint::digest(&(sim.history.ops(), observed))
    }

    /// The run so far as a finished run, for the history checks: its history closed
    /// (operations still waiting may yet take effect, or never).
    pub(crate) fn so_far(&self) -> RunResult {
        let sim = &self.sim;
        let mut history = sim.history.clone();
        history.close();
        RunResult {
            seed: sim.config.seed,
            end: self.end.clone().unwrap_or(EndReason::Schedule {
                steps: sim.events,
                unmatched: None,
            }),
            end_time: sim.now,
            events: sim.events,
            fingerprint: sim.fingerprint.value(),
            history,
            metrics: Default::default(),
            faults: sim.applied.clone(),
            observations: sim.observations.clone(),
            leadership: Vec::new(),
            trace_error: None,
        }
    }
}

impl<P: Protocol + Clone> Stepped<P> {
    /// A copy to try another choice on (see [`Simulation::unforkable`] for what cannot
    /// be copied).
    pub(crate) fn fork(&self) -> Self {
        Stepped {
            sim: self.sim.fork(),
            pool: self.pool.clone(),
            left: self.left,
            fifo: self.fifo,
            bound: self.bound,
            punctual: self.punctual,
            end: self.end.clone(),
            observed: self.observed.clone(),
        }
    }
}

impl<P: Protocol + Hash> Stepped<P> {
    /// A digest of the whole world: every node's state, disk, clock, random stream and
    /// live timers; the messages and client events waiting (as a multiset: the order
    /// they were scheduled in does not matter, only their deadlines do); the clients,
    /// the history and the observations so far; what the checkers and the workload
    /// remember; partitions in force; the faults left to spend; and the time. Left out:
    /// event counts, the fingerprint, metrics and the trace, which change nothing that
    /// can happen next.
    pub(crate) fn digest(&self) -> u64 {
        let sim = &self.sim;
        let mut h = rustc_hash::FxHasher::default();
        sim.now.hash(&mut h);
        for slot in &sim.nodes {
            (
                slot.status as u8,
                slot.incarnation,
                &slot.proto,
                &slot.clock,
            )
                .hash(&mut h);
            slot.disk.hash_state(&mut h);
            rng_state(&slot.rng).hash(&mut h);
            slot.last_crash.hash(&mut h);
        }
        let times = self.bound.is_some()
            || sim.drop_from_crashed
            || sim.config.disk.sync_latency > crate::time::SimDuration::ZERO;
        // A multiset, but on FIFO links the order of a link's messages matters: each
        // message carries its place on its link.
        let mut waiting: Vec<u64> = self
            .pool
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let place = match &w.ev {
                    Event::Deliver { from, to, .. } if self.fifo => self.pool[..i]
                        .iter()
                        .filter(|e| matches!(&e.ev, Event::Deliver { from: f, to: t, .. } if f == from && t == to))
                        .count(),
                    _ => 0,
                };
                waiting_digest(w, times) ^ (place as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            })
            .collect();
        waiting.sort_unstable();
        waiting.hash(&mut h);
        for slot in &sim.nodes {
            let held: Vec<u64> = slot
                .held
                .iter()
                .map(|ev| {
                    waiting_digest(
                        &Waiting {
                            at: SimTime::ZERO,
                            ev: ev.clone(),
                        },
                        times,
                    )
                })
                .collect();
            held.hash(&mut h);
        }
        (&sim.issued, sim.fault_list.len()).hash(&mut h);
        if !sim.leader_watch.is_empty() {
            format!("{:?}", sim.leader_watch).hash(&mut h);
        }
        for c in &sim.clients {
            c.hash(&mut h);
        }
        sim.history.ops().hash(&mut h);
        let observed = self.observed();
        observed.hash(&mut h);
        for inv in &sim.invariants {
            inv.memory().hash(&mut h);
        }
        sim.workload.as_ref().map(|w| w.memory()).hash(&mut h);
        for rng in [
            &sim.fabric.net_rng,
            &sim.fault_rng,
            &sim.workload_rng,
            &sim.client_rng,
        ] {
            rng_state(rng).hash(&mut h);
        }
        sim.fabric.network.hash_state(&mut h);
        (self.left, sim.active_clients).hash(&mut h);
        h.finish()
    }
}

/// Where a random stream stands.
fn rng_state(rng: &crate::rng::SimRng) -> (u128, u64) {
    (rng.get_word_pos(), rng.get_stream())
}

/// The digest of one waiting event: what it is and, for a timed one, its deadline.
/// `times`: whether when a message was sent can change what happens (a synchronous
/// bound, a sender's crash under `SenderCrash::Drop`, a sender still syncing its disk).
fn waiting_digest<M: Message>(w: &Waiting<M>, times: bool) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    if w.ev.timed() || times {
        w.at.hash(&mut h);
    }
    match &w.ev {
        Event::Deliver {
            from,
            to,
            msg,
            sent,
        } => {
            (0u8, from, to, msg).hash(&mut h);
            if times {
                sent.hash(&mut h);
            }
        }
        Event::Timer { node, id, .. } => (1u8, node, id).hash(&mut h),
        Event::Request { node, req } => (2u8, node, &**req).hash(&mut h),
        Event::Response { from, id, reply } => (3u8, from, id, &**reply).hash(&mut h),
        Event::ClientWake(c) => (4u8, c).hash(&mut h),
        Event::ClientTimeout { id, attempt } => (5u8, id, attempt).hash(&mut h),
        Event::ClientResend { id, attempt } => (6u8, id, attempt).hash(&mut h),
        Event::Fault(i) => (7u8, i).hash(&mut h),
        Event::Held(inner) => {
            8u8.hash(&mut h);
            waiting_digest(
                &Waiting {
                    at: w.at,
                    ev: (**inner).clone(),
                },
                times,
            )
            .hash(&mut h)
        }
    }
    h.finish()
}

impl<P: Protocol + Clone> Simulation<P> {
    /// Why this run cannot be copied for `explore`, if it cannot: Byzantine nodes and
    /// twins are not explored, and every checker and the workload must fork.
    pub(crate) fn unforkable(&self) -> Option<String> {
        if self.adversaries.iter().any(Option::is_some) || !self.fabric.twin_slots.is_empty() {
            return Some("explore does not search runs with Byzantine nodes or twins".into());
        }
        if self.workload.as_ref().is_some_and(|w| w.fork().is_none()) {
            return Some("the workload cannot be copied (Workload::fork)".into());
        }
        self.invariants
            .iter()
            .find(|i| i.fork().is_none())
            .map(|i| format!("invariant {} cannot be copied (Invariant::fork)", i.name()))
    }

    /// A copy of the run as it stands, without its trace (a fork is never traced).
    fn fork(&self) -> Self {
        Simulation {
            config: self.config.clone(),
            horizon: self.horizon,
            protocol: self.protocol.clone(),
            nodes: self.nodes.clone(),
            // Between steps the queue is empty (its items are in the pool), and a search
            // reads no metrics: both start afresh.
            fabric: Fabric {
                queue: EventQueue::new(),
                network: self.fabric.network.clone(),
                net_rng: self.fabric.net_rng.clone(),
                metrics: Metrics::new(self.nodes.len()),
                out: Vec::new(),
                nodes: self.fabric.nodes,
                identities: self.fabric.identities,
                twin_slots: self.fabric.twin_slots.clone(),
            },
            fault_rng: self.fault_rng.clone(),
            workload_rng: self.workload_rng.clone(),
            client_rng: self.client_rng.clone(),
            // Only adversaries draw from these, and a forkable run has none.
            adversary_rngs: Vec::new(),
            adversaries: self.adversaries.iter().map(|_| None).collect(),
            identity: self.identity.clone(),
            twinned: self.twinned.clone(),
            issued: self.issued.clone(),
            forged: self.forged.clone(),
            workload: self.workload.as_ref().and_then(|w| w.fork()),
            clients: self.clients.clone(),
            active_clients: self.active_clients,
            fault_list: self.fault_list.clone(),
            leader_watch: self.leader_watch.clone(),
            leading: self.leading.clone(),
            leadership: Vec::new(),
            drop_from_crashed: self.drop_from_crashed,
            invariants: self.invariants.iter().filter_map(|i| i.fork()).collect(),
            trace: None,
            trace_error: self.trace_error.clone(),
            event_obs: Vec::new(),
            observations: self.observations.clone(),
            history: self.history.clone(),
            fingerprint: self.fingerprint,
            applied: self.applied.clone(),
            now: self.now,
            events: self.events,
            last_progress: self.last_progress,
            violation: self.violation.clone(),
        }
    }
}

impl<P: Protocol> Simulation<P> {
    /// Runs `steps` in order instead of in time order (see [`crate::schedule`]) and
    /// returns what happened. The run ends after the last step, at the first invariant
    /// violation, or at the first step that names nothing waiting.
    pub fn run_schedule(self, steps: &[Step]) -> RunResult {
        let all = Budget {
            drops: u32::MAX,
            duplicates: u32::MAX,
            crashes: u32::MAX,
            restarts: u32::MAX,
            timers: None,
        };
        let mut s = Stepped::start(self, all);
        let mut end = None;
        for (k, step) in steps.iter().enumerate() {
            if let Some(v) = s.end.take() {
                end = Some(v);
                break;
            }
            match s.find(step) {
                Some(c) => s.apply(c),
                None => {
                    end = Some(EndReason::Schedule {
                        steps: k as u64,
                        unmatched: Some(step.to_string()),
                    });
                    break;
                }
            }
        }
        let end = end.or_else(|| s.end.take()).unwrap_or(EndReason::Schedule {
            steps: steps.len() as u64,
            unmatched: None,
        });
        s.sim.into_result(end).0
    }
}
