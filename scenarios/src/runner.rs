//! Running a scenario: build the simulation, run it, apply the checks, reach a verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use protocols::ProtocolSpec;
use serde::Serialize;
use sim_core::fault::{AppliedFault, Fault, Target};
use sim_core::history::Outcome;
use sim_core::metrics::MsgCounts;
use sim_core::network::{LinkChange, LinkConfig, LinkScope, NetworkConfig, Regions};
use sim_core::trace::TraceSink;
use sim_core::{
    EndReason, MembershipChange, RunResult, SimConfig, SimDuration, SimTime, Simulation,
};

use crate::format::{
    CheckSpec, Expect, FaultSpec, LinkScopeSpec, Scenario, TargetSpec, Timed, WorkloadSpec,
};
use crate::groups::GroupSpec;

/// How one run of a scenario differs from the file.
#[derive(Default)]
pub struct RunOptions {
    /// Run this seed instead of the file's.
    pub seed: Option<u64>,
    /// Turn on these bug switches too.
    pub bugs: Vec<String>,
    /// Stream the trace here.
    pub trace: Option<Box<dyn TraceSink>>,
}

/// What a check concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It holds.
    Pass,
    /// It is violated.
    Fail,
    /// It could not be decided (budget, run cut short).
    Unknown,
    /// It had nothing to judge (no operations, no invariants): not a pass.
    Vacuous,
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The check ("invariants", "linearizability", "liveness").
    pub check: String,
    /// What it concluded.
    pub status: Status,
    /// The name a violation goes by (an invariant's own name), for `expect`.
    pub violation: Option<String>,
    /// Details for a reader.
    pub detail: String,
}

/// The overall verdict of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Every check passed.
    Pass,
    /// No check failed, but these could not be decided or had nothing to judge: never
    /// a pass.
    Undecided(Vec<String>),
    /// The named check failed (the first one, in the scenario's order).
    Violation(String),
}

/// Client operation counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// Invoked.
    pub total: u64,
    /// Completed with an answer.
    pub ok: u64,
    /// Definitely not done.
    pub failed: u64,
    /// Unknown outcome.
    pub indeterminate: u64,
}

/// Latency of completed operations, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
}

/// What `run` prints and `--json` writes: everything a reader needs, deterministic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// The protocol.
    pub protocol: String,
    /// The seed run.
    pub seed: u64,
    /// Bug switches on.
    pub bugs: Vec<String>,
    /// Byzantine nodes and their behaviours ("n3 Silent").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub byzantine: Vec<String>,
    /// Twinned identities and the slots of their second instances ("n0 twin n4").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub twins: Vec<String>,
    /// The trace fingerprint (hex).
    pub fingerprint: String,
    /// Why the run ended (short name).
    pub end_reason: String,
    /// Why the run ended, readably.
    pub end: String,
    /// Virtual time at the end, ns.
    pub end_time: SimTime,
    /// Processed events.
    pub events: u64,
    /// Messages by kind.
    pub messages: BTreeMap<String, MsgCounts>,
    /// Dropped messages by reason.
    pub drops: BTreeMap<String, u64>,
    /// Client operations.
    pub ops: OpCounts,
    /// Their latency.
    pub latency: Option<Latency>,
    /// The faults as they happened.
    pub faults: Vec<AppliedFault>,
    /// Every check.
    pub checks: Vec<CheckResult>,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict the scenario expects.
    pub expect: Expect,
    /// Whether they agree.
    pub as_expected: bool,
    /// What the protocol's family adds (atomic commit: how long participants stayed
    /// uncertain of outcomes), each a field of its own in JSON.
    #[serde(flatten)]
    pub facts: Facts,
}

/// The lines a family adds to a summary; in JSON, one field per fact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts(pub Vec<crate::family::Fact>);

impl Serialize for Facts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for f in &self.0 {
            map.serialize_entry(f.name, &f.json)?;
        }
        map.end()
    }
}

/// A finished run: the summary and the raw result (history, trace data) for reports.
pub struct Run {
    /// The summary.
    pub summary: Summary,
    /// The engine's result.
    pub result: RunResult,
}

/// Why a scenario could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A bug switch the protocol lacks.
    #[error("{0}")]
    Bug(String),
    /// The engine refused the configuration.
    #[error("{0}")]
    Build(#[from] sim_core::sim::BuildError),
}

/// Runs `scenario` once.
pub fn run(scenario: &Scenario, options: RunOptions) -> Result<Run, RunError> {
    scenario.protocol.run(scenario, options)
}

/// The faults of a run with `seed`: the scheduled ones and the nemesis's, in time order.
pub fn faults_for(scenario: &Scenario, seed: u64) -> Vec<Timed> {
    let mut all = scenario.faults.clone();
    if let Some(n) = &scenario.nemesis {
        all.extend(crate::nemesis::schedule(scenario, n, seed));
    }
    all.extend(crate::twins::schedule(scenario, seed));
    all.sort_by_key(Timed::time);
    all
}

/// Runs `s` with protocol `P` (the scenario's) and its settings `cfg`.
pub(crate) fn run_typed<P: ProtocolSpec>(
    s: &Scenario,
    cfg: P::Config,
    options: RunOptions,
) -> Result<Run, RunError> {
    let (sim, seed, bugs) = build_typed::<P>(s, cfg, options)?;
    let result = match &s.schedule {
        Some(steps) => sim.run_schedule(steps),
        None => sim.run(),
    };
    let summary = summarize(s, P::NAME, seed, bugs, &result);
    Ok(Run { summary, result })
}

/// Builds the simulation of `s` with protocol `P` and its settings `cfg`, ready to run;
/// with the seed it runs and every bug switch turned on.
pub(crate) fn build_typed<P: ProtocolSpec>(
    s: &Scenario,
    mut cfg: P::Config,
    options: RunOptions,
) -> Result<(Simulation<P>, u64, Vec<String>), RunError> {
    let mut bugs: Vec<String> = s.bugs.iter().map(|b| b.0.clone()).collect();
    for b in options.bugs {
        if !bugs.contains(&b) {
            bugs.push(b);
        }
    }
    for b in &bugs {
        if !P::enable_bug(&mut cfg, b) {
            let names: Vec<&str> = P::BUGS.iter().map(|b| b.name).collect();
            return Err(RunError::Bug(
                crate::checked::check_bug(P::NAME, &names, b).unwrap_err(),
            ));
        }
    }
    let seed = options.seed.unwrap_or(s.seed);
    let mut config = sim_config(s, seed);
    if let Some(clients) = config.clients.as_mut() {
        P::client_rules(&cfg, s.nodes, clients);
    }
    let mut builder = Simulation::<P>::builder(config).protocol_config(cfg.clone());
    if let Some(w) = s.workload.kind() {
        let ops = w
            .operations()
            .map_err(|e| RunError::Build(sim_core::sim::BuildError::Clients(e)))?;
        builder = builder.boxed_workload(ops);
    }
    for t in faults_for(s, seed) {
        builder = builder.fault(t.time(), to_fault(t.fault()));
    }
    for t in s.twins.iter().flat_map(|t| &t.nodes) {
        builder = builder.twin(sim_core::NodeId(*t));
    }
    for b in crate::byzantine::byzantine_for(s, seed) {
        let name = &b.behaviour.0;
        let adversary =
            protocols::byzantine::adversary::<P>(name, &cfg, s.nodes).ok_or_else(|| {
                RunError::Build(sim_core::sim::BuildError::NoSuchNode(format!(
                    "{} has no Byzantine behaviour {name:?}",
                    P::NAME
                )))
            })?;
        builder = builder.boxed_adversary(b.node.into(), adversary);
    }
    if s.checks.contains(&CheckSpec::Invariants) {
        builder = builder.invariants(P::invariants(&cfg));
    }
    if let Some(trace) = options.trace {
        builder = builder.trace(TraceBox(trace));
    }
    Ok((builder.build()?, seed, bugs))
}

/// Lets a boxed sink be handed to the builder.
struct TraceBox(Box<dyn TraceSink>);
impl TraceSink for TraceBox {
    fn record(&mut self, event: &sim_core::trace::TraceEvent) -> std::io::Result<()> {
        self.0.record(event)
    }
}

/// The engine configuration of a scenario run with `seed`.
pub fn sim_config(s: &Scenario, seed: u64) -> SimConfig {
    let n = &s.network;
    let default_link = LinkConfig {
        latency: n.latency.0.clone(),
        loss: n.loss.0,
        duplicate: n.duplicate.0,
        ordering: n.ordering,
        bandwidth: n.bandwidth,
    };
    let overrides = n
        .overrides
        .iter()
        .map(|o| {
            let link = LinkConfig {
                latency: o
                    .latency
                    .as_ref()
                    .map_or_else(|| default_link.latency.clone(), |d| d.0.clone()),
                loss: o.loss.map_or(default_link.loss, |p| p.0),
                duplicate: o.duplicate.map_or(default_link.duplicate, |p| p.0),
                ..default_link.clone()
            };
            (o.from.0, o.to.0, link)
        })
        .collect();
    let network = NetworkConfig {
        default_link: default_link.clone(),
        links: n
            .links
            .as_ref()
            .map(|l| l.iter().map(|(a, b)| (a.0, b.0)).collect()),
        overrides,
        regions: n.regions.as_ref().map(|r| Regions {
            node_region: r.nodes.clone(),
            latency: r
                .latency
                .iter()
                .map(|row| row.iter().map(|d| d.0.clone()).collect())
                .collect(),
        }),
        in_flight: n.in_flight,
        sender_crash: n.sender_crash,
    };
    let clients = s.workload.kind().map(|w| w.clients(s.nodes));
    let family = crate::family::rules(s.protocol.family());
    SimConfig {
        seed,
        nodes: s.nodes,
        horizon: s.duration.0,
        max_events: s.limits.max_events,
        no_progress: s.limits.no_progress.map(|p| p.0),
        stop_when_done: s.limits.stop_when_done && !family.runs_past_clients(),
        network,
        disk: Default::default(),
        clients,
        record_observations: family.records_observations(),
        record_leadership: true,
    }
}

fn target(t: &TargetSpec) -> Target {
    match t {
        TargetSpec::Node(n) => Target::Node((*n).into()),
        TargetSpec::Nodes(ns) => Target::Nodes(ns.iter().map(|n| (*n).into()).collect()),
        TargetSpec::Leader => Target::Leader,
        TargetSpec::Random => Target::Random,
        TargetSpec::RandomMinority => Target::RandomMinority,
        TargetSpec::RandomMajority => Target::RandomMajority,
        TargetSpec::All => Target::All,
    }
}

/// The engine's fault for a scenario's fault.
pub fn to_fault(f: &FaultSpec) -> Fault {
    match f {
        FaultSpec::Crash(t) => Fault::Crash(target(t)),
        FaultSpec::Restart(t) => Fault::Restart(target(t)),
        FaultSpec::Pause(t) => Fault::Pause(target(t)),
        FaultSpec::Resume(t) => Fault::Resume(target(t)),
        FaultSpec::Partition(groups) => {
            // Fixed groups keep the fault they always were, so that their runs do not change.
            match groups
                .iter()
                .map(GroupSpec::fixed)
                .collect::<Option<Vec<_>>>()
            {
                Some(fixed) => Fault::Partition(fixed),
                None => Fault::PartitionChosen(groups.iter().map(GroupSpec::target).collect()),
            }
        }
        FaultSpec::Isolate(t) => Fault::Isolate(target(t)),
        FaultSpec::Cut { from, to } => match (from.fixed(), to.fixed()) {
            (Some(from), Some(to)) => Fault::CutOneWay { from, to },
            _ => Fault::CutChosen {
                from: from.target(),
                to: to.target(),
            },
        },
        FaultSpec::Heal => Fault::Heal,
        FaultSpec::Links {
            scope,
            latency,
            loss,
            duplicate,
        } => Fault::Links {
            scope: match scope {
                LinkScopeSpec::All => LinkScope::All,
                LinkScopeSpec::Between(a, b) => LinkScope::Between((*a).into(), (*b).into()),
                LinkScopeSpec::From(a) => LinkScope::From((*a).into()),
                LinkScopeSpec::To(b) => LinkScope::To((*b).into()),
            },
            change: LinkChange {
                latency: latency.as_ref().map(|d| d.0.clone()),
                loss: loss.map(|p| p.0),
                duplicate: duplicate.map(|p| p.0),
            },
        },
        FaultSpec::ClockSkew { target: t, offset } => Fault::ClockSkew {
            target: target(t),
            offset_ns: offset.0,
        },
        FaultSpec::ClockDrift { target: t, ppm } => Fault::ClockDrift {
            target: target(t),
            ppm: *ppm,
        },
        FaultSpec::AddNode(n) => Fault::Membership(MembershipChange::Add((*n).into())),
        FaultSpec::RemoveNode(n) => Fault::Membership(MembershipChange::Remove((*n).into())),
        FaultSpec::NextLeaders {
            times,
            after,
            down,
            action,
            within,
            at_once,
        } => Fault::NextLeaders {
            times: *times,
            after: after.0.clone(),
            down: down.0,
            action: *action,
            within: within.map_or(SimDuration::MAX, |w| w.0),
            at_once: *at_once,
        },
    }
}

fn summarize(s: &Scenario, protocol: &str, seed: u64, bugs: Vec<String>, r: &RunResult) -> Summary {
    let mut ops = OpCounts::default();
    let mut lat: Vec<u64> = Vec::new();
    for op in r.history.ops() {
        ops.total += 1;
        match &op.outcome {
            Outcome::Ok(_) => {
                ops.ok += 1;
                if let Some(c) = op.completed {
                    lat.push(c.saturating_since(op.invoked).0);
                }
            }
            Outcome::Failed => ops.failed += 1,
            Outcome::Indeterminate | Outcome::Pending => ops.indeterminate += 1,
        }
    }
    lat.sort_unstable();
    // The report's own quantile, so the summary and the page give the same figures.
    let pct = |p: f64| reports::data::quantile(&lat, p);
    let latency = (!lat.is_empty()).then(|| Latency {
        p50: pct(0.5),
        p99: pct(0.99),
        max: *lat.last().unwrap_or(&0),
    });
    let mut checks: Vec<CheckResult> = s.checks.iter().map(|c| apply_check(c, s, r)).collect();
    // A run cut short by its event limit did not run what the scenario asked: what held
    // so far is no pass (a violation found so far still is one).
    if let EndReason::EventLimit { limit } = r.end {
        for c in checks.iter_mut().filter(|c| c.status == Status::Pass) {
            c.status = Status::Unknown;
            c.detail.push_str(&format!(
                "; but the run stopped at its event limit ({limit} events) at {} of {}, so the rest was never run: raise `limits: (max_events: …)`",
                r.end_time, s.duration.0
            ));
        }
    }
    // A fixed schedule that stopped matching did not run what it names.
    if let EndReason::Schedule {
        steps,
        unmatched: Some(step),
    } = &r.end
    {
        for c in checks.iter_mut().filter(|c| c.status == Status::Pass) {
            c.status = Status::Unknown;
            c.detail.push_str(&format!(
                "; but step {} of the fixed schedule ({step}) matched nothing waiting, so the rest was never run",
                steps + 1
            ));
        }
    }
    let undecided: Vec<String> = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Unknown | Status::Vacuous))
        .map(|c| c.check.clone())
        .collect();
    let verdict = match checks.iter().find(|c| c.status == Status::Fail) {
        Some(c) => Verdict::Violation(c.violation.clone().unwrap_or_else(|| c.check.clone())),
        None if !undecided.is_empty() => Verdict::Undecided(undecided),
        None => Verdict::Pass,
    };
    let as_expected = match (&s.expect, &verdict) {
        (Expect::Pass, Verdict::Pass) => true,
        (Expect::Violation(want), Verdict::Violation(_)) => checks.iter().any(|c| {
            c.status == Status::Fail
                && (c.violation.as_deref() == Some(want.as_str()) || c.check == *want)
        }),
        _ => false,
    };
    Summary {
        scenario: s.name.clone(),
        protocol: protocol.to_string(),
        seed,
        bugs,
        byzantine: crate::byzantine::byzantine_for(s, seed)
            .iter()
            .map(|b| format!("n{} {}", b.node.0, b.behaviour.0))
            .collect(),
        twins: s
            .twins
            .iter()
            .flat_map(|t| &t.nodes)
            .enumerate()
            .map(|(k, n)| format!("n{n} twin n{}", s.nodes + k as u32))
            .collect(),
        fingerprint: format!("{:016x}", r.fingerprint),
        end_reason: r.end.name().to_string(),
        end: r.end.to_string(),
        end_time: r.end_time,
        events: r.events,
        messages: r.metrics.messages.clone(),
        drops: r.metrics.drops.clone(),
        ops,
        latency,
        faults: r
            .faults
            .iter()
            .map(|f| AppliedFault {
                description: name_nodes(&f.description, &s.names),
                ..f.clone()
            })
            .collect(),
        checks,
        verdict,
        expect: s.expect.clone(),
        as_expected,
        facts: Facts(crate::family::rules(s.protocol.family()).facts(s, r)),
    }
}

/// `text` with each node written as `n3` given its name from `names` (if any): output
/// only, so that the trace, and with it the fingerprint, stays the same.
pub fn name_nodes(text: &str, names: &[String]) -> String {
    if names.is_empty() {
        return text.to_string();
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_word = chars[i] == 'n' && (i == 0 || !word(chars[i - 1]));
        let digits = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let ends_word = chars.get(i + 1 + digits).is_none_or(|c| !word(*c));
        let name = (starts_word && digits > 0 && ends_word)
            .then(|| chars[i + 1..i + 1 + digits].iter().collect::<String>())
            .and_then(|d| d.parse::<usize>().ok())
            .and_then(|id| names.get(id));
        match name {
            Some(name) => {
                out.push_str(name);
                i += 1 + digits;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

fn apply_check(c: &CheckSpec, s: &Scenario, r: &RunResult) -> CheckResult {
    if let Some(result) = crate::family::rules(s.protocol.family()).check(c, s, r) {
        return result;
    }
    let result = |check: &str, status, violation: Option<String>, detail: String| CheckResult {
        check: check.to_string(),
        status,
        violation,
        detail,
    };
    match c {
        CheckSpec::Invariants if s.protocol.invariant_names().is_empty() => result(
            "invariants",
            Status::Vacuous,
            None,
            format!(
                "{} has no invariants under these settings: nothing was checked",
                s.protocol.name()
            ),
        ),
        CheckSpec::Invariants => match &r.end {
            EndReason::InvariantViolated {
                invariant,
                event,
                message,
            } => result(
                "invariants",
                Status::Fail,
                Some(invariant.clone()),
                format!(
                    "{invariant} violated at event {event} ({}): {message}",
                    r.end_time
                ),
            ),
            _ => result(
                "invariants",
                Status::Pass,
                None,
                format!("held for {} events", r.events),
            ),
        },
        CheckSpec::Liveness { within } => liveness(within.0, s, r, result),
        // Loading rejects a check its protocol's family does not take.
        other => result(
            &other.name().to_lowercase(),
            Status::Unknown,
            None,
            format!("{} does not apply to {}", other.name(), s.protocol.name()),
        ),
    }
}

fn liveness(
    within: SimDuration,
    s: &Scenario,
    r: &RunResult,
    result: impl Fn(&str, Status, Option<String>, String) -> CheckResult,
) -> CheckResult {
    if let EndReason::NoProgress { .. } = r.end {
        return result(
            "liveness",
            Status::Fail,
            Some("liveness".into()),
            r.end.to_string(),
        );
    }
    if matches!(s.workload, WorkloadSpec::None) {
        return result(
            "liveness",
            Status::Vacuous,
            None,
            "no client workload to make progress on: nothing to judge".into(),
        );
    }
    let last_fault = r.faults.last().map_or(SimTime::ZERO, |f| f.at);
    let (status, detail) = crate::liveness::judge(&r.history, last_fault, r.end_time, within);
    let violation = (status == Status::Fail).then(|| "liveness".to_string());
    result("liveness", status, violation, detail)
}

impl Summary {
    /// The exit status of a run with this summary: 0 as expected, 3 undecided (never a
    /// pass), 1 otherwise (a check failed, or the expected violation did not show).
    pub fn exit_status(&self) -> u8 {
        if self.as_expected {
            crate::cli::exit::OK
        } else if matches!(self.verdict, Verdict::Undecided(_)) {
            crate::cli::exit::UNKNOWN
        } else {
            crate::cli::exit::VIOLATION
        }
    }

    /// The summary as a reader sees it on the terminal.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let ms = |ns: u64| SimDuration(ns).to_string();
        let _ = writeln!(
            o,
            "scenario     {} ({}), seed {}",
            self.scenario, self.protocol, self.seed
        );
        if !self.bugs.is_empty() {
            let _ = writeln!(o, "bugs on      {}", self.bugs.join(", "));
        }
        if !self.byzantine.is_empty() {
            let _ = writeln!(o, "byzantine    {}", self.byzantine.join(", "));
        }
        if !self.twins.is_empty() {
            let _ = writeln!(o, "twins        {}", self.twins.join(", "));
        }
        let _ = writeln!(
            o,
            "ended        {} at {} ({} events)",
            self.end, self.end_time, self.events
        );
        let _ = writeln!(o, "fingerprint  {}", self.fingerprint);
        for (kind, c) in &self.messages {
            let _ = writeln!(
                o,
                "messages     {kind:<22} {:>9} sent {:>9} delivered {:>7} dropped {:>7} duplicated",
                c.sent, c.delivered, c.dropped, c.duplicated
            );
        }
        if !self.drops.is_empty() {
            let d: Vec<String> = self.drops.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(o, "drops        {}", d.join(", "));
        }
        if self.ops.total > 0 {
            let _ = write!(
                o,
                "client ops   {} ok, {} failed, {} indeterminate",
                self.ops.ok, self.ops.failed, self.ops.indeterminate
            );
            if let Some(l) = self.latency {
                let _ = write!(
                    o,
                    "; latency p50 {} p99 {} max {}",
                    ms(l.p50),
                    ms(l.p99),
                    ms(l.max)
                );
            }
            o.push('\n');
        }
        for f in &self.facts.0 {
            let _ = writeln!(o, "{:<12} {}", f.name, f.line);
        }
        for f in &self.faults {
            let _ = writeln!(o, "fault        {:>9}  {}", f.at.to_string(), f.description);
        }
        for c in &self.checks {
            let status = match c.status {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Unknown => "unknown",
                Status::Vacuous => "vacuous",
            };
            let mut lines = c.detail.lines();
            let _ = writeln!(
                o,
                "check        {:<16} {status:<8} {}",
                c.check,
                lines.next().unwrap_or("")
            );
            for l in lines {
                let _ = writeln!(o, "             {l}");
            }
        }
        let verdict = match &self.verdict {
            Verdict::Pass => "PASS".to_string(),
            Verdict::Undecided(checks) => format!("UNDECIDED ({})", checks.join(", ")),
            Verdict::Violation(v) => format!("VIOLATION ({v})"),
        };
        let expected = match &self.expect {
            Expect::Pass => "pass".to_string(),
            Expect::Violation(v) => format!("a violation of {v}"),
        };
        let note = if self.as_expected {
            "as expected".to_string()
        } else {
            format!("expected {expected}")
        };
        let _ = writeln!(o, "verdict      {verdict}, {note}");
        o
    }
}

#[cfg(test)]
mod name_tests {
    use super::name_nodes;

    #[test]
    fn only_whole_node_words_are_named() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(
            name_nodes("partition [[n0, n2]] -> [n1]", &names),
            "partition [[a, c]] -> [b]"
        );
        assert_eq!(
            name_nodes("conn1 nn2 n12 n1x n1", &names),
            "conn1 nn2 n12 n1x b"
        );
        assert_eq!(name_nodes("n0", &[]), "n0");
    }
}
