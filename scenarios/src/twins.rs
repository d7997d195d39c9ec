//! Twins (Bano et al., "Twins: BFT Systems Made Robust", 2020) in scenario files: some
//! node identities run twice, each instance honest code with the same key, and network
//! partitions keep the two apart so that together they equivocate and vote twice with no
//! attack code at all. `twins: (nodes: [0], rounds: 6, round: "300ms")` twins node 0
//! (its second instance is slot `nodes`, the next one `nodes + 1` …) and draws a
//! partition of all slots for each of 6 rounds of 300 ms from the seed, every twin apart
//! from its original, then heals. With `rounds: 0` the scenario's own faults place them.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::SimDuration;
use sim_core::rng::{RunSeed, Stream};

use crate::checked::{NodeRef, Positive};
use crate::format::{FaultSpec, Scenario, Timed};
use crate::groups::GroupSpec;

/// The twinned identities of a scenario and the partition schedule drawn for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinsSpec {
    /// The node identities that run twice, by id; their second instances are the slots
    /// after the cluster's nodes, in this order.
    pub nodes: Vec<u32>,
    /// Rounds of partitions drawn from the seed (0: none).
    #[serde(default)]
    pub rounds: u32,
    /// How long each round lasts.
    #[serde(default = "default_round")]
    pub round: Positive,
}

fn default_round() -> Positive {
    Positive(SimDuration::from_millis(300))
}

/// The number of twin slots of `s`.
pub fn twin_count(s: &Scenario) -> u32 {
    s.twins.as_ref().map_or(0, |t| t.nodes.len() as u32)
}

/// Checks the twinned identities: distinct nodes of the cluster, and the drawn rounds
/// within the run. `Err` is (field to find, path, message).
pub fn validate(s: &Scenario) -> Result<(), (&'static str, &'static str, String)> {
    let Some(t) = &s.twins else {
        return Ok(());
    };
    let mut ids = t.nodes.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != t.nodes.len() {
        return Err(("twins", "twins.nodes", "a node is twinned twice".into()));
    }
    if let Some(n) = t.nodes.iter().find(|n| **n >= s.nodes) {
        return Err((
            "twins",
            "twins.nodes",
            format!(
                "node {n} does not exist: the scenario has {} nodes, numbered 0 to {}",
                s.nodes,
                s.nodes.saturating_sub(1)
            ),
        ));
    }
    if t.nodes.is_empty() {
        return Err((
            "twins",
            "twins.nodes",
            "no node to twin; name at least one".into(),
        ));
    }
    let n = &s.network;
    if n.regions.is_some() || n.links.is_some() || !n.overrides.is_empty() {
        return Err((
            "twins",
            "twins",
            "Twins with regions, explicit links or link overrides is not supported: a twin's second slot would have no region, links or overrides of its own; use a full mesh with one default link".into(),
        ));
    }
    // The drawn partitions are faults like any other: the model must allow them.
    for r in 0..t.rounds {
        let at = SimDuration(t.round.0.0.saturating_mul(u64::from(r)));
        if let Err(m) = crate::model::fault_allowed(&s.model, at, &FaultSpec::Partition(Vec::new()))
        {
            return Err((
                "rounds",
                "twins.rounds",
                format!("the partition of round {r}: {m}"),
            ));
        }
    }
    let end = t.round.0.0.saturating_mul(u64::from(t.rounds));
    if end >= s.duration.0.0 {
        return Err((
            "rounds",
            "twins.rounds",
            format!(
                "{} rounds of {} end at or after the run's end ({}); the partitions must heal before it",
                t.rounds, t.round.0, s.duration.0
            ),
        ));
    }
    Ok(())
}

/// The partitions drawn for seed `seed`: one per round, from the run's start, each
/// splitting every slot into two sides with every twin apart from its original, then a
/// heal when the rounds end. Drawn from their own random stream.
pub fn schedule(s: &Scenario, seed: u64) -> Vec<Timed> {
    let Some(t) = s.twins.as_ref().filter(|t| t.rounds > 0) else {
        return Vec::new();
    };
    let mut rng = RunSeed(seed).stream(Stream::Named("twins"));
    let slots = s.nodes + t.nodes.len() as u32;
    let mut out = Vec::new();
    for r in 0..t.rounds {
        let at = SimDuration(t.round.0.0 * u64::from(r));
        let mut side: Vec<bool> = (0..slots).map(|_| rng.random_bool(0.5)).collect();
        for (k, original) in t.nodes.iter().enumerate() {
            let twin = (s.nodes as usize) + k;
            side[twin] = !side[*original as usize];
        }
        let group = |b: bool| -> Vec<NodeRef> {
            (0..slots)
                .filter(|i| side[*i as usize] == b)
                .map(NodeRef)
                .collect()
        };
        out.push(Timed::At(
            at,
            FaultSpec::Partition(vec![
                GroupSpec::Nodes(group(false)),
                GroupSpec::Nodes(group(true)),
            ]),
        ));
    }
    out.push(Timed::At(
        SimDuration(t.round.0.0 * u64::from(t.rounds)),
        FaultSpec::Heal,
    ));
    out
}
