//! Multi-Paxos's safety properties, checked after every event from what nodes report:
//! per-slot agreement (from the ledger of every acceptance, `paxos/ledger.rs`), one
//! command per slot and ballot, acceptors that never go back on a promise, state-machine
//! safety (every replica executes the chosen command of a slot, the same everywhere) and
//! execution in slot order with no gaps.

use std::collections::BTreeMap;

use sim_core::NodeId;
use sim_core::invariant::{Invariant, World};

use super::{MultiPaxos, obs};
use crate::paxos::Ballot;
use crate::paxos::ledger::Ledger;

/// Every Multi-Paxos invariant, fresh.
pub fn all() -> Vec<Box<dyn Invariant<MultiPaxos>>> {
    vec![
        Box::new(SlotAgreement::default()),
        Box::new(OneValuePerBallot::default()),
        Box::new(AcceptorMonotonic::default()),
        Box::new(StateMachineSafety::default()),
        Box::new(InOrder::default()),
    ]
}

/// A fact one event reported.
#[derive(Clone, Copy, Debug, Hash)]
enum Fact {
    Accept {
        node: NodeId,
        slot: u64,
        ballot: Ballot,
        value: u64,
    },
    Execute {
        node: NodeId,
        slot: u64,
        value: u64,
    },
    Restore {
        node: NodeId,
        slot: u64,
    },
    Promise {
        node: NodeId,
        ballot: Ballot,
    },
}

/// The facts of one event. An acceptance reported without its value is an error: a
/// check that silently skipped it would check less.
fn facts(world: &World<'_, MultiPaxos>) -> Result<Vec<Fact>, String> {
    let obs = world.observations;
    let mut out = Vec::new();
    for (i, o) in obs.iter().enumerate() {
        let (node, slot) = (o.node, o.obs.key);
        match o.obs.kind {
            obs::ACCEPT => {
                let value = obs
                    .get(i + 1)
                    .filter(|p| p.obs.kind == obs::ACCEPT_VALUE && p.node == node)
                    .map(|p| p.obs.value)
                    .ok_or_else(|| {
                        format!("{node} reported accept in slot {slot} without its value")
                    })?;
                out.push(Fact::Accept {
                    node,
                    slot,
                    ballot: Ballot::decode(o.obs.value),
                    value,
                });
            }
            obs::EXECUTE => out.push(Fact::Execute {
                node,
                slot,
                value: o.obs.value,
            }),
            obs::RESTORE => out.push(Fact::Restore { node, slot }),
            obs::PROMISE => out.push(Fact::Promise {
                node,
                ballot: Ballot::decode(o.obs.key),
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// A command as messages name it: as some node holds it in `slot`, or by digest.
fn name(world: &World<'_, MultiPaxos>, slot: u64, digest: u64) -> String {
    world
        .nodes()
        .filter_map(|(_, n)| n?.accepted(slot))
        .find(|(_, c)| crate::kv::digest(c) == digest)
        .map_or_else(|| format!("#{digest:016x}"), |(_, c)| format!("{c:?}"))
}

/// At most one command is chosen per slot, and a replica executes in a slot only the
/// command chosen there.
#[derive(Default, Clone, Hash)]
pub struct SlotAgreement {
    ledger: Ledger,
}

impl Invariant<MultiPaxos> for SlotAgreement {
    sim_core::forkable!(MultiPaxos);
    fn name(&self) -> &str {
        "slot_agreement"
    }
    fn check(&mut self, world: &World<'_, MultiPaxos>) -> Result<(), String> {
        for f in facts(world)? {
            match f {
                Fact::Accept {
                    node,
                    slot,
                    ballot,
                    value,
                } => {
                    if let Some(((b1, v1), (b2, v2))) =
                        self.ledger
                            .accept(world.identities(), slot, ballot, value, node)
                    {
                        return Err(format!(
                            "slot {slot}: {} was chosen in ballot {b1}, and {} is chosen in ballot {b2} (a majority accepted each; the last acceptance by {node})",
                            name(world, slot, v1),
                            name(world, slot, v2)
                        ));
                    }
                }
                Fact::Execute { node, slot, value } => match self.ledger.chosen(slot) {
                    Some(&(_, v)) if v == value => {}
                    Some(&(b, v)) => {
                        return Err(format!(
                            "slot {slot}: {node} executed {}, but {} was chosen in ballot {b}",
                            name(world, slot, value),
                            name(world, slot, v)
                        ));
                    }
                    None => {
                        return Err(format!(
                            "slot {slot}: {node} executed {}, which no majority accepted in any ballot",
                            name(world, slot, value)
                        ));
                    }
                },
                Fact::Restore { .. } | Fact::Promise { .. } => {}
            }
        }
        Ok(())
    }
}

/// No two replicas execute different commands at one slot (that what they execute was
/// chosen is `slot_agreement`'s to check).
#[derive(Default, Clone, Hash)]
pub struct StateMachineSafety {
    executed: BTreeMap<u64, (NodeId, u64)>,
}

impl Invariant<MultiPaxos> for StateMachineSafety {
    sim_core::forkable!(MultiPaxos);
    fn name(&self) -> &str {
        "state_machine_safety"
    }
    fn check(&mut self, world: &World<'_, MultiPaxos>) -> Result<(), String> {
        for f in facts(world)? {
            if let Fact::Execute { node, slot, value } = f {
                match self.executed.get(&slot) {
                    Some(&(first, v)) if v != value => {
                        return Err(format!(
                            "slot {slot}: {node} executed {}, {first} executed {}",
                            name(world, slot, value),
                            name(world, slot, v)
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.executed.insert(slot, (node, value));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A replica executes slots in order with no gaps: each slot right after the last one it
/// executed, or after the snapshot it started from.
#[derive(Default, Clone, Hash)]
pub struct InOrder {
    last: BTreeMap<NodeId, u64>,
}

impl Invariant<MultiPaxos> for InOrder {
    sim_core::forkable!(MultiPaxos);
    fn name(&self) -> &str {
        "in_order"
    }
    fn check(&mut self, world: &World<'_, MultiPaxos>) -> Result<(), String> {
        for f in facts(world)? {
            match f {
                Fact::Restore { node, slot } => {
                    self.last.insert(node, slot);
                }
                Fact::Execute { node, slot, .. } => {
                    let last = self.last.entry(node).or_insert(0);
                    if slot != *last + 1 {
                        return Err(format!(
                            "{node} executed slot {slot} right after slot {}",
                            *last
                        ));
                    }
                    *last = slot;
                }
                Fact::Accept { .. } | Fact::Promise { .. } => {}
            }
        }
        Ok(())
    }
}

/// A ballot carries one command per slot: its leader proposes once per slot, and
/// acceptors accept only that. Followers learn what is chosen by matching ballots, which
/// rests on it.
#[derive(Default, Clone, Hash)]
pub struct OneValuePerBallot {
    first: BTreeMap<(u64, Ballot), (NodeId, u64)>,
}

impl Invariant<MultiPaxos> for OneValuePerBallot {
    sim_core::forkable!(MultiPaxos);
    fn name(&self) -> &str {
        "one_value_per_ballot"
    }
    fn check(&mut self, world: &World<'_, MultiPaxos>) -> Result<(), String> {
        for f in facts(world)? {
            let Fact::Accept {
                node,
                slot,
                ballot,
                value,
            } = f
            else {
                continue;
            };
            match self.first.get(&(slot, ballot)) {
                Some(&(first, v)) if v != value => {
                    return Err(format!(
                        "slot {slot}: {node} accepted {} in ballot {ballot}, in which {first} accepted {}",
                        name(world, slot, value),
                        name(world, slot, v)
                    ));
                }
                Some(_) => {}
                None => {
                    self.first.insert((slot, ballot), (node, value));
                }
            }
        }
        Ok(())
    }
}

/// An acceptor never goes back on its word: its promise never falls, across restarts,
/// and it accepts nothing below it.
#[derive(Default, Clone, Hash)]
pub struct AcceptorMonotonic {
    highest: BTreeMap<NodeId, Ballot>,
}

impl Invariant<MultiPaxos> for AcceptorMonotonic {
    sim_core::forkable!(MultiPaxos);
    fn name(&self) -> &str {
        "acceptor_monotonic"
    }
    fn check(&mut self, world: &World<'_, MultiPaxos>) -> Result<(), String> {
        for f in facts(world)? {
            let (node, ballot, verb) = match f {
                Fact::Promise { node, ballot } => (node, ballot, "promised"),
                Fact::Accept { node, ballot, .. } => (node, ballot, "accepted in"),
                _ => continue,
            };
            let high = self.highest.entry(node).or_default();
            if ballot < *high {
                return Err(format!(
                    "{node} {verb} ballot {ballot} after it had promised {} (incarnation {} now)",
                    *high,
                    world.incarnation(node)
                ));
            }
            *high = ballot;
        }
        Ok(())
    }
}
