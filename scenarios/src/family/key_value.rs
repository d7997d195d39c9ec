//! The key-value family: replicated state machines (Raft, and the protocols to come)
//! serving get, put, cas and append, judged by linearizability.

use protocols::Family;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, OpMix, Placement, Retry};
use sim_core::rng::{Delay, SimRng};
use sim_core::{EndReason, RunResult, SimDuration};

use super::{FamilyRules, Invalid, Shape, WorkloadKind, reductions};
use crate::checked::{DelaySpec, Positive};
use crate::format::{CheckSpec, Scenario, WorkloadSpec};
use crate::runner::{CheckResult, Status};

/// The rules of the key-value family.
pub struct KeyValueFamily;

impl FamilyRules for KeyValueFamily {
    fn family(&self) -> Family {
        Family::KeyValue
    }
    fn clients(&self) -> &'static str {
        "key-value clients"
    }
    fn checks(&self) -> &'static [&'static str] {
        &["Invariants", "Linearizable", "Liveness"]
    }
    fn check(&self, check: &CheckSpec, s: &Scenario, r: &RunResult) -> Option<CheckResult> {
        matches!(check, CheckSpec::Linearizable).then(|| linearizability(s, r))
    }
}

/// The client history checked for linearizability, with a step budget (not a clock) so
/// that the verdict is reproducible.
fn linearizability(s: &Scenario, r: &RunResult) -> CheckResult {
    let result = |status, violation: Option<&str>, detail: String| CheckResult {
        check: "linearizability".into(),
        status,
        violation: violation.map(str::to_string),
        detail,
    };
    if matches!(r.end, EndReason::InvariantViolated { .. }) && r.history.is_empty() {
        return result(
            Status::Unknown,
            None,
            "no history: the run stopped first".into(),
        );
    }
    if r.history.is_empty() {
        return result(
            Status::Vacuous,
            None,
            "no client operations: nothing to check".into(),
        );
    }
    let report = sim_core::check::check_history(&r.history, &check_options(s));
    let figures = format!("{} ops in {} keys", report.ops, report.partitions);
    match report.verdict {
        sim_core::check::Verdict::Linearizable => result(Status::Pass, None, figures),
        sim_core::check::Verdict::NotLinearizable { counterexample } => result(
            Status::Fail,
            Some("linearizability"),
            format!(
                "{figures}; not linearizable:\n{}",
                counterexample.render_window(&r.history, &|n| node_name(s, n))
            ),
        ),
        sim_core::check::Verdict::Unknown { reason } => result(
            Status::Unknown,
            None,
            format!(
                "{figures}; undecided: {reason}\nraise the budget of {} steps with `limits: (check_steps: …)` in the scenario, or check the history on its own with `faultline check`",
                check_steps(s)
            ),
        ),
    }
}

/// Node `n` as output names it: its name in the scenario, or `n3`.
fn node_name(s: &Scenario, n: sim_core::NodeId) -> String {
    s.names
        .get(n.index())
        .cloned()
        .unwrap_or_else(|| n.to_string())
}

/// The step budget of the scenario's linearizability check.
pub fn check_steps(s: &Scenario) -> u64 {
    s.limits
        .check_steps
        .unwrap_or(crate::format::DEFAULT_CHECK_STEPS)
}

/// How the scenario's history is checked for linearizability: deterministically, within
/// its step budget.
pub fn check_options(s: &Scenario) -> sim_core::check::CheckOptions {
    sim_core::check::CheckOptions {
        max_steps: Some(check_steps(s)),
        parallel: false,
        ..Default::default()
    }
}

/// Key-value clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KvSpec {
    /// Number of clients.
    pub clients: u32,
    /// Operations per client.
    pub ops: u64,
    /// Open loop: mean time between a client's operations (Poisson arrivals). Closed loop
    /// (one outstanding operation per client) if absent.
    pub rate: Option<Positive>,
    /// Closed loop: pause between an answer and the next operation.
    pub think: DelaySpec,
    /// Number of keys.
    pub keys: u64,
    /// How keys are picked: `Uniform`, `Zipf(1.1)`, or `Conflict(10)` (10 % on one hot key,
    /// the rest on a key of each client's own).
    pub distribution: KeyDistribution,
    /// Relative weights of get, put, cas and append.
    pub mix: OpMix,
    /// How long a client waits before the outcome is indeterminate.
    pub timeout: Positive,
    /// What a client does after a timeout.
    pub retry: Retry,
    /// Redirects followed per operation.
    pub max_redirects: u32,
    /// Pause before trying another node after a redirect that names no leader.
    pub redirect_backoff: SimDuration,
    /// One-way latency between clients and nodes.
    pub client_latency: DelaySpec,
    /// Where clients sit: `Cluster` (beside every node alike) or `Home` (client c beside
    /// node c mod N, paying the network's latency to reach any other node).
    pub client_placement: Placement,
}

impl Default for KvSpec {
    fn default() -> Self {
        let c = ClientConfig::default();
        KvSpec {
            clients: c.count,
            ops: 100,
            rate: None,
            think: DelaySpec(Delay::Constant(SimDuration::from_millis(1))),
            keys: 5,
            distribution: KeyDistribution::Uniform,
            mix: OpMix::default(),
            timeout: Positive(c.timeout),
            retry: c.retry,
            max_redirects: c.max_redirects,
            redirect_backoff: c.redirect_backoff,
            client_latency: DelaySpec(c.latency),
            client_placement: Placement::Cluster,
        }
    }
}

impl WorkloadKind for KvSpec {
    fn family(&self) -> Family {
        Family::KeyValue
    }

    fn validate(&self) -> Result<(), Invalid> {
        if self.keys == 0 {
            return Err(Invalid {
                find: "keys",
                path: "workload.keys",
                message: "found 0, expected at least one key".into(),
            });
        }
        let m = self.mix;
        if m.get + m.put + m.cas + m.append == 0 {
            return Err(Invalid {
                find: "mix",
                path: "workload.mix",
                message: "every weight is 0; give at least one operation kind a weight".into(),
            });
        }
        if let KeyDistribution::Zipf(z) = self.distribution
            && !(z.is_finite() && z > 0.0)
        {
            return Err(Invalid {
                find: "Zipf",
                path: "workload.distribution",
                message: format!("found Zipf({z}), expected a positive exponent"),
            });
        }
        if let KeyDistribution::Conflict(p) = self.distribution
            && !(0.0..=100.0).contains(&p)
        {
            return Err(Invalid {
                find: "Conflict",
                path: "workload.distribution",
                message: format!("found Conflict({p}), expected a percent from 0 to 100"),
            });
        }
        Ok(())
    }

    fn clients(&self, _nodes: u32) -> ClientConfig {
        ClientConfig {
            count: self.clients,
            load: super::client_load(self.rate, &self.think),
            timeout: self.timeout.0,
            retry: self.retry,
            max_redirects: self.max_redirects,
            redirect_backoff: self.redirect_backoff,
            latency: self.client_latency.0.clone(),
            placement: self.client_placement,
            ..ClientConfig::default()
        }
    }

    fn operations(&self) -> Result<Box<dyn sim_core::client::Workload>, String> {
        Ok(Box::new(KvWorkload::new(
            self.keys,
            self.mix,
            self.distribution,
            self.ops,
        )?))
    }

    fn size(&self) -> u64 {
        u64::from(self.clients) * self.ops
    }

    fn smaller(&self) -> Vec<WorkloadSpec> {
        // A conflict rate picks its own keys (one hot, one per client): fewer `keys`
        // would change nothing, so they are not cut.
        let conflict = matches!(self.distribution, KeyDistribution::Conflict(_));
        let shape = Shape {
            ops: self.ops,
            clients: self.clients,
            keys: if conflict { 1 } else { self.keys },
        };
        reductions(shape)
            .into_iter()
            .map(|r| {
                WorkloadSpec::KeyValue(KvSpec {
                    ops: r.ops,
                    clients: r.clients,
                    keys: if conflict { self.keys } else { r.keys },
                    ..self.clone()
                })
            })
            .collect()
    }

    fn swarm(&mut self, rng: &mut SimRng) {
        let mut w = || {
            if rng.random_bool(0.75) {
                rng.random_range(1..=100)
            } else {
                0
            }
        };
        let mut mix = OpMix {
            get: w(),
            put: w(),
            cas: w(),
            append: w(),
        };
        if mix.get + mix.put + mix.cas + mix.append == 0 {
            mix.put = 1;
        }
        self.mix = mix;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_rate_keeps_its_keys_when_the_workload_shrinks() {
        let keys_of = |w: &WorkloadSpec| match w {
            WorkloadSpec::KeyValue(kv) => kv.keys,
            _ => unreachable!("key-value reductions"),
        };
        let uniform = KvSpec {
            keys: 8,
            ..KvSpec::default()
        };
        let cut: Vec<u64> = uniform.smaller().iter().map(keys_of).collect();
        assert!(cut.contains(&4), "{cut:?}");
        let conflict = KvSpec {
            distribution: KeyDistribution::Conflict(10.0),
            ..uniform
        };
        let smaller = conflict.smaller();
        assert_eq!(smaller.len(), 2, "ops and clients only");
        assert!(smaller.iter().all(|w| keys_of(w) == 8));
    }
}
