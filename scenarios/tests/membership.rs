//! Reconfiguration fuzzed: the membership nemesis finds the single-server bug that
//! `unsafe_membership_change` brings back, and the same seeds pass with the fix.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use scenarios::fuzz::{Campaign, run_campaign};

/// Seeds of `raft/membership-nemesis.ron` on which the bug shows (measured: 7 of the
/// first 1000 seeds fail with it, the first being seed 76).
const FAILING: u64 = 76;

fn campaign(bugs: &[&str]) -> Campaign {
    Campaign {
        from: FAILING,
        seeds: 1,
        shard: None,
        swarm: false,
        bugs: bugs.iter().map(|b| b.to_string()).collect(),
    }
}

#[test]
fn the_membership_nemesis_catches_unsafe_membership_change_and_passes_without_it() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("raft/membership-nemesis.ron");
    let scenario = scenarios::load::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let files = vec![(file.display().to_string(), scenario)];
    let stop = AtomicBool::new(false);
    let (_, failures) = run_campaign(
        &files,
        &campaign(&["unsafe_membership_change"]),
        &stop,
        &|_| {},
    );
    assert_eq!(failures.len(), 1, "seed {FAILING} fails with the bug");
    assert!(
        [
            "leader_completeness",
            "state_machine_safety",
            "election_safety"
        ]
        .contains(&failures[0].violation.as_str()),
        "{}",
        failures[0].violation
    );
    let (results, failures) = run_campaign(&files, &campaign(&[]), &stop, &|_| {});
    assert!(failures.is_empty(), "{results:?}");
}
