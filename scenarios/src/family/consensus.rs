//! The consensus family: single-decree consensus (Basic Paxos) run for many numbered
//! instances. Clients propose values; each answer carries the value decided for the
//! instance. Its checks: validity (only a proposed value is decided), decisions (clients
//! and learners never disagree), and its own liveness (every instance a client still
//! waited on after the faults is decided within the bound). Agreement among acceptors
//! is each protocol's invariant, which sees acceptors and their disks.

use std::collections::BTreeMap;

use protocols::Family;
use protocols::consensus::{LEARN, value_digest};
use serde::{Deserialize, Serialize};
use sim_core::client::{ClientConfig, Retry};
use sim_core::consensus_workload::ProposalWorkload;
use sim_core::history::{OpOutput, Outcome};
use sim_core::rng::Delay;
use sim_core::{EndReason, NodeId, Operation, RunResult, SimDuration, SimTime};

use super::{Fact, FamilyRules, Invalid, Shape, WorkloadKind, reductions};
use crate::checked::{DelaySpec, Positive, Prob};
use crate::format::{CheckSpec, Scenario, WorkloadSpec};
use crate::runner::{CheckResult, Status};

/// The rules of the consensus family.
pub struct ConsensusFamily;

impl FamilyRules for ConsensusFamily {
    fn family(&self) -> Family {
        Family::Consensus
    }
    fn clients(&self) -> &'static str {
        "proposing clients"
    }
    fn checks(&self) -> &'static [&'static str] {
        &["Invariants", "Validity", "Decisions", "Liveness"]
    }
    fn records_observations(&self) -> bool {
        // The checks compare clients' answers with what learners report.
        true
    }
    fn check(&self, check: &CheckSpec, _s: &Scenario, r: &RunResult) -> Option<CheckResult> {
        let (name, (status, detail)) = match check {
            CheckSpec::Validity => ("validity", validity(&Decisions::of(r))),
            CheckSpec::Decisions => ("decisions", agreement(&Decisions::of(r))),
            CheckSpec::Liveness { within } => ("liveness", liveness(r, within.0)),
            _ => return None,
        };
        Some(CheckResult {
            check: name.into(),
            violation: (status == Status::Fail).then(|| name.to_string()),
            status,
            detail,
        })
    }
    fn facts(&self, _s: &Scenario, r: &RunResult) -> Vec<Fact> {
        let d = Decisions::of(r);
        let mut waits: Vec<u64> = d
            .instances
            .values()
            .filter_map(|i| Some(i.decided_at()?.saturating_since(i.first_proposed?).0))
            .collect();
        waits.sort_unstable();
        let median = waits.get(waits.len() / 2).copied().unwrap_or(0);
        let max = waits.last().copied().unwrap_or(0);
        let proposed = d
            .instances
            .values()
            .filter(|i| i.first_proposed.is_some())
            .count();
        vec![Fact {
            name: "decisions",
            line: format!(
                "{} of {proposed} instances decided; time to decide median {} max {}",
                waits.len(),
                SimDuration(median),
                SimDuration(max)
            ),
            json: serde_json::json!({
                "proposed": proposed,
                "decided": waits.len(),
                "median_ns": median,
                "max_ns": max,
            }),
        }]
    }
}

/// What a run says of one instance.
#[derive(Debug, Default)]
struct Instance {
    /// Values clients proposed, by digest.
    proposed: BTreeMap<u64, String>,
    /// When the first proposal was made.
    first_proposed: Option<SimTime>,
    /// Answers clients got: (when, client, value).
    answers: Vec<(SimTime, u32, String)>,
    /// What learners reported: (when, node, digest).
    learned: Vec<(SimTime, NodeId, u64)>,
    /// Some proposal was still outstanding at this time or later (its latest moment).
    open_until: Option<SimTime>,
}

impl Instance {
    /// When the instance was first known decided, by a learner or a client's answer.
    fn decided_at(&self) -> Option<SimTime> {
        let a = self.answers.iter().map(|x| x.0);
        let l = self.learned.iter().map(|x| x.0);
        a.chain(l).min()
    }
    /// A value as messages name it.
    fn name(&self, digest: u64) -> String {
        self.proposed
            .get(&digest)
            .map_or_else(|| format!("#{digest:016x}"), |v| format!("{v:?}"))
    }
}

/// Proposals, answers and learned values, per instance.
struct Decisions {
    instances: BTreeMap<u64, Instance>,
    end: SimTime,
}

impl Decisions {
    fn of(r: &RunResult) -> Self {
        let mut instances: BTreeMap<u64, Instance> = BTreeMap::new();
        for op in r.history.ops() {
            let Operation::Propose { instance, value } = &op.op else {
                continue;
            };
            let i = instances.entry(*instance).or_default();
            i.proposed.insert(value_digest(value), value.clone());
            i.first_proposed = Some(i.first_proposed.map_or(op.invoked, |t| t.min(op.invoked)));
            let until = op.completed.unwrap_or(r.end_time);
            i.open_until = Some(i.open_until.map_or(until, |t| t.max(until)));
            if let (Outcome::Ok(OpOutput::Decided(v)), Some(at)) = (&op.outcome, op.completed) {
                i.answers.push((at, op.client, v.clone()));
            }
        }
        for o in r.observations.iter().filter(|o| o.obs.kind == LEARN) {
            instances
                .entry(o.obs.key)
                .or_default()
                .learned
                .push((o.time, o.node, o.obs.value));
        }
        Decisions {
            instances,
            end: r.end_time,
        }
    }

    fn decided(&self) -> usize {
        self.instances
            .values()
            .filter(|i| i.decided_at().is_some())
            .count()
    }
}

/// Only a proposed value is decided: every learned value and every answer is one a
/// client proposed for that instance.
fn validity(d: &Decisions) -> (Status, String) {
    if d.decided() == 0 {
        return (
            Status::Vacuous,
            "no instance was decided: nothing to judge".into(),
        );
    }
    for (n, i) in &d.instances {
        if let Some((at, node, v)) = i.learned.iter().find(|l| !i.proposed.contains_key(&l.2)) {
            return (
                Status::Fail,
                format!(
                    "instance {n}: {node} learned {} at {at}, which no client proposed for it",
                    i.name(*v)
                ),
            );
        }
        if let Some((at, c, v)) = i
            .answers
            .iter()
            .find(|a| !i.proposed.contains_key(&value_digest(&a.2)))
        {
            return (
                Status::Fail,
                format!(
                    "instance {n}: client {c} was told {v:?} at {at}, which no client proposed for it"
                ),
            );
        }
    }
    (
        Status::Pass,
        format!(
            "{} decided instances, each to a proposed value",
            d.decided()
        ),
    )
}

/// Clients and learners never disagree: per instance, every answer and every learned
/// value is the same.
fn agreement(d: &Decisions) -> (Status, String) {
    if d.decided() == 0 {
        return (
            Status::Vacuous,
            "no instance was decided: nothing to judge".into(),
        );
    }
    let mut answers = 0;
    for (n, i) in &d.instances {
        answers += i.answers.len();
        let mut seen: Vec<(String, u64)> = i
            .learned
            .iter()
            .map(|(at, node, v)| (format!("{node} learned it at {at}"), *v))
            .collect();
        seen.extend(
            i.answers
                .iter()
                .map(|(at, c, v)| (format!("client {c} was told so at {at}"), value_digest(v))),
        );
        if let Some((who, v)) = seen.iter().find(|s| s.1 != seen[0].1) {
            return (
                Status::Fail,
                format!(
                    "instance {n} was decided two ways: {} ({}) and {} ({who})",
                    i.name(seen[0].1),
                    seen[0].0,
                    i.name(*v)
                ),
            );
        }
    }
    (
        Status::Pass,
        format!(
            "{} decided instances; {answers} answers agree with every learner",
            d.decided()
        ),
    )
}

/// Every instance a client still waited on after the last fault is decided within
/// `within` of the later of that fault and its first proposal.
fn liveness(r: &RunResult, within: SimDuration) -> (Status, String) {
    if let EndReason::NoProgress { .. } = r.end {
        return (Status::Fail, r.end.to_string());
    }
    let d = Decisions::of(r);
    let last_fault = r.faults.last().map_or(SimTime::ZERO, |f| f.at);
    let mut owed = 0;
    let mut slowest = SimDuration::ZERO;
    let mut open = Vec::new();
    for (n, i) in &d.instances {
        let (Some(first), Some(until)) = (i.first_proposed, i.open_until) else {
            continue;
        };
        let decided = i.decided_at();
        // Decided before the faults ended, or given up on by every client before then:
        // nothing is owed after them.
        if decided.is_some_and(|t| t <= last_fault) || until <= last_fault {
            continue;
        }
        owed += 1;
        let from = first.max(last_fault);
        let deadline = from + within;
        match decided {
            Some(t) if t <= deadline => slowest = slowest.max(t.saturating_since(from)),
            Some(t) => {
                return (
                    Status::Fail,
                    format!(
                        "instance {n} was decided {} after {from}, later than the bound {within}",
                        t.saturating_since(from)
                    ),
                );
            }
            None if d.end >= deadline => {
                return (
                    Status::Fail,
                    format!(
                        "instance {n} was never decided, though proposed and awaited after {from} (bound {within}, run ended at {})",
                        d.end
                    ),
                );
            }
            None => open.push(*n),
        }
    }
    if let Some(n) = open.first() {
        return (
            Status::Unknown,
            format!(
                "the run ended at {} before the bound expired for {} undecided instances (the first: {n})",
                d.end,
                open.len()
            ),
        );
    }
    if owed == 0 && d.decided() == 0 {
        return (
            Status::Vacuous,
            "no instance was decided, and none was awaited after the last fault: nothing to judge"
                .into(),
        );
    }
    if owed == 0 {
        return (
            Status::Pass,
            "every instance was decided, or given up on, before the last fault".into(),
        );
    }
    let since = if r.faults.is_empty() {
        "proposed, each decided within"
    } else {
        "awaited after the last fault, each decided within"
    };
    (
        Status::Pass,
        format!("{owed} instances {since} {slowest} (bound {within})"),
    )
}

/// Proposing clients: each walks the instances in order, proposing its own value for
/// those it takes part in (closed loop).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusSpec {
    /// Number of clients.
    pub clients: u32,
    /// Instances (decrees) to decide.
    pub instances: u64,
    /// Probability that a client proposes for an instance (1: every client proposes for
    /// every instance, so proposers compete on each).
    pub share: Prob,
    /// Pause between an answer and the next proposal.
    pub think: DelaySpec,
    /// How long a client waits before the outcome is indeterminate.
    pub timeout: Positive,
    /// What a client does after a timeout.
    pub retry: Retry,
    /// Redirects followed per proposal.
    pub max_redirects: u32,
    /// One-way latency between clients and nodes.
    pub client_latency: DelaySpec,
}

impl Default for ConsensusSpec {
    fn default() -> Self {
        let c = ClientConfig::default();
        ConsensusSpec {
            clients: c.count,
            instances: 50,
            share: Prob(1.0),
            think: DelaySpec(Delay::Constant(SimDuration::from_millis(1))),
            timeout: Positive(c.timeout),
            retry: Retry::SameId { max_attempts: 20 },
            max_redirects: c.max_redirects,
            client_latency: DelaySpec(c.latency),
        }
    }
}

impl WorkloadKind for ConsensusSpec {
    fn family(&self) -> Family {
        Family::Consensus
    }

    fn validate(&self) -> Result<(), Invalid> {
        ProposalWorkload::new(self.instances, self.share.0)
            .map(|_| ())
            .map_err(|message| Invalid {
                find: "Consensus",
                path: "workload",
                message,
            })
    }

    fn clients(&self, _nodes: u32) -> ClientConfig {
        ClientConfig {
            count: self.clients,
            load: super::client_load(None, &self.think),
            timeout: self.timeout.0,
            retry: self.retry,
            max_redirects: self.max_redirects,
            latency: self.client_latency.0.clone(),
            ..ClientConfig::default()
        }
    }

    fn operations(&self) -> Result<Box<dyn sim_core::client::Workload>, String> {
        Ok(Box::new(ProposalWorkload::new(
            self.instances,
            self.share.0,
        )?))
    }

    fn size(&self) -> u64 {
        let all = u64::from(self.clients).saturating_mul(self.instances);
        (all as f64 * self.share.0).round() as u64
    }

    fn smaller(&self) -> Vec<WorkloadSpec> {
        let shape = Shape {
            ops: self.instances,
            clients: self.clients,
            keys: 1,
        };
        reductions(shape)
            .into_iter()
            .map(|r| {
                WorkloadSpec::Consensus(ConsensusSpec {
                    instances: r.ops,
                    clients: r.clients,
                    ..self.clone()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::fault::AppliedFault;
    use sim_core::history::History;
    use sim_core::invariant::Observed;
    use sim_core::protocol::Observation;

    fn ms(t: u64) -> SimTime {
        SimTime(t * 1_000_000)
    }

    /// A run builder: proposals with their answers, learners' reports, faults.
    struct Run {
        history: History,
        observations: Vec<Observed>,
        faults: Vec<AppliedFault>,
        end: u64,
    }

    impl Run {
        fn new(end: u64) -> Self {
            Run {
                history: History::new(),
                observations: Vec::new(),
                faults: Vec::new(),
                end,
            }
        }
        /// Client `c` proposes its value for `instance` at `at`; `answer`: when, and what
        /// it is told (`None`: it never hears).
        fn propose(mut self, c: u32, instance: u64, at: u64, answer: Option<(u64, &str)>) -> Self {
            let value = ProposalWorkload::value(c, instance);
            let id = self
                .history
                .invoke(c, Operation::Propose { instance, value }, ms(at));
            match answer {
                Some((t, v)) => {
                    let out = Outcome::Ok(OpOutput::Decided(v.to_string()));
                    self.history.complete(id, out, ms(t));
                }
                None => self
                    .history
                    .complete(id, Outcome::Indeterminate, ms(self.end)),
            }
            self
        }
        fn learn(mut self, node: u32, instance: u64, at: u64, value: &str) -> Self {
            self.observations.push(Observed {
                node: NodeId(node),
                time: ms(at),
                incarnation: 0,
                obs: Observation {
                    kind: LEARN,
                    key: instance,
                    value: value_digest(value),
                },
            });
            self
        }
        fn fault(mut self, at: u64) -> Self {
            self.faults.push(AppliedFault {
                at: ms(at),
                kind: "heal".into(),
                nodes: Vec::new(),
                description: "heal".into(),
            });
            self
        }
        fn result(self) -> RunResult {
            RunResult {
                seed: 0,
                end: EndReason::Horizon,
                end_time: ms(self.end),
                events: 1,
                fingerprint: 0,
                history: self.history,
                metrics: Default::default(),
                faults: self.faults,
                observations: self.observations,
                leadership: Vec::new(),
                trace_error: None,
            }
        }
    }

    fn checks(r: &RunResult) -> [Status; 3] {
        let d = Decisions::of(r);
        [
            validity(&d).0,
            agreement(&d).0,
            liveness(r, SimDuration::from_millis(100)).0,
        ]
    }

    #[test]
    fn a_run_where_everyone_agrees_on_a_proposed_value_passes() {
        let r = Run::new(1000)
            .propose(0, 0, 0, Some((10, "c1.0")))
            .propose(1, 0, 1, Some((12, "c1.0")))
            .learn(0, 0, 9, "c1.0")
            .learn(2, 0, 11, "c1.0")
            .result();
        assert_eq!(checks(&r), [Status::Pass, Status::Pass, Status::Pass]);
    }

    #[test]
    fn a_value_nobody_proposed_fails_validity() {
        let learned = Run::new(1000)
            .propose(0, 0, 0, Some((10, "c0.0")))
            .learn(1, 0, 9, "c7.0")
            .result();
        assert_eq!(validity(&Decisions::of(&learned)).0, Status::Fail);
        // Proposed, but for another instance.
        let told = Run::new(1000)
            .propose(0, 0, 0, Some((10, "c0.1")))
            .propose(0, 1, 20, Some((30, "c0.1")))
            .result();
        let (status, detail) = validity(&Decisions::of(&told));
        assert_eq!(status, Status::Fail);
        assert!(detail.contains("instance 0"), "{detail}");
    }

    #[test]
    fn clients_or_learners_that_disagree_fail_decisions() {
        let clients = Run::new(1000)
            .propose(0, 0, 0, Some((10, "c0.0")))
            .propose(1, 0, 0, Some((11, "c1.0")))
            .result();
        assert_eq!(agreement(&Decisions::of(&clients)).0, Status::Fail);
        let learner = Run::new(1000)
            .propose(0, 0, 0, Some((10, "c0.0")))
            .propose(1, 0, 0, None)
            .learn(2, 0, 12, "c1.0")
            .result();
        let (status, detail) = agreement(&Decisions::of(&learner));
        assert_eq!(status, Status::Fail);
        assert!(
            detail.contains("\"c1.0\"") && detail.contains("n2"),
            "{detail}"
        );
    }

    #[test]
    fn nothing_decided_is_vacuous_never_a_pass() {
        let r = Run::new(50).propose(0, 0, 0, None).result();
        let d = Decisions::of(&r);
        assert_eq!(validity(&d).0, Status::Vacuous);
        assert_eq!(agreement(&d).0, Status::Vacuous);
    }

    #[test]
    fn liveness_judges_each_instance_awaited_after_the_faults() {
        let within = SimDuration::from_millis(100);
        // Decided 150 ms after the heal at 200 ms: too late.
        let late = Run::new(1000)
            .fault(200)
            .propose(0, 0, 100, Some((350, "c0.0")))
            .result();
        assert_eq!(liveness(&late, within).0, Status::Fail);
        // Never decided, and the bound expired before the end.
        let never = Run::new(1000).fault(200).propose(0, 0, 300, None).result();
        assert_eq!(liveness(&never, within).0, Status::Fail);
        // Never decided, but the run ended before the bound: undecided.
        let cut = Run::new(350).fault(200).propose(0, 0, 300, None).result();
        assert_eq!(liveness(&cut, within).0, Status::Unknown);
        // One instance decided in time does not excuse another that is not.
        let one_of_two = Run::new(1000)
            .fault(200)
            .propose(0, 0, 250, Some((260, "c0.0")))
            .propose(0, 1, 270, None)
            .result();
        let (status, detail) = liveness(&one_of_two, within);
        assert_eq!(status, Status::Fail);
        assert!(detail.contains("instance 1"), "{detail}");
        // Decided before the last fault, or given up on before it: nothing is owed.
        let earlier = Run::new(1000)
            .propose(0, 0, 0, Some((20, "c0.0")))
            .fault(500)
            .result();
        assert_eq!(liveness(&earlier, within).0, Status::Pass);
        // A learner's report counts as the decision, even if no client heard.
        let learned = Run::new(1000)
            .fault(200)
            .propose(0, 0, 250, None)
            .learn(1, 0, 290, "c0.0")
            .result();
        assert_eq!(liveness(&learned, within).0, Status::Pass);
    }
}
