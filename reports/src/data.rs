//! The plain data reports read: built from sim-core types and strings, serializable so a
//! run can be saved (`faultline run --save-results`) and reported later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::SimTime;
use sim_core::fault::AppliedFault;
use sim_core::history::{History, Outcome};
use sim_core::metrics::MetricsSummary;
use sim_core::trace::TraceEvent;

/// One check of a run, as the summary table shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    /// The check ("invariants", "linearizability", "liveness").
    pub name: String,
    /// `pass`, `fail` or `unknown`.
    pub status: String,
    /// What it said.
    pub detail: String,
}

/// A linearizability counterexample: the key that cannot be linearized and the
/// operations involved, by history id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CounterexampleData {
    /// The key.
    pub key: u64,
    /// History ids of the longest linearizable prefix, in linearization order.
    pub linearized: Vec<u64>,
    /// History ids of the operations that could not be placed next.
    pub unplaceable: Vec<u64>,
    /// The model state after the prefix.
    pub state: String,
}

impl CounterexampleData {
    /// From the checker's counterexample, whose indices must be history ids (as
    /// `sim_core::check::check_history` gives them).
    pub fn from_checker(c: &sim_core::check::Counterexample) -> Self {
        CounterexampleData {
            key: c.partition,
            linearized: c.linearized.iter().map(|o| o.index as u64).collect(),
            unplaceable: c.unplaceable.iter().map(|o| o.index as u64).collect(),
            state: c.state.clone(),
        }
    }
}

/// Everything a run report shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunData {
    /// The scenario's name.
    pub scenario: String,
    /// The protocol.
    pub protocol: String,
    /// Cluster size.
    pub nodes: u32,
    /// The seed run.
    pub seed: u64,
    /// Bug switches that were on.
    pub bugs: Vec<String>,
    /// The trace fingerprint (hex).
    pub fingerprint: String,
    /// Why the run ended (short name).
    pub end_reason: String,
    /// Why the run ended, readably.
    pub end: String,
    /// Virtual time at the end.
    pub end_time: SimTime,
    /// Processed events.
    pub events: u64,
    /// The verdict (`pass` or the violated check).
    pub verdict: String,
    /// Whether the verdict is the one the scenario expects.
    pub as_expected: bool,
    /// Every check.
    pub checks: Vec<CheckRow>,
    /// The client history.
    pub history: History,
    /// Message and protocol metrics.
    pub metrics: MetricsSummary,
    /// The faults as they happened.
    pub faults: Vec<AppliedFault>,
    /// A window of the trace, for the space-time diagram (may be empty).
    pub trace: Vec<TraceEvent>,
    /// Where the full trace was written, if it was (linked from the page).
    pub trace_file: Option<String>,
    /// The linearizability counterexample, if the check failed.
    pub counterexample: Option<CounterexampleData>,
    /// What the protocol's workload family adds to the summary, as (label, text): how
    /// long atomic-commit participants stayed uncertain, for one.
    pub facts: Vec<(String, String)>,
    /// The nodes' names, by id, if the scenario names them.
    #[serde(default)]
    pub node_names: Vec<String>,
    /// Figures the protocol's family or kind adds (who led when, who was blocked when,
    /// coverage by round).
    #[serde(default)]
    pub extra_figures: Vec<crate::extra::ExtraFigure>,
}

impl RunData {
    /// How figures label node `id`: its name, or `node N`.
    pub fn node_label(&self, id: usize) -> String {
        match self.node_names.get(id) {
            Some(name) => name.clone(),
            None => format!("node {id}"),
        }
    }

    /// Operations that completed with an answer ("committed"), for per-operation figures.
    pub fn ok_ops(&self) -> u64 {
        self.history
            .ops()
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Ok(_)))
            .count() as u64
    }

    /// Latencies of completed operations, ns, sorted.
    pub fn sorted_latencies(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .history
            .ops()
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Ok(_)))
            .filter_map(|o| {
                o.completed
                    .map(|c| c.saturating_since(o.invoked).as_nanos())
            })
            .collect();
        v.sort_unstable();
        v
    }
}

/// One line of a fuzz campaign's `results.jsonl` (the fields reports read; others are
/// ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FuzzLine {
    /// The scenario file.
    pub file: String,
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// `pass`; `expected` (the violation the scenario expects showed: a pass too);
    /// `violation` (one the scenario does not expect); `missed` (the violation the
    /// scenario expects did not show); `undecided`; `error` (the run could not start).
    pub verdict: String,
    /// The failed check, for a violation (expected or not); for `missed`, the one that
    /// was expected.
    pub violation: Option<String>,
    /// The trace fingerprint.
    pub fingerprint: String,
    /// Processed events.
    pub events: u64,
    /// Why the run ended.
    pub end_reason: String,
    /// Wall time of the run, ms.
    pub wall_ms: f64,
    /// Checks that could neither pass nor fail (a search budget ran out, the run was cut
    /// short): a pass of such a seed is weaker than it looks.
    pub undecided: Vec<String>,
}

impl FuzzLine {
    /// Whether the seed met its scenario's expectation.
    pub fn passed(&self) -> bool {
        matches!(self.verdict.as_str(), "pass" | "expected")
    }

    /// Whether the seed counts against the campaign: a violation the scenario does not
    /// expect, an expected violation that did not show, or a run that could not start.
    pub fn failed(&self) -> bool {
        matches!(self.verdict.as_str(), "violation" | "missed" | "error")
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Percentiles {
    /// Of sorted latencies in nanoseconds (zeros when there are none).
    pub fn of_sorted(ns: &[u64]) -> Self {
        let q = |p: f64| quantile(ns, p) as f64 / 1e6;
        Percentiles {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            max: ns.last().map_or(0.0, |&v| v as f64 / 1e6),
        }
    }
}

/// The `p` quantile (nearest rank) of sorted values; 0 when empty.
pub fn quantile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One run in a comparison: what the side-by-side figures need, not the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CompareRun {
    /// How the run is labelled ("raft/calm nodes=5").
    pub label: String,
    /// The scenario's name.
    pub scenario: String,
    /// Cluster size.
    pub nodes: u32,
    /// The seed.
    pub seed: u64,
    /// Verdict.
    pub verdict: String,
    /// Latency of completed operations.
    pub latency: Percentiles,
    /// Operations that completed with an answer.
    pub ok_ops: u64,
    /// Messages sent, all kinds.
    pub messages: u64,
    /// Messages sent by kind.
    pub messages_by_kind: BTreeMap<String, u64>,
    /// Messages between nodes per operation the protocol's closed form expects in a calm
    /// cluster of this size, and the form ("2(N−1)"), if the protocol has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<(f64, String)>,
    /// Median latency (ms) of the clients of each region, where clients sit at home nodes
    /// in regions (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_region: Vec<(String, f64)>,
}

impl CompareRun {
    /// Condenses a run.
    pub fn from_run(label: impl Into<String>, run: &RunData) -> Self {
        CompareRun {
            label: label.into(),
            scenario: run.scenario.clone(),
            nodes: run.nodes,
            seed: run.seed,
            verdict: run.verdict.clone(),
            latency: Percentiles::of_sorted(&run.sorted_latencies()),
            ok_ops: run.ok_ops(),
            messages: run.metrics.total().sent,
            messages_by_kind: run
                .metrics
                .messages
                .iter()
                .map(|(k, c)| (k.clone(), c.sent))
                .collect(),
            expected: None,
            by_region: Vec::new(),
        }
    }

    /// Messages sent per completed operation (0 when none completed).
    pub fn messages_per_op(&self) -> f64 {
        if self.ok_ops == 0 {
            0.0
        } else {
            self.messages as f64 / self.ok_ops as f64
        }
    }
}
