//! Byzantine nodes in scenario files: the nodes a scenario names, with a behaviour each
//! (`byzantine: [(node: 3, behaviour: Silent)]`), and the ones the nemesis draws from the
//! seed (`nemesis: (…, byzantine: Some((count: 1, behaviours: [Silent, Equivocate])))`).
//! Behaviours are checked against the protocol's list as the file is read; the number
//! of Byzantine nodes against the system model's `Byzantine(f)`.

use rand::Rng;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use sim_core::rng::{RunSeed, Stream};

use crate::checked::{NodeRef, closest, context};
use crate::format::{NodeModel, Scenario};

/// The name of a Byzantine behaviour, checked against the scenario's protocol. Written
/// as a bare identifier (`Silent`), as the file gives it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BehaviourName(pub String);

impl Serialize for BehaviourName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A unit variant is what RON writes bare; its name must live for the program,
        // so each distinct name is kept once (there are only a few).
        static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
            std::sync::Mutex::new(std::collections::BTreeSet::new());
        let name: &'static str = {
            let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
            match names.get(self.0.as_str()) {
                Some(n) => n,
                None => {
                    let n: &'static str = Box::leak(self.0.clone().into_boxed_str());
                    names.insert(n);
                    n
                }
            }
        };
        s.serialize_unit_variant("Behaviour", 0, name)
    }
}

/// Reads a bare identifier (`Silent`) or a string (`"Silent"`).
struct NameVisitor;

impl<'de> serde::de::Visitor<'de> for NameVisitor {
    type Value = String;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a behaviour name, such as Silent")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl<'de> Deserialize<'de> for BehaviourName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = d.deserialize_identifier(NameVisitor)?;
        if let Some(Err(msg)) = context(|c| check_behaviour(c.protocol, &c.behaviours, &name)) {
            return Err(D::Error::custom(msg));
        }
        Ok(BehaviourName(name))
    }
}

/// Checks a behaviour name against a protocol's list, with a suggestion if misspelt.
pub fn check_behaviour(protocol: &str, known: &[&'static str], name: &str) -> Result<(), String> {
    if known.contains(&name) {
        return Ok(());
    }
    let mut msg = format!(
        "{protocol} has no Byzantine behaviour {name:?}; expected one of {}",
        known.join(", ")
    );
    if let Some(s) = closest(name, known.iter().copied()) {
        msg.push_str(&format!("; did you mean {s:?}?"));
    }
    Err(msg)
}

/// One Byzantine node: an adversary with this behaviour controls what it sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineNode {
    /// The node.
    pub node: NodeRef,
    /// What it does.
    pub behaviour: BehaviourName,
}

/// Byzantine nodes the nemesis draws from the seed: `count` distinct nodes (default:
/// the model's f, less the nodes the scenario names), each with one of `behaviours`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineDraw {
    /// How many (default: as many as the model allows).
    #[serde(default)]
    pub count: Option<u32>,
    /// The behaviours to draw from.
    pub behaviours: Vec<BehaviourName>,
}

/// The model's f, if the model has Byzantine nodes.
fn model_f(s: &Scenario) -> Option<u32> {
    match s.model.nodes {
        NodeModel::Byzantine { f } => Some(f),
        _ => None,
    }
}

/// How many nodes the nemesis draws.
fn drawn_count(s: &Scenario, draw: &ByzantineDraw) -> u32 {
    draw.count.unwrap_or_else(|| {
        model_f(s)
            .unwrap_or(0)
            .saturating_sub(s.byzantine.len() as u32 + crate::twins::twin_count(s))
    })
}

/// Checks the Byzantine nodes against the model: distinct nodes, no more than its f,
/// and a model that has Byzantine nodes at all. `Err` is (field to find, path, message).
pub fn validate(s: &Scenario) -> Result<(), (&'static str, &'static str, String)> {
    let mut nodes: Vec<u32> = s.byzantine.iter().map(|b| b.node.0).collect();
    nodes.sort_unstable();
    if let Some(w) = nodes.windows(2).find(|w| w[0] == w[1]) {
        return Err((
            "byzantine",
            "byzantine",
            format!(
                "node {} is named twice; give each Byzantine node one behaviour",
                w[0]
            ),
        ));
    }
    // Named nodes are cluster nodes (not a twin's second slot), and not twinned: a
    // twinned identity is Byzantine already.
    let twinned: Vec<u32> = s.twins.iter().flat_map(|t| t.nodes.clone()).collect();
    if let Some(n) = nodes.iter().find(|n| **n >= s.nodes || twinned.contains(n)) {
        return Err((
            "byzantine",
            "byzantine",
            if *n >= s.nodes {
                format!(
                    "node {n} is a twin's second instance, not a node of the cluster (0 to {}); name the node it twins, or another",
                    s.nodes.saturating_sub(1)
                )
            } else {
                format!("node {n} is twinned, which makes it Byzantine already; name another")
            },
        ));
    }
    let draw = s.nemesis.as_ref().and_then(|n| n.byzantine.as_ref());
    if let Some(d) = draw
        && d.count.is_some_and(|c| c >= s.nodes)
    {
        return Err((
            "count",
            "nemesis.byzantine.count",
            format!(
                "found {}, expected fewer than the {} nodes",
                d.count.unwrap_or(0),
                s.nodes
            ),
        ));
    }
    if let Some(d) = draw
        && d.behaviours.is_empty()
    {
        return Err((
            "behaviours",
            "nemesis.byzantine.behaviours",
            "no behaviours to draw from; name at least one".into(),
        ));
    }
    // Twins count among the Byzantine: together they equivocate. (In u64: a count near
    // u32::MAX must not wrap round to a small total.)
    let total = nodes.len() as u64
        + u64::from(draw.map_or(0, |d| drawn_count(s, d)))
        + u64::from(crate::twins::twin_count(s));
    if total == 0 {
        return Ok(());
    }
    match model_f(s) {
        None => Err((
            "byzantine",
            "byzantine",
            format!(
                "{total} Byzantine node(s), but the model's nodes are not Byzantine; set model: (nodes: Byzantine(f: {total}))"
            ),
        )),
        Some(f) if total > u64::from(f) => Err((
            "byzantine",
            "byzantine",
            format!(
                "{total} Byzantine node(s) (named and drawn), more than the model's f = {f}; raise f or name fewer"
            ),
        )),
        Some(_) if exceeds_tolerance(s, total) => Err((
            "byzantine",
            "byzantine",
            format!(
                "{total} Byzantine node(s) (named, drawn and twinned), more than the {} {} tolerates with {} nodes, and the scenario expects a pass; expect a violation (expect: Violation(\"agreement\")) or name fewer",
                (s.protocol.info().byzantine_tolerance)(s.nodes).unwrap_or(0),
                s.protocol.name(),
                s.nodes
            ),
        )),
        Some(_) if total >= u64::from(s.nodes) => Err((
            "byzantine",
            "byzantine",
            format!(
                "{total} Byzantine node(s) out of {} leaves no honest node",
                s.nodes
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Whether `total` Byzantine nodes are more than the protocol claims to tolerate while
/// the scenario expects a pass (a scenario showing what happens beyond is fine).
fn exceeds_tolerance(s: &Scenario, total: u64) -> bool {
    let tolerated = (s.protocol.info().byzantine_tolerance)(s.nodes);
    s.expect == crate::format::Expect::Pass && tolerated.is_some_and(|t| total > u64::from(t))
}

/// The Byzantine nodes of a run with `seed`: the named ones, then the drawn ones (from
/// their own random stream, so drawing them moves nothing else), by node.
pub fn byzantine_for(s: &Scenario, seed: u64) -> Vec<ByzantineNode> {
    let mut out = s.byzantine.clone();
    let Some(draw) = s.nemesis.as_ref().and_then(|n| n.byzantine.as_ref()) else {
        return out;
    };
    if draw.behaviours.is_empty() {
        return out;
    }
    let mut rng = RunSeed(seed).stream(Stream::Named("byzantine"));
    let twinned: Vec<u32> = s.twins.iter().flat_map(|t| t.nodes.clone()).collect();
    let mut free: Vec<u32> = (0..s.nodes)
        .filter(|n| !out.iter().any(|b| b.node.0 == *n) && !twinned.contains(n))
        .collect();
    for _ in 0..drawn_count(s, draw) {
        if free.is_empty() {
            break;
        }
        let node = free.remove(rng.random_range(0..free.len()));
        let behaviour = draw.behaviours[rng.random_range(0..draw.behaviours.len())].clone();
        out.push(ByzantineNode {
            node: NodeRef(node),
            behaviour,
        });
    }
    out.sort_by_key(|b| b.node.0);
    out
}
