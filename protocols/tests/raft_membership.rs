//! Raft's single-server membership changes, run through the engine: one change at a time,
//! catch-up before a server is added, and a server that never catches up given up.

mod raft_support;

use raft_support::*;
use sim_core::{EndReason, Fault, MembershipChange, NodeId, RunResult, SimDuration, Target};

fn add(at: u64, n: u32) -> (SimDuration, Fault) {
    (ms(at), Fault::Membership(MembershipChange::Add(NodeId(n))))
}

fn remove(at: u64, n: u32) -> (SimDuration, Fault) {
    (
        ms(at),
        Fault::Membership(MembershipChange::Remove(NodeId(n))),
    )
}

/// A cluster that starts as node 0 alone grows to five members one server at a time,
/// then removes node 0 — necessarily its leader until then — which steps down once the
/// configuration without it is committed, hands over to a successor, and never leads
/// again, while clients are served throughout.
#[test]
fn servers_are_added_and_removed_one_at_a_time_while_serving() {
    let mut run = Run::new(5, 5, 3, 300);
    run.raft.initial_members = vec![0];
    run.faults = vec![
        add(500, 1),
        add(1000, 2),
        add(1500, 3),
        remove(2000, 0),
        add(2500, 4),
    ];
    let (r, states) = run.go();
    assert_eq!(violation(&r), None);
    assert_eq!(r.end, EndReason::WorkDone, "{}", r.end);
    assert!(ok_count(&r) >= 890, "{} of 900 operations", ok_count(&r));
    assert!(linearizable(&r));
    let configs: Vec<u64> = r
        .observations
        .iter()
        .filter(|o| o.obs.kind == "config")
        .map(|o| o.obs.value)
        .collect();
    assert_eq!(
        configs,
        [0b11, 0b111, 0b1111, 0b1110, 0b11110],
        "{configs:?}"
    );
    let leaders_after_removal: Vec<u32> = r
        .observations
        .iter()
        .filter(|o| o.obs.kind == "leader" && o.time.as_nanos() > 2_000_000_000)
        .map(|o| o.node.0)
        .collect();
    assert!(
        !leaders_after_removal.is_empty() && !leaders_after_removal.contains(&0),
        "a new leader among the members, never node 0: {leaders_after_removal:?}"
    );
    // Node 0 hands over as it steps down: its successor stands at once, without waiting
    // out an election timeout (at least 150 ms).
    let removed_at = r
        .observations
        .iter()
        .find(|o| o.obs.kind == "config" && o.obs.value == 0b1110)
        .map(|o| o.time.as_nanos())
        .expect("node 0 is removed");
    let next_leader_at = r
        .observations
        .iter()
        .find(|o| o.obs.kind == "leader" && o.time.as_nanos() > removed_at)
        .map(|o| o.time.as_nanos())
        .expect("a new leader");
    assert!(
        next_leader_at - removed_at < 60_000_000,
        "removal appended at {removed_at}, next leader at {next_leader_at}"
    );
    assert_eq!(r.metrics.counters.get("raft.handovers").copied(), Some(1));
    let members: Vec<NodeId> = (1..5).map(NodeId).collect();
    for n in states.iter().flatten() {
        assert_eq!(
            n.members(),
            members,
            "node {:?} sees the last configuration",
            n
        );
    }
    // The nodes that applied the most agree on the state they built.
    let max = states.iter().flatten().map(|n| n.last_applied()).max();
    let caught_up: Vec<_> = states
        .iter()
        .flatten()
        .filter(|n| Some(n.last_applied()) == max)
        .map(|n| n.kv())
        .collect();
    assert!(caught_up.windows(2).all(|w| w[0] == w[1]));
}

/// Two changes asked at once: the second is appended only after the first is committed
/// (the 2015 fix); with `unsafe_membership_change` it goes into the log as soon as its
/// server has caught up, before the first commits.
#[test]
fn a_change_waits_for_the_previous_one_to_commit_unless_the_bug_is_on() {
    for unsafe_change in [false, true] {
        let mut run = Run::new(6, 5, 2, 100);
        run.raft.initial_members = vec![0, 1, 2];
        run.raft.bugs.unsafe_membership_change = unsafe_change;
        run.faults = vec![add(1000, 3), add(1000, 4)];
        let (r, _) = run.go();
        assert_eq!(violation(&r), None);
        let configs: Vec<(u64, u64)> = r
            .observations
            .iter()
            .filter(|o| o.obs.kind == "config")
            .map(|o| (o.time.as_nanos(), o.obs.key))
            .collect();
        assert_eq!(configs.len(), 2, "{configs:?}");
        let (first_at, first_index) = configs[0];
        let committed_at = r
            .observations
            .iter()
            .find(|o| o.obs.kind == "commit" && o.obs.key >= first_index)
            .map(|o| o.time.as_nanos())
            .expect("the first change commits");
        if unsafe_change {
            assert!(
                configs[1].0 < committed_at,
                "the second change starts before the first commits: {configs:?}, committed at {committed_at}"
            );
        } else {
            assert!(committed_at > first_at);
            assert!(
                configs[1].0 >= committed_at,
                "the second change starts after the first commits: {configs:?}, committed at {committed_at}"
            );
        }
    }
}

/// Three members take writes while node 3 is down; at `at` ms it comes back and is asked
/// to be added, with `more` faults after. Small batches make catching up take many round
/// trips.
fn adding_node_3(seed: u64, ops: u64, at: u64, more: Vec<(SimDuration, Fault)>) -> Run {
    let mut run = Run::new(seed, 5, 3, ops);
    run.raft.initial_members = vec![0, 1, 2];
    run.raft.max_entries_per_append = 4;
    run.faults = vec![
        (ms(0), Fault::Crash(Target::Node(NodeId(3)))),
        (ms(at), Fault::Restart(Target::Node(NodeId(3)))),
        add(at, 3),
    ];
    run.faults.extend(more);
    run
}

/// When the first configuration change was appended (ns).
fn first_config_at(r: &RunResult) -> u64 {
    r.observations
        .iter()
        .find(|o| o.obs.kind == "config")
        .map(|o| o.time.as_nanos())
        .expect("a configuration change")
}

/// A server that was down while the cluster took writes is added only once it has caught
/// up: its configuration entry follows the entry at which it first held everything
/// committed when the change was asked, so the new member never stalls commitment.
#[test]
fn a_server_is_added_only_once_it_has_caught_up() {
    let (r, _) = adding_node_3(7, 2000, 1500, Vec::new()).go();
    assert_eq!(violation(&r), None);
    assert!(linearizable(&r));
    let asked = 1_500_000_000;
    let committed = r
        .observations
        .iter()
        .filter(|o| o.obs.kind == "commit" && o.time.as_nanos() <= asked)
        .map(|o| o.obs.key)
        .max()
        .expect("writes commit before the change");
    assert!(committed > 100, "{committed} entries to catch up on");
    let held_at = r
        .observations
        .iter()
        .find(|o| o.node == NodeId(3) && o.obs.kind == "entry" && o.obs.key >= committed)
        .map(|o| o.time.as_nanos())
        .expect("node 3 catches up");
    let added_at = first_config_at(&r);
    assert!(
        added_at >= held_at && held_at > asked,
        "asked at {asked}, node 3 held index {committed} at {held_at}, added at {added_at}"
    );
}

/// A server that never comes up is not added: after its catch-up rounds run out the
/// change is given up, and the three members go on serving.
#[test]
fn adding_a_server_that_stays_down_is_given_up() {
    let mut run = Run::new(8, 5, 3, 600);
    run.raft.initial_members = vec![0, 1, 2];
    run.faults = vec![(ms(0), Fault::Crash(Target::Node(NodeId(4)))), add(500, 4)];
    let (r, states) = run.go();
    assert_eq!(violation(&r), None);
    assert_eq!(r.end, EndReason::WorkDone, "{}", r.end);
    assert!(linearizable(&r));
    let configs = r.observations.iter().filter(|o| o.obs.kind == "config");
    assert_eq!(configs.count(), 0, "no configuration entry");
    let given_up = r.metrics.counters.get("raft.additions_given_up").copied();
    assert_eq!(given_up, Some(1));
    let members: Vec<NodeId> = (0..3).map(NodeId).collect();
    for n in states.iter().flatten() {
        assert_eq!(n.members(), members);
    }
}

/// A server cut off in the middle of its catch-up is not added on reaching the target
/// of a round begun long before: when it is added, it holds what the leader had committed
/// an election timeout earlier.
#[test]
fn a_server_cut_off_while_catching_up_is_added_only_once_it_keeps_up_again() {
    let cut_off = vec![
        (ms(1030), Fault::Isolate(Target::Node(NodeId(3)))),
        (ms(1800), Fault::Heal),
    ];
    let run = adding_node_3(9, 3000, 1000, cut_off);
    let timeout = run.raft.election_timeout_min.as_nanos();
    let (r, _) = run.go();
    assert_eq!(violation(&r), None);
    assert!(linearizable(&r));
    let added_at = first_config_at(&r);
    let committed_a_timeout_before = r
        .observations
        .iter()
        .filter(|o| o.obs.kind == "commit" && o.time.as_nanos() + timeout <= added_at)
        .map(|o| o.obs.key)
        .max()
        .unwrap_or(0);
    let held = r
        .observations
        .iter()
        .filter(|o| o.node == NodeId(3) && o.obs.kind == "entry" && o.time.as_nanos() <= added_at)
        .map(|o| o.obs.key)
        .max()
        .unwrap_or(0);
    assert!(
        added_at > 1_800_000_000 && held >= committed_a_timeout_before,
        "added at {added_at} holding index {held}; committed {committed_a_timeout_before} a timeout before"
    );
}
