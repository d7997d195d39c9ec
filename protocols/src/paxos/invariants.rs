//! Basic Paxos's safety properties, checked after every event from what nodes report.
//!
//! A value is chosen for an instance once a majority of acceptors accepted it in one
//! ballot. The ledger counts every acceptance as it happens, so a value stays chosen when
//! its acceptors later crash, forget or accept something else: that is the definition
//! the proof of Paxos uses ("Paxos Made Simple", §2.2), and what makes an acceptor that
//! forgets on restart visible.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::NodeId;
use sim_core::invariant::{Invariant, World};

use super::ballot::Ballot;
use super::{Paxos, PaxosConfig, obs};

/// Every Basic Paxos invariant, fresh, for the acceptors `config` names.
pub fn all(config: &PaxosConfig) -> Vec<Box<dyn Invariant<Paxos>>> {
    let ledger = || Ledger {
        acceptors: config.acceptors.clone(),
        ..Ledger::default()
    };
    vec![
        Box::new(Agreement { ledger: ledger() }),
        Box::new(OneValuePerBallot::default()),
        Box::new(SafeProposal { ledger: ledger() }),
        Box::new(AcceptorMonotonic::default()),
    ]
}

/// A fact one event reported, with its value's digest joined to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fact {
    Promise {
        node: NodeId,
        instance: u64,
        ballot: Ballot,
    },
    Accept {
        node: NodeId,
        instance: u64,
        ballot: Ballot,
        value: u64,
    },
    Propose {
        node: NodeId,
        instance: u64,
        ballot: Ballot,
        value: u64,
    },
    Learn {
        node: NodeId,
        instance: u64,
        value: u64,
    },
}

/// The facts of one event, in the order they were reported.
fn facts(world: &World<'_, Paxos>) -> Vec<Fact> {
    let mut out = Vec::new();
    let obs = world.observations;
    for (i, o) in obs.iter().enumerate() {
        let (node, instance) = (o.node, o.obs.key);
        let partner = |kind: &str| {
            obs.get(i + 1)
                .filter(|p| p.obs.kind == kind && p.node == node && p.obs.key == instance)
                .map(|p| p.obs.value)
        };
        let ballot = Ballot::decode(o.obs.value);
        let fact = match o.obs.kind {
            obs::PROMISE => Fact::Promise {
                node,
                instance,
                ballot,
            },
            obs::ACCEPT => match partner(obs::ACCEPT_VALUE) {
                Some(value) => Fact::Accept {
                    node,
                    instance,
                    ballot,
                    value,
                },
                None => continue,
            },
            obs::PROPOSE => match partner(obs::PROPOSE_VALUE) {
                Some(value) => Fact::Propose {
                    node,
                    instance,
                    ballot,
                    value,
                },
                None => continue,
            },
            obs::LEARN => Fact::Learn {
                node,
                instance,
                value: o.obs.value,
            },
            _ => continue,
        };
        out.push(fact);
    }
    out
}

/// A value as messages name it: as `node` holds it, or by its digest.
fn name(world: &World<'_, Paxos>, node: NodeId, digest: u64) -> String {
    let held = world.node(node).and_then(|p| p.value_with_digest(digest));
    match held {
        Some(v) => format!("{v:?}"),
        None => {
            // Another node may hold it (the announcing learner, the proposer).
            world
                .nodes()
                .find_map(|(_, p)| p.and_then(|p| p.value_with_digest(digest)))
                .map_or_else(|| format!("#{digest:016x}"), |v| format!("{v:?}"))
        }
    }
}

/// Who accepted what, in which ballot, and so what is chosen.
#[derive(Default)]
struct Ledger {
    /// The acceptors as the settings name them (empty: every node).
    acceptors: Vec<u32>,
    /// Per instance and ballot: the value accepted and the acceptors that accepted it.
    accepts: BTreeMap<(u64, Ballot), (u64, BTreeSet<NodeId>)>,
    /// Per instance: the lowest ballot a value was chosen in, and that value.
    chosen: BTreeMap<u64, (Ballot, u64)>,
}

impl Ledger {
    /// Counts an acceptance. Returns a value chosen now that differs from one chosen
    /// before: (the earlier ballot and value, the new ballot and value).
    fn accept(
        &mut self,
        nodes: usize,
        instance: u64,
        ballot: Ballot,
        value: u64,
        node: NodeId,
    ) -> Option<((Ballot, u64), (Ballot, u64))> {
        let (v, accepted_by) = self
            .accepts
            .entry((instance, ballot))
            .or_insert_with(|| (value, BTreeSet::new()));
        if *v != value {
            // Two values in one ballot: `one_value_per_ballot` reports it; count neither
            // as the other.
            return None;
        }
        accepted_by.insert(node);
        let voters = self
            .acceptors
            .iter()
            .filter(|a| (**a as usize) < nodes)
            .count();
        let voters = if voters == 0 { nodes } else { voters };
        if accepted_by.len() <= voters / 2 {
            return None;
        }
        match self.chosen.get(&instance) {
            Some(&(b, v)) if v != value => Some(((b, v), (ballot, value))),
            Some(&(b, _)) if b <= ballot => None,
            _ => {
                self.chosen.insert(instance, (ballot, value));
                None
            }
        }
    }
}

/// At most one value is chosen per instance, and a learner learns only the chosen value.
pub struct Agreement {
    ledger: Ledger,
}

impl Invariant<Paxos> for Agreement {
    fn name(&self) -> &str {
        "agreement"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world) {
            match f {
                Fact::Accept {
                    node,
                    instance,
                    ballot,
                    value,
                } => {
                    if let Some(((b1, v1), (b2, v2))) =
                        self.ledger
                            .accept(world.len(), instance, ballot, value, node)
                    {
                        return Err(format!(
                            "instance {instance}: {} was chosen in ballot {b1}, and {} is chosen in ballot {b2} (a majority accepted each; the last acceptance by {node})",
                            name(world, node, v1),
                            name(world, node, v2)
                        ));
                    }
                }
                Fact::Learn {
                    node,
                    instance,
                    value,
                } => match self.ledger.chosen.get(&instance) {
                    Some(&(_, v)) if v == value => {}
                    Some(&(b, v)) => {
                        return Err(format!(
                            "instance {instance}: {node} learned {}, but {} was chosen in ballot {b}",
                            name(world, node, value),
                            name(world, node, v)
                        ));
                    }
                    None => {
                        return Err(format!(
                            "instance {instance}: {node} learned {}, which no majority of acceptors accepted in any ballot",
                            name(world, node, value)
                        ));
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }
}

/// A ballot carries one value: a proposer proposes one value per ballot, and acceptors
/// accept only that value in it. Paxos's safety argument rests on it; it fails when a
/// proposer uses a ballot twice.
#[derive(Default)]
pub struct OneValuePerBallot {
    /// The proposer and the value of each ballot, with the value itself if the proposer
    /// held it then (the proposer may since have crashed and forgotten it).
    proposed: BTreeMap<(u64, Ballot), (NodeId, u64, Option<String>)>,
}

impl Invariant<Paxos> for OneValuePerBallot {
    fn name(&self) -> &str {
        "one_value_per_ballot"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world) {
            let (node, instance, ballot, value, verb) = match f {
                Fact::Propose {
                    node,
                    instance,
                    ballot,
                    value,
                } => (node, instance, ballot, value, "proposed"),
                Fact::Accept {
                    node,
                    instance,
                    ballot,
                    value,
                } => (node, instance, ballot, value, "accepted"),
                _ => continue,
            };
            match self.proposed.get(&(instance, ballot)) {
                Some((first, v, held)) if *v != value => {
                    let earlier = held
                        .as_ref()
                        .map_or_else(|| name(world, *first, *v), |s| format!("{s:?}"));
                    return Err(format!(
                        "instance {instance}: {node} {verb} {} in ballot {ballot}, in which {first} proposed {earlier} before",
                        name(world, node, value),
                    ));
                }
                Some(_) => {}
                None if verb == "proposed" => {
                    let held = world
                        .node(node)
                        .and_then(|p| p.proposing(instance))
                        .map(str::to_string);
                    self.proposed
                        .insert((instance, ballot), (node, value, held));
                }
                None => {
                    return Err(format!(
                        "instance {instance}: {node} accepted {} in ballot {ballot}, in which nobody proposed",
                        name(world, node, value)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A proposer proposes in ballot b only the value chosen in any ballot below b (P2b of
/// "Paxos Made Simple"): checked at the proposal, before a second value can be chosen,
/// which takes further acceptances.
pub struct SafeProposal {
    ledger: Ledger,
}

impl Invariant<Paxos> for SafeProposal {
    fn name(&self) -> &str {
        "safe_proposal"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world) {
            match f {
                Fact::Accept {
                    node,
                    instance,
                    ballot,
                    value,
                } => {
                    // A second value chosen is `agreement`'s to report.
                    let _ = self
                        .ledger
                        .accept(world.len(), instance, ballot, value, node);
                }
                Fact::Propose {
                    node,
                    instance,
                    ballot,
                    value,
                } => {
                    if let Some(&(b, v)) = self.ledger.chosen.get(&instance)
                        && b < ballot
                        && v != value
                    {
                        return Err(format!(
                            "instance {instance}: {node} proposed {} in ballot {ballot}, but {} was chosen in ballot {b}",
                            name(world, node, value),
                            name(world, node, v)
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// An acceptor never goes back on its word: once it promised or accepted in a ballot, it
/// promises and accepts nothing below it, across restarts.
#[derive(Default)]
pub struct AcceptorMonotonic {
    highest: BTreeMap<(NodeId, u64), Ballot>,
}

impl Invariant<Paxos> for AcceptorMonotonic {
    fn name(&self) -> &str {
        "acceptor_monotonic"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world) {
            let (node, instance, ballot, verb) = match f {
                Fact::Promise {
                    node,
                    instance,
                    ballot,
                } => (node, instance, ballot, "promised"),
                Fact::Accept {
                    node,
                    instance,
                    ballot,
                    ..
                } => (node, instance, ballot, "accepted in"),
                _ => continue,
            };
            let high = self.highest.entry((node, instance)).or_default();
            if ballot < *high {
                return Err(format!(
                    "instance {instance}: {node} {verb} ballot {ballot} after it had promised {} (incarnation {} now)",
                    *high,
                    world.incarnation(node)
                ));
            }
            *high = ballot;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(round: u64, node: u32) -> Ballot {
        Ballot::new(round, NodeId(node))
    }

    #[test]
    fn a_value_is_chosen_by_a_majority_of_one_ballot_and_a_second_one_is_caught() {
        let mut l = Ledger::default();
        // Five acceptors: two acceptances choose nothing, the third chooses.
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(0)), None);
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(1)), None);
        assert!(!l.chosen.contains_key(&0));
        // The same acceptor twice is one acceptance.
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(1)), None);
        assert!(!l.chosen.contains_key(&0));
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(2)), None);
        assert_eq!(l.chosen[&0], (b(1, 0), 7));
        // The same value again in a higher ballot is fine.
        for n in 0..3 {
            assert_eq!(l.accept(5, 0, b(2, 1), 7, NodeId(n)), None);
        }
        // Another value chosen in a later ballot is a violation, even though each of
        // its acceptors had accepted the first value before.
        assert_eq!(l.accept(5, 0, b(3, 2), 8, NodeId(2)), None);
        assert_eq!(l.accept(5, 0, b(3, 2), 8, NodeId(3)), None);
        assert_eq!(
            l.accept(5, 0, b(3, 2), 8, NodeId(4)),
            Some(((b(1, 0), 7), (b(3, 2), 8)))
        );
        // Other instances are independent.
        assert_eq!(l.accept(5, 1, b(1, 0), 9, NodeId(0)), None);
    }

    #[test]
    fn the_majority_is_of_the_acceptors_the_settings_name() {
        let mut l = Ledger {
            acceptors: vec![0, 1, 2],
            ..Ledger::default()
        };
        // Seven nodes, three acceptors: two acceptances choose.
        assert_eq!(l.accept(7, 0, b(1, 5), 4, NodeId(0)), None);
        assert!(!l.chosen.contains_key(&0));
        assert_eq!(l.accept(7, 0, b(1, 5), 4, NodeId(2)), None);
        assert_eq!(l.chosen[&0], (b(1, 5), 4));
    }
}
