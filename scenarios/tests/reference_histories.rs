//! Verdicts on the published reference histories (`shared/data`, see its README) must
//! agree with the published ones. The data is not part of the repository: the test looks
//! at `$FAULTLINE_SHARED_DATA`, else `../../shared/data` from this crate, and skips with a
//! message where it is absent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use scenarios::cli::check::{Initial, check_parsed, load};
use scenarios::history_formats::ParsedHistory;
use sim_core::check::{CheckOptions, Verdict};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FAULTLINE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: reference histories not found at {} (set FAULTLINE_SHARED_DATA)",
            dir.display()
        );
        None
    }
}

fn options() -> CheckOptions {
    CheckOptions {
        give_up: Some(scenarios::cli::check::wall_clock_limit(
            Duration::from_secs(120),
        )),
        ..CheckOptions::default()
    }
}

fn verdict_of(path: &Path) -> (Verdict, usize) {
    verdict_with_initial(path, None)
}

fn verdict_with_initial(path: &Path, initial: Option<Initial>) -> (Verdict, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, history) =
        load(&text, None, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ops = match &history {
        ParsedHistory::Register(h) => h.ops.len(),
        ParsedHistory::Kv(h) => h.ops.len(),
    };
    let report = check_parsed(&history, None, initial, &options())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (report.verdict, ops)
}

#[test]
fn jepsen_etcd_verdicts_match_the_published_ones() {
    let Some(dir) = data_dir() else { return };
    let dir = dir.join("jepsen-etcd");
    let table = std::fs::read_to_string(dir.join("verdicts.tsv")).expect("verdicts.tsv");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for row in table.lines().skip(1).filter(|r| !r.trim().is_empty()) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, expected) = (cols[0], cols[1]);
        if expected == "empty" {
            // Nothing to judge is no verdict: the empty file is bad input.
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            match load(&text, None, None) {
                Err(e) => assert!(e.to_string().contains("empty file"), "{file}: {e}"),
                Ok(_) => wrong.push(format!("{file}: an empty file read as a history")),
            }
            checked += 1;
            continue;
        }
        let (verdict, _) = verdict_of(&dir.join(file));
        let agrees = verdict.name() == expected;
        if !agrees {
            wrong.push(format!("{file}: expected {expected}, got {verdict:?}"));
        }
        checked += 1;
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked >= 103, "only {checked} histories listed");
}

#[test]
fn knossos_verdicts_match_good_and_bad() {
    let Some(dir) = data_dir() else { return };
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (folder, expected) in [("good", "linearizable"), ("bad", "not-linearizable")] {
        let dir = dir.join("knossos/cas-register").join(folder);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        files.sort();
        for path in files {
            // Knossos's tests start the register at 0; the README notes every verdict is the
            // same from nil, which exercises the other initial state.
            for initial in [None, Some(Initial(None))] {
                let (verdict, _) = verdict_with_initial(&path, initial);
                if verdict.name() != expected {
                    wrong.push(format!(
                        "{} (initial {initial:?}): expected {expected}, got {verdict:?}",
                        path.display()
                    ));
                }
            }
            checked += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked >= 60, "only {checked} histories found");
}
