//! Multi-Paxos end to end: its bug switches fuzzed on the shipped nemesis (each caught by
//! the check meant for it, the same seeds passing with the switch off), 2(N−1) messages
//! per command in the steady state, catch-up from a snapshot, and lease reads.

mod common;

use std::path::PathBuf;

use common::{Hunt, hunt_all};
use scenarios::runner::{RunOptions, run};

const NEMESIS: &str = "multipaxos/nemesis.ron";

const HUNTS: &[Hunt] = &[
    Hunt {
        file: NEMESIS,
        bug: "new_leader_skips_recovery",
        seeds: 10,
        caught_by: &["slot_agreement", "state_machine_safety", "linearizability"],
    },
    Hunt {
        file: NEMESIS,
        bug: "no_gap_fill",
        seeds: 80,
        caught_by: &["liveness"],
    },
    Hunt {
        file: NEMESIS,
        bug: "leader_read_without_quorum",
        seeds: 5,
        caught_by: &["linearizability"],
    },
];

#[test]
fn every_multipaxos_bug_switch_is_caught_by_its_nemesis_and_the_fix_passes() {
    hunt_all(HUNTS);
}

#[test]
fn multipaxos_messages_per_command_at_3_5_and_7_nodes_is_2_n_minus_1() {
    let file = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/multipaxos/steady-state.ron"
    ));
    let compared = scenarios::cli::compare::compare_runs(&[file], &[3, 5, 7], None).unwrap();
    assert_eq!(compared.status, 0, "every run passes");
    assert_eq!(compared.runs.len(), 3);
    for r in &compared.runs {
        let expected = 2.0 * (f64::from(r.nodes) - 1.0);
        let got = r.messages_per_op();
        assert!(r.ok_ops > 1000, "{}: only {} completed", r.label, r.ok_ops);
        // The election and the odd heartbeat are the only other messages: within 1 %.
        assert!(
            (got - expected).abs() <= 0.01 * expected,
            "{}: {got:.3} messages per command, expected about {expected}",
            r.label
        );
    }
}

/// A replica down while the others take a snapshot comes back to find the slots it
/// lacks compacted away: the leader sends it the snapshot, then the slots after it.
#[test]
fn a_replica_that_was_down_catches_up_from_the_leaders_snapshot() {
    let text = r#"(
        name: "t/catch-up",
        seed: 2,
        duration: "6s",
        nodes: 5,
        protocol: MultiPaxos((snapshot_every: 100)),
        network: (latency: Uniform("1ms", "5ms")),
        workload: KeyValue((clients: 3, ops: 600, keys: 5, timeout: "300ms", retry: SameId(max_attempts: 30))),
        faults: [At("200ms", Crash(Node(4))), At("2s", Restart(Node(4)))],
        checks: [Invariants, Linearizable, Liveness(within: "2s")],
    )"#;
    let s = scenarios::load::parse(text, "catch-up.ron").unwrap();
    let r = run(&s, RunOptions::default()).unwrap();
    assert!(r.summary.as_expected, "{}", r.summary.render());
    let counters = &r.result.metrics.counters;
    assert!(
        counters
            .get("multipaxos.snapshots_installed")
            .copied()
            .unwrap_or(0)
            >= 1,
        "{counters:?}"
    );
    assert!(
        counters
            .get("multipaxos.catch_up_sent")
            .copied()
            .unwrap_or(0)
            >= 1
    );
}
