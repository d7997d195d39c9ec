//! Execution: the committed commands form a graph whose edges go from a command to the
//! interfering instances it depends on. A command executes once every instance its
//! dependencies name is committed here; then the strongly connected components of what it
//! reaches run in reverse topological order (petgraph's Tarjan), each in sequence-number
//! order, ties broken by replica and slot.

use std::collections::BTreeMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use sim_core::Ctx;

use super::instance::{InstanceId, Status, access, interferes};
use super::messages::EpMsg;
use super::{EPaxos, obs};
use crate::kv::digest;
use crate::multipaxos::Command;

/// Why an instance cannot execute yet: an instance it (or something it reaches) depends
/// on is not committed here, and the last instance of that replica it needs.
struct Blocked(InstanceId, u64);

impl EPaxos {
    /// Notes that `inst` is now committed here: moves the per-replica committed prefix and
    /// executes whatever can now run.
    pub(super) fn on_committed(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) {
        if self.note_committed(ctx, inst) {
            self.try_execute(ctx, inst);
        }
        // Those that waited for it are no longer blocked (they may be on something else).
        let waiters = self.waiters.remove(&inst).unwrap_or_default();
        for w in &waiters {
            self.blocked_on.remove(w);
        }
        for w in waiters {
            self.try_execute(ctx, w);
        }
    }

    /// Books `inst` as committed: the per-replica committed prefix, and the index of
    /// unexecuted commands (a no-op is executed at once). `true` if it is a command to
    /// execute. Both must be up to date before any execution is tried, or a command could
    /// run before a committed dependency not yet booked.
    pub(super) fn note_committed(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) -> bool {
        self.stalled.remove(&inst);
        let r = inst.replica as usize;
        if let Some(c) = self.committed_upto.get_mut(r) {
            while self
                .instances
                .get(&InstanceId {
                    replica: inst.replica,
                    slot: *c + 1,
                })
                .is_some_and(|rec| rec.committed())
            {
                *c += 1;
            }
        }
        let command = self.attrs_of(inst).map(|a| a.command.clone());
        // A recovery may have committed a no-op in place of a command this replica leads:
        // the client's retry must then start a new instance, not wait on this one.
        if let Some(id) = self.waiting.get(&inst)
            && !matches!(&command, Some(Command::Client { id: c, .. }) if c == id)
        {
            self.waiting.remove(&inst);
        }
        match command.as_ref().and_then(access) {
            None => {
                // A no-op runs nowhere and orders nothing.
                self.executed.insert(inst);
                ctx.observe(obs::EXECUTE, inst.encode(), digest(&Command::Noop));
                false
            }
            Some(a) => {
                self.unexecuted.entry(a.key).or_default().insert(inst);
                true
            }
        }
    }

    /// Executes `start` and everything it reaches, if all of it is committed; otherwise
    /// notes what it waits for.
    pub(super) fn try_execute(&mut self, ctx: &mut Ctx<'_, EpMsg>, start: InstanceId) {
        if self.executed.contains(&start) || self.blocked_on.contains_key(&start) {
            return;
        }
        match self.closure(start) {
            Err(Blocked(on, last)) => {
                self.blocked_on.insert(start, on);
                self.waiters.entry(on).or_default().push(start);
                // Every missing instance up to the last one needed waits from now, so a
                // replica that missed many commits recovers them together, not one per
                // timeout.
                for slot in on.slot..=last.max(on.slot) {
                    let i = InstanceId {
                        replica: on.replica,
                        slot,
                    };
                    if !self.committed(i) {
                        self.stalled.entry(i).or_insert(ctx.now());
                    }
                }
            }
            Ok(graph) => {
                for scc in tarjan_scc(&graph) {
                    let mut members: Vec<InstanceId> = scc.iter().map(|n| graph[*n]).collect();
                    members.sort_by_key(|i| (self.attrs_of(*i).map_or(0, |a| a.seq), *i));
                    for i in members {
                        self.execute_one(ctx, i);
                    }
                }
            }
        }
    }

    /// The graph of the committed, unexecuted instances `start` reaches, or the first
    /// instance found that is not committed here.
    fn closure(&self, start: InstanceId) -> Result<DiGraph<InstanceId, ()>, Blocked> {
        let mut graph = DiGraph::new();
        let mut nodes: BTreeMap<InstanceId, NodeIndex> = BTreeMap::new();
        nodes.insert(start, graph.add_node(start));
        let mut stack = vec![start];
        while let Some(x) = stack.pop() {
            if let Some(on) = self.blocked_on.get(&x) {
                return Err(Blocked(*on, on.slot));
            }
            let Some(attrs) = self.attrs_of(x) else {
                return Err(Blocked(x, x.slot));
            };
            if !self.config.bugs.execute_without_committed_deps {
                for (r, d) in attrs.deps.iter().enumerate() {
                    let upto = self.committed_upto.get(r).copied().unwrap_or(0);
                    if *d > upto {
                        let first = InstanceId {
                            replica: r as u32,
                            slot: upto + 1,
                        };
                        return Err(Blocked(first, *d));
                    }
                }
            }
            let Some(a) = access(&attrs.command) else {
                continue;
            };
            let from = nodes[&x];
            let candidates = self.unexecuted.get(&a.key).into_iter().flatten();
            for y in candidates {
                if *y == x || y.slot > attrs.deps.get(y.replica as usize).copied().unwrap_or(0) {
                    continue;
                }
                let Some(b) = self.attrs_of(*y).and_then(|b| access(&b.command)) else {
                    continue;
                };
                if !interferes(a, b, self.config.reads_commute) {
                    continue;
                }
                let to = match nodes.get(y) {
                    Some(n) => *n,
                    None => {
                        let n = graph.add_node(*y);
                        nodes.insert(*y, n);
                        stack.push(*y);
                        n
                    }
                };
                graph.add_edge(from, to, ());
            }
        }
        Ok(graph)
    }

    /// Applies one committed command to the store and answers its client if this replica
    /// leads it.
    fn execute_one(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) {
        if !self.executed.insert(inst) {
            return;
        }
        let Some(attrs) = self.attrs_of(inst) else {
            return;
        };
        let command = attrs.command.clone();
        ctx.observe(obs::EXECUTE, inst.encode(), digest(&command));
        let Command::Client { id, op } = &command else {
            return;
        };
        let a = access(&command).expect("client commands touch a key");
        ctx.observe(obs::EXECUTE_ACCESS, a.key, u64::from(a.write));
        if let Some(set) = self.unexecuted.get_mut(&a.key) {
            set.remove(&inst);
            if set.is_empty() {
                self.unexecuted.remove(&a.key);
            }
        }
        let result = self.kv.apply(*id, op);
        if self.waiting.get(&inst) == Some(id) {
            self.waiting.remove(&inst);
            if let Some(reply) = crate::kv::reply_to(result) {
                ctx.reply(*id, reply);
            }
        }
    }

    /// The committed attributes of `inst`, if it is committed here.
    pub(super) fn attrs_of(&self, inst: InstanceId) -> Option<&super::instance::Attrs> {
        let v = self.instances.get(&inst)?.vote.as_ref()?;
        (v.status == Status::Committed).then_some(&v.attrs)
    }

    /// Whether every instance that `attrs` depends on and that interferes with its command
    /// is committed here: each instance of a replica up to its entry in the dependencies
    /// is either in the committed prefix, or known here with a command that is committed
    /// or does not interfere (a recovery can only turn a command into a no-op). Instances
    /// not known here fail the test; so do long stretches past the prefix, to bound the
    /// work.
    pub(super) fn deps_committed(&self, inst: InstanceId, attrs: &super::instance::Attrs) -> bool {
        let Some(a) = access(&attrs.command) else {
            return true;
        };
        for (r, d) in attrs.deps.iter().enumerate() {
            let upto = self.committed_upto.get(r).copied().unwrap_or(0);
            if *d <= upto {
                continue;
            }
            if *d - upto > 64 {
                return false;
            }
            for slot in upto + 1..=*d {
                let i = InstanceId {
                    replica: r as u32,
                    slot,
                };
                if i == inst {
                    continue;
                }
                let Some(v) = self.instances.get(&i).and_then(|rec| rec.vote.as_ref()) else {
                    return false;
                };
                let interfering = access(&v.attrs.command)
                    .is_some_and(|b| interferes(a, b, self.config.reads_commute));
                if v.status != Status::Committed && interfering {
                    return false;
                }
            }
        }
        true
    }

    /// Whether `inst` is committed here.
    pub(super) fn committed(&self, inst: InstanceId) -> bool {
        self.instances.get(&inst).is_some_and(|r| r.committed())
    }
}
