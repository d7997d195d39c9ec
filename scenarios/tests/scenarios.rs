//! Shipped scenarios, the runner, the fuzzer and the command line, end to end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use scenarios::format::{Expect, Scenario};
use scenarios::fuzz::{Campaign, concretize, run_campaign};
use scenarios::runner::{RunOptions, run};

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

fn campaign(seeds: u64, shard: Option<(u64, u64)>) -> Campaign {
    Campaign {
        from: 0,
        seeds,
        shard,
        swarm: false,
        bugs: Vec::new(),
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
        let (results, failures) = run_campaign(&files, &campaign(seeds, None), &stop, &|_| {});
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
        let (results, failures) = run_campaign(&files, &campaign(20, None), &stop, &|_| {});
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

fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}

fn verdicts(results_file: &Path) -> Vec<String> {
    std::fs::read_to_string(results_file)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["verdict"].as_str().unwrap().to_string()
        })
        .collect()
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
        let (mut r, _) =
            pool.install(|| run_campaign(&files, &campaign(40, shard), &stop, &|_| {}));
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

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "faultline-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn faultline(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
}

// A run's history handed to `faultline check` (written with `run --history`, read from
// `run --save-results`), files that are not results refused by `report`, and outputs
// that cannot be written refused before the run.

#[test]
fn a_runs_history_goes_to_check_as_written_or_as_saved_results() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron");
    let (history, results) = (tempdir().join("h.jsonl"), tempdir().join("r.json"));
    let (code, out, err) = faultline(&[
        "run",
        scenario,
        "--history",
        history.to_str().unwrap(),
        "--save-results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let ops = std::fs::read_to_string(&history).unwrap().lines().count();
    assert!(ops >= 900, "{ops} operations written");
    for file in [&history, &results] {
        let (code, out, err) = faultline(&["check", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {out}{err}", file.display());
        assert!(out.contains("linearizable"), "{out}");
        assert!(
            out.contains(&format!("{ops} ")),
            "all {ops} operations checked: {out}"
        );
    }
    let _ = std::fs::remove_file(history);
    let _ = std::fs::remove_file(results);
}

#[test]
fn a_fuzz_results_file_is_named_not_misread() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron");
    let out_dir = tempdir().join("fuzz");
    let (code, ..) = faultline(&[
        "fuzz",
        scenario,
        "--seeds",
        "2",
        "--jobs",
        "1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let (code, out, err) = faultline(&["check", out_dir.join("results.jsonl").to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("fuzz results") && err.contains("--history"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(out_dir);
}

#[test]
fn report_refuses_a_history_and_anything_that_is_not_results() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron");
    let history = tempdir().join("refuse.jsonl");
    let (code, ..) = faultline(&["run", scenario, "--history", history.to_str().unwrap()]);
    assert_eq!(code, 0);
    let out = tempdir().join("refuse-report");
    let (code, _, err) = faultline(&[
        "report",
        history.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is a client history") && err.contains("faultline check"),
        "{err}"
    );
    assert!(!out.join("index.html").exists(), "no report of a history");
    let other = tempdir().join("other.json");
    std::fs::write(&other, "{\"x\": 1}\n{\"y\": 2}\n").unwrap();
    let (code, _, err) = faultline(&[
        "report",
        other.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("neither a run's saved results"), "{err}");
    let _ = std::fs::remove_file(history);
    let _ = std::fs::remove_file(other);
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn an_unwritable_report_folder_fails_before_the_run() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron");
    // A folder under a regular file cannot be made.
    let file = tempdir().join("not-a-folder");
    std::fs::write(&file, b"").unwrap();
    let dir = file.join("report");
    let (code, out, err) = faultline(&["run", scenario, "--report", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot create the report folder"), "{err}");
    assert!(!out.contains("verdict"), "the run did not happen: {out}");
    let _ = std::fs::remove_file(file);
}

/// `compare --vary` reads each variant as `run` would at its size: a fault on a node the
/// variant lacks and a region list of the wrong length are errors naming the variant and
/// the position, before anything runs; the table shows each run's verdict.
#[test]
fn compare_validates_every_variant_and_shows_verdicts() {
    let dir = tempdir();
    let partitions = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/partitions.ron");
    let out_dir = dir.join("cmp");
    let (code, out, err) = faultline(&[
        "compare",
        partitions,
        "--vary",
        "nodes=3,5",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("partitions.ron:") && err.contains("at nodes = 3: node 3 does not exist"),
        "{err}"
    );
    assert!(!out_dir.join("index.html").exists(), "nothing ran");

    let regions = dir.join("regions.ron");
    std::fs::write(
        &regions,
        r#"(name: "wan", duration: "2s", nodes: 5, protocol: Raft(()),
  network: (
    regions: (nodes: [0, 0, 1, 1, 1], latency: [[Constant("1ms"), Constant("30ms")], [Constant("30ms"), Constant("1ms")]]),
  ),
  checks: [Invariants])"#,
    )
    .unwrap();
    let (code, _, err) = faultline(&[
        "compare",
        regions.to_str().unwrap(),
        "--vary",
        "nodes=3,5,7",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("regions.ron:3:5")
            && err.contains("at nodes = 3: 5 regions given for 3 nodes")
            && err.contains("at nodes = 7: 5 regions given for 7 nodes"),
        "{err}"
    );

    let expecting = concat!(env!("CARGO_MANIFEST_DIR"), "/3pc/partition.ron");
    let calm = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron");
    let (code, out, err) = faultline(&[
        "compare",
        calm,
        expecting,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("atomicity (expected)")
            && err
                .lines()
                .any(|l| l.starts_with("raft/calm") && l.contains(" pass ")),
        "{err}"
    );
    // Under a bug-free expectation of a pass, a violation makes compare exit 1.
    let bad = dir.join("bad.ron");
    let text = std::fs::read_to_string(expecting)
        .unwrap()
        .replace("expect: Violation(\"atomicity\")", "expect: Pass");
    std::fs::write(&bad, text).unwrap();
    let (code, _, err) = faultline(&[
        "compare",
        bad.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("atomicity (VIOLATION)"), "{err}");
}

/// Shards of one campaign merge into one report: every seed once, a seed given twice
/// counted once, a fingerprint that differs between files named; JUnit lists the failing
/// seeds.
#[test]
fn report_merges_shards_and_writes_junit() {
    let dir = tempdir();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/nemesis.ron");
    let mut junits = Vec::new();
    for i in 0..2 {
        let out = dir.join(format!("shard{i}"));
        let junit = dir.join(format!("shard{i}.xml"));
        let shard = format!("{i}/2");
        let (code, out_text, err) = faultline(&[
            "fuzz",
            file,
            "--seeds",
            "10",
            "--shard",
            &shard,
            "--bug",
            "stale_lease_read",
            "--no-shrink",
            "--out",
            out.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ]);
        assert!(code == 0 || code == 1, "{out_text}{err}");
        junits.push(std::fs::read_to_string(&junit).unwrap());
    }
    let failing: Vec<u64> = [0, 1]
        .iter()
        .flat_map(|i| {
            let text =
                std::fs::read_to_string(dir.join(format!("shard{i}/results.jsonl"))).unwrap();
            text.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .filter(|v| v["verdict"] == "violation")
                .map(|v| v["seed"].as_u64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !failing.is_empty(),
        "stale lease reads show within 10 seeds"
    );
    for s in &failing {
        let case = format!("name=\"seed {s}\"");
        assert!(junits.iter().any(|j| j.contains(&case)), "{junits:?}");
    }

    // A third file repeats shard 0 with one fingerprint changed.
    let shard0 = std::fs::read_to_string(dir.join("shard0/results.jsonl")).unwrap();
    let mut first: serde_json::Value =
        serde_json::from_str(shard0.lines().next().unwrap()).unwrap();
    first["fingerprint"] = "0000000000000000".into();
    let again = dir.join("again.jsonl");
    std::fs::write(&again, format!("{first}\n")).unwrap();
    let merged = dir.join("merged");
    // Inside the report's own folder, which does not exist yet.
    let junit = merged.join("junit.xml");
    let (code, out, err) = faultline(&[
        "report",
        dir.join("shard0").to_str().unwrap(),
        dir.join("shard1/results.jsonl").to_str().unwrap(),
        again.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "seeds        10 from 3 file(s) (1 repeated seeds counted once): {} passed, {} failed, 0 undecided",
            10 - failing.len(),
            failing.len()
        )),
        "{out}"
    );
    assert!(err.contains("the runs differ"), "{err}");

    // A repeated seed keeps its worst line: a pass repeated as a violation fails.
    let mut worse = first.clone();
    worse["verdict"] = "violation".into();
    worse["violation"] = "linearizability".into();
    std::fs::write(&again, format!("{worse}\n")).unwrap();
    let (code, out, _) = faultline(&[
        "report",
        dir.join("shard0").to_str().unwrap(),
        dir.join("shard1").to_str().unwrap(),
        again.to_str().unwrap(),
        "--out",
        dir.join("merged2").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let seed0_failed = failing.contains(&first["seed"].as_u64().unwrap());
    let failed_now = failing.len() + usize::from(!seed0_failed);
    assert!(
        out.contains(&format!("{failed_now} failed")),
        "the violation is kept: {out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("name=\"campaign: 10 seeds\""), "{xml}");
    assert_eq!(
        xml.matches("type=\"violation\"").count(),
        failing.len(),
        "{xml}"
    );
    assert!(merged.join("index.html").exists());
}

/// The CI recipe's commands are ones faultline accepts, on files that exist.
#[test]
fn the_ci_fuzz_recipe_runs_real_commands() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let yml = std::fs::read_to_string(format!("{root}/.github/workflows/fuzz.yml")).unwrap();
    let env_value = |name: &str| {
        yml.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("{name} is not set in the recipe"))
    };
    let scenarios_list = env_value("SCENARIOS");
    for f in scenarios_list.split_whitespace() {
        assert!(Path::new(root).join(f).exists(), "{f} is not shipped");
    }
    // Folded `run: >` blocks: the indented lines after it, joined by spaces.
    let lines: Vec<&str> = yml.lines().collect();
    let mut commands = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.trim() == "run: >" {
            let indent = l.len() - l.trim_start().len();
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|b| b.len() - b.trim_start().len() > indent)
                .map(|b| b.trim())
                .collect();
            commands.push(block.join(" "));
        }
    }
    let faultline_commands: Vec<String> = commands
        .into_iter()
        .filter(|c| c.starts_with("./target/release/faultline "))
        .collect();
    assert!(faultline_commands.len() >= 2, "{faultline_commands:?}");
    for c in &faultline_commands {
        let c = c
            .replace("${{ matrix.shard }}", "3")
            .replace("$SCENARIOS", &scenarios_list)
            .replace("$SEEDS", &env_value("SEEDS"))
            .replace("$SHARDS", &env_value("SHARDS"));
        assert!(!c.contains('$'), "an unexpanded variable in {c}");
        let args: Vec<&str> = c.split_whitespace().collect();
        if let Err(e) = <scenarios::cli::Cli as clap::Parser>::try_parse_from(&args) {
            panic!("{c}: {e}");
        }
    }
    assert!(yml.contains("--shard ${{ matrix.shard }}/$SHARDS") && yml.contains("--junit"));
    let matrix = yml
        .lines()
        .find_map(|l| l.trim().strip_prefix("shard: ["))
        .expect("a matrix of shards");
    let shards: u64 = env_value("SHARDS").parse().unwrap();
    assert_eq!(
        matrix.trim_end_matches(']').split(',').count() as u64,
        shards,
        "one matrix entry per shard"
    );
    for i in 0..shards {
        assert!(
            yml.contains(&format!("shards/fuzz-shard-{i}")),
            "shard {i} is merged"
        );
    }
}

/// `check --json` answers bad input in JSON too, on stdout, with where and what.
#[test]
fn check_json_reports_bad_input_as_json() {
    let dir = tempdir();
    let bad = dir.join("backwards.jsonl");
    std::fs::write(
        &bad,
        "{\"id\":0,\"client\":1,\"op\":{\"Put\":{\"key\":1,\"value\":\"a\"}},\"invoked\":100,\"completed\":50,\"outcome\":{\"Ok\":\"Done\"}}\n",
    )
    .unwrap();
    let (code, out, err) = faultline(&["check", "--json", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["verdict"], "bad-input");
    assert_eq!(v["line"], 1);
    assert!(
        v["expected"].as_str().unwrap().contains("completion"),
        "{v}"
    );
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
