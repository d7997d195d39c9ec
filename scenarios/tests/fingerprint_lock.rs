//! The fingerprint lock: every shipped scenario at seeds 0–9, the first 50 fuzz seeds of
//! every nemesis scenario (plain, swarm, and with each of the protocol's bug switches),
//! each with the trace fingerprint it produces. A change of behaviour anywhere in the
//! engine, a protocol or the scenario layer shows here, naming the scenario and seed.
//!
//! When a change of behaviour is intended, rewrite the lock and commit it with the change:
//!
//! ```sh
//! FAULTLINE_WRITE_LOCK=1 cargo test -p scenarios --test fingerprint_lock
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use scenarios::format::Scenario;
use scenarios::fuzz::{Campaign, run_campaign};

/// Seeds locked for every scenario.
const SEEDS: u64 = 10;
/// Fuzz seeds locked for a scenario with a nemesis.
const NEMESIS_SEEDS: u64 = 50;
/// Seeds locked per bug switch and for swarm mode on a nemesis scenario.
const VARIANT_SEEDS: u64 = 10;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lock_path() -> PathBuf {
    root().join("fingerprints.lock")
}

/// Every scenario file shipped under `scenarios/`, by path relative to it.
fn shipped() -> Vec<(String, Scenario)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir()
                && !["src", "tests", "benches", "fuzz", "target", "examples"]
                    .contains(&name.as_str())
            {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "ron") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root(), &mut files);
    assert!(
        !files.is_empty(),
        "no scenario files under {}",
        root().display()
    );
    files
        .into_iter()
        .map(|f| {
            let s = scenarios::load::load(&f).unwrap_or_else(|e| panic!("{e}"));
            let rel = f
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, s)
        })
        .collect()
}

/// One locked run: which scenario, which way it was run, which seed.
type Key = (String, String, u64);

/// Runs every locked seed; the fingerprint of each.
fn measure() -> BTreeMap<Key, String> {
    let stop = AtomicBool::new(false);
    let mut out = BTreeMap::new();
    let mut batch = |file: &str, s: &Scenario, mode: String, campaign: Campaign| {
        let scenarios = vec![(file.to_string(), s.clone())];
        let (results, _) = run_campaign(&scenarios, &campaign, &stop, &|_| {});
        assert_eq!(results.len() as u64, campaign.seeds, "{file} {mode}");
        for r in results {
            assert_ne!(
                r.verdict, "error",
                "{file} {mode} seed {}: {:?}",
                r.seed, r.violation
            );
            out.insert((file.to_string(), mode.clone(), r.seed), r.fingerprint);
        }
    };
    let plain = |seeds, swarm, bugs: Vec<String>| Campaign {
        from: 0,
        seeds,
        shard: None,
        swarm,
        bugs,
    };
    for (file, s) in shipped() {
        if s.nemesis.is_none() {
            batch(&file, &s, "run".into(), plain(SEEDS, false, Vec::new()));
            continue;
        }
        batch(
            &file,
            &s,
            "fuzz".into(),
            plain(NEMESIS_SEEDS, false, Vec::new()),
        );
        batch(
            &file,
            &s,
            "swarm".into(),
            plain(VARIANT_SEEDS, true, Vec::new()),
        );
        let bugs: Vec<String> = s
            .protocol
            .info()
            .bugs
            .iter()
            .map(|b| b.name.to_string())
            .collect();
        for bug in bugs {
            if s.bugs.iter().any(|b| b.0 == bug) {
                continue;
            }
            batch(
                &file,
                &s,
                format!("bug:{bug}"),
                plain(VARIANT_SEEDS, false, vec![bug]),
            );
        }
    }
    out
}

fn render(entries: &BTreeMap<Key, String>) -> String {
    let mut o = String::from(
        "# The fingerprint of every locked run: scenario (relative to scenarios/), how it was\n\
         # run (run, fuzz, swarm, bug:<switch>), seed, trace fingerprint.\n\
         # A change of behaviour rewrites this file in the same commit, and says so:\n\
         #   FAULTLINE_WRITE_LOCK=1 cargo test -p scenarios --test fingerprint_lock\n",
    );
    for ((file, mode, seed), fp) in entries {
        o.push_str(&format!("{file} {mode} {seed} {fp}\n"));
    }
    o
}

fn parse(text: &str) -> BTreeMap<Key, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "malformed lock line {l:?}");
            (
                (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap()),
                f[3].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_locked_fingerprint_is_unchanged() {
    let now = measure();
    if std::env::var_os("FAULTLINE_WRITE_LOCK").is_some() {
        std::fs::write(lock_path(), render(&now)).unwrap();
        eprintln!(
            "wrote {} fingerprints to {}",
            now.len(),
            lock_path().display()
        );
        return;
    }
    let text = std::fs::read_to_string(lock_path()).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; write it with FAULTLINE_WRITE_LOCK=1",
            lock_path().display()
        )
    });
    let locked = parse(&text);
    let mut problems = Vec::new();
    for (key, fp) in &now {
        match locked.get(key) {
            Some(want) if want == fp => {}
            Some(want) => problems.push(format!(
                "{} ({}) seed {}: fingerprint {fp}, locked {want}",
                key.0, key.1, key.2
            )),
            None => problems.push(format!(
                "{} ({}) seed {}: not in the lock (fingerprint {fp})",
                key.0, key.1, key.2
            )),
        }
    }
    for key in locked.keys().filter(|k| !now.contains_key(*k)) {
        problems.push(format!(
            "{} ({}) seed {}: locked, but no longer run",
            key.0, key.1, key.2
        ));
    }
    assert!(
        problems.is_empty(),
        "{} of {} locked runs changed:\n  {}\nIf the change of behaviour is intended, rewrite the lock with \
         FAULTLINE_WRITE_LOCK=1 cargo test -p scenarios --test fingerprint_lock and say so in the commit message.",
        problems.len(),
        now.len(),
        problems.join("\n  ")
    );
}
