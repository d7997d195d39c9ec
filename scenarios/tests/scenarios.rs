//! Shipped scenarios, the runner, the fuzzer and the command line, end to end.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use scenarios::format::{Expect, Scenario};
use scenarios::fuzz::{Campaign, concretize, run_campaign};
use scenarios::runner::{RunOptions, run};

mod common;

use common::{campaign, faultline, files_with_extension, tempdir, verdicts};

fn shipped() -> Vec<(PathBuf, Scenario)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir()
                && ![
                    "src", "tests", "benches", "fuzz", "target", "large", "examples",
                ]
                .contains(&name.as_str())
            {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "ron") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(env!("CARGO_MANIFEST_DIR")), &mut files);
    files.sort();
    assert!(!files.is_empty());
    files
        .into_iter()
        .map(|f| {
            let s = scenarios::load::load(&f).unwrap_or_else(|e| panic!("{e}"));
            (f, s)
        })
        .collect()
}

#[test]
fn every_shipped_scenario_runs_as_expected_and_deterministically() {
    for (file, s) in shipped() {
        let a = run(&s, RunOptions::default()).unwrap();
        let b = run(&s, RunOptions::default()).unwrap();
        assert!(
            a.summary.as_expected,
            "{}: {}",
            file.display(),
            a.summary.render()
        );
        assert_eq!(
            a.summary.fingerprint,
            b.summary.fingerprint,
            "{}",
            file.display()
        );
        let other = run(
            &s,
            RunOptions {
                seed: Some(s.seed + 1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_ne!(
            a.summary.fingerprint,
            other.summary.fingerprint,
            "{}",
            file.display()
        );
    }
}

/// Events a smoke campaign may spend on one scenario: a few hundred seeds of a small
/// scenario, a handful of a thousand-node one, so that CI time stays flat as scenarios grow.
const SMOKE_EVENTS: u64 = 1_500_000;

/// Seeds of every shipped scenario meant to pass: none may fail.
#[test]
fn fuzz_smoke_finds_nothing_in_correct_scenarios() {
    let stop = AtomicBool::new(false);
    for (file, scenario) in shipped()
        .into_iter()
        .filter(|(_, s)| s.expect == Expect::Pass)
    {
        let events = run(&scenario, RunOptions::default())
            .unwrap()
            .summary
            .events
            .max(1);
        let seeds = (SMOKE_EVENTS / events).clamp(5, 200);
        let files = vec![(file.display().to_string(), scenario)];
        let (results, failures) = run_campaign(&files, &campaign(seeds, &[]), &stop, &|_| {});
        assert_eq!(results.len() as u64, seeds);
        assert!(
            results.iter().all(|r| r.verdict == "pass"),
            "{}: {:?}",
            file.display(),
            results.iter().find(|r| r.verdict != "pass")
        );
        assert!(failures.is_empty());
    }
}

/// A scenario that expects a violation and has a nemesis (3PC under random partitions)
/// shows that the fuzzer finds the failure on its own: within a few seeds, some seed must
/// show the expected check failing (a pass of that seed, so no reproducer), and none may
/// fail another one.
#[test]
fn fuzz_finds_the_expected_violation_of_nemesis_scenarios() {
    let stop = AtomicBool::new(false);
    let expecting: Vec<_> = shipped()
        .into_iter()
        .filter(|(_, s)| s.nemesis.is_some() && s.expect != Expect::Pass)
        .collect();
    assert!(
        !expecting.is_empty(),
        "3pc/partition-nemesis.ron is shipped"
    );
    for (file, scenario) in expecting {
        let Expect::Violation(expected) = scenario.expect.clone() else {
            unreachable!()
        };
        let files = vec![(file.display().to_string(), scenario)];
        let (results, failures) = run_campaign(&files, &campaign(20, &[]), &stop, &|_| {});
        assert!(
            results
                .iter()
                .any(|r| r.verdict == "expected" && r.violation.as_ref() == Some(&expected)),
            "{}: no seed of 20 found {expected}: {results:?}",
            file.display()
        );
        assert!(
            results
                .iter()
                .all(|r| matches!(r.verdict.as_str(), "expected" | "missed")),
            "{}: {results:?}",
            file.display()
        );
        assert!(failures.is_empty(), "{}: {failures:?}", file.display());
    }
}

/// Fuzzing a scenario that expects a violation judges each seed against that
/// expectation: seeds that show it pass and write nothing; seeds where it did not show
/// fail (exit 1), are named, and are not written as reproducers; `--max-failures` stops
/// the campaign.
#[test]
fn fuzzing_a_scenario_that_expects_a_violation_judges_seeds_by_it() {
    let dir = tempdir();
    let always = concat!(env!("CARGO_MANIFEST_DIR"), "/gossip/resurrection.ron");
    let out_dir = dir.join("always");
    let (code, out, err) = faultline(&[
        "fuzz",
        always,
        "--seeds",
        "20",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("20 passed (20 showing the expected violation)"),
        "{out}"
    );
    assert!(
        verdicts(&out_dir.join("results.jsonl"))
            .iter()
            .all(|v| v == "expected")
    );
    assert!(files_with_extension(&out_dir, "ron").is_empty());

    let sometimes = concat!(env!("CARGO_MANIFEST_DIR"), "/3pc/partition-nemesis.ron");
    let out_dir = dir.join("sometimes");
    let (code, out, err) = faultline(&[
        "fuzz",
        sometimes,
        "--seeds",
        "40",
        "--jobs",
        "1",
        "--max-failures",
        "3",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let seen = verdicts(&out_dir.join("results.jsonl"));
    // One job: the campaign stops right after the third miss.
    assert_eq!(
        seen.iter().filter(|v| *v == "missed").count(),
        3,
        "{seen:?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("missed"));
    assert!(
        seen.len() < 40 && seen.iter().any(|v| v == "expected"),
        "{seen:?}"
    );
    assert!(out.contains("stopped early"), "{out}");
    assert!(out.contains("missed the expected violation"), "{out}");
    assert!(files_with_extension(&out_dir, "ron").is_empty());
}

/// Only the first `--shrink N` unexpected violations are shrunk; every one is saved.
#[test]
fn fuzz_shrinks_only_as_many_failures_as_asked_and_saves_all() {
    let dir = tempdir();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/nemesis.ron");
    let out_dir = dir.join("out");
    let (code, out, err) = faultline(&[
        "fuzz",
        file,
        "--seeds",
        "6",
        "--bug",
        "vote_without_log_check",
        "--shrink",
        "1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let violations = out.lines().filter(|l| l.starts_with("violation")).count();
    assert!(violations >= 2, "{out}");
    assert_eq!(out.matches("shrunk in").count(), 1, "{out}");
    assert_eq!(files_with_extension(&out_dir, "ron").len(), violations);
}

#[test]
fn fingerprints_do_not_depend_on_jobs_or_shards() {
    let (f, s) = shipped().into_iter().next().unwrap();
    let files = vec![(f.display().to_string(), s)];
    let stop = AtomicBool::new(false);
    let fps = |threads: usize, shard| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (mut r, _) = pool.install(|| {
            run_campaign(
                &files,
                &Campaign {
                    shard,
                    ..campaign(40, &[])
                },
                &stop,
                &|_| {},
            )
        });
        r.sort_by_key(|r| r.seed);
        r.into_iter()
            .map(|r| (r.seed, r.fingerprint))
            .collect::<Vec<_>>()
    };
    let one = fps(1, None);
    assert_eq!(one, fps(2, None));
    let mut sharded = fps(2, Some((0, 3)));
    sharded.extend(fps(1, Some((1, 3))));
    sharded.extend(fps(2, Some((2, 3))));
    sharded.sort();
    assert_eq!(one, sharded);
}

#[test]
fn a_concrete_seed_round_trips_through_ron_and_replays_identically() {
    for (file, s) in shipped() {
        for swarm in [false, true] {
            let concrete = concretize(&s, 17, swarm, &[]);
            let dir = tempdir();
            let path = dir.join("repro.ron");
            scenarios::fuzz::write_scenario(&path, &concrete).unwrap();
            let back =
                scenarios::load::load(&path).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert_eq!(back, concrete, "{}", file.display());
            let direct = run(
                &s,
                RunOptions {
                    seed: Some(17),
                    ..Default::default()
                },
            )
            .unwrap();
            let replayed = run(&back, RunOptions::default()).unwrap();
            if !swarm {
                assert_eq!(
                    direct.summary.fingerprint,
                    replayed.summary.fingerprint,
                    "{}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn cli_without_arguments_runs_a_real_scenario() {
    let (code, out, _) = faultline(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("fingerprint"), "{out}");
    assert!(out.contains("verdict      PASS"), "{out}");
}

#[test]
fn cli_run_json_and_determinism_check() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/echo/ping-storm.ron");
    let (code, out, err) =
        faultline(&["run", file, "--json", "--seed", "3", "--check-determinism"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["seed"], 3);
    assert_eq!(v["as_expected"], true);
    assert!(err.contains("same fingerprint"), "{err}");
}

#[test]
fn cli_reports_bad_input_with_exit_2() {
    let dir = tempdir();
    let bad = dir.join("bad.ron");
    std::fs::write(
        &bad,
        "(name: \"x\", duration: \"1s\", nodes: 2, protocol: Echo(()), fautls: [])",
    )
    .unwrap();
    let (code, _, err) = faultline(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.ron:1:") && err.contains("did you mean `faults`?"),
        "{err}"
    );
    let (code, _, _) = faultline(&["run", "/nonexistent.ron"]);
    assert_eq!(code, 2);
    let (code, _, _) = faultline(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn cli_fuzz_writes_results_and_exits_zero_on_a_correct_protocol() {
    let dir = tempdir();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/echo/ping-storm.ron");
    let out_dir = dir.join("out");
    let (code, out, err) = faultline(&[
        "fuzz",
        file,
        "--seeds",
        "60",
        "--jobs",
        "2",
        "--swarm",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let results = std::fs::read_to_string(out_dir.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 60);
    for line in results.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["verdict"], "pass");
    }
}

/// With a bug switch on, fuzzing finds a violation, exits 1, and writes a shrunk
/// reproducer that `replay` confirms.
#[test]
fn cli_fuzz_with_a_bug_writes_a_shrunk_reproducer_that_replays() {
    let dir = tempdir();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/nemesis.ron");
    let out_dir = dir.join("out");
    let (code, out, err) = faultline(&[
        "fuzz",
        file,
        "--seeds",
        "5",
        "--jobs",
        "2",
        "--bug",
        "vote_without_log_check",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("shrunk in"), "{out}");
    let repro = files_with_extension(&out_dir, "ron");
    assert!(!repro.is_empty(), "no reproducer written: {out}");
    let original = scenarios::load::load(Path::new(file)).unwrap();
    for r in &repro {
        let shrunk = scenarios::load::load(r).unwrap();
        assert!(shrunk.nemesis.is_none(), "faults are written out");
        assert!(
            shrunk.faults.len()
                <= scenarios::fuzz::concretize(&original, shrunk.seed, false, &[])
                    .faults
                    .len()
        );
        assert!(matches!(shrunk.expect, Expect::Violation(_)));
        let trace = r.with_extension("trace.jsonl");
        assert!(trace.exists(), "{}", trace.display());
        let (code, out, err) = faultline(&["replay", r.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("same fingerprint as recorded"), "{out}");
    }
}

/// The large scenarios (thousands of nodes, the published-number sweeps) are too slow for
/// every test run, but a typo in one must still fail here.
#[test]
fn large_scenarios_load_and_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("gossip/large");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "ron") {
            scenarios::load::load(&e.path()).unwrap_or_else(|err| panic!("{err}"));
            n += 1;
        }
    }
    assert!(n >= 8, "{n} large scenarios in {}", dir.display());
}

/// A seed whose check could not be decided is undecided, never a pass: here every node is
/// down from the last fault to the end, which comes before the liveness bound has passed.
#[test]
fn a_seed_with_an_undecided_check_is_marked_undecided() {
    let text = r#"(
        name: "t/undecided",
        duration: "2s",
        nodes: 3,
        protocol: Raft(()),
        workload: KeyValue((clients: 2, ops: 1000, keys: 2, timeout: "100ms")),
        faults: [At("1s", Crash(All))],
        checks: [Invariants, Linearizable, Liveness(within: "5s")],
        expect: Pass,
    )"#;
    let s = scenarios::load::parse(text, "t.ron").unwrap_or_else(|e| panic!("{e}"));
    let (result, violation) = scenarios::fuzz::run_one("t.ron", &s);
    assert_eq!(violation, None);
    assert_eq!(result.verdict, "undecided");
    assert_eq!(result.undecided, ["liveness"]);
    // With the bound inside the run, the same stall is a violation, not undecided.
    let s = scenarios::load::parse(&text.replace("5s", "500ms"), "t.ron").unwrap();
    let (result, violation) = scenarios::fuzz::run_one("t.ron", &s);
    assert_eq!(violation.as_deref(), Some("liveness"));
    assert!(result.undecided.is_empty());
    // One client that gives up after each timeout and asks again never sees an answer:
    // its short waits add up to a stall all the same.
    let one = text
        .replace("5s", "500ms")
        .replace("clients: 2", "clients: 1");
    let s = scenarios::load::parse(&one, "t.ron").unwrap();
    let (_, violation) = scenarios::fuzz::run_one("t.ron", &s);
    assert_eq!(violation.as_deref(), Some("liveness"));
}

/// An undecided seed is written as it ran, so that `faultline run` shows why without the
/// campaign around it; running it is undecided again (exit 3), never a pass.
#[test]
fn cli_fuzz_writes_undecided_seeds_as_scenarios_that_run_undecided() {
    let dir = tempdir();
    let file = dir.join("undecided.ron");
    std::fs::write(
        &file,
        r#"(
        name: "t/undecided",
        duration: "2s",
        nodes: 3,
        protocol: Raft(()),
        workload: KeyValue((clients: 2, ops: 1000, keys: 2, timeout: "100ms")),
        faults: [At("1s", Crash(All))],
        checks: [Invariants, Linearizable, Liveness(within: "5s")],
    )"#,
    )
    .unwrap();
    let out_dir = dir.join("out");
    let (code, out, err) = faultline(&[
        "fuzz",
        file.to_str().unwrap(),
        "--seeds",
        "2",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}{err}");
    let saved = files_with_extension(&out_dir.join("undecided"), "ron");
    assert_eq!(saved.len(), 2, "{out}");
    for s in &saved {
        assert!(out.contains(&s.display().to_string()), "{out}");
        let (code, said, err) = faultline(&["run", s.to_str().unwrap()]);
        assert_eq!(code, 3, "{said}{err}");
        assert!(
            said.contains("liveness") && said.contains("unknown"),
            "{said}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
