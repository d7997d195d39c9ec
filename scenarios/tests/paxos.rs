//! Basic Paxos end to end: its bug switches fuzzed on the shipped nemesis (each caught by
//! the check meant for it, and the same seeds passing with the switch off), the message
//! count of one uncontended decree, and a shrunk reproducer that replays.

mod common;

use common::{Hunt, hunt_all, load};
use scenarios::format::Expect;
use scenarios::runner::{RunOptions, run};

const NEMESIS: &str = "paxos/nemesis.ron";

const HUNTS: &[Hunt] = &[
    Hunt {
        file: NEMESIS,
        bug: "acceptor_forgets_on_restart",
        seeds: 30,
        caught_by: &["acceptor_monotonic", "safe_proposal", "agreement"],
    },
    Hunt {
        file: NEMESIS,
        bug: "ignore_highest_accepted",
        seeds: 5,
        caught_by: &["safe_proposal", "agreement"],
    },
    Hunt {
        file: NEMESIS,
        bug: "stale_promises_counted",
        seeds: 5,
        caught_by: &["safe_proposal", "agreement"],
    },
    Hunt {
        file: NEMESIS,
        bug: "ballot_reuse_after_restart",
        seeds: 300,
        caught_by: &["one_value_per_ballot", "safe_proposal", "agreement"],
    },
];

#[test]
fn every_paxos_bug_switch_is_caught_by_its_nemesis_and_the_fix_passes() {
    hunt_all(HUNTS);
}

/// One decree, one proposer, no competition and no faults: Prepare, Promise, Accept and
/// Accepted once per other acceptor (4(N-1)), then the distinguished learner's
/// announcement to every other learner (N-1).
#[test]
fn one_uncontended_decree_takes_4_n_minus_1_messages_plus_the_announcements() {
    for n in [3u32, 5, 7] {
        let text = format!(
            r#"(
                name: "t/one-decree",
                duration: "2s",
                nodes: {n},
                protocol: Paxos(()),
                network: (latency: Uniform("1ms", "5ms")),
                workload: Consensus((clients: 1, instances: 1)),
                checks: [Invariants, Validity, Decisions, Liveness(within: "1s")],
            )"#
        );
        let s = scenarios::load::parse(&text, "one-decree.ron").unwrap();
        let r = run(&s, RunOptions::default()).unwrap().summary;
        assert!(r.as_expected, "{}", r.render());
        let count = |kind: &str| r.messages.get(kind).map_or(0, |m| m.sent);
        let others = u64::from(n - 1);
        for kind in ["Prepare", "Promise", "Accept", "Accepted", "Chosen"] {
            assert_eq!(count(kind), others, "{kind} at N = {n}");
        }
        let total: u64 = r.messages.values().map(|m| m.sent).sum();
        assert_eq!(total, 5 * others, "N = {n}: {:?}", r.messages);
    }
}

/// A node alone decides by itself, with no message to sync its disk before: what it
/// promised, accepted and learned must still be durable before a client hears, or a
/// crash lets it decide an instance a second time.
#[test]
fn a_one_node_cluster_keeps_its_decisions_across_crashes() {
    let text = r#"(
        name: "t/alone",
        duration: "3s",
        nodes: 1,
        protocol: Paxos(()),
        model: (nodes: CrashRecovery),
        workload: Consensus((clients: 3, instances: 200, think: Exponential(mean: "2ms"), timeout: "50ms", retry: SameId(max_attempts: 100))),
        faults: [
            At("100ms", Crash(Node(0))), At("110ms", Restart(Node(0))),
            At("300ms", Crash(Node(0))), At("301ms", Restart(Node(0))),
            At("500ms", Crash(Node(0))), At("520ms", Restart(Node(0))),
        ],
        checks: [Invariants, Validity, Decisions, Liveness(within: "1s")],
    )"#;
    let s = scenarios::load::parse(text, "alone.ron").unwrap();
    for seed in 0..20 {
        let r = run(
            &s,
            RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        )
        .unwrap()
        .summary;
        assert!(r.as_expected, "seed {seed}: {}", r.render());
        assert!(r.ops.ok > 300, "seed {seed}: {:?}", r.ops);
    }
}

#[test]
fn cli_fuzz_of_a_paxos_bug_writes_a_shrunk_reproducer_that_replays() {
    let dir = std::env::temp_dir().join(format!("faultline-paxos-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/paxos/nemesis.ron");
    let bin = env!("CARGO_BIN_EXE_faultline");
    let out = std::process::Command::new(bin)
        .args(["fuzz", file, "--seeds", "3", "--jobs", "2", "--shrink", "1"])
        .args(["--bug", "ignore_highest_accepted", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("shrunk in"), "{text}");
    let mut repro: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    repro.sort();
    assert!(!repro.is_empty(), "no reproducer written: {text}");
    let shrunk = scenarios::load::load(&repro[0]).unwrap();
    assert!(matches!(shrunk.expect, Expect::Violation(_)));
    let original = &load(NEMESIS)[0].1;
    assert!(
        shrunk.workload.kind().map(|w| w.size()) < original.workload.kind().map(|w| w.size()),
        "the proposals were cut"
    );
    let replay = std::process::Command::new(bin)
        .arg("replay")
        .arg(&repro[0])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(0), "{said}");
    assert!(said.contains("same fingerprint as recorded"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
