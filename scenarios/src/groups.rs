//! Groups of nodes in a partition or on one side of a cut, as a scenario writes them:
//! fixed nodes (ids, ranges such as `"0..30"`, node names, region names) or nodes chosen
//! when the fault happens (`Leader`, `RandomMinority`, …, as for crashes).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use sim_core::fault::Target;

use crate::checked::{NodeRef, closest, context};

/// A group of nodes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GroupSpec {
    /// Fixed nodes, resolved when the file is read; written back as ids.
    Nodes(Vec<NodeRef>),
    /// Nodes chosen when the fault happens.
    Chosen(Chosen),
}

/// Nodes a group chooses when its fault happens, as crash targets do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Chosen {
    /// The current leader (nobody if there is none).
    Leader,
    /// One random node.
    Random,
    /// A random minority of the cluster.
    RandomMinority,
    /// A random majority of the cluster.
    RandomMajority,
    /// Every node no earlier group took.
    All,
}

/// The names of [`Chosen`]'s targets, for suggestions.
const CHOSEN: [&str; 5] = [
    "Leader",
    "Random",
    "RandomMinority",
    "RandomMajority",
    "All",
];

impl From<Chosen> for Target {
    fn from(c: Chosen) -> Self {
        match c {
            Chosen::Leader => Target::Leader,
            Chosen::Random => Target::Random,
            Chosen::RandomMinority => Target::RandomMinority,
            Chosen::RandomMajority => Target::RandomMajority,
            Chosen::All => Target::All,
        }
    }
}

impl GroupSpec {
    /// The fixed nodes, or `None` for a group chosen when its fault happens.
    pub fn fixed(&self) -> Option<Vec<sim_core::NodeId>> {
        match self {
            GroupSpec::Nodes(ns) => Some(ns.iter().map(|n| (*n).into()).collect()),
            GroupSpec::Chosen(_) => None,
        }
    }

    /// The engine's target for this group.
    pub fn target(&self) -> Target {
        match self {
            GroupSpec::Nodes(ns) => Target::Nodes(ns.iter().map(|n| (*n).into()).collect()),
            GroupSpec::Chosen(c) => (*c).into(),
        }
    }
}

/// The name serde gives a group in "did not match any variant" errors, which the loader
/// turns into [`EXPECTED`].
pub(crate) const RAW_NAME: &str = "NodeGroup";

/// What a group may be, for errors.
pub(crate) const EXPECTED: &str = "expected a group of nodes: a list of node ids, ranges (\"0..3\", \"0..=2\"), node names or region names; one of those alone; or one of Leader, Random, RandomMinority, RandomMajority, All";

/// A group as written: a list, a chosen target, or one member alone (`"west"`, `"0..3"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum NodeGroup {
    List(Vec<Member>),
    Chosen(Chosen),
    One(Member),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Member {
    Id(u32),
    Text(String),
}

impl<'de> Deserialize<'de> for GroupSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let members = match NodeGroup::deserialize(d)? {
            NodeGroup::Chosen(c) => return Ok(GroupSpec::Chosen(c)),
            NodeGroup::List(members) => members,
            NodeGroup::One(member) => vec![member],
        };
        let mut nodes = Vec::new();
        for m in members {
            nodes.extend(resolve(m).map_err(D::Error::custom)?);
        }
        nodes.sort_unstable();
        nodes.dedup();
        Ok(GroupSpec::Nodes(nodes))
    }
}

/// The nodes one member of a list names, checked against the file's nodes, names and
/// regions (without a reading context, ids are taken as they are and names as nothing).
fn resolve(m: Member) -> Result<Vec<NodeRef>, String> {
    let Some((nodes, names, regions)) =
        context(|c| (c.nodes, c.names.clone(), c.region_names.clone()))
    else {
        return Ok(match m {
            Member::Id(id) => vec![NodeRef(id)],
            Member::Text(_) => Vec::new(),
        });
    };
    let check = |id: u32| {
        if id < nodes {
            Ok(NodeRef(id))
        } else {
            Err(format!(
                "node {id} does not exist: the scenario has {nodes} nodes, numbered 0 to {}",
                nodes.saturating_sub(1)
            ))
        }
    };
    let text = match m {
        Member::Id(id) => return Ok(vec![check(id)?]),
        Member::Text(t) => t,
    };
    if let Some(range) = parse_range(&text)? {
        return range.map(check).collect();
    }
    if let Some(i) = names.iter().position(|n| *n == text) {
        return Ok(vec![NodeRef(i as u32)]);
    }
    if let Some((_, members)) = regions.iter().find(|(r, _)| *r == text) {
        return Ok(members.iter().map(|&i| NodeRef(i)).collect());
    }
    let known: Vec<&str> = names
        .iter()
        .chain(regions.iter().map(|(r, _)| r))
        .map(String::as_str)
        .collect();
    let mut message = format!("no node or region is named {text:?}");
    if let Some(c) = closest(&text, known.iter().copied()) {
        message.push_str(&format!("; did you mean {c:?}?"));
    } else if let Some(c) = closest(&text, CHOSEN) {
        message.push_str(&format!("; did you mean {c}?"));
    } else if known.is_empty() {
        message.push_str(
            "; the scenario names none (`names: [..]` names nodes, `regions: (names: [..])` regions); a range is written \"0..3\"",
        );
    } else {
        message.push_str(&format!("; the names are {}", known.join(", ")));
    }
    Err(message)
}

/// `"a..b"` (b excluded) or `"a..=b"` as node ids; `None` if `text` is not a range.
fn parse_range(text: &str) -> Result<Option<std::ops::Range<u32>>, String> {
    let Some((a, b)) = text.split_once("..") else {
        return Ok(None);
    };
    let (b, inclusive) = match b.strip_prefix('=') {
        Some(b) => (b, true),
        None => (b, false),
    };
    let bad = || format!("{text:?} is not a range of node ids: write \"0..3\" or \"0..=2\"");
    let a: u32 = a.trim().parse().map_err(|_| bad())?;
    let b: u32 = b.trim().parse().map_err(|_| bad())?;
    let end = if inclusive { b.saturating_add(1) } else { b };
    if end <= a {
        return Err(format!("{text:?} is an empty range of nodes"));
    }
    Ok(Some(a..end))
}

/// Whether `name` could be mistaken for something else in a group: a number, a range or
/// a chosen target (a string `"Leader"` reads as the target).
pub(crate) fn reserved(name: &str) -> bool {
    name.is_empty() || name.parse::<u32>().is_ok() || name.contains("..") || CHOSEN.contains(&name)
}

/// Two fixed groups of one partition that share a node, if any: (group, group, node).
pub(crate) fn overlap(groups: &[GroupSpec]) -> Option<(usize, usize, u32)> {
    let fixed: Vec<(usize, &Vec<NodeRef>)> = groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| match g {
            GroupSpec::Nodes(ns) => Some((i, ns)),
            GroupSpec::Chosen(_) => None,
        })
        .collect();
    for (a, (i, x)) in fixed.iter().enumerate() {
        for (j, y) in &fixed[a + 1..] {
            if let Some(n) = x.iter().find(|n| y.contains(n)) {
                return Some((*i, *j, n.0));
            }
        }
    }
    None
}
