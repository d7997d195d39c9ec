//! Workload families (DESIGN.md, "Plug-ins"): what a family of protocols is asked and how
//! its answers are judged. Each family is one module behind [`FamilyRules`] (which checks
//! apply, what the run needs recorded, what the summary adds, its own checks), and each of
//! its workloads implements [`WorkloadKind`] (validation, clients, operations, shrinking,
//! swarm choices). Outside these modules no code names a family; `format::WorkloadSpec`
//! lists the workloads a file may name, one line each.

pub mod consensus;
pub mod dissemination;
pub mod key_value;
pub mod none;
pub mod transactions;

use std::fmt;

use protocols::Family;
use serde::{Deserialize, Deserializer};
use sim_core::RunResult;
use sim_core::client::ClientConfig;
use sim_core::rng::SimRng;

use crate::format::{CheckSpec, Scenario, WorkloadSpec};
use crate::runner::CheckResult;

/// Every family module: the one list a new family joins.
const FAMILIES: &[&dyn FamilyRules] = &[
    &key_value::KeyValueFamily,
    &consensus::ConsensusFamily,
    &transactions::TransactionsFamily,
    &dissemination::DisseminationFamily,
    &none::NoWorkload,
];

/// The rules of one workload family.
pub trait FamilyRules: Sync {
    /// The protocols' family these rules are for.
    fn family(&self) -> Family;
    /// What its clients are, for messages ("key-value clients").
    fn clients(&self) -> &'static str;
    /// The checks (by [`CheckSpec::name`]) that apply to it; any other is a load error.
    fn checks(&self) -> &'static [&'static str];
    /// Whether a run must record the facts nodes report (its checks or figures read them).
    fn records_observations(&self) -> bool {
        false
    }
    /// Whether a run goes on after the clients are done (work continues without them).
    fn runs_past_clients(&self) -> bool {
        false
    }
    /// Judges a check that belongs to this family; `None` for the shared ones
    /// (invariants, liveness).
    fn check(&self, _check: &CheckSpec, _s: &Scenario, _r: &RunResult) -> Option<CheckResult> {
        None
    }
    /// The figures this family adds to a run's report (atomic commit: who was blocked
    /// when; dissemination: coverage by round).
    fn figures(&self, _s: &Scenario, _r: &RunResult) -> Vec<reports::extra::ExtraFigure> {
        Vec::new()
    }
    /// What the run summary and the report page add for this family (atomic commit: how
    /// long participants stayed uncertain).
    fn facts(&self, _s: &Scenario, _r: &RunResult) -> Vec<Fact> {
        Vec::new()
    }
}

/// How clients pace their operations: open loop at `rate` (Poisson arrivals) when given,
/// else closed loop with `think` between an answer and the next operation.
pub(crate) fn client_load(
    rate: Option<crate::checked::Positive>,
    think: &crate::checked::DelaySpec,
) -> sim_core::client::Load {
    match rate {
        Some(r) => sim_core::client::Load::Open {
            interval: sim_core::rng::Delay::Exponential { mean: r.0 },
        },
        None => sim_core::client::Load::Closed {
            think: think.0.clone(),
        },
    }
}

/// The rules of family `f`.
pub fn rules(f: Family) -> &'static dyn FamilyRules {
    FAMILIES
        .iter()
        .copied()
        .find(|r| r.family() == f)
        .unwrap_or(&none::NoWorkload)
}

/// One line a family adds to a run's summary, and its figures for `--json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    /// Its name: the summary's label and the JSON field.
    pub name: &'static str,
    /// The line a reader sees.
    pub line: String,
    /// The figures, as JSON.
    pub json: serde_json::Value,
}

/// Why a workload's settings cannot run: which field (as found in the file, for the
/// position), its path, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The text to look for in the file to point at the problem.
    pub find: &'static str,
    /// The field path (`workload.keys`).
    pub path: &'static str,
    /// What is wrong.
    pub message: String,
}

/// One kind of workload a scenario file can give (`KeyValue((…))`): its settings, and
/// how they become clients and operations.
pub trait WorkloadKind: fmt::Debug {
    /// The family of protocols that serves it.
    fn family(&self) -> Family;
    /// Checks the settings as a whole (beyond what reading them checked).
    fn validate(&self) -> Result<(), Invalid>;
    /// The clients that run it on a cluster of `nodes`.
    fn clients(&self, nodes: u32) -> ClientConfig;
    /// Where the operations come from.
    fn operations(&self) -> Result<Box<dyn sim_core::client::Workload>, String>;
    /// How many operations it asks for in all, to report what shrinking achieved.
    fn size(&self) -> u64;
    /// One-step reductions for shrinking, the biggest cut first.
    fn smaller(&self) -> Vec<WorkloadSpec>;
    /// Swarm testing: redraw its choices (operation mix …) from the seed's stream. Draws
    /// nothing by default.
    fn swarm(&mut self, _rng: &mut SimRng) {}
}

/// Reads a workload's settings and checks that the scenario's protocol serves it (a
/// `deserialize_with` of each `WorkloadSpec` variant), so the error stands at the workload.
pub(crate) fn served<'de, D, W>(d: D) -> Result<W, D::Error>
where
    D: Deserializer<'de>,
    W: Deserialize<'de> + WorkloadKind,
{
    let w = W::deserialize(d)?;
    crate::checked::check_family_served(w.family()).map_err(serde::de::Error::custom)?;
    Ok(w)
}

/// What shrinking makes smaller in a client workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Operations (per client, or in all).
    pub ops: u64,
    /// Clients.
    pub clients: u32,
    /// Keys.
    pub keys: u64,
}

/// One-step reductions of a workload's shape, the biggest cut first: half the
/// operations, one client fewer, half the keys (each only while above one).
pub fn reductions(s: Shape) -> Vec<Shape> {
    let mut out = Vec::new();
    if s.ops > 1 {
        out.push(Shape {
            ops: s.ops / 2,
            ..s
        });
    }
    if s.clients > 1 {
        out.push(Shape {
            clients: s.clients - 1,
            ..s
        });
    }
    if s.keys > 1 {
        out.push(Shape {
            keys: s.keys / 2,
            ..s
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_cut_the_biggest_first_and_stop_at_one() {
        let s = Shape {
            ops: 9,
            clients: 3,
            keys: 4,
        };
        assert_eq!(
            reductions(s),
            vec![
                Shape { ops: 4, ..s },
                Shape { clients: 2, ..s },
                Shape { keys: 2, ..s },
            ]
        );
        let one = Shape {
            ops: 1,
            clients: 1,
            keys: 1,
        };
        assert!(reductions(one).is_empty());
    }

    #[test]
    fn every_family_takes_invariants_and_the_rules_of_each_family_are_found() {
        for f in [
            Family::KeyValue,
            Family::Consensus,
            Family::AtomicCommit,
            Family::Dissemination,
            Family::None,
        ] {
            assert_eq!(rules(f).family(), f);
            assert!(rules(f).checks().contains(&"Invariants"));
        }
        assert!(
            !rules(Family::AtomicCommit)
                .checks()
                .contains(&"Linearizable")
        );
    }
}
