// Each test file uses its own share of these helpers.
#![allow(dead_code)]

//! What the bug-switch hunts of several protocols share: a switch, the seeds searched for
//! it on a nemesis scenario, and the checks allowed to catch it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use scenarios::fuzz::{Campaign, run_campaign};

/// One switch: the scenario it is hunted on, how many seeds from 0 are searched (several
/// times the first failing seed, measured over 1000), and the checks allowed to catch it.
pub struct Hunt {
    /// The scenario, by its path under `scenarios/`.
    pub file: &'static str,
    /// The bug switch.
    pub bug: &'static str,
    /// Seeds searched from 0.
    pub seeds: u64,
    /// The checks allowed to catch it.
    pub caught_by: &'static [&'static str],
}

/// Seeds `0..seeds` with the switches `bugs` on.
pub fn campaign(seeds: u64, bugs: &[&str]) -> Campaign {
    Campaign {
        from: 0,
        seeds,
        shard: None,
        swarm: false,
        bugs: bugs.iter().map(|b| b.to_string()).collect(),
    }
}

/// A shipped scenario, by its path under `scenarios/`.
pub fn load(name: &str) -> Vec<(String, scenarios::format::Scenario)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let scenario = scenarios::load::load(&file).unwrap_or_else(|e| panic!("{e}"));
    vec![(file.display().to_string(), scenario)]
}

/// Every hunt finds its switch within its seeds, caught only by the checks it names;
/// the same seeds (the most any hunt of a file searches) all pass with every switch off.
pub fn hunt_all(hunts: &[Hunt]) {
    let stop = AtomicBool::new(false);
    for hunt in hunts {
        let files = load(hunt.file);
        let (_, failures) =
            run_campaign(&files, &campaign(hunt.seeds, &[hunt.bug]), &stop, &|_| {});
        assert!(
            !failures.is_empty(),
            "{}: no seed of {} fails with {}",
            hunt.file,
            hunt.seeds,
            hunt.bug
        );
        for f in &failures {
            assert!(
                hunt.caught_by.contains(&f.violation.as_str()),
                "{} with {}, seed {}: caught by {}, expected one of {:?}",
                hunt.file,
                hunt.bug,
                f.seed,
                f.violation,
                hunt.caught_by
            );
        }
    }
    let mut files: Vec<&str> = hunts.iter().map(|h| h.file).collect();
    files.sort_unstable();
    files.dedup();
    for file in files {
        let seeds = hunts
            .iter()
            .filter(|h| h.file == file)
            .map(|h| h.seeds)
            .max()
            .unwrap_or(0);
        let (results, failures) = run_campaign(&load(file), &campaign(seeds, &[]), &stop, &|_| {});
        assert_eq!(results.len() as u64, seeds);
        let first = failures.first().map(|f| (f.seed, &f.violation));
        assert!(failures.is_empty(), "{file} without bugs: {first:?}");
        let odd = results.iter().find(|r| r.verdict != "pass");
        assert!(odd.is_none(), "{file} without bugs: {odd:?}");
    }
}

/// A fresh folder under the system's temporary one, for one test's files; removed with
/// what is in it when the guard goes (keep the guard as long as the files are used).
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh folder under the system's temporary one, for one test's files.
pub fn tempdir() -> TempDir {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "faultline-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Runs the `faultline` binary: its exit status, standard output and standard error.
pub fn faultline(args: &[&str]) -> (i32, String, String) {
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

/// The files of `dir` ending in `.ext`.
pub fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}

/// The verdict of each seed in a fuzz campaign's results file.
pub fn verdicts(results_file: &Path) -> Vec<String> {
    std::fs::read_to_string(results_file)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["verdict"].as_str().unwrap().to_string()
        })
        .collect()
}
