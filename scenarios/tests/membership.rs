//! Reconfiguration fuzzed: the membership nemesis finds the single-server bug that
//! `unsafe_membership_change` brings back, and the same seeds pass with the fix.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use scenarios::fuzz::{Campaign, run_campaign};

/// Seeds searched: measured, 7 of the first 1000 seeds of `raft/membership-nemesis.ron`
/// fail with the bug, the first being seed 76.
const SEEDS: u64 = 120;

fn campaign(bugs: &[&str]) -> Campaign {
    Campaign {
        from: 0,
        seeds: SEEDS,
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
    let bug = campaign(&["unsafe_membership_change"]);
    let (_, failures) = run_campaign(&files, &bug, &stop, &|_| {});
    assert!(
        !failures.is_empty(),
        "no seed of {SEEDS} fails with the bug"
    );
    for f in &failures {
        assert!(
            [
                "leader_completeness",
                "state_machine_safety",
                "election_safety"
            ]
            .contains(&f.violation.as_str()),
            "seed {}: {}",
            f.seed,
            f.violation
        );
    }
    // The same seeds pass with the fix.
    let (results, failures) = run_campaign(&files, &campaign(&[]), &stop, &|_| {});
    assert_eq!(results.len() as u64, SEEDS);
    let first = failures.first().map(|f| (f.seed, &f.violation));
    assert!(failures.is_empty(), "{first:?}");
}
