//! The dissemination family: gossip and anti-entropy (and later CRDTs), spreading
//! broadcast updates or replicating a store optimistically; judged by coverage and
//! convergence, from the facts nodes report.

pub mod figures;

use protocols::Family;
use serde::{Deserialize, Serialize};
use sim_core::client::{ClientConfig, Load, Retry};
use sim_core::replica_workload::{BroadcastWorkload, ReplicaKvWorkload, ReplicaMix};
use sim_core::rng::Delay;
use sim_core::{RunResult, SimDuration};

pub use figures::*;

use super::{FamilyRules, Invalid, Shape, WorkloadKind, reductions};
use crate::checked::{DelaySpec, Positive};
use crate::format::{CheckSpec, Scenario, WorkloadSpec};
use crate::runner::{CheckResult, Status};

/// The rules of the dissemination family.
pub struct DisseminationFamily;

impl FamilyRules for DisseminationFamily {
    fn family(&self) -> Family {
        Family::Dissemination
    }
    fn clients(&self) -> &'static str {
        "Broadcast or Replicated workloads"
    }
    fn checks(&self) -> &'static [&'static str] {
        &["Invariants", "Liveness", "Coverage", "Convergence"]
    }
    fn records_observations(&self) -> bool {
        // Coverage and convergence are judged from what nodes report.
        true
    }
    fn runs_past_clients(&self) -> bool {
        // Updates keep spreading after the last client is done.
        true
    }
    fn figures(&self, s: &Scenario, r: &RunResult) -> Vec<reports::extra::ExtraFigure> {
        coverage_figure(s, r).into_iter().collect()
    }
    fn check(&self, check: &CheckSpec, s: &Scenario, r: &RunResult) -> Option<CheckResult> {
        let (name, (status, detail)) = match check {
            CheckSpec::Coverage { fraction } => ("coverage", coverage_check(s, r, fraction.0)),
            CheckSpec::Convergence { within } => ("convergence", convergence_check(s, r, within.0)),
            _ => return None,
        };
        Some(CheckResult {
            check: name.into(),
            violation: (status == Status::Fail).then(|| name.to_string()),
            status,
            detail,
        })
    }
}

/// Updates to spread. One client sits next to each node and they share the updates, so
/// each update enters at a random node and updates arrive as one Poisson stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BroadcastSpec {
    /// Updates in all.
    pub updates: u64,
    /// Mean time between updates (over the whole cluster).
    pub interval: Positive,
    /// How long a client waits for the node's acknowledgement.
    pub timeout: Positive,
    /// One-way latency between clients and nodes.
    pub client_latency: DelaySpec,
}

impl Default for BroadcastSpec {
    fn default() -> Self {
        BroadcastSpec {
            updates: 10,
            interval: Positive(SimDuration::from_millis(100)),
            timeout: Positive(SimDuration::from_secs(1)),
            client_latency: DelaySpec(ClientConfig::default().latency),
        }
    }
}

impl WorkloadKind for BroadcastSpec {
    fn family(&self) -> Family {
        Family::Dissemination
    }

    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }

    fn clients(&self, nodes: u32) -> ClientConfig {
        ClientConfig {
            // One client beside each node, sharing the updates: each update enters at
            // the node of whichever client wakes first, i.e. at a random node.
            count: nodes,
            load: Load::Open {
                interval: Delay::Exponential {
                    mean: SimDuration(self.interval.0.0.saturating_mul(u64::from(nodes))),
                },
            },
            timeout: self.timeout.0,
            retry: Retry::None,
            max_redirects: 0,
            redirect_backoff: SimDuration::ZERO,
            latency: self.client_latency.0.clone(),
            ..ClientConfig::default()
        }
    }

    fn operations(&self) -> Result<Box<dyn sim_core::client::Workload>, String> {
        Ok(Box::new(BroadcastWorkload::new(self.updates)))
    }

    fn size(&self) -> u64 {
        self.updates
    }

    fn smaller(&self) -> Vec<WorkloadSpec> {
        let shape = Shape {
            ops: self.updates,
            clients: 1,
            keys: 1,
        };
        reductions(shape)
            .into_iter()
            .map(|r| {
                WorkloadSpec::Broadcast(BroadcastSpec {
                    updates: r.ops,
                    ..self.clone()
                })
            })
            .collect()
    }
}

/// Clients of an optimistically replicated store. Client `i` starts at replica
/// `i mod nodes` and moves to the next replica when an operation times out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicatedSpec {
    /// Number of clients.
    pub clients: u32,
    /// Operations per client.
    pub ops: u64,
    /// Open loop: mean time between a client's operations. Closed loop if absent.
    pub rate: Option<Positive>,
    /// Closed loop: pause between an answer and the next operation.
    pub think: DelaySpec,
    /// Number of keys.
    pub keys: u64,
    /// Relative weights of get, put and delete.
    pub mix: ReplicaMix,
    /// How long a client waits before the outcome is indeterminate.
    pub timeout: Positive,
    /// What a client does after a timeout.
    pub retry: Retry,
    /// One-way latency between clients and nodes.
    pub client_latency: DelaySpec,
}

impl Default for ReplicatedSpec {
    fn default() -> Self {
        let c = ClientConfig::default();
        ReplicatedSpec {
            clients: 5,
            ops: 50,
            rate: None,
            think: DelaySpec(Delay::Constant(SimDuration::from_millis(20))),
            keys: 5,
            mix: Default::default(),
            timeout: Positive(c.timeout),
            retry: c.retry,
            client_latency: DelaySpec(c.latency),
        }
    }
}

impl WorkloadKind for ReplicatedSpec {
    fn family(&self) -> Family {
        Family::Dissemination
    }

    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }

    fn clients(&self, _nodes: u32) -> ClientConfig {
        ClientConfig {
            count: self.clients,
            load: super::client_load(self.rate, &self.think),
            timeout: self.timeout.0,
            retry: self.retry,
            max_redirects: 0,
            redirect_backoff: SimDuration::ZERO,
            latency: self.client_latency.0.clone(),
            ..ClientConfig::default()
        }
    }

    fn operations(&self) -> Result<Box<dyn sim_core::client::Workload>, String> {
        Ok(Box::new(ReplicaKvWorkload::new(
            self.keys, self.mix, self.ops,
        )?))
    }

    fn size(&self) -> u64 {
        u64::from(self.clients) * self.ops
    }

    fn smaller(&self) -> Vec<WorkloadSpec> {
        let shape = Shape {
            ops: self.ops,
            clients: self.clients,
            keys: self.keys,
        };
        reductions(shape)
            .into_iter()
            .map(|r| {
                WorkloadSpec::Replicated(ReplicatedSpec {
                    ops: r.ops,
                    clients: r.clients,
                    keys: r.keys,
                    ..self.clone()
                })
            })
            .collect()
    }
}
