//! Basic Paxos's safety properties, checked after every event from what nodes report;
//! what is chosen comes from the ledger of every acceptance (`ledger.rs`).

use super::Map;

use sim_core::NodeId;
use sim_core::invariant::{Invariant, World};

use super::ballot::Ballot;
use super::ledger::Ledger;
use super::{Paxos, PaxosConfig, obs};

/// Every Basic Paxos invariant, fresh, for the acceptors `config` names.
pub fn all(config: &PaxosConfig) -> Vec<Box<dyn Invariant<Paxos>>> {
    let ledger = || Ledger::new(config.acceptors.clone());
    vec![
        Box::new(Agreement { ledger: ledger() }),
        Box::new(OneValuePerBallot::default()),
        Box::new(SafeProposal { ledger: ledger() }),
        Box::new(AcceptorMonotonic::default()),
    ]
}

/// A fact one event reported, with its value's digest joined to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Fact {
    Promise {
        node: NodeId,
        instance: u64,
        ballot: Ballot,
        /// The ballot of the accepted proposal it reports (`Ballot::ZERO`: none).
        reports: Ballot,
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

/// The facts of one event, in the order they were reported. A value report missing from
/// its pair is an error: a check that silently skipped it would check less.
fn facts(world: &World<'_, Paxos>) -> Result<Vec<Fact>, String> {
    let mut out = Vec::new();
    let obs = world.observations;
    for (i, o) in obs.iter().enumerate() {
        let (node, instance) = (o.node, o.obs.key);
        let partner = |kind: &str| {
            obs.get(i + 1)
                .filter(|p| p.obs.kind == kind && p.node == node && p.obs.key == instance)
                .map(|p| p.obs.value)
                .ok_or_else(|| {
                    format!(
                        "{node} reported {} for instance {instance} without its {kind}",
                        o.obs.kind
                    )
                })
        };
        let ballot = Ballot::decode(o.obs.value);
        let fact = match o.obs.kind {
            obs::PROMISE => Fact::Promise {
                node,
                instance,
                ballot,
                reports: Ballot::decode(partner(obs::PROMISE_REPORTS)?),
            },
            obs::ACCEPT => Fact::Accept {
                node,
                instance,
                ballot,
                value: partner(obs::ACCEPT_VALUE)?,
            },
            obs::PROPOSE => Fact::Propose {
                node,
                instance,
                ballot,
                value: partner(obs::PROPOSE_VALUE)?,
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
    Ok(out)
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

/// At most one value is chosen per instance, and a learner learns only the chosen value.
#[derive(Clone, Hash)]
pub struct Agreement {
    ledger: Ledger,
}

impl Invariant<Paxos> for Agreement {
    sim_core::forkable!(Paxos);
    fn name(&self) -> &str {
        "agreement"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world)? {
            match f {
                Fact::Accept {
                    node,
                    instance,
                    ballot,
                    value,
                } => {
                    if let Some(((b1, v1), (b2, v2))) =
                        self.ledger
                            .accept(world.identities(), instance, ballot, value, node)
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
                } => match self.ledger.chosen(instance) {
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
#[derive(Default, Clone, Hash)]
pub struct OneValuePerBallot {
    /// The proposer and the value of each ballot, with the value itself if the proposer
    /// held it then (the proposer may since have crashed and forgotten it).
    proposed: Map<(u64, Ballot), (NodeId, u64, Option<String>)>,
}

impl Invariant<Paxos> for OneValuePerBallot {
    sim_core::forkable!(Paxos);
    fn name(&self) -> &str {
        "one_value_per_ballot"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world)? {
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
#[derive(Clone, Hash)]
pub struct SafeProposal {
    ledger: Ledger,
}

impl Invariant<Paxos> for SafeProposal {
    sim_core::forkable!(Paxos);
    fn name(&self) -> &str {
        "safe_proposal"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world)? {
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
                        .accept(world.identities(), instance, ballot, value, node);
                }
                Fact::Propose {
                    node,
                    instance,
                    ballot,
                    value,
                } => {
                    if let Some(&(b, v)) = self.ledger.chosen(instance)
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
/// promises and accepts nothing below it, across restarts; and a promise reports the
/// highest-ballot proposal it accepted (phase 1 rests on it).
#[derive(Default, Clone, Hash)]
pub struct AcceptorMonotonic {
    highest: Map<(NodeId, u64), Ballot>,
    accepted: Map<(NodeId, u64), Ballot>,
}

impl Invariant<Paxos> for AcceptorMonotonic {
    sim_core::forkable!(Paxos);
    fn name(&self) -> &str {
        "acceptor_monotonic"
    }
    fn check(&mut self, world: &World<'_, Paxos>) -> Result<(), String> {
        for f in facts(world)? {
            let (node, instance, ballot, verb) = match f {
                Fact::Promise {
                    node,
                    instance,
                    ballot,
                    reports,
                } => {
                    let accepted = self.accepted.get(&(node, instance)).copied();
                    if let Some(a) = accepted.filter(|a| reports < *a) {
                        return Err(format!(
                            "instance {instance}: {node} promised ballot {ballot} reporting {}, but it accepted a proposal in ballot {a} (incarnation {} now)",
                            if reports == Ballot::ZERO {
                                "no proposal".to_string()
                            } else {
                                format!("the one of ballot {reports}")
                            },
                            world.incarnation(node)
                        ));
                    }
                    (node, instance, ballot, "promised")
                }
                Fact::Accept {
                    node,
                    instance,
                    ballot,
                    ..
                } => {
                    self.accepted.insert((node, instance), ballot);
                    (node, instance, ballot, "accepted in")
                }
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
