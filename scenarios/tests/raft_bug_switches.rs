//! Raft's bug switches fuzzed on the shipped nemesis scenarios: with each switch on, some
//! seed among the first few hundred fails on the check meant to catch it, and the same
//! seeds all pass with the switch off.

mod common;

use common::{Hunt, hunt_all};

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

#[test]
fn every_raft_bug_switch_is_caught_by_its_nemesis_and_the_fix_passes() {
    hunt_all(HUNTS);
}
