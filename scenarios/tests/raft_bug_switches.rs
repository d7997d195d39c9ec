//! Raft's bug switches fuzzed on the shipped nemesis scenarios: with each switch on, some
//! seed among the first few hundred fails on the check meant to catch it, and the same
//! seeds all pass with the switch off.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use scenarios::fuzz::{Campaign, run_campaign};

/// One switch: the scenario it is hunted on, how many seeds from 0 are searched (several
/// times the first failing seed, measured over 1000), and the checks allowed to catch it.
struct Hunt {
    file: &'static str,
    bug: &'static str,
    seeds: u64,
    caught_by: &'static [&'static str],
}

const SAFETY: &[&str] = &[
    "durable_commit",
    "vote_once",
    "leader_completeness",
    "state_machine_safety",
    "election_safety",
];

const HUNTS: &[Hunt] = &[
    Hunt {
        file: "raft/nemesis.ron",
        bug: "vote_without_log_check",
        seeds: 20,
        caught_by: SAFETY,
    },
    Hunt {
        file: "raft/nemesis.ron",
        bug: "commit_prior_term_by_count",
        seeds: 300,
        caught_by: SAFETY,
    },
    Hunt {
        file: "raft/nemesis.ron",
        bug: "forget_vote_on_restart",
        seeds: 200,
        caught_by: &["vote_once", "election_safety"],
    },
    Hunt {
        file: "raft/nemesis.ron",
        bug: "stale_lease_read",
        seeds: 100,
        caught_by: &["linearizability"],
    },
    Hunt {
        file: "raft/nemesis.ron",
        bug: "unsafe_membership_change",
        seeds: 600,
        caught_by: SAFETY,
    },
    Hunt {
        file: "raft/membership-nemesis.ron",
        bug: "unsafe_membership_change",
        seeds: 150,
        caught_by: SAFETY,
    },
];

fn campaign(seeds: u64, bugs: &[&str]) -> Campaign {
    Campaign {
        from: 0,
        seeds,
        shard: None,
        swarm: false,
        bugs: bugs.iter().map(|b| b.to_string()).collect(),
    }
}

fn load(name: &str) -> Vec<(String, scenarios::format::Scenario)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let scenario = scenarios::load::load(&file).unwrap_or_else(|e| panic!("{e}"));
    vec![(file.display().to_string(), scenario)]
}

#[test]
fn every_raft_bug_switch_is_caught_by_its_nemesis_and_the_fix_passes() {
    let stop = AtomicBool::new(false);
    for hunt in HUNTS {
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
    // The seeds searched pass with every switch off.
    let mut files: Vec<&str> = HUNTS.iter().map(|h| h.file).collect();
    files.dedup();
    for file in files {
        let seeds = HUNTS
            .iter()
            .filter(|h| h.file == file)
            .map(|h| h.seeds)
            .max();
        let seeds = seeds.unwrap_or(0);
        let (results, failures) = run_campaign(&load(file), &campaign(seeds, &[]), &stop, &|_| {});
        assert_eq!(results.len() as u64, seeds);
        let first = failures.first().map(|f| (f.seed, &f.violation));
        assert!(failures.is_empty(), "{file} without bugs: {first:?}");
    }
}
