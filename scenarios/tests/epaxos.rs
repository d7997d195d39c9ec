//! EPaxos end to end: its bug switches fuzzed on the shipped nemeses (each caught by the
//! check meant for it, the same seeds passing with the switch off), and the messages per
//! command on the fast path, with PreAccept to every replica or to the fast quorum only.

mod common;

use common::{Hunt, hunt_all};
use scenarios::runner::{RunOptions, run};

const NEMESIS: &str = "epaxos/nemesis.ron";
const NEMESIS_3: &str = "epaxos/nemesis-3.ron";

const HUNTS: &[Hunt] = &[
    Hunt {
        file: NEMESIS,
        bug: "fast_quorum_majority",
        seeds: 20,
        caught_by: &["stability", "execution_consistency", "linearizability"],
    },
    Hunt {
        file: NEMESIS,
        bug: "single_ballot_variable",
        seeds: 20,
        caught_by: &["stability", "execution_consistency", "linearizability"],
    },
    Hunt {
        file: NEMESIS,
        bug: "execute_without_committed_deps",
        seeds: 3,
        caught_by: &["execution_consistency", "linearizability"],
    },
    Hunt {
        file: NEMESIS_3,
        bug: "preaccept_not_durable",
        seeds: 160,
        caught_by: &["stability", "execution_consistency", "linearizability"],
    },
];

#[test]
fn every_epaxos_bug_switch_is_caught_by_its_nemesis_and_the_fix_passes() {
    hunt_all(HUNTS);
}

/// One client, one command at a time: every command's dependencies are committed before
/// it starts, so each commits on the fast path. Messages between replicas per command:
/// PreAccept and its answer to each other replica and a Commit to each, 3(N−1); thrifty,
/// PreAccept only to the fast quorum, 2(FQ−1) + (N−1). The probes that measure round
/// trips at start are left out.
#[test]
fn fast_path_messages_per_command_are_3_n_minus_1_or_thrifty_2_fq_minus_1_plus_n_minus_1() {
    for nodes in [3u32, 5, 7] {
        for thrifty in [false, true] {
            let text = format!(
                r#"(
                name: "t/fast-path",
                seed: 4,
                duration: "10s",
                nodes: {nodes},
                protocol: EPaxos((thrifty: {thrifty})),
                network: (latency: Uniform("1ms", "5ms")),
                workload: KeyValue((clients: 1, ops: 200, keys: 3, timeout: "500ms", retry: SameId(max_attempts: 20))),
                checks: [Invariants, Linearizable, Liveness(within: "2s")],
            )"#
            );
            let s = scenarios::load::parse(&text, "fast-path.ron").unwrap();
            let r = run(&s, RunOptions::default()).unwrap();
            assert!(r.summary.as_expected, "{}", r.summary.render());
            let m = &r.result.metrics;
            let sent = |k: &str| m.messages.get(k).map_or(0, |c| c.sent);
            let ops = r.result.history.len() as u64;
            assert_eq!(ops, 200);
            assert_eq!(m.counters.get("epaxos.fast_commits").copied(), Some(200));
            let total: u64 = m
                .messages
                .iter()
                .filter(|(k, _)| !k.starts_with("Probe"))
                .map(|(_, c)| c.sent)
                .sum();
            let n = u64::from(nodes);
            let fq = protocols::epaxos::fast_quorum(nodes, false) as u64;
            let expected = if thrifty {
                2 * (fq - 1) + (n - 1)
            } else {
                3 * (n - 1)
            };
            // What `faultline compare` marks for this run is the same closed form.
            let mark = s.protocol.messages_per_op(nodes).map(|(v, _)| v);
            assert_eq!(
                mark,
                Some(expected as f64),
                "N = {nodes}, thrifty {thrifty}"
            );
            assert_eq!(
                total,
                expected * ops,
                "N = {nodes}, thrifty {thrifty}: {} PreAccept, {} PreAcceptOk, {} Commit",
                sent("PreAccept"),
                sent("PreAcceptOk"),
                sent("Commit")
            );
        }
    }
}

/// The fast-path share against the conflict rate (the sweep behind the example
/// `epaxos_conflicts`): every command commits fast without conflicts; at three replicas
/// with thrifty PreAccept (one other replica, the whole fast quorum) every command
/// commits fast at any rate; at five the share falls as the rate rises, to almost none
/// when every command is on the hot key.
#[test]
fn the_fast_path_share_falls_with_the_conflict_rate_except_at_three_thrifty_replicas() {
    use scenarios::sweeps::{CONFLICT_RATES, epaxos_fast_and_slow};
    let share = |nodes, rate, thrifty| {
        let (fast, slow) = epaxos_fast_and_slow(nodes, rate, thrifty).unwrap();
        assert!(fast + slow >= 1000, "{fast} + {slow} commits");
        fast as f64 / (fast + slow) as f64
    };
    for rate in CONFLICT_RATES {
        assert_eq!(share(3, *rate, true), 1.0, "N = 3 thrifty at {rate} %");
    }
    let five: Vec<f64> = CONFLICT_RATES.iter().map(|r| share(5, *r, false)).collect();
    assert_eq!(five[0], 1.0, "{five:?}");
    assert!(five.windows(2).all(|w| w[1] <= w[0] + 0.02), "{five:?}");
    assert!(five[five.len() - 1] < 0.1, "{five:?}");
}

/// The nemeses reach every branch of recovery: a decision found committed, accepted
/// attributes taken over, F identical pre-accepts accepted, TryPreAccept, phase 1 again,
/// a no-op, and a deferred TryPreAccept; so the hunts above test recovery, not only the
/// normal case.
#[test]
fn the_nemeses_reach_every_branch_of_recovery() {
    use std::collections::BTreeMap;
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for (file, seeds) in [(NEMESIS, 20), (NEMESIS_3, 20)] {
        let (_, s) = common::load(file).remove(0);
        for seed in 0..seeds {
            let opts = RunOptions {
                seed: Some(seed),
                ..Default::default()
            };
            let r = run(&s, opts).unwrap();
            assert!(
                r.summary.as_expected,
                "{file} seed {seed}: {}",
                r.summary.render()
            );
            for (k, v) in &r.result.metrics.counters {
                *seen.entry(k.clone()).or_default() += v;
            }
        }
    }
    for branch in [
        "epaxos.recovery_found_committed",
        "epaxos.recovery_found_accepted",
        "epaxos.recovery_found_preaccepted",
        "epaxos.try_preaccept",
        "epaxos.recovery_phase1",
        "epaxos.recovery_noop",
    ] {
        assert!(
            seen.get(branch).copied().unwrap_or(0) > 0,
            "{branch} never taken: {seen:?}"
        );
    }
}
