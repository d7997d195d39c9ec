//! The schedule search on a model small enough to count by hand: three Echo nodes that
//! each ping the other two once and never answer (six messages in flight, nothing else).
//! Every subset of the six deliveries is one state, reached in any order.

use sim_core::echo::{Echo, EchoConfig};
use sim_core::explore::{Judge, Judgement, Limits, Progress, Stop, Strategy, explore};
use sim_core::invariant::{Invariant, World};
use sim_core::schedule::{Budget, Step};
use sim_core::{EndReason, NodeId, RunResult, SimConfig, SimDuration, Simulation};

struct NoHistoryChecks;

impl Judge for NoHistoryChecks {
    fn judge(&self, _: &RunResult) -> Judgement {
        Judgement::Holds
    }
    fn keep_going(&mut self, _: &Progress) -> bool {
        true
    }
}

/// Fails once node 1 has heard from both others while node 0 has heard from nobody.
#[derive(Clone, Hash)]
struct OneBeforeZero;

impl Invariant<Echo> for OneBeforeZero {
    sim_core::forkable!(Echo);
    fn name(&self) -> &str {
        "one_before_zero"
    }
    fn check(&mut self, w: &World<'_, Echo>) -> Result<(), String> {
        let heard = |n| w.node(NodeId(n)).map_or(0, |e: &Echo| e.received);
        if heard(1) == 2 && heard(0) == 0 {
            return Err("node 1 heard both before node 0 heard anyone".into());
        }
        Ok(())
    }
}

fn echo(with_invariant: bool) -> Simulation<Echo> {
    let config = SimConfig {
        nodes: 3,
        horizon: SimDuration::from_secs(1),
        ..SimConfig::default()
    };
    let mut b =
        Simulation::<Echo>::builder(config).protocol_config(EchoConfig { max_hops: Some(0) });
    if with_invariant {
        b = b.invariant(OneBeforeZero);
    }
    b.build().expect("builds")
}

#[test]
fn every_subset_of_deliveries_is_one_state() {
    for strategy in [
        Strategy::BreadthFirst,
        Strategy::IterativeDeepening,
        Strategy::DepthFirst,
    ] {
        let r = explore(
            echo(false),
            Budget::default(),
            strategy,
            Limits::default(),
            &mut NoHistoryChecks,
        )
        .expect("explores");
        assert_eq!(r.stop, Stop::Exhausted, "{strategy:?}");
        assert!(!r.depth_capped);
        // 2^6 subsets of delivered messages, reached in any order: orders that commute
        // are one state.
        assert_eq!(r.distinct, 64, "{strategy:?}");
        assert_eq!(r.depth, 6);
        if strategy != Strategy::IterativeDeepening {
            // From a state with k messages delivered, 6 - k choices: sum over subsets
            // (each state is expanded once).
            assert_eq!(r.transitions, 6 * 32, "{strategy:?}");
        }
    }
}

#[test]
fn a_crash_budget_adds_the_crashed_states_and_no_more() {
    let r = explore(
        echo(false),
        Budget {
            crashes: 1,
            ..Budget::default()
        },
        Strategy::BreadthFirst,
        Limits::default(),
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert_eq!(r.stop, Stop::Exhausted);
    // Without a crash: 64. With node n crashed after some subset of deliveries: its
    // state is gone, messages to it wait (it never restarts), the others go on. What is
    // left to tell states apart is which of the six messages were delivered (the two to
    // the crashed node are frozen as they were), and which node crashed.
    assert!(
        r.distinct > 64 && r.distinct <= 64 + 3 * 64,
        "{}",
        r.distinct
    );
}

#[test]
fn the_shortest_violation_is_found_and_its_schedule_replays() {
    let r = explore(
        echo(true),
        Budget::default(),
        Strategy::BreadthFirst,
        Limits::default(),
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert_eq!(r.stop, Stop::Violation);
    let found = r.found.expect("found");
    assert_eq!(found.check, "one_before_zero");
    assert_eq!(found.schedule.len(), 2, "{:?}", found.schedule);
    for step in &found.schedule {
        assert!(
            matches!(step, Step::Deliver { to: 1, kind, .. } if kind == "Ping"),
            "{step:?}"
        );
    }
    let replayed = echo(true).run_schedule(&found.schedule);
    assert!(
        matches!(&replayed.end, EndReason::InvariantViolated { invariant, .. } if invariant == "one_before_zero"),
        "{:?}",
        replayed.end
    );
    // A clean schedule runs out, and the end says so.
    let clean = echo(true).run_schedule(&found.schedule[..1]);
    assert_eq!(
        clean.end,
        EndReason::Schedule {
            steps: 1,
            unmatched: None
        }
    );
}

#[test]
fn a_depth_limit_is_reported_as_one() {
    let r = explore(
        echo(false),
        Budget::default(),
        Strategy::BreadthFirst,
        Limits {
            max_depth: Some(3),
            ..Limits::default()
        },
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert_eq!(r.stop, Stop::Exhausted);
    assert!(r.depth_capped);
    // Subsets of at most three of six: 1 + 6 + 15 + 20.
    assert_eq!(r.distinct, 42);
}

/// Records the states where nothing more can happen.
#[derive(Default)]
struct Ends(std::collections::BTreeSet<u64>);

impl Judge for Ends {
    fn judge(&self, _: &RunResult) -> Judgement {
        Judgement::Holds
    }
    fn keep_going(&mut self, _: &Progress) -> bool {
        true
    }
    fn leaf(&mut self, digest: u64) {
        self.0.insert(digest);
    }
}

fn deviations(k: u32) -> Limits {
    Limits {
        max_deviations: k,
        ..Limits::default()
    }
}

#[test]
fn no_departure_is_the_run_in_time_order_and_enough_are_every_schedule() {
    // None: the six deliveries in the order they fall due, one state after each.
    let r = explore(
        echo(false),
        Budget::default(),
        Strategy::Deviations,
        deviations(0),
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert_eq!(r.stop, Stop::Exhausted);
    assert!(r.deviations_capped, "other orders wanted a departure");
    assert_eq!((r.distinct, r.depth), (7, 6));
    // One: the order in time, with one delivery moved earlier (or a crash) somewhere.
    let one = explore(
        echo(false),
        Budget::default(),
        Strategy::Deviations,
        deviations(1),
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert!(one.distinct > 7 && one.distinct < 64, "{}", one.distinct);
    // As many as there are steps: every schedule, so the same states and the same ends
    // as breadth-first, with a crash in the budget too.
    let crash = Budget {
        crashes: 1,
        ..Budget::default()
    };
    let mut full = Ends::default();
    let bfs = explore(
        echo(false),
        crash,
        Strategy::BreadthFirst,
        Limits::default(),
        &mut full,
    )
    .expect("explores");
    let mut all = Ends::default();
    let dev = explore(
        echo(false),
        crash,
        Strategy::Deviations,
        deviations(8),
        &mut all,
    )
    .expect("explores");
    assert_eq!(dev.stop, Stop::Exhausted);
    assert!(
        !dev.deviations_capped,
        "eight departures are more than any schedule has"
    );
    assert_eq!(dev.distinct, bfs.distinct);
    assert!(full.0.len() > 3, "{} ends", full.0.len());
    assert_eq!(full.0, all.0);
}

#[test]
fn a_violation_is_found_with_the_fewest_departures_and_replays() {
    let none = explore(
        echo(true),
        Budget::default(),
        Strategy::Deviations,
        deviations(0),
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert!(none.found.is_none(), "the run in time order is clean");
    assert_eq!(none.stop, Stop::Exhausted);
    assert!(none.deviations_capped);
    // Departures are allowed one more at a time: the search with a bound of 3 stops at
    // the fewest that show it, which a bound of one less does not.
    let r = explore(
        echo(true),
        Budget::default(),
        Strategy::Deviations,
        deviations(3),
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert_eq!(r.stop, Stop::Violation);
    let fewest = (1..=3)
        .find(|&k| {
            explore(
                echo(true),
                Budget::default(),
                Strategy::Deviations,
                deviations(k),
                &mut NoHistoryChecks,
            )
            .expect("explores")
            .found
            .is_some()
        })
        .expect("found within 3");
    let short = explore(
        echo(true),
        Budget::default(),
        Strategy::Deviations,
        deviations(fewest - 1),
        &mut NoHistoryChecks,
    )
    .expect("explores");
    assert!(short.found.is_none() && short.deviations_capped);
    let found = r.found.expect("found");
    let replayed = echo(true).run_schedule(&found.schedule);
    assert!(
        matches!(&replayed.end, EndReason::InvariantViolated { invariant, .. } if invariant == "one_before_zero"),
        "{:?}",
        replayed.end
    );
}
