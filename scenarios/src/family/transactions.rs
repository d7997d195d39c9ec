//! The transactions family: atomic commitment (2PC, 3PC, and later Paxos Commit), whose
//! runs report how long participants stayed uncertain of an outcome (blocking).

use protocols::Family;
use reports::extra::{ExtraFigure, ExtraPlot, Span};
use serde::{Deserialize, Serialize};
use sim_core::client::{ClientConfig, Load};
use sim_core::rng::Delay;
use sim_core::txn_workload::{TxnShape, TxnWorkload};
use sim_core::{RunResult, SimDuration};

use super::{Fact, FamilyRules, Invalid, Shape, WorkloadKind, reductions};
use crate::checked::{DelaySpec, Positive, Prob};
use crate::format::{Scenario, WorkloadSpec};

/// Most spans the blocking figure draws.
const MAX_BLOCKED_SPANS: usize = 3000;

/// The rules of the transactions family.
pub struct TransactionsFamily;

impl FamilyRules for TransactionsFamily {
    fn family(&self) -> Family {
        Family::AtomicCommit
    }
    fn clients(&self) -> &'static str {
        "transactions"
    }
    fn checks(&self) -> &'static [&'static str] {
        &["Invariants", "Liveness"]
    }
    fn records_observations(&self) -> bool {
        // The blocking figures read what participants report.
        true
    }
    fn figures(&self, s: &Scenario, r: &RunResult) -> Vec<ExtraFigure> {
        let mut blocked =
            protocols::commit::blocking::blocked(&r.observations, &r.faults, r.end_time);
        if blocked.is_empty() {
            return Vec::new();
        }
        let total = blocked.len();
        let unresolved = blocked.iter().filter(|b| !b.resolved).count();
        // The unresolved first, then the longest: what a reader looks for, if not all fit.
        blocked.sort_by_key(|b| (b.resolved, std::cmp::Reverse(b.to.saturating_since(b.from))));
        blocked.truncate(MAX_BLOCKED_SPANS);
        let ms = |t: sim_core::SimTime| t.as_nanos() as f64 / 1e6;
        let spans = blocked
            .iter()
            .map(|b| Span {
                lane: b.node.index(),
                start_ms: ms(b.from),
                end_ms: ms(b.to),
                open: !b.resolved,
                label: format!("txn {}", b.txn),
                group: if b.resolved {
                    "uncertain, then told".into()
                } else {
                    "never told (blocked)".into()
                },
            })
            .collect();
        vec![ExtraFigure {
            name: "blocking".into(),
            title: "Blocking: participants uncertain of an outcome".into(),
            caption: format!(
                "Each participant's lane shows, per transaction it voted yes on, the time from its vote until the decision reached it; a faint span never ended (the participant was still blocked when the run ended or it crashed for good). {total} votes{}, {unresolved} never resolved.",
                if total > MAX_BLOCKED_SPANS {
                    format!(" ({MAX_BLOCKED_SPANS} shown: the unresolved, then the longest)")
                } else {
                    String::new()
                }
            ),
            plot: ExtraPlot::Spans {
                lanes: crate::report_data::node_lanes(s),
                spans,
                end_ms: ms(r.end_time),
            },
        }]
    }
    fn facts(&self, _s: &Scenario, r: &RunResult) -> Vec<Fact> {
        let u = protocols::commit::blocking::uncertainty(&r.observations, &r.faults, r.end_time);
        let ms = |ns: u64| SimDuration(ns).to_string();
        vec![Fact {
            name: "uncertainty",
            line: format!(
                "{} prepared, {} never resolved; mean {} max {}",
                u.prepared,
                u.unresolved,
                ms(u.mean_ns),
                ms(u.max_ns)
            ),
            json: serde_json::to_value(u).unwrap_or_default(),
        }]
    }
}

/// Transaction clients: each runs `txns` transactions one after another (closed loop),
/// each reading and writing a few distinct keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TxnSpec {
    /// Number of clients.
    pub clients: u32,
    /// Transactions per client.
    pub txns: u64,
    /// Pause between an answer and the next transaction.
    pub think: DelaySpec,
    /// Number of keys.
    pub keys: u64,
    /// Fewest keys one transaction touches.
    pub min_keys: u64,
    /// Most keys one transaction touches.
    pub max_keys: u64,
    /// Probability that a touched key is only read.
    pub read_ratio: Prob,
    /// How long a client waits before the outcome is indeterminate.
    pub timeout: Positive,
    /// One-way latency between clients and nodes.
    pub client_latency: DelaySpec,
}

impl Default for TxnSpec {
    fn default() -> Self {
        let c = ClientConfig::default();
        let shape = TxnShape::default();
        TxnSpec {
            clients: c.count,
            txns: 50,
            think: DelaySpec(Delay::Constant(SimDuration::from_millis(1))),
            keys: shape.keys,
            min_keys: shape.min_keys,
            max_keys: shape.max_keys,
            read_ratio: Prob(shape.read_ratio),
            timeout: Positive(c.timeout),
            client_latency: DelaySpec(c.latency),
        }
    }
}

impl TxnSpec {
    /// The shape of the transactions drawn.
    pub fn shape(&self) -> TxnShape {
        TxnShape {
            keys: self.keys,
            min_keys: self.min_keys,
            max_keys: self.max_keys,
            read_ratio: self.read_ratio.0,
        }
    }
}

impl WorkloadKind for TxnSpec {
    fn family(&self) -> Family {
        Family::AtomicCommit
    }

    fn validate(&self) -> Result<(), Invalid> {
        TxnWorkload::new(self.shape(), self.txns)
            .map(|_| ())
            .map_err(|message| Invalid {
                find: "Transactions",
                path: "workload",
                message,
            })
    }

    fn clients(&self, _nodes: u32) -> ClientConfig {
        ClientConfig {
            count: self.clients,
            load: Load::Closed {
                think: self.think.0.clone(),
            },
            timeout: self.timeout.0,
            latency: self.client_latency.0.clone(),
            ..ClientConfig::default()
        }
    }

    fn operations(&self) -> Result<Box<dyn sim_core::client::Workload>, String> {
        Ok(Box::new(TxnWorkload::new(self.shape(), self.txns)?))
    }

    fn size(&self) -> u64 {
        u64::from(self.clients) * self.txns
    }

    fn smaller(&self) -> Vec<WorkloadSpec> {
        let shape = Shape {
            ops: self.txns,
            clients: self.clients,
            keys: 1,
        };
        reductions(shape)
            .into_iter()
            .map(|r| {
                WorkloadSpec::Transactions(TxnSpec {
                    txns: r.ops,
                    clients: r.clients,
                    ..self.clone()
                })
            })
            .collect()
    }
}
