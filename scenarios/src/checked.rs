//! Values that check themselves while a scenario file is read, so that a bad value is
//! reported at its own line and column with its field path.
//!
//! Some checks need facts from elsewhere in the file (how many nodes, which protocol):
//! the loader reads the file twice, and the second time sets a [`Context`] that these
//! types consult. Without a context (the first pass) they accept any well-typed value.

use std::cell::RefCell;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use sim_core::SimDuration;
use sim_core::rng::Delay;

/// Facts about the scenario being read that individual values are checked against.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Number of nodes: node references must be below it.
    pub nodes: u32,
    /// The protocol's name.
    pub protocol: &'static str,
    /// The protocol's bug switches.
    pub bugs: Vec<&'static str>,
    /// The protocol's Byzantine behaviours.
    pub behaviours: Vec<&'static str>,
    /// The workload family the protocol serves (`None` before the protocol is known).
    pub family: Option<protocols::Family>,
    /// The system model, which scheduled faults must respect.
    pub model: crate::format::Model,
    /// The run's duration: faults must happen before it ends.
    pub duration: SimDuration,
    /// The nodes' names, if the scenario names them (`names`), by node id.
    pub names: Vec<String>,
    /// Each named region and the nodes in it.
    pub region_names: Vec<(String, Vec<u32>)>,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Runs `f` with `ctx` as the reading context.
pub(crate) fn with_context<T>(ctx: Context, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CONTEXT.with(|c| c.borrow_mut().take());
        }
    }
    CONTEXT.with(|c| *c.borrow_mut() = Some(ctx));
    let _reset = Reset;
    f()
}

pub(crate) fn context<T>(f: impl FnOnce(&Context) -> T) -> Option<T> {
    CONTEXT.with(|c| c.borrow().as_ref().map(f))
}

/// The closest of `candidates` to `found` by edit distance, if close enough to be a
/// plausible misspelling.
pub fn closest<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&found.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A node id in a scenario (0-based), checked against the cluster size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NodeRef(pub u32);

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = u32::deserialize(d)?;
        if let Some(n) = context(|c| c.nodes)
            && id >= n
        {
            return Err(D::Error::custom(format!(
                "node {id} does not exist: the scenario has {n} nodes, numbered 0 to {}",
                n.saturating_sub(1)
            )));
        }
        Ok(NodeRef(id))
    }
}

impl From<NodeRef> for sim_core::NodeId {
    fn from(n: NodeRef) -> Self {
        sim_core::NodeId(n.0)
    }
}

/// A probability, checked to lie in [0, 1].
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Prob(pub f64);

impl<'de> Deserialize<'de> for Prob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(D::Error::custom(format!(
                "found {p}, expected a probability between 0 and 1"
            )));
        }
        Ok(Prob(p))
    }
}

/// A duration that must be longer than zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Positive(pub SimDuration);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v: SimDuration = s.parse().map_err(D::Error::custom)?;
        if v == SimDuration::ZERO {
            return Err(D::Error::custom(format!(
                "found {s:?}, expected a duration longer than zero"
            )));
        }
        Ok(Positive(v))
    }
}

impl fmt::Display for Positive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A signed duration such as `"-50ms"` or `"+2s"` (clock offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signed(pub i64);

impl Serialize for Signed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sign = if self.0 < 0 { "-" } else { "+" };
        s.collect_str(&format_args!(
            "{sign}{}",
            SimDuration(self.0.unsigned_abs())
        ))
    }
}

impl<'de> Deserialize<'de> for Signed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.trim();
        let (neg, rest) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let v: SimDuration = rest.parse().map_err(D::Error::custom)?;
        let ns = i64::try_from(v.0).map_err(|_| D::Error::custom("offset too large"))?;
        Ok(Signed(if neg { -ns } else { ns }))
    }
}

/// A latency distribution, checked for sensible parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct DelaySpec(pub Delay);

impl<'de> Deserialize<'de> for DelaySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let delay = Delay::deserialize(d)?;
        delay.validate().map_err(D::Error::custom)?;
        Ok(DelaySpec(delay))
    }
}

/// The name of a bug switch, checked against the scenario's protocol.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BugName(pub String);

impl<'de> Deserialize<'de> for BugName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if let Some(Err(msg)) = context(|c| check_bug(c.protocol, &c.bugs, &name)) {
            return Err(D::Error::custom(msg));
        }
        Ok(BugName(name))
    }
}

/// Checks a bug switch name against a protocol's list, with a suggestion if misspelt.
pub fn check_bug(protocol: &str, bugs: &[&'static str], name: &str) -> Result<(), String> {
    if bugs.contains(&name) {
        return Ok(());
    }
    let mut msg = format!("{protocol} has no bug switch {name:?}; ");
    if bugs.is_empty() {
        msg.push_str("it has none");
    } else {
        msg.push_str(&format!("expected one of {}", bugs.join(", ")));
        if let Some(s) = closest(name, bugs.iter().copied()) {
            msg.push_str(&format!("; did you mean {s:?}?"));
        }
    }
    Err(msg)
}

/// Whether the scenario's protocol serves a workload of family `f`.
pub(crate) fn check_family_served(f: protocols::Family) -> Result<(), String> {
    match context(|c| (c.family, c.protocol)) {
        Some((Some(served), p)) if served != f => Err(format!(
            "{p} serves no {}; remove the workload or pick a protocol of the {f:?} family (`faultline list` shows each protocol's)",
            crate::family::rules(f).clients()
        )),
        _ => Ok(()),
    }
}

/// Whether a scheduled fault is inside the model and the run.
pub(crate) fn check_timed_fault(
    at: SimDuration,
    fault: &crate::format::FaultSpec,
) -> Result<(), String> {
    context(|c| {
        if at > c.duration {
            return Err(format!(
                "{} at {at} comes after the end of the run ({})",
                fault.kind(),
                c.duration
            ));
        }
        crate::model::fault_allowed(&c.model, at, fault)?;
        fault_in_range(fault)
    })
    .unwrap_or(Ok(()))
}

/// Settings of a fault that no clock or link could have.
fn fault_in_range(fault: &crate::format::FaultSpec) -> Result<(), String> {
    if let crate::format::FaultSpec::ClockDrift { ppm, .. } = fault
        && !(-999_999..=1_000_000).contains(ppm)
    {
        return Err(format!(
            "found a drift of {ppm} ppm, expected between -999999 (a clock that all but stops) and 1000000 (one that runs twice as fast)"
        ));
    }
    Ok(())
}
