//! Verdicts and exit statuses say no more than was checked: a check that could not decide,
//! or had nothing to judge, makes the run UNDECIDED (exit status 3), never a pass, in
//! `run`, `replay` and `fuzz`; a closed output ends a command quietly, not with a panic.

use std::path::PathBuf;
use std::process::ExitCode;

use scenarios::fuzz::Campaign;
use scenarios::runner::{RunOptions, Verdict, run};

/// raft/calm with a linearizability budget far too small to decide anything.
fn starved() -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron")).unwrap();
    text.replace(
        "    expect: Pass,",
        "    expect: Pass,\n    limits: (check_steps: 1),",
    )
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("faultline-verdicts-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

fn faultline(args: &[&str]) -> ExitCode {
    let mut all = vec!["faultline"];
    all.extend_from_slice(args);
    scenarios::cli::main_with_args(all)
}

#[test]
fn an_undecided_check_makes_the_run_undecided_not_a_pass() {
    let s = scenarios::load::parse(&starved(), "starved.ron").unwrap();
    let r = run(&s, RunOptions::default()).unwrap();
    assert_eq!(
        r.summary.verdict,
        Verdict::Undecided(vec!["linearizability".into()]),
        "{}",
        r.summary.render()
    );
    assert!(!r.summary.as_expected);
    assert_eq!(r.summary.exit_status(), 3);
    let text = r.summary.render();
    assert!(
        text.contains("verdict      UNDECIDED (linearizability)"),
        "{text}"
    );
    assert!(text.contains("step budget of 1 exhausted"), "{text}");
    assert!(
        text.contains("check_steps"),
        "says how to raise the budget: {text}"
    );
    let json = serde_json::to_string(&r.summary).unwrap();
    assert!(
        json.contains(r#""verdict":{"Undecided":["linearizability"]}"#),
        "{json}"
    );

    // The same scenario with its default budget decides, and passes.
    let calm = scenarios::load::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/raft/calm.ron"
    )))
    .unwrap();
    let decided = run(&calm, RunOptions::default()).unwrap();
    assert_eq!(decided.summary.verdict, Verdict::Pass);
    assert_eq!(decided.summary.exit_status(), 0);
}

#[test]
fn run_and_replay_exit_3_when_undecided() {
    let file = write("run.ron", &starved());
    assert_eq!(
        faultline(&["run", file.to_str().unwrap()]),
        ExitCode::from(3)
    );
    assert_eq!(
        faultline(&["replay", file.to_str().unwrap()]),
        ExitCode::from(3)
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn fuzz_counts_undecided_seeds_apart_and_exits_3_unless_allowed() {
    let s = scenarios::load::parse(&starved(), "starved.ron").unwrap();
    let (results, failures) = Campaign::seeds(0..4).run("starved.ron", &s);
    assert!(failures.is_empty());
    assert!(
        results.iter().all(|r| r.verdict == "undecided"),
        "{:?}",
        results.iter().map(|r| &r.verdict).collect::<Vec<_>>()
    );

    let file = write("fuzz.ron", &starved());
    let out = std::env::temp_dir().join(format!("faultline-verdicts-{}-out", std::process::id()));
    let args = |allow: bool| {
        let mut a = vec![
            "fuzz",
            file.to_str().unwrap(),
            "--seeds",
            "3",
            "--jobs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        if allow {
            a.push("--allow-undecided");
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let call = |a: Vec<String>| {
        let mut all = vec!["faultline".to_string()];
        all.extend(a);
        scenarios::cli::main_with_args(all)
    };
    assert_eq!(call(args(false)), ExitCode::from(3));
    assert_eq!(call(args(true)), ExitCode::SUCCESS);
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_check_with_nothing_to_judge_is_vacuous_not_a_pass() {
    use scenarios::runner::Status;
    // Raft without clients: liveness and linearizability have nothing to judge.
    let raft = r#"(
        name: "t/idle", duration: "1s", nodes: 3, protocol: Raft(()),
        checks: [Invariants, Linearizable, Liveness(within: "500ms")],
    )"#;
    let s = scenarios::load::parse(raft, "idle.ron").unwrap();
    let r = run(&s, RunOptions::default()).unwrap();
    let status = |name: &str| {
        r.summary
            .checks
            .iter()
            .find(|c| c.check == name)
            .map(|c| c.status.clone())
    };
    assert_eq!(status("invariants"), Some(Status::Pass));
    assert_eq!(status("linearizability"), Some(Status::Vacuous));
    assert_eq!(status("liveness"), Some(Status::Vacuous));
    assert_eq!(
        r.summary.verdict,
        Verdict::Undecided(vec!["linearizability".into(), "liveness".into()])
    );
    assert!(
        r.summary.render().contains("vacuous"),
        "{}",
        r.summary.render()
    );
    assert_eq!(r.summary.exit_status(), 3);

    // Echo promises nothing without a hop limit, so its invariants check nothing.
    let echo = r#"(name: "t/echo", duration: "100ms", nodes: 3, protocol: Echo(()))"#;
    let s = scenarios::load::parse(echo, "echo.ron").unwrap();
    let r = run(&s, RunOptions::default()).unwrap();
    assert_eq!(r.summary.checks[0].status, Status::Vacuous);
    assert!(!r.summary.as_expected);
    // With one, hop_limit is checked and holds.
    let s =
        scenarios::load::parse(&echo.replace("Echo(())", "Echo((max_hops: 5))"), "e.ron").unwrap();
    let r = run(&s, RunOptions::default()).unwrap();
    assert_eq!(r.summary.checks[0].status, Status::Pass);
    assert_eq!(r.summary.verdict, Verdict::Pass);
}

#[test]
fn a_scenario_without_checks_is_a_load_error() {
    let text = r#"(name: "t/none", duration: "1s", nodes: 3, protocol: Raft(()), checks: [])"#;
    let e = scenarios::load::parse(text, "none.ron").unwrap_err();
    assert_eq!(e.path, "checks", "{e}");
    assert!(e.message.contains("judge nothing"), "{e}");
}

#[test]
fn a_closed_output_ends_a_command_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    // `faultline list | head -0`: the reader is gone before anything is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
}

/// A linearizability counterexample reads as a window, not the whole prefix: the state's
/// origin and the operations around the contradiction, each with the node that answered
/// it (a stale lease read from raft/nemesis, found by fuzzing with the bug on).
#[test]
fn a_counterexample_is_a_short_window_naming_the_serving_nodes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/nemesis.ron");
    let base = scenarios::load::load(std::path::Path::new(path)).unwrap();
    let s = scenarios::fuzz::concretize(&base, 6, false, &["stale_lease_read".to_string()]);
    let r = run(&s, RunOptions::default()).unwrap();
    assert_eq!(
        r.summary.verdict,
        Verdict::Violation("linearizability".into())
    );
    let check = r
        .summary
        .checks
        .iter()
        .find(|c| c.check == "linearizability")
        .unwrap();
    let lines = check.detail.lines().count();
    assert!(lines <= 12, "{lines} lines:\n{}", check.detail);
    assert!(
        check.detail.contains("cannot be placed next") && check.detail.contains("via n"),
        "{}",
        check.detail
    );
    assert!(
        r.result
            .history
            .ops()
            .iter()
            .filter(|o| matches!(o.outcome, sim_core::history::Outcome::Ok(_)))
            .all(|o| o.served_by.is_some()),
        "every operation answered with a result records who answered"
    );
}

/// A run stopped by its event limit before its horizon did not run what the scenario
/// asked: what held so far is undecided (exit 3), not a pass.
#[test]
fn a_run_cut_short_by_its_event_limit_is_undecided() {
    let text = r#"(name: "el", duration: "10s", nodes: 3, protocol: Raft(()),
        workload: KeyValue((clients: 2, ops: 1000)), checks: [Invariants, Linearizable],
        limits: (max_events: 2000))"#;
    let s = scenarios::load::parse(text, "el.ron").unwrap();
    let r = run(&s, RunOptions::default()).unwrap();
    assert_eq!(
        r.summary.verdict,
        Verdict::Undecided(vec!["invariants".into(), "linearizability".into()])
    );
    assert!(
        r.summary.checks[0].detail.contains("event limit"),
        "{:?}",
        r.summary.checks
    );
    let path = write("event-limit.ron", text);
    let status = faultline(&["run", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(status, ExitCode::from(3));
}
