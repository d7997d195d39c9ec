//! Fuzzing: many seeds of one or more scenarios, spread over cores, each failing seed kept
//! as a concrete, replayable scenario.
//!
//! Each seed's run is single-threaded and depends on nothing but the scenario and the
//! seed, so results do not depend on `--jobs` or `--shard`.

#![allow(clippy::disallowed_types)] // wall-clock time per seed, outside any run

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::Rng;
use rayon::prelude::*;
use sim_core::rng::{RunSeed, Stream};

use crate::format::{Expect, NemesisKind, Scenario};
use crate::runner::{self, RunOptions, Status, Verdict};
use crate::shrink::{self, Sizes};

/// One seed's result: one line of the results file. It is the type `reports` reads, so
/// the writer and the reader cannot drift apart.
pub use reports::FuzzLine as SeedResult;

/// A failing seed, as the concrete scenario that reproduces it.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Index of the scenario file in the campaign.
    pub file: usize,
    /// The seed.
    pub seed: u64,
    /// The failed check.
    pub violation: String,
    /// The scenario with this seed, swarm choices and nemesis faults written out.
    pub scenario: Scenario,
}

/// What a campaign runs.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// First seed.
    pub from: u64,
    /// Number of seeds (before sharding).
    pub seeds: u64,
    /// `(i, n)`: run only the seeds with `seed % n == i`.
    pub shard: Option<(u64, u64)>,
    /// Draw the fault kinds and operation mix per seed.
    pub swarm: bool,
    /// Bug switches to turn on in every scenario.
    pub bugs: Vec<String>,
}

impl Campaign {
    /// Seeds `seeds` of a scenario as it is written: no shard, no swarm, no extra bugs.
    pub fn seeds(seeds: std::ops::Range<u64>) -> Self {
        Campaign {
            from: seeds.start,
            seeds: seeds.end.saturating_sub(seeds.start),
            shard: None,
            swarm: false,
            bugs: Vec::new(),
        }
    }

    /// Turns bug switch `name` on in every seed.
    pub fn with_bug(mut self, name: &str) -> Self {
        self.bugs.push(name.to_string());
        self
    }

    /// Runs this campaign on one scenario (`file` names it in results) on the current
    /// rayon pool, to the end: every seed's result, and the failing seeds in seed order.
    /// The library route for `cargo test`.
    pub fn run(&self, file: &str, scenario: &Scenario) -> (Vec<SeedResult>, Vec<Failure>) {
        let stop = AtomicBool::new(false);
        let (results, mut failures) = run_campaign(
            &[(file.to_string(), scenario.clone())],
            self,
            &stop,
            &|_| {},
        );
        failures.sort_by_key(|f| f.seed);
        (results, failures)
    }

    /// The seeds this campaign (and shard) runs.
    pub fn seed_list(&self) -> Vec<u64> {
        (self.from..self.from.saturating_add(self.seeds))
            .filter(|s| self.shard.is_none_or(|(i, n)| s % n == i))
            .collect()
    }
}

/// The scenario that seed `seed` of `base` runs: the seed set, swarm choices applied,
/// bugs added, and the nemesis's faults and Byzantine nodes written out.
pub fn concretize(base: &Scenario, seed: u64, swarm: bool, bugs: &[String]) -> Scenario {
    let mut s = base.clone();
    s.seed = seed;
    for b in bugs {
        if !s.bugs.iter().any(|x| x.0 == *b) {
            s.bugs.push(crate::checked::BugName(b.clone()));
        }
    }
    if swarm {
        apply_swarm(&mut s, seed);
    }
    s.faults = runner::faults_for(&s, seed);
    s.byzantine = crate::byzantine::byzantine_for(&s, seed);
    s.nemesis = None;
    if let Some(t) = &mut s.twins {
        t.rounds = 0; // its partitions are in the faults now
    }
    s
}

/// Swarm testing: each seed enables a random subset of fault kinds and a random
/// operation mix, so some runs hammer one thing hard instead of everything a little.
fn apply_swarm(s: &mut Scenario, seed: u64) {
    let mut rng = RunSeed(seed).stream(Stream::Named("swarm"));
    if let Some(n) = &mut s.nemesis {
        let pool: Vec<NemesisKind> = n.kinds.clone();
        let mut kept: Vec<NemesisKind> = pool
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.5))
            .collect();
        if kept.is_empty() && !pool.is_empty() {
            kept.push(pool[rng.random_range(0..pool.len())]);
        }
        n.kinds = kept;
    }
    if let Some(w) = s.workload.kind_mut() {
        w.swarm(&mut rng);
    }
}

/// Runs one concrete scenario: its result line, and the violation to keep as a
/// reproducer (one the scenario does not expect).
pub fn run_one(file: &str, s: &Scenario) -> (SeedResult, Option<String>) {
    let start = Instant::now();
    let run = runner::run(s, RunOptions::default());
    let wall_ms = start.elapsed().as_secs_f64() * 1e3;
    match run {
        Ok(r) => {
            let (verdict, shown) = seed_verdict(&s.expect, &r.summary);
            // Only a violation the scenario does not expect is kept as a reproducer.
            let failure = (verdict == "violation").then(|| shown.clone()).flatten();
            let res = SeedResult {
                file: file.to_string(),
                scenario: s.name.clone(),
                seed: s.seed,
                verdict: verdict.into(),
                violation: shown,
                fingerprint: r.summary.fingerprint,
                events: r.summary.events,
                end_reason: r.summary.end_reason,
                wall_ms,
                undecided: r
                    .summary
                    .checks
                    .iter()
                    .filter(|c| matches!(c.status, Status::Unknown | Status::Vacuous))
                    .map(|c| c.check.clone())
                    .collect(),
            };
            (res, failure)
        }
        Err(e) => (
            SeedResult {
                file: file.to_string(),
                scenario: s.name.clone(),
                seed: s.seed,
                verdict: "error".into(),
                violation: Some(e.to_string()),
                fingerprint: String::new(),
                events: 0,
                end_reason: String::new(),
                wall_ms,
                undecided: Vec::new(),
            },
            None,
        ),
    }
}

/// A seed's verdict against what its scenario expects, and the violation to name with
/// it: `pass`, `expected` (the expected violation showed), `violation` (an unexpected
/// one), `missed` (the expected violation did not show) or `undecided`.
fn seed_verdict(expect: &Expect, summary: &runner::Summary) -> (&'static str, Option<String>) {
    match (&summary.verdict, expect) {
        (Verdict::Violation(_), Expect::Violation(want)) if summary.as_expected => {
            ("expected", Some(want.clone()))
        }
        (Verdict::Violation(v), _) => ("violation", Some(v.clone())),
        (Verdict::Undecided(_), _) => ("undecided", None),
        (Verdict::Pass, Expect::Violation(want)) => ("missed", Some(want.clone())),
        (Verdict::Pass, Expect::Pass) => ("pass", None),
    }
}

/// Runs a campaign over `scenarios` (file name, scenario) on the current rayon pool.
/// `on_result` sees every result as it arrives (progress, results file); `stop` ends the
/// campaign early (seeds not started are skipped; those running finish).
pub fn run_campaign(
    scenarios: &[(String, Scenario)],
    campaign: &Campaign,
    stop: &AtomicBool,
    on_result: &(dyn Fn(&SeedResult) + Sync),
) -> (Vec<SeedResult>, Vec<Failure>) {
    let seeds = campaign.seed_list();
    let jobs: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|f| seeds.iter().map(move |s| (f, *s)))
        .collect();
    let outcomes: Vec<(SeedResult, Option<Failure>)> = jobs
        .par_iter()
        .filter_map(|&(f, seed)| {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let (file, base) = &scenarios[f];
            let s = concretize(base, seed, campaign.swarm, &campaign.bugs);
            let (res, violation) = run_one(file, &s);
            on_result(&res);
            let failure = violation.map(|violation| Failure {
                file: f,
                seed,
                violation,
                scenario: s,
            });
            Some((res, failure))
        })
        .collect();
    let mut results = Vec::with_capacity(outcomes.len());
    let mut failures = Vec::new();
    for (r, f) in outcomes {
        results.push(r);
        failures.extend(f);
    }
    (results, failures)
}

/// A failure made ready to save: shrunk if asked, expecting its violation, described.
#[derive(Clone, Debug)]
pub struct Reproducer {
    /// The scenario to write.
    pub scenario: Scenario,
    /// The seed that failed.
    pub seed: u64,
    /// Sizes before shrinking.
    pub before: Sizes,
    /// Sizes after shrinking (the same if not shrunk).
    pub after: Sizes,
    /// Runs spent shrinking, if it was shrunk.
    pub shrink_runs: Option<usize>,
}

/// Where a reproducer was written.
#[derive(Clone, Debug)]
pub struct Saved {
    /// The scenario file (`faultline replay` it).
    pub path: PathBuf,
    /// Its trace, as JSON lines.
    pub trace: PathBuf,
    /// Why the run that records the trace and fingerprint failed, if it did (the file is
    /// written without a fingerprint then).
    pub rerun_error: Option<String>,
}

impl Failure {
    /// The reproducer of this failure of campaign file `file`: shrunk within
    /// `shrink_budget` runs (none: as it is), expecting the violation it showed.
    pub fn reproducer(&self, file: &str, shrink_budget: Option<usize>) -> Reproducer {
        let before = shrink::sizes(&self.scenario);
        let (mut scenario, shrink_runs) = match shrink_budget {
            Some(budget) => {
                let (s, runs) = shrink::shrink(&self.scenario, &self.violation, budget);
                (s, Some(runs))
            }
            None => (self.scenario.clone(), None),
        };
        scenario.expect = Expect::Violation(self.violation.clone());
        scenario.description = format!(
            "reproducer of seed {} of {file} ({} violated){}",
            self.seed,
            self.violation,
            if shrink_runs.is_some() {
                ", shrunk"
            } else {
                ""
            }
        );
        Reproducer {
            after: shrink::sizes(&scenario),
            scenario,
            seed: self.seed,
            before,
            shrink_runs,
        }
    }
}

impl Reproducer {
    /// Writes `out/<name>-seed<N>.ron` with the fingerprint it produces, and its trace
    /// beside it (`out` is made if need be).
    pub fn save(&self, out: &Path) -> Result<Saved, String> {
        let stem = format!(
            "{}-seed{}",
            self.scenario.name.replace(['/', ' '], "-"),
            self.seed
        );
        save_scenario(self.scenario.clone(), out, &stem)
    }
}

/// Writes `out/<stem>.ron` with the fingerprint it produces, and its trace beside it
/// (`out` is made if need be).
pub fn save_scenario(mut s: Scenario, out: &Path, stem: &str) -> Result<Saved, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let trace = out.join(format!("{stem}.trace.jsonl"));
    let sink: Option<Box<dyn sim_core::trace::TraceSink>> = std::fs::File::create(&trace)
        .ok()
        .map(|w| Box::new(sim_core::trace::JsonLines(std::io::BufWriter::new(w))) as _);
    let rerun = runner::run(
        &s,
        RunOptions {
            trace: sink,
            ..Default::default()
        },
    );
    let rerun_error = match rerun {
        Ok(r) => {
            s.fingerprint = Some(r.summary.fingerprint);
            None
        }
        Err(e) => Some(e.to_string()),
    };
    let path = out.join(format!("{stem}.ron"));
    write_scenario(&path, &s).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Saved {
        path,
        trace,
        rerun_error,
    })
}

/// Writes a scenario as RON that `load` reads back to the same scenario.
pub fn write_scenario(path: &Path, s: &Scenario) -> std::io::Result<()> {
    let body = ron::ser::to_string_pretty(s, ron::ser::PrettyConfig::default())
        .map_err(std::io::Error::other)?;
    let text = format!(
        "// Written by `faultline`. Replay with: faultline replay {}\n{body}\n",
        path.display()
    );
    std::fs::write(path, text)
}
