//! `explore` on the small scenarios shipped for it: the bug switches it must find, each
//! violation written as a scenario whose fixed schedule replays it, and the same
//! scenarios without the switch searched to their bound (or to exhaustion) clean.

use std::path::PathBuf;

mod common;

use scenarios::explore::{ExploreOptions, ExploreSpec, Explored};
use scenarios::format::{Expect, Scenario};
use scenarios::runner::{RunOptions, run};
use sim_core::EndReason;
use sim_core::explore::{Stop, Strategy};
use sim_core::schedule::Step;

fn load(name: &str) -> Scenario {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    scenarios::load::load(&file).unwrap_or_else(|e| panic!("{e}"))
}

fn explore(s: &Scenario, bugs: &[&str], strategy: Strategy, spec: ExploreSpec) -> Explored {
    scenarios::registry::explore(
        s,
        ExploreOptions {
            spec,
            strategy,
            bugs: bugs
                .iter()
                .filter(|b| !b.is_empty())
                .map(|b| b.to_string())
                .collect(),
            keep_going: Box::new(|_| true),
            jobs: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The file's own bounds.
fn spec(s: &Scenario) -> ExploreSpec {
    s.explore.clone().unwrap_or_default()
}

/// Finds a violation of `check` with `bug` on, and checks that the reproducer replays
/// it: the run of the written scenario ends in the same violation, twice with the same
/// fingerprint, and it survives a round trip through RON.
fn finds(file: &str, bug: &str, check: &str, spec: ExploreSpec) -> usize {
    finds_by(file, bug, check, spec, Strategy::BreadthFirst)
}

/// [`finds`], by the given search.
fn finds_by(file: &str, bug: &str, check: &str, spec: ExploreSpec, strategy: Strategy) -> usize {
    let s = load(file);
    let e = explore(&s, &[bug], strategy, spec);
    assert_eq!(e.report.stop, Stop::Violation, "{file} with {bug}");
    let found = e.report.found.as_ref().expect("a violation");
    assert_eq!(found.check, check, "{file} with {bug}: {}", found.detail);
    let repro = e.reproducer.expect("a reproducer");
    assert_eq!(repro.expect, Expect::Violation(check.into()));
    assert_eq!(repro.schedule.as_deref(), Some(&found.schedule[..]));
    let text = ron::ser::to_string(&repro).expect("serialises");
    let reread = scenarios::registry::current()
        .parse(&text, "repro.ron")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reread, repro);
    let a = run(&reread, RunOptions::default()).expect("runs");
    let b = run(&reread, RunOptions::default()).expect("runs");
    assert_eq!(a.summary.fingerprint, b.summary.fingerprint);
    assert!(
        a.summary.exit_status() == 0,
        "{file} with {bug}: the reproducer does not replay its violation: {}",
        a.summary.render()
    );
    if check != "atomicity" && check != "linearizability" {
        assert!(
            matches!(&a.result.end, EndReason::InvariantViolated { invariant, .. } if invariant == check),
            "{:?}",
            a.result.end
        );
    }
    found.schedule.len()
}

#[test]
fn paxos_switches_are_found_and_their_schedules_replay() {
    let s = load("paxos/explore.ron");
    let bound = spec(&s);
    assert_eq!(
        finds(
            "paxos/explore.ron",
            "acceptor_forgets_on_restart",
            "acceptor_monotonic",
            bound.clone()
        ),
        7
    );
    assert_eq!(
        finds(
            "paxos/explore.ron",
            "ignore_highest_accepted",
            "safe_proposal",
            bound.clone()
        ),
        9
    );
    assert_eq!(
        finds(
            "paxos/explore.ron",
            "stale_promises_counted",
            "safe_proposal",
            bound
        ),
        10
    );
}

#[test]
fn paxos_without_a_switch_is_clean_to_the_files_bound() {
    let s = load("paxos/explore.ron");
    let bound = spec(&s);
    let depth = bound.max_depth.expect("the file states its bound");
    let e = explore(&s, &[], Strategy::BreadthFirst, bound);
    assert!(e.report.found.is_none(), "{:?}", e.report.found);
    assert_eq!(e.report.stop, Stop::Exhausted);
    assert!(e.report.depth_capped, "the bound is what stopped it");
    assert_eq!(e.report.depth, depth);
    assert!(e.report.distinct > 10_000, "{} states", e.report.distinct);
    assert!(e.report.histories > 0);
}

#[test]
fn iterative_deepening_finds_a_violation_as_short_as_breadth_first() {
    let s = load("paxos/explore.ron");
    let bfs = explore(
        &s,
        &["ignore_highest_accepted"],
        Strategy::BreadthFirst,
        spec(&s),
    );
    let dfs = explore(
        &s,
        &["ignore_highest_accepted"],
        Strategy::IterativeDeepening,
        spec(&s),
    );
    let (b, d) = (
        bfs.report.found.expect("bfs finds it"),
        dfs.report.found.expect("dfs finds it"),
    );
    assert_eq!(b.schedule.len(), d.schedule.len());
    assert_eq!(b.check, d.check);
}

#[test]
fn three_phase_commit_breaks_under_asynchrony_and_holds_under_synchrony() {
    let s = load("3pc/explore-partition.ron");
    let steps = finds("3pc/explore-partition.ron", "", "atomicity", spec(&s));
    assert!(steps > 5, "{steps} steps");
    let s = load("3pc/explore-synchronous.ron");
    let e = explore(&s, &[], Strategy::BreadthFirst, spec(&s));
    assert!(e.report.found.is_none(), "{:?}", e.report.found);
    assert_eq!(e.report.stop, Stop::Exhausted);
    assert!(!e.report.depth_capped, "the whole space, not a bound");
    assert!(e.checked.contains(&"atomicity".to_string()));
}

#[test]
fn a_schedule_that_names_nothing_waiting_says_so() {
    let mut s = load("paxos/explore.ron");
    s.schedule = Some(vec![Step::Deliver {
        from: 0,
        to: 2,
        kind: "NoSuchMessage".into(),
        nth: 0,
    }]);
    let r = run(&s, RunOptions::default()).expect("runs");
    match &r.result.end {
        EndReason::Schedule {
            steps: 0,
            unmatched: Some(step),
        } => assert!(step.contains("NoSuchMessage"), "{step}"),
        other => panic!("{other:?}"),
    }
    assert!(r.summary.render().contains("matched nothing"));
}

#[test]
fn a_state_limit_and_an_interruption_are_not_exhaustion() {
    let s = load("paxos/explore.ron");
    let mut limited = spec(&s);
    limited.max_states = Some(500);
    let e = explore(&s, &[], Strategy::BreadthFirst, limited);
    assert_eq!(e.report.stop, Stop::MaxStates);
    let e = scenarios::registry::explore(
        &s,
        ExploreOptions {
            spec: spec(&s),
            strategy: Strategy::BreadthFirst,
            bugs: Vec::new(),
            keep_going: Box::new(|_| false),
            jobs: None,
        },
    )
    .expect("explores");
    assert_eq!(e.report.stop, Stop::Interrupted);
}

#[test]
fn bounds_the_model_forbids_are_refused() {
    let s = load("3pc/explore-synchronous.ron");
    let mut spec = spec(&s);
    spec.restarts = 1;
    let err = scenarios::registry::explore(
        &s,
        ExploreOptions {
            spec,
            strategy: Strategy::BreadthFirst,
            bugs: Vec::new(),
            keep_going: Box::new(|_| true),
            jobs: None,
        },
    )
    .err()
    .expect("refused");
    assert!(err.to_string().contains("CrashStop"), "{err}");
}

#[test]
fn figure_8_by_a_hand_written_schedule_needs_the_switch() {
    let s = load("raft/figure8-schedule.ron");
    let r = run(&s, RunOptions::default()).expect("runs");
    match &r.result.end {
        EndReason::InvariantViolated { invariant, .. } => assert_eq!(invariant, "durable_commit"),
        other => panic!("{other:?}"),
    }
    // 20 steps after the three starts.
    assert_eq!(r.result.events, 23);
    let mut clean = s.clone();
    clean.bugs.clear();
    let r = run(&clean, RunOptions::default()).expect("runs");
    // Every step still matches: the same run, only the commit by counting is missing.
    assert_eq!(
        r.result.end,
        EndReason::Schedule {
            steps: s.schedule.as_ref().map_or(0, |v| v.len() as u64),
            unmatched: None
        }
    );
    assert_eq!(
        r.summary.verdict,
        scenarios::runner::Verdict::Pass,
        "{}",
        r.summary.render()
    );
}

/// Every built-in protocol can be searched: its nodes fork and hash, and so do its
/// invariants and its workload. A protocol added without `Clone + Hash` does not
/// compile (`ProtocolSpec` asks for both); one whose invariant cannot fork fails here.
#[test]
fn every_protocol_can_be_explored() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut covered = std::collections::BTreeSet::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .collect();
        files.sort();
        for f in files {
            let s = scenarios::load::load(&f).unwrap_or_else(|e| panic!("{e}"));
            // Byzantine nodes and twins are not searched (the search says so).
            if !s.byzantine.is_empty() || s.twins.is_some() || covered.contains(s.protocol.name()) {
                continue;
            }
            let e = explore(
                &s,
                &[],
                Strategy::BreadthFirst,
                ExploreSpec {
                    max_states: Some(200),
                    ..ExploreSpec::default()
                },
            );
            assert!(e.report.distinct > 1, "{}", f.display());
            assert!(!e.checked.is_empty(), "{}: nothing checked", f.display());
            covered.insert(s.protocol.name());
        }
    }
    let all: std::collections::BTreeSet<&str> = scenarios::registry::current()
        .names()
        .iter()
        .copied()
        .collect();
    assert_eq!(covered, all, "a protocol with no scenario to explore");
}

/// The command line end to end: a violation exits 1 and is written as a file that
/// `replay` confirms; a clean search to a bound exits 0 and says it was a bound; bounds
/// the model forbids exit 2.
#[test]
fn the_command_line_writes_a_reproducer_that_replays() {
    let out = common::tempdir();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/paxos/explore.ron");
    let (code, stdout, stderr) = common::faultline(&[
        "explore",
        file,
        "--bug",
        "acceptor_forgets_on_restart",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("VIOLATION of acceptor_monotonic after 7 steps"),
        "{stdout}"
    );
    let repro = out.join("paxos-explore-explore.ron");
    assert!(repro.exists(), "{stdout}");
    let (code, stdout, stderr) = common::faultline(&["replay", repro.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("same fingerprint as recorded"), "{stdout}");
    assert!(
        stdout.contains("reproduced the violation of acceptor_monotonic"),
        "{stdout}"
    );

    let (code, stdout, stderr) = common::faultline(&["explore", file, "--max-depth", "4"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("every schedule up to depth 4 explored"),
        "{stdout}"
    );

    let sync = concat!(env!("CARGO_MANIFEST_DIR"), "/3pc/explore-synchronous.ron");
    let (code, _, stderr) = common::faultline(&["explore", sync, "--restarts", "1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("CrashStop"), "{stderr}");
}

#[test]
fn figure_8_is_found_by_departing_from_time_order_and_absent_without_the_switch() {
    let s = load("raft/explore-figure8.ron");
    let bound = spec(&s);
    assert_eq!(bound.crashes, 2, "the judged bound: a crash budget of 2");
    let steps = finds_by(
        "raft/explore-figure8.ron",
        "commit_prior_term_by_count",
        "durable_commit",
        bound.clone(),
        Strategy::Deviations,
    );
    assert!(
        steps > 20,
        "{steps} steps: deeper than any full search reaches"
    );
    let two = ExploreSpec {
        deviations: Some(2),
        ..bound
    };
    let e = explore(&s, &[], Strategy::Deviations, two);
    assert!(e.report.found.is_none(), "{:?}", e.report.found);
    assert_eq!(e.report.stop, Stop::Exhausted);
    assert!(e.report.deviations_capped, "the bound is what stopped it");
    assert!(e.report.distinct > 100_000, "{} states", e.report.distinct);
}

/// Breadth-first on several threads is the same search as on one: the same states,
/// steps, histories, verdict and schedule, whether it finds a violation or stops at the
/// state limit (the threads expand a level's states; one takes in what they found in
/// order).
#[test]
fn breadth_first_is_the_same_search_on_any_number_of_threads() {
    let s = load("paxos/explore.ron");
    let on = |bugs: &[&str], spec: &ExploreSpec, jobs: usize| {
        let e = scenarios::registry::explore(
            &s,
            ExploreOptions {
                spec: spec.clone(),
                strategy: Strategy::BreadthFirst,
                bugs: bugs.iter().map(|b| b.to_string()).collect(),
                keep_going: Box::new(|_| true),
                jobs: Some(jobs),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (e.report, e.reproducer)
    };
    let found = spec(&s);
    let capped = ExploreSpec {
        crashes: 0,
        restarts: 0,
        max_states: Some(20_000),
        ..spec(&s)
    };
    // Every schedule to depth 6: exhausted to that depth, over many batches.
    let shallow = ExploreSpec {
        max_depth: Some(6),
        ..spec(&s)
    };
    for (bugs, spec, stop) in [
        (&["stale_promises_counted"][..], &found, Stop::Violation),
        (&[][..], &capped, Stop::MaxStates),
        (&[][..], &shallow, Stop::Exhausted),
    ] {
        let one = on(bugs, spec, 1);
        assert!(one.0.distinct > 1_000, "{bugs:?}: {:?}", one.0);
        assert_eq!(one.0.stop, stop, "{bugs:?}: {:?}", one.0);
        if stop == Stop::Exhausted {
            assert!(one.0.depth_capped, "{:?}", one.0);
        }
        for jobs in [2, 3] {
            assert_eq!(on(bugs, spec, jobs), one, "{bugs:?} on {jobs} threads");
        }
    }
}

/// `--bfs` searches breadth-first a file that bounds departures from time order, and
/// cannot be combined with another search.
#[test]
fn bfs_overrides_a_files_departure_bound() {
    let out = common::tempdir();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/explore-figure8.ron");
    let args = |extra: &[&'static str]| {
        let mut a = vec!["explore", file, "--max-states", "2000"];
        a.extend_from_slice(&["--out", out.to_str().unwrap()]);
        a.extend_from_slice(extra);
        common::faultline(&a)
    };
    let (_, stdout, _) = args(&[]);
    assert!(
        stdout.contains("search       the events in the order they fall due"),
        "{stdout}"
    );
    let (code, stdout, stderr) = args(&["--bfs"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("search       breadth-first"), "{stdout}");
    for other in ["--dfs", "--deviations=2"] {
        let (code, _, stderr) = args(&["--bfs", other]);
        assert_eq!(code, 2, "--bfs {other}: {stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}
