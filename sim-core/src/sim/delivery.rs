//! Delivering messages and running node steps: the protocol's handlers, the outputs
//! they leave in its context (sends, timers, replies), and sending on the network.

use crate::byzantine::AdvCtx;
use crate::fabric::Event;
use crate::invariant::{NodeStatus, Observed};
use crate::network::DropReason;
use crate::protocol::{Ctx, Message, NodeId, Output, Protocol, Reply, RequestId};
use crate::time::SimTime;
use crate::trace::TraceKind;

use super::*;

impl<P: Protocol> Simulation<P> {
    #[inline]
    pub(super) fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        sent: SimTime,
        msg: P::Msg,
        held: bool,
    ) {
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
        let sender = self.identity[from.index()];
        self.with_node(to, |p, ctx| {
            if let Some(p) = p {
                p.on_message(ctx, sender, msg);
            }
        });
        self.check_invariants(Some(to));
    }

    /// A message that reached a node that is down or paused, or across a cut.
    #[cold]
    #[inline(never)]
    pub(super) fn not_delivered(
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

    /// Runs a handler of `node` with a fresh context, then applies its outputs.
    #[inline]
    pub(super) fn with_node(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut Option<P>, &mut Ctx<'_, P::Msg>),
    ) {
        let cluster_size = self.fabric.identities;
        let identity = self.identity[node.index()];
        // Sends go straight to the network unless an adversary or the trace must see them.
        let direct = self.trace.is_none() && self.adversaries[node.index()].is_none();
        let slot = &mut self.nodes[node.index()];
        slot.disk.set_now(self.now);
        let mut ctx = Ctx {
            node: identity,
            slot: node,
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
        if self.config.record_leadership {
            self.note_leader(node);
        }
    }

    pub(super) fn start_node(&mut self, node: NodeId) {
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
    pub(super) fn apply_outputs(&mut self, node: NodeId) {
        // Most handlers of the direct path leave nothing here.
        if !self.fabric.out.is_empty() {
            self.apply_buffered_outputs(node);
        }
    }

    #[inline(never)]
    pub(super) fn apply_buffered_outputs(&mut self, node: NodeId) {
        let mut out = std::mem::take(&mut self.fabric.out);
        let slot = &self.nodes[node.index()];
        let incarnation = slot.incarnation;
        // Outputs wait for a sync in progress (the node waits for its fsync).
        let depart = slot.disk.busy_until().max(self.now);
        for o in out.drain(..) {
            match o {
                Output::Send { to, msg } => self.send(node, to, msg, depart),
                Output::Reply { id, reply } => {
                    let Some(reply) = self.adversary_reply(node, id, reply) else {
                        continue;
                    };
                    let lat = self.client_latency(id.client, node);
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

    /// Sends from slot `from` to node identity `to`.
    pub(super) fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg, depart: SimTime) {
        if to.0 >= self.fabric.identities {
            return; // no such node: nothing to deliver to
        }
        let Some(adversary) = self.adversaries[from.index()].as_mut() else {
            self.transmit(from, to, msg, depart);
            return;
        };
        let mut forged = std::mem::take(&mut self.forged);
        let kind = msg.kind();
        let mut ctx = AdvCtx {
            node: self.identity[from.index()],
            cluster_size: self.fabric.identities,
            now: self.now,
            rng: &mut self.adversary_rngs[from.index()],
        };
        adversary.intercept(&mut ctx, to, msg, &mut forged);
        if forged.is_empty() {
            self.fabric.metrics.dropped(kind, DropReason::Withheld);
        }
        for f in forged.drain(..) {
            if f.to.0 < self.fabric.identities {
                // The true sender, whatever the contents claim.
                self.transmit(from, f.to, f.msg, depart + f.delay);
            }
        }
        self.forged = forged;
    }

    /// What the client really gets when `node` answers request `id`: its adversary, if
    /// it has one, may change or withhold the answer.
    fn adversary_reply(
        &mut self,
        node: NodeId,
        id: RequestId,
        reply: Box<Reply>,
    ) -> Option<Box<Reply>> {
        let Some(adversary) = self.adversaries[node.index()].as_mut() else {
            return Some(reply);
        };
        let mut ctx = AdvCtx {
            node: self.identity[node.index()],
            cluster_size: self.fabric.identities,
            now: self.now,
            rng: &mut self.adversary_rngs[node.index()],
        };
        adversary.reply(&mut ctx, id, *reply).map(Box::new)
    }

    /// Sends one message from slot `from` to node identity `to` and its twins (slow
    /// path: adversary or tracing).
    pub(super) fn transmit(&mut self, from: NodeId, to: NodeId, msg: P::Msg, depart: SimTime) {
        if to.0 >= self.fabric.identities {
            return;
        }
        // Each copy to a twin is traced too, dropped or not: the drops a Twins partition
        // makes are what one looks for in a Twins reproducer.
        for k in 0..self.fabric.twin_slots.len() {
            let (identity, slot) = self.fabric.twin_slots[k];
            if identity == to
                && let Err((reason, msg)) = self.fabric.transmit(from, slot, msg.clone(), depart)
            {
                self.trace_drop(from, slot, depart, &msg, reason);
            }
        }
        if let Err((reason, msg)) = self.fabric.transmit(from, to, msg, depart) {
            self.trace_drop(from, to, depart, &msg, reason);
        }
    }
}
