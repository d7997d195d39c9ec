//! Applying faults as they come due, resolving their targets, and watching for the
//! elections that `NextLeaders` faults answer.

use rand::Rng;

use crate::fabric::Event;
use crate::fault::{AppliedFault, Fault, LeaderWatch, Target};
use crate::invariant::NodeStatus;
use crate::protocol::{NodeId, Protocol};
use crate::rng::SimRng;
use crate::time::SimDuration;
use crate::trace::TraceKind;

use super::*;

impl<P: Protocol> Simulation<P> {
    /// Records a change in whether `node` leads, and in which term.
    #[inline]
    pub(super) fn note_leader(&mut self, node: NodeId) {
        let term = self.nodes[node.index()]
            .proto
            .as_ref()
            .and_then(|p| p.leader_term());
        let last = &mut self.leading[node.index()];
        if *last != term {
            *last = term;
            self.leadership.push(LeaderChange {
                at: self.now,
                node,
                term,
            });
        }
    }

    /// Answers armed [`Fault::NextLeaders`] if `node` now leads in a term above every
    /// term they have seen: schedules the action and its end.
    #[inline(never)]
    pub(super) fn watch_leader(&mut self, node: NodeId) {
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

    pub(super) fn apply_fault(&mut self, fault: Fault) {
        let kind = fault.kind();
        let (nodes, description) = match &fault {
            Fault::Crash(t) => {
                let hit = self.resolve(t, |_, s| s.status != NodeStatus::Down);
                for &n in &hit {
                    let slot = &mut self.nodes[n.index()];
                    slot.proto = None;
                    slot.status = NodeStatus::Down;
                    slot.incarnation += 1;
                    slot.timers.clear();
                    slot.held.clear();
                    slot.last_crash = Some(self.now);
                    slot.disk.crash(self.now);
                    self.note_leader(n);
                }
                (hit, format!("crash {t:?}"))
            }
            Fault::Restart(t) => {
                let hit = self.resolve(t, |_, s| s.status == NodeStatus::Down);
                (hit, format!("restart {t:?}"))
            }
            Fault::Pause(t) => {
                let hit = self.resolve(t, |_, s| s.status == NodeStatus::Up);
                for &n in &hit {
                    self.nodes[n.index()].status = NodeStatus::Paused;
                }
                (hit, format!("pause {t:?}"))
            }
            Fault::Resume(t) => {
                let hit = self.resolve(t, |_, s| s.status == NodeStatus::Paused);
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
            Fault::PartitionChosen(targets) => {
                let mut taken: Vec<NodeId> = Vec::new();
                let mut groups: Vec<Vec<NodeId>> = Vec::new();
                for t in targets {
                    let group = self.resolve_among(t, &taken);
                    if !group.is_empty() {
                        taken.extend(&group);
                        groups.push(group);
                    }
                }
                // No group chosen (no leader, say): nothing to split, and the partitions
                // already in force stay as they are.
                if !groups.is_empty() {
                    self.fabric.network.partition(&groups);
                }
                // Where one group ends and the next begins is part of what happened.
                self.fingerprint.fold_hash(&groups);
                (taken, format!("partition {targets:?} = {groups:?}"))
            }
            Fault::CutChosen { from, to } => {
                let senders = self.resolve_among(from, &[]);
                let receivers = self.resolve_among(to, &senders);
                self.fabric.network.cut_one_way(&senders, &receivers);
                self.fingerprint.fold_hash(&receivers);
                let description = format!("cut {from:?} -> {to:?} = {senders:?} -> {receivers:?}");
                (senders, description)
            }
            Fault::Isolate(t) => {
                let hit = self.resolve(t, |_, _| true);
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
                let hit = self.resolve(target, |_, _| true);
                for &n in &hit {
                    self.nodes[n.index()].clock.set_offset(self.now, *offset_ns);
                }
                let sign = if *offset_ns < 0 { "-" } else { "+" };
                let size = SimDuration(offset_ns.unsigned_abs());
                (hit, format!("clock skew {target:?} {sign}{size}"))
            }
            Fault::ClockDrift { target, ppm } => {
                let hit = self.resolve(target, |_, _| true);
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

    /// Resolves a target among the nodes not in `taken`, whatever their state (a group of
    /// a partition or a side of a cut).
    fn resolve_among(&mut self, target: &Target, taken: &[NodeId]) -> Vec<NodeId> {
        self.resolve(target, |id, _| !taken.contains(&id))
    }

    /// Resolves a target to concrete nodes among those `eligible` for the fault.
    pub(super) fn resolve(
        &mut self,
        target: &Target,
        eligible: impl Fn(NodeId, &NodeSlot<P>) -> bool,
    ) -> Vec<NodeId> {
        let n = self.nodes.len();
        let candidates: Vec<NodeId> = (0..n as u32)
            .map(NodeId)
            .filter(|id| eligible(*id, &self.nodes[id.index()]))
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
