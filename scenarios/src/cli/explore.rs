//! `faultline explore FILE`: search every schedule of a small scenario, within bounds.

#![allow(clippy::disallowed_types)] // progress and the time limit use the wall clock, outside any run

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use sim_core::explore::{Progress, Stop, Strategy};

use super::exit;
use crate::explore::{ExploreOptions, Explored};

/// Arguments of `faultline explore`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  faultline explore scenarios/raft/explore-figure8.ron --bug commit_prior_term_by_count
  faultline explore FILE --crashes 2 --restarts 2 --max-depth 30 --time-limit 5m
  faultline replay explore-out/NAME-explore.ron

The search starts the scenario's cluster and clients and tries every order in which the
waiting messages, timers and client events can happen (a message may arrive any time
after it was sent; a timer fires at or after its deadline), plus every loss, duplicate,
crash and restart the budget allows. States already seen are not followed again. The
first violation is written as a scenario file with a fixed schedule. With --deviations K
(or a file's `deviations`), it follows the events in the order they fall due and tries
every schedule that departs from that order in at most K steps; --bfs or --dfs overrides it.

Exit status: 0 no violation (the summary says whether the space was exhausted or a
limit was reached), 1 a violation was found, 2 bad input, 3 some history could not be
decided, or the search had nothing to check.")]
pub struct ExploreArgs {
    /// The scenario: keep it small (a few nodes, a few client operations, a short
    /// duration).
    pub file: PathBuf,
    /// Turn on a bug switch (repeatable).
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Breadth-first, even where the file bounds departures from time order (the
    /// default otherwise).
    #[arg(long, conflicts_with_all = ["dfs", "deviations"])]
    pub bfs: bool,
    /// Depth-first with iterative deepening instead of breadth-first (less memory; the
    /// violation found is still one of the shortest).
    #[arg(long)]
    pub dfs: bool,
    /// With --dfs: one depth-first pass to --max-depth (or unbounded) instead of
    /// deepening one step at a time: the fastest search, but the violation found may
    /// be longer than the shortest.
    #[arg(long, requires = "dfs")]
    pub one_pass: bool,
    /// Follow the events in the order they fall due and try every schedule that departs
    /// from that order in at most K steps (a step out of that order, or a fault, is one
    /// departure), fewest first: reaches bugs deep in a run that need few odd turns.
    #[arg(long, value_name = "K", conflicts_with = "dfs")]
    pub deviations: Option<u32>,
    /// Stop after this many distinct states.
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Look no deeper than this many steps.
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// Stop after this long (e.g. 90s, 10m).
    #[arg(long, value_parser = super::fuzz::parse_limit)]
    pub time_limit: Option<Duration>,
    /// Messages that may be lost (overrides the file's `explore`).
    #[arg(long)]
    pub drops: Option<u32>,
    /// Messages that may be duplicated.
    #[arg(long)]
    pub duplicates: Option<u32>,
    /// Node crashes.
    #[arg(long)]
    pub crashes: Option<u32>,
    /// Restarts of crashed nodes.
    #[arg(long)]
    pub restarts: Option<u32>,
    /// Firings of node timers (elections, heartbeats, retransmissions) in all.
    #[arg(long)]
    pub timers: Option<u32>,
    /// Timers fire at their deadlines, earliest first (nodes are never late); messages
    /// still arrive in any order. Fewer schedules; every one is still a real run.
    #[arg(long)]
    pub on_time: bool,
    /// Where a violation is written.
    #[arg(long, default_value = "explore-out")]
    pub out: PathBuf,
    /// Threads for the breadth-first search (default: every core); the search and its
    /// result are the same with any number.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub jobs: Option<usize>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs `faultline explore`.
pub fn run(args: &ExploreArgs) -> u8 {
    let scenario = match crate::load::load(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let mut spec = scenario.explore.clone().unwrap_or_default();
    let over = |v: Option<u32>, into: &mut u32| {
        if let Some(v) = v {
            *into = v;
        }
    };
    over(args.drops, &mut spec.drops);
    over(args.duplicates, &mut spec.duplicates);
    over(args.crashes, &mut spec.crashes);
    over(args.restarts, &mut spec.restarts);
    spec.timers = args.timers.or(spec.timers);
    spec.on_time |= args.on_time;
    spec.deviations = args.deviations.or(spec.deviations);
    if args.dfs || args.bfs {
        spec.deviations = None;
    }
    spec.max_states = args.max_states.or(spec.max_states);
    spec.max_depth = args.max_depth.or(spec.max_depth);
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping the search and reporting what it found");
    });
    let started = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let progress_bar = bar.clone();
    let limit = args.time_limit;
    let mut last_line = Instant::now();
    let keep_going = move |p: &Progress| {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let line = format!(
            "{} distinct states, depth {}, {:.0} states/s",
            p.distinct,
            p.depth,
            p.distinct as f64 / secs
        );
        match &progress_bar {
            Some(bar) => bar.set_message(line),
            None if last_line.elapsed() >= Duration::from_secs(5) => {
                last_line = Instant::now();
                eprintln!("progress     {line}");
            }
            None => {}
        }
        !INTERRUPTED.load(Ordering::SeqCst) && limit.is_none_or(|l| started.elapsed() < l)
    };
    let options = ExploreOptions {
        spec: spec.clone(),
        strategy: if spec.deviations.is_some() {
            Strategy::Deviations
        } else if args.one_pass {
            Strategy::DepthFirst
        } else if args.dfs {
            Strategy::IterativeDeepening
        } else {
            Strategy::BreadthFirst
        },
        bugs: args.bugs.clone(),
        keep_going: Box::new(keep_going),
        jobs: args.jobs,
    };
    let explored = match crate::registry::explore(&scenario, options) {
        Ok(e) => e,
        Err(e) => {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let elapsed = started.elapsed();
    print_summary(args, &scenario, &spec, &explored, elapsed);
    let Some(repro) = &explored.reproducer else {
        let r = &explored.report;
        if explored.checked.is_empty() || r.undecided.0 > 0 {
            return exit::UNKNOWN;
        }
        return exit::OK;
    };
    let stem = format!("{}-explore", scenario.name.replace(['/', ' '], "-"));
    let saved = crate::fuzz::save_scenario(repro.clone(), &args.out, &stem);
    match saved {
        Ok(saved) => {
            println!("reproducer   {}", saved.path.display());
            println!("trace        {}", saved.trace.display());
            if let Some(e) = saved.rerun_error {
                println!("rerun        failed: {e}");
            }
            println!("replay with  faultline replay {}", saved.path.display());
        }
        Err(e) => eprintln!("error: {e}"),
    }
    exit::VIOLATION
}

fn print_summary(
    args: &ExploreArgs,
    scenario: &crate::format::Scenario,
    spec: &crate::explore::ExploreSpec,
    e: &Explored,
    elapsed: Duration,
) {
    let r = &e.report;
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!("scenario     {} ({})", scenario.name, args.file.display());
    let fifo = scenario.network.ordering == sim_core::network::Ordering::Fifo;
    println!(
        "schedules    within the first {} of virtual time; messages {}, {}",
        scenario.duration.0,
        if fifo {
            "in sending order on each link"
        } else {
            "in any order"
        },
        match scenario.model.timing {
            crate::format::Timing::Synchronous(b) => format!("each within {b} of its sending"),
            _ => "each after any delay".to_string(),
        }
    );
    println!(
        "search       {}, timers {}{}; faults allowed: {} drops, {} duplicates, {} crashes, {} restarts",
        if let Some(k) = spec.deviations {
            format!(
                "the events in the order they fall due, and every departure from it in up to {k} steps, fewest first"
            )
        } else if args.one_pass {
            "depth-first, one pass".into()
        } else if args.dfs {
            "depth-first, iterative deepening".into()
        } else {
            "breadth-first".into()
        },
        if spec.on_time {
            "on time"
        } else {
            "at any moment after their deadline"
        },
        spec.timers
            .map(|t| format!(", at most {t} firings"))
            .unwrap_or_default(),
        spec.drops,
        spec.duplicates,
        spec.crashes,
        spec.restarts
    );
    println!(
        "states       {} distinct of {} tried, depth {}, {:.2} s ({:.0} distinct states/s)",
        r.distinct,
        r.transitions,
        r.depth,
        secs,
        r.distinct as f64 / secs
    );
    println!(
        "checked      {} after every step; {} distinct histories judged",
        if e.checked.is_empty() {
            "nothing".to_string()
        } else {
            e.checked.join(", ")
        },
        r.histories
    );
    if !e.skipped.is_empty() {
        println!(
            "not checked  {} (they judge a finished run)",
            e.skipped.join(", ")
        );
    }
    if r.undecided.0 > 0 {
        println!(
            "undecided    {} histories: {}",
            r.undecided.0,
            r.undecided.1.as_deref().unwrap_or("")
        );
    }
    let verdict = match (r.stop, &r.found) {
        (_, Some(f)) => format!(
            "VIOLATION of {} after {} steps: {}",
            f.check,
            f.schedule.len(),
            f.detail
        ),
        (_, None) if e.checked.is_empty() => {
            "NOTHING CHECKED: the scenario has no invariants or history checks".into()
        }
        (Stop::Exhausted, None) if r.deviations_capped => format!(
            "no violation in any schedule that departs from time order in at most {} steps{}",
            spec.deviations.unwrap_or(0),
            if r.depth_capped {
                format!(" and {} steps deep", spec.max_depth.unwrap_or(r.depth))
            } else {
                String::new()
            }
        ),
        (Stop::Exhausted, None) if r.depth_capped => format!(
            "no violation; every schedule up to depth {} explored (deeper ones were not)",
            spec.max_depth.unwrap_or(r.depth)
        ),
        (Stop::Exhausted, None) => "no violation; the space was exhausted".into(),
        (Stop::MaxStates, None) => format!(
            "no violation in the first {} states (the state limit; the space was not exhausted)",
            r.distinct
        ),
        (Stop::Interrupted, None) => {
            "no violation before the search was stopped (time limit or Ctrl-C; not exhausted)"
                .into()
        }
        (Stop::Violation, None) => "a violation, reported without its schedule".into(),
    };
    println!("verdict      {verdict}");
}
