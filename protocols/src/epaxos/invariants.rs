//! EPaxos's safety properties, checked after every event from what replicas report:
//! **stability** (an instance's committed command, sequence number and dependencies are
//! the same wherever and whenever it is committed) and **execution consistency** (two
//! interfering commands execute in the same order at every replica that executes both).
//! Both read observations only (the kinds of [`super::obs`]), so they hold any protocol
//! that reports commits and executions the same way to the same standard.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::invariant::{Invariant, World};
use sim_core::{NodeId, Protocol};

use super::instance::InstanceId;
use super::{EPaxos, obs};

/// Every EPaxos invariant, fresh; `reads_commute` as the protocol is configured (reads of
/// a key then need no order among themselves).
pub fn all(reads_commute: bool) -> Vec<Box<dyn Invariant<EPaxos>>> {
    vec![
        Box::new(Stability::default()),
        Box::new(ExecutionConsistency::new(reads_commute)),
    ]
}

fn name(inst: u64) -> String {
    let i = InstanceId::decode(inst);
    format!("instance n{}.{}", i.replica, i.slot)
}

/// An instance commits with one set of attributes: no replica commits it with another,
/// now or later.
#[derive(Default, Clone, Hash)]
pub struct Stability {
    committed: BTreeMap<u64, (u64, NodeId)>,
}

impl<P: Protocol> Invariant<P> for Stability {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "stability"
    }
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        for o in world.observations {
            if o.obs.kind != obs::COMMIT {
                continue;
            }
            let (inst, digest) = (o.obs.key, o.obs.value);
            let (first, at) = *self.committed.entry(inst).or_insert((digest, o.node));
            if first != digest {
                return Err(format!(
                    "{} committed with different attributes: #{first:016x} at {at}, #{digest:016x} at {} (the trace's Commit messages show both)",
                    name(inst),
                    o.node
                ));
            }
        }
        Ok(())
    }
}

/// Interfering commands execute in one order everywhere. Per key, the commands that
/// interfere with each other (writes, and reads too unless reads commute) execute at
/// each replica as a prefix of one sequence; a read that commutes with other reads sees
/// the same number of writes of its key before it at every replica. And each replica
/// executes an instance only once it committed it, and once per incarnation.
#[derive(Clone, Hash)]
pub struct ExecutionConsistency {
    /// Instances each replica committed (in any incarnation).
    committed: BTreeSet<(NodeId, u64)>,
    /// Instances each replica executed since it last (re)started.
    executed: BTreeSet<(NodeId, u64)>,
    reads_commute: bool,
    /// Per key: the ordered instances, as the replica furthest along executed them.
    order: BTreeMap<u64, Vec<u64>>,
    /// Per key and commuting read: how many ordered instances preceded it, and where.
    reads: BTreeMap<(u64, u64), (usize, NodeId)>,
    /// Per replica and key: how many ordered instances it executed.
    done: BTreeMap<(NodeId, u64), usize>,
}

impl ExecutionConsistency {
    /// A fresh check.
    pub fn new(reads_commute: bool) -> Self {
        ExecutionConsistency {
            committed: BTreeSet::new(),
            executed: BTreeSet::new(),
            reads_commute,
            order: BTreeMap::new(),
            reads: BTreeMap::new(),
            done: BTreeMap::new(),
        }
    }
}

impl<P: Protocol> Invariant<P> for ExecutionConsistency {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "execution_consistency"
    }
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        let observed = world.observations;
        for (i, o) in observed.iter().enumerate() {
            let node = o.node;
            match o.obs.kind {
                obs::RESTORE => {
                    self.done.retain(|(n, _), _| *n != node);
                    self.executed.retain(|(n, _)| *n != node);
                }
                obs::COMMIT => {
                    self.committed.insert((node, o.obs.key));
                }
                obs::EXECUTE => {
                    let inst = o.obs.key;
                    if !self.committed.contains(&(node, inst)) {
                        return Err(format!(
                            "{node} executed {} before committing it",
                            name(inst)
                        ));
                    }
                    if !self.executed.insert((node, inst)) {
                        return Err(format!("{node} executed {} twice", name(inst)));
                    }
                    let Some(access) = observed
                        .get(i + 1)
                        .filter(|p| p.obs.kind == obs::EXECUTE_ACCESS && p.node == node)
                    else {
                        continue; // a no-op: it orders nothing
                    };
                    let (key, write) = (access.obs.key, access.obs.value == 1);
                    let done = self.done.entry((node, key)).or_insert(0);
                    if !write && self.reads_commute {
                        let (seen, at) = *self.reads.entry((key, inst)).or_insert((*done, node));
                        if seen != *done {
                            return Err(format!(
                                "{} (a read of key {key}) executed after {seen} interfering commands of the key at {at}, after {} at {node}",
                                name(inst),
                                *done
                            ));
                        }
                        continue;
                    }
                    let order = self.order.entry(key).or_default();
                    match order.get(*done) {
                        None => order.push(inst),
                        Some(expected) if *expected == inst => {}
                        Some(expected) => {
                            return Err(format!(
                                "{node} executed {} as command {} of key {key}, where another replica executed {} (the two interfere)",
                                name(inst),
                                *done + 1,
                                name(*expected)
                            ));
                        }
                    }
                    *done += 1;
                }
                _ => {}
            }
        }
        Ok(())
    }
}
