//! A run's history handed to `faultline check`: written with `run --history`, read from
//! `run --save-results`, and a fuzz results file named for what it is.

use std::path::PathBuf;
use std::process::Command;

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

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("faultline-handoff-{}-{name}", std::process::id()))
}

#[test]
fn a_runs_history_goes_to_check_as_written_or_as_saved_results() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron");
    let (history, results) = (tmp("h.jsonl"), tmp("r.json"));
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
    let out_dir = tmp("fuzz");
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
    let history = tmp("refuse.jsonl");
    let (code, ..) = faultline(&["run", scenario, "--history", history.to_str().unwrap()]);
    assert_eq!(code, 0);
    let out = tmp("refuse-report");
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
    let other = tmp("other.json");
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
    let file = tmp("not-a-folder");
    std::fs::write(&file, b"").unwrap();
    let dir = file.join("report");
    let (code, out, err) = faultline(&["run", scenario, "--report", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot create the report folder"), "{err}");
    assert!(!out.contains("verdict"), "the run did not happen: {out}");
    let _ = std::fs::remove_file(file);
}
