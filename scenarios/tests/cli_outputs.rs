//! The command line's outputs end to end: a run's history handed to `faultline check`,
//! results files and reports, `compare`, shards merged into one report, the CI recipe,
//! and `check --json`.

mod common;

use std::path::Path;

use common::{faultline, tempdir};

// A run's history handed to `faultline check` (written with `run --history`, read from
// `run --save-results`), files that are not results refused by `report`, and outputs
// that cannot be written refused before the run.

#[test]
fn a_runs_history_goes_to_check_as_written_or_as_saved_results() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/calm.ron");
    let dir = tempdir();
    let (history, results) = (dir.join("h.jsonl"), dir.join("r.json"));
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
    let out_dir_dir = tempdir();
    let out_dir = out_dir_dir.join("fuzz");
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
    let history_dir = tempdir();
    let history = history_dir.join("refuse.jsonl");
    let (code, ..) = faultline(&["run", scenario, "--history", history.to_str().unwrap()]);
    assert_eq!(code, 0);
    let out_dir = tempdir();
    let out = out_dir.join("refuse-report");
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
    let other_dir = tempdir();
    let other = other_dir.join("other.json");
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
    let file_dir = tempdir();
    let file = file_dir.join("not-a-folder");
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
