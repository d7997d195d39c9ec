//! `faultline fuzz FILE...`: many seeds over all cores, failing seeds shrunk and saved.

#![allow(clippy::disallowed_types)] // progress and time limits use the wall clock, outside any run

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use super::exit;
use crate::format::Scenario;
use crate::fuzz::{Campaign, Failure, SeedResult, concretize, run_campaign};

/// Arguments of `faultline fuzz`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  faultline fuzz scenarios/echo/ping-storm.ron --seeds 1000
  faultline fuzz scenarios/raft/nemesis.ron --seeds 10000 --jobs 8 --swarm --out failures
  faultline fuzz FILE --seeds 100000 --shard 3/16      # one of 16 machines
  faultline fuzz FILE --bug vote_without_log_check --seeds 1000

Verdicts: each seed is judged against the scenario's `expect`. A seed that meets it passes
(`pass`, or `expected` when the scenario expects a violation and the seed shows it). A seed
fails with a violation the scenario does not expect (`violation`), or when the violation it
expects does not show (`missed`). A seed whose checks found no violation but left one
undecided (the linearizability check's step budget ran out, say) is `undecided`, never a
pass.

Results: OUT/results.jsonl, one JSON object per seed (seed, verdict, fingerprint, events,
wall time); `faultline report` reads several shards' files together. Every unexpected
violation is written to OUT as a replayable scenario (`faultline replay OUT/<name>.ron`)
with its trace; the first --shrink of them (in file and seed order) are shrunk first, the
rest written as they ran. A missed expectation has nothing to reproduce beyond its seed
(`faultline fuzz FILE --from N --seeds 1` with the same --bug and --swarm), so it is
listed, not written. The first five undecided seeds are written as they ran to
OUT/undecided/ (`faultline run` one to see which check could not decide, and why). A seed
whose run could not start (`error`) counts as failed too; a campaign with errors and no
other failure exits 2. Ctrl-C stops starting new seeds and still writes everything found
so far.

Exit status: 0 every seed passed, 1 at least one seed failed, 2 bad input, 3 no seed
failed but some stayed undecided (0 with --allow-undecided).")]
pub struct FuzzArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Number of seeds per scenario.
    #[arg(long, default_value_t = 1000)]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Parallel jobs (default: every core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard I of N (seeds with seed % N == I), e.g. 0/4.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Swarm testing: draw the enabled fault kinds and operation mix per seed.
    #[arg(long)]
    pub swarm: bool,
    /// Turn on a bug switch (repeatable).
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Where results and reproducers go.
    #[arg(long, default_value = "fuzz-out")]
    pub out: PathBuf,
    /// Shrink this many failing seeds (the first in file and seed order); the rest are
    /// saved as they ran.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub shrink: usize,
    /// Save failing seeds as they ran, shrinking none (the same as --shrink 0).
    #[arg(long, conflicts_with = "shrink")]
    pub no_shrink: bool,
    /// Stop starting new seeds once this many have failed (seeds under way finish).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_failures: Option<u64>,
    /// Exit 0 when no seed failed even if some stayed undecided.
    #[arg(long)]
    pub allow_undecided: bool,
    /// Also write the results as JUnit XML here (a case per failing or undecided seed and
    /// one per scenario file), for CI dashboards.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Stop starting new seeds after this long (e.g. 90s, 10m).
    #[arg(long, value_parser = parse_limit)]
    pub time_limit: Option<Duration>,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/4"))?;
    let i: u64 = i
        .trim()
        .parse()
        .map_err(|_| format!("{i:?} is not a number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: expected 0 <= I < N"));
    }
    Ok((i, n))
}

pub(crate) fn parse_limit(s: &str) -> Result<Duration, String> {
    let d: sim_core::SimDuration = s
        .parse()
        .map_err(|e: sim_core::time::ParseDurationError| e.to_string())?;
    Ok(Duration::from_nanos(d.0))
}

/// Runs `faultline fuzz`.
pub fn run(args: &FuzzArgs) -> u8 {
    let mut scenarios = Vec::new();
    for f in &args.files {
        match crate::load::load(f) {
            Ok(s) => scenarios.push((f.display().to_string(), s)),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        }
    }
    // A bad bug name is bad input, not a failure of every seed.
    for (_, s) in &scenarios {
        let info = s.protocol.info();
        let names: Vec<&'static str> = info.bugs.iter().map(|b| b.name).collect();
        for b in &args.bugs {
            if let Err(e) = crate::checked::check_bug(info.name, &names, b) {
                eprintln!("error: --bug {b}: {e}");
                return exit::BAD_INPUT;
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: cannot create {}: {e}", args.out.display());
        return exit::BAD_INPUT;
    }
    // A JUnit path that cannot be written fails now, not after the campaign; until the
    // campaign ends it says the campaign did not finish, so a killed run reads as one.
    if let Some(path) = &args.junit
        && let Err(e) = super::write_creating_folder(path, UNFINISHED_JUNIT)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return exit::BAD_INPUT;
    }
    let results_path = args.out.join("results.jsonl");
    let results_file = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&results_path)
    {
        Ok(f) => Mutex::new(std::io::BufWriter::new(f)),
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", results_path.display());
            return exit::BAD_INPUT;
        }
    };
    let campaign = Campaign {
        from: args.from,
        seeds: args.seeds,
        shard: args.shard,
        swarm: args.swarm,
        bugs: args.bugs.clone(),
    };
    let total = campaign.seed_list().len() as u64 * scenarios.len() as u64;

    let stop = AtomicBool::new(false);
    install_ctrl_c();
    let started = Instant::now();
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let progress = Progress::new(total);
    let on_result = |r: &SeedResult| {
        if let Ok(line) = serde_json::to_string(r)
            && let Ok(mut w) = results_file.lock()
        {
            let _ = writeln!(w, "{line}");
        }
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if r.failed() {
            failed.fetch_add(1, Ordering::Relaxed);
        }
        let failed = failed.load(Ordering::Relaxed);
        progress.update(n, failed, started);
        if INTERRUPTED.load(Ordering::Relaxed)
            || args.time_limit.is_some_and(|l| started.elapsed() >= l)
            || args.max_failures.is_some_and(|m| failed >= m)
        {
            stop.store(true, Ordering::Relaxed);
        }
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start worker threads: {e}");
            return exit::BAD_INPUT;
        }
    };
    let (results, failures) =
        pool.install(|| run_campaign(&scenarios, &campaign, &stop, &on_result));
    progress.finish();
    if let Ok(mut w) = results_file.lock() {
        let _ = w.flush();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let interrupted = stop.load(Ordering::Relaxed) && (results.len() as u64) < total;
    let count = |verdict: &str| results.iter().filter(|r| r.verdict == verdict).count();
    let errors = count("error");
    let expected = count("expected");
    let missed: Vec<&SeedResult> = results.iter().filter(|r| r.verdict == "missed").collect();
    // A violation often leaves later checks undecided; only seeds without one count.
    let undecided: Vec<&SeedResult> = results
        .iter()
        .filter(|r| r.verdict == "undecided")
        .collect();
    println!(
        "fuzz         {} seeds in {:.1}s ({:.0} seeds/s){}; {} passed{}, {} unexpected violation(s){}, {} error(s), {} undecided",
        results.len(),
        elapsed,
        results.len() as f64 / elapsed.max(1e-9),
        if interrupted { ", stopped early" } else { "" },
        count("pass") + expected,
        if expected > 0 {
            format!(" ({expected} showing the expected violation)")
        } else {
            String::new()
        },
        failures.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!(", {} missed the expected violation", missed.len())
        },
        errors,
        undecided.len()
    );
    let mut undecided_sorted = undecided.clone();
    undecided_sorted.sort_by_key(|r| (&r.file, r.seed));
    if let Some(first) = undecided_sorted.first() {
        let rerun = undecided_rerun(&first.file, first.seed, &args.bugs, args.swarm);
        println!(
            "undecided    {} seed(s) found no violation but left a check undecided, the first {} seed {} ({}): {rerun}; see `undecided` in the results",
            undecided.len(),
            first.file,
            first.seed,
            first.undecided.join(", ")
        );
    }
    // The first few are written out as they ran (swarm choices and nemesis faults fixed),
    // so that `faultline run` shows why without a campaign around it.
    for r in undecided_sorted.iter().take(SAVED_UNDECIDED) {
        let Some(f) = scenarios.iter().position(|(file, _)| *file == r.file) else {
            continue;
        };
        let concrete = concretize(&scenarios[f].1, r.seed, args.swarm, &args.bugs);
        match save_undecided(&args.out, &r.file, &concrete, r.seed) {
            Ok(path) => println!(
                "undecided    {} seed {} -> {} (`faultline run` it to see why)",
                r.file,
                r.seed,
                path.display()
            ),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    let mut missed_sorted = missed.clone();
    missed_sorted.sort_by_key(|r| (&r.file, r.seed));
    // The seed alone reruns it: the same campaign settings, one seed.
    let settings: String = args
        .bugs
        .iter()
        .map(|b| format!(" --bug {b}"))
        .chain(args.swarm.then(|| " --swarm".to_string()))
        .collect();
    for r in missed_sorted.iter().take(5) {
        println!(
            "missed       {} seed {}: expected {} to be violated, and it held (`faultline fuzz {} --from {} --seeds 1{settings}`)",
            r.file,
            r.seed,
            r.violation.as_deref().unwrap_or("a violation"),
            r.file,
            r.seed
        );
    }
    if missed.len() > 5 {
        println!(
            "missed       … and {} more: see verdict \"missed\" in the results",
            missed.len() - 5
        );
    }
    println!("results      {}", results_path.display());
    for r in results.iter().filter(|r| r.verdict == "error") {
        println!(
            "error        {} seed {}: {}",
            r.file,
            r.seed,
            r.violation.as_deref().unwrap_or("")
        );
    }
    // Every unexpected violation is saved; shrinking costs up to SHRINK_BUDGET runs each,
    // so only the first few are shrunk.
    let shrink_first = if args.no_shrink { 0 } else { args.shrink };
    let mut sorted = failures;
    sorted.sort_by_key(|f| (f.file, f.seed));
    for (i, f) in sorted.iter().enumerate() {
        let shrink_it = !INTERRUPTED.load(Ordering::Relaxed) && i < shrink_first;
        save_failure(&args.out, &scenarios[f.file].0, f, shrink_it);
    }
    if let Some(path) = &args.junit {
        let undecided = if args.allow_undecided {
            reports::junit::Undecided::Skipped
        } else {
            reports::junit::Undecided::Error
        };
        match super::write_creating_folder(path, &reports::junit::junit(&results, undecided)) {
            Ok(()) => println!("junit        {}", path.display()),
            Err(e) => eprintln!("error: cannot write {}: {e}", path.display()),
        }
    }
    if !sorted.is_empty() || !missed.is_empty() {
        exit::VIOLATION
    } else if errors > 0 {
        exit::BAD_INPUT
    } else if !undecided.is_empty() && !args.allow_undecided {
        exit::UNKNOWN
    } else {
        exit::OK
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn install_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C: the user really wants out.
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted: finishing the seeds under way and saving what was found (Ctrl-C again to quit now)"
        );
    });
}

/// The command that shows why a seed stayed undecided. `run` draws no swarm choices, so
/// in a swarm campaign only `fuzz` reruns the seed as it ran.
fn undecided_rerun(file: &str, seed: u64, bugs: &[String], swarm: bool) -> String {
    let bugs: String = bugs.iter().map(|b| format!(" --bug {b}")).collect();
    if swarm {
        format!("`faultline fuzz {file} --from {seed} --seeds 1{bugs} --swarm` reruns it")
    } else {
        format!("`faultline run {file} --seed {seed}{bugs}` says why")
    }
}

/// How many undecided seeds a campaign writes out as scenario files.
const SAVED_UNDECIDED: usize = 5;

/// Writes an undecided seed as it ran, into `out/undecided/`, expecting what its file
/// expects (so that running it is undecided again, and says why).
fn save_undecided(out: &Path, file: &str, s: &Scenario, seed: u64) -> Result<PathBuf, String> {
    let mut scenario = s.clone();
    scenario.description = format!("seed {seed} of {file}, undecided in `faultline fuzz`");
    let sizes = crate::shrink::sizes(&scenario);
    let rep = crate::fuzz::Reproducer {
        scenario,
        seed,
        before: sizes,
        after: sizes,
        shrink_runs: None,
    };
    rep.save(&out.join("undecided")).map(|saved| saved.path)
}

/// Shrinks (optionally) and writes one failure as a replayable scenario with its trace,
/// and says where.
fn save_failure(out: &Path, file: &str, f: &Failure, shrink_it: bool) {
    let rep = f.reproducer(file, shrink_it.then_some(SHRINK_BUDGET));
    match rep.save(out) {
        Ok(saved) => {
            if let Some(e) = &saved.rerun_error {
                eprintln!("warning: rerunning seed {} failed: {e}", f.seed);
            }
            println!(
                "violation    {} seed {}: {} -> {}{}",
                file,
                f.seed,
                f.violation,
                saved.path.display(),
                match rep.shrink_runs {
                    Some(runs) => format!(
                        " (shrunk in {runs} runs: faults {} -> {}, ops {} -> {}, duration {} -> {})",
                        rep.before.faults,
                        rep.after.faults,
                        rep.before.ops,
                        rep.after.ops,
                        sim_core::SimDuration(rep.before.duration_ns),
                        sim_core::SimDuration(rep.after.duration_ns)
                    ),
                    None => String::new(),
                }
            )
        }
        Err(e) => eprintln!("error: {e}"),
    }
}

/// The JUnit file while a campaign runs: one erring case, replaced at the end.
const UNFINISHED_JUNIT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"faultline fuzz\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n  <testsuite name=\"faultline fuzz\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <testcase classname=\"faultline.fuzz\" name=\"campaign\"><error message=\"the campaign did not finish\" type=\"unfinished\"/></testcase>\n  </testsuite>\n</testsuites>\n";

/// Runs at most this many candidates to shrink one failure.
const SHRINK_BUDGET: usize = 200;

/// A progress bar on a terminal; a plain line every few seconds otherwise (CI logs).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    last_line: Mutex<Option<Instant>>,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds  {per_sec}  eta {eta}  {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            last_line: Mutex::new(None),
        }
    }

    fn update(&self, done: u64, failed: u64, started: Instant) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("{failed} failed"));
            return;
        }
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if due || done == self.total {
            *last = Some(Instant::now());
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "progress     {done}/{} seeds, {rate:.0} seeds/s, {failed} failed",
                self.total
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::undecided_rerun;

    #[test]
    fn an_undecided_swarm_seed_is_rerun_by_fuzz_not_run() {
        let bugs = vec!["stale_lease_read".to_string()];
        assert_eq!(
            undecided_rerun("a.ron", 7, &bugs, false),
            "`faultline run a.ron --seed 7 --bug stale_lease_read` says why"
        );
        assert_eq!(
            undecided_rerun("a.ron", 7, &bugs, true),
            "`faultline fuzz a.ron --from 7 --seeds 1 --bug stale_lease_read --swarm` reruns it"
        );
    }
}
