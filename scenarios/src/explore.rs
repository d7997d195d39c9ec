//! Exhaustive search of a scenario's schedules (`faultline explore`): the scenario's
//! cluster, workload, invariants and history checks, driven by `sim_core::explore`
//! instead of virtual time, with the faults a budget allows. A violation becomes an
//! ordinary scenario file with a fixed schedule, which `run`, `replay` and `report` take
//! as they take any other.

use protocols::ProtocolSpec;
use serde::{Deserialize, Serialize};
use sim_core::RunResult;
use sim_core::explore::{Judge, Judgement, Limits, Progress, Report, Strategy};
use sim_core::schedule::Budget;

use crate::format::{CheckSpec, Expect, Scenario};
use crate::runner::{RunError, RunOptions, Status};

/// The bounds of a search, as a scenario file's `explore` field gives them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExploreSpec {
    /// Messages that may be lost.
    pub drops: u32,
    /// Messages that may be duplicated.
    pub duplicates: u32,
    /// Node crashes (only under a node model that crashes).
    pub crashes: u32,
    /// Restarts of crashed nodes (only under `CrashRecovery`).
    pub restarts: u32,
    /// Firings of node timers; none given: as many as the duration allows.
    pub timers: Option<u32>,
    /// Timers fire at their deadlines, earliest first, instead of at any moment after:
    /// nodes are never late, messages still arrive in any order.
    pub on_time: bool,
    /// Look no deeper than this many steps.
    pub max_depth: Option<u32>,
    /// Stop after this many distinct states.
    pub max_states: Option<u64>,
    /// Search the run in time order and every schedule that departs from it in at most
    /// this many steps (a step out of time order, or a fault), instead of every
    /// schedule: reaches deep bugs that need few odd turns.
    pub deviations: Option<u32>,
}

impl ExploreSpec {
    /// The fault budget.
    pub fn budget(&self) -> Budget {
        Budget {
            drops: self.drops,
            duplicates: self.duplicates,
            crashes: self.crashes,
            restarts: self.restarts,
            timers: self.timers,
        }
    }
}

/// How one search differs from the file.
pub struct ExploreOptions {
    /// The bounds (the file's, with the command line's on top).
    pub spec: ExploreSpec,
    /// How to search: [`Strategy::Deviations`] exactly when `spec.deviations` is given.
    pub strategy: Strategy,
    /// Turn on these bug switches too.
    pub bugs: Vec<String>,
    /// Hears of progress; `false` stops the search. (`Sync`: the search shares its
    /// judge, which holds this, with the threads that judge histories.)
    pub keep_going: Box<dyn FnMut(&Progress) -> bool + Sync>,
    /// Threads for a breadth-first search (`None`: one per core). The search and its
    /// result are the same with any number.
    pub jobs: Option<usize>,
}

/// What a search of a scenario found.
pub struct Explored {
    /// The search's own account.
    pub report: Report,
    /// The checks that judged every state or history.
    pub checked: Vec<String>,
    /// The scenario's checks a search cannot apply (they judge a finished run).
    pub skipped: Vec<String>,
    /// For a violation: the scenario that replays it (fixed schedule, bug switches on,
    /// the violation expected).
    pub reproducer: Option<Scenario>,
}

/// The checks that judge the history so far, which a search applies at every state.
fn history_check(c: &CheckSpec) -> bool {
    matches!(
        c,
        CheckSpec::Linearizable | CheckSpec::Validity | CheckSpec::Decisions
    )
}

/// Applies the scenario's history checks to the run so far.
struct HistoryJudge<'a> {
    scenario: &'a Scenario,
    keep_going: Box<dyn FnMut(&Progress) -> bool + Sync>,
}

impl Judge for HistoryJudge<'_> {
    fn judge(&self, so_far: &RunResult) -> Judgement {
        let rules = crate::family::rules(self.scenario.protocol.family());
        let mut undecided = None;
        for c in self.scenario.checks.iter().filter(|c| history_check(c)) {
            let Some(result) = rules.check(c, self.scenario, so_far) else {
                continue;
            };
            match result.status {
                Status::Fail => {
                    let name = result
                        .violation
                        .unwrap_or_else(|| c.result_name().to_string());
                    return Judgement::Violated(name, result.detail);
                }
                // The other checks still run: one of them may find a violation.
                Status::Unknown => {
                    undecided.get_or_insert(result.detail);
                }
                Status::Pass | Status::Vacuous => {}
            }
        }
        undecided.map_or(Judgement::Holds, Judgement::Undecided)
    }
    fn keep_going(&mut self, progress: &Progress) -> bool {
        (self.keep_going)(progress)
    }
}

/// Searches `s` with protocol `P` and its settings `cfg`.
pub(crate) fn explore_typed<P: ProtocolSpec>(
    s: &Scenario,
    cfg: P::Config,
    options: ExploreOptions,
) -> Result<Explored, RunError> {
    let spec = &options.spec;
    let (sim, _seed, bugs) = crate::runner::build_typed::<P>(
        s,
        cfg,
        RunOptions {
            bugs: options.bugs.clone(),
            ..Default::default()
        },
    )?;
    let mut checked = Vec::new();
    if s.checks.contains(&CheckSpec::Invariants) {
        checked.extend(s.protocol.invariant_names());
    }
    checked.extend(
        s.checks
            .iter()
            .filter(|c| history_check(c))
            .map(|c| c.result_name().to_string()),
    );
    let skipped = s
        .checks
        .iter()
        .filter(|c| !history_check(c) && **c != CheckSpec::Invariants)
        .map(|c| c.result_name().to_string())
        .collect();
    let mut judge = HistoryJudge {
        scenario: s,
        keep_going: options.keep_going,
    };
    if (options.strategy == Strategy::Deviations) != spec.deviations.is_some() {
        return Err(RunError::Bug(
            "explore: a bound on departures from time order goes with the departure-bounded search, and only with it".into(),
        ));
    }
    if spec.restarts > 0 && s.model.nodes == crate::format::NodeModel::CrashStop {
        return Err(RunError::Bug(
            "explore: restarts are impossible under the CrashStop node model".into(),
        ));
    }
    if (spec.drops > 0 || spec.duplicates > 0)
        && s.model.network == crate::format::NetModel::Reliable
    {
        return Err(RunError::Bug(
            "explore: a Reliable network never loses or duplicates a message; use model network FairLoss".into(),
        ));
    }
    let limits = Limits {
        max_states: spec.max_states,
        max_depth: spec.max_depth,
        message_bound: match s.model.timing {
            crate::format::Timing::Synchronous(bound) => Some(bound),
            _ => None,
        },
        timers_on_time: spec.on_time,
        max_deviations: spec.deviations.unwrap_or(0),
        threads: options.jobs,
    };
    let report =
        sim_core::explore::explore(sim, spec.budget(), options.strategy, limits, &mut judge)
            .map_err(|e| RunError::Bug(format!("cannot explore {}: {e}", s.name)))?;
    let reproducer = report.found.as_ref().map(|found| {
        let mut r = s.clone();
        r.bugs = bugs
            .iter()
            .map(|b| crate::checked::BugName(b.clone()))
            .collect();
        r.schedule = Some(found.schedule.clone());
        r.expect = Expect::Violation(found.check.clone());
        r.fingerprint = None;
        r.description = format!(
            "Found by `faultline explore` in {} steps: {} ({}). {}",
            found.schedule.len(),
            found.check,
            found.detail,
            s.description
        );
        r
    });
    Ok(Explored {
        report,
        checked,
        skipped,
        reproducer,
    })
}
