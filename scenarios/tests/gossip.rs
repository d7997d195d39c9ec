//! The dissemination checks: coverage and convergence accept correct runs and reject
//! runs that lose updates or resurrect deleted keys, and the fuzzer's seeds find
//! Gossip's bug switches.

use protocols::gossip::store::value_digest;
use scenarios::family::dissemination::final_value_allowed;
use scenarios::format::{CheckSpec, Scenario};
use scenarios::runner::{RunOptions, Status, Verdict, run};
use sim_core::SimTime;
use sim_core::history::{HistoryOp, OpOutput, Operation, Outcome};

fn load(name: &str) -> Scenario {
    let path = format!("{}/gossip/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    scenarios::load::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

fn op(id: u64, op: Operation, invoked: u64, completed: Option<u64>) -> HistoryOp {
    HistoryOp {
        id,
        client: 0,
        op,
        invoked: SimTime(invoked),
        completed: completed.map(SimTime),
        outcome: match completed {
            Some(_) => Outcome::Ok(OpOutput::Done),
            None => Outcome::Indeterminate,
        },
        served_by: None,
    }
}

fn put(id: u64, v: &str, invoked: u64, completed: Option<u64>) -> HistoryOp {
    op(
        id,
        Operation::Put {
            key: 1,
            value: v.into(),
        },
        invoked,
        completed,
    )
}

fn del(id: u64, invoked: u64, completed: Option<u64>) -> HistoryOp {
    op(id, Operation::Delete { key: 1 }, invoked, completed)
}

#[test]
fn final_values_superseded_by_acknowledged_writes_are_rejected() {
    let a = value_digest(Some("a"));
    let b = value_digest(Some("b"));
    // put a, then (after it was acknowledged) delete.
    let h = [put(0, "a", 10, Some(20)), del(1, 30, Some(40))];
    let w: Vec<&HistoryOp> = h.iter().collect();
    assert!(final_value_allowed(1, 0, &w).is_ok());
    let e = final_value_allowed(1, a, &w).unwrap_err();
    assert!(e.contains("resurrected"), "{e}");
    // put a, then put b: a at the end lost b.
    let h = [put(0, "a", 10, Some(20)), put(1, "b", 30, Some(40))];
    let w: Vec<&HistoryOp> = h.iter().collect();
    assert!(final_value_allowed(1, b, &w).is_ok());
    assert!(final_value_allowed(1, a, &w).unwrap_err().contains("lost"));
    assert!(
        final_value_allowed(1, 0, &w)
            .unwrap_err()
            .contains("absent")
    );
    // Concurrent writes: either may win; an indeterminate one may win any time.
    let h = [put(0, "a", 10, Some(40)), put(1, "b", 20, Some(30))];
    let w: Vec<&HistoryOp> = h.iter().collect();
    assert!(final_value_allowed(1, a, &w).is_ok() && final_value_allowed(1, b, &w).is_ok());
    let h = [put(0, "a", 10, None), put(1, "b", 20, Some(30))];
    let w: Vec<&HistoryOp> = h.iter().collect();
    assert!(final_value_allowed(1, a, &w).is_ok());
    // A value nobody wrote.
    let w: Vec<&HistoryOp> = Vec::new();
    assert!(final_value_allowed(1, 0, &w).is_ok());
    assert!(
        final_value_allowed(1, a, &w)
            .unwrap_err()
            .contains("no client wrote")
    );
}

fn check(run: &scenarios::runner::Run, name: &str) -> Status {
    run.summary
        .checks
        .iter()
        .find(|c| c.check == name)
        .map(|c| c.status.clone())
        .unwrap_or_else(|| panic!("no {name} check"))
}

#[test]
fn coverage_rejects_rumors_without_backstop_and_accepts_them_with_it() {
    let bad = load("rumor-only-loss");
    let r = run(&bad, RunOptions::default()).unwrap();
    assert_eq!(
        check(&r, "coverage"),
        Status::Fail,
        "{}",
        r.summary.render()
    );
    let mut good = bad.clone();
    good.bugs.clear();
    let r = run(&good, RunOptions::default()).unwrap();
    assert_eq!(
        check(&r, "coverage"),
        Status::Pass,
        "{}",
        r.summary.render()
    );
    assert_eq!(
        check(&r, "convergence"),
        Status::Pass,
        "{}",
        r.summary.render()
    );
}

#[test]
fn convergence_rejects_resurrected_keys_even_without_the_invariant() {
    let mut s = load("resurrection");
    s.checks = vec![CheckSpec::Convergence {
        within: scenarios::checked::Positive(sim_core::SimDuration::from_secs(2)),
    }];
    let found = (0..10).find(|seed| {
        let r = run(
            &s,
            RunOptions {
                seed: Some(*seed),
                ..Default::default()
            },
        )
        .unwrap();
        check(&r, "convergence") == Status::Fail
    });
    assert!(found.is_some(), "no seed of 10 failed convergence");
    s.bugs.clear();
    for seed in 0..3 {
        let r = run(
            &s,
            RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            check(&r, "convergence"),
            Status::Pass,
            "{}",
            r.summary.render()
        );
    }
}

/// The first of `seeds` seeds whose run of `s` with `bug` is a violation.
fn first_failing(s: &Scenario, bug: &str, seeds: u64) -> Option<u64> {
    (0..seeds).find(|seed| {
        let r = run(
            s,
            RunOptions {
                seed: Some(*seed),
                bugs: vec![bug.to_string()],
                ..Default::default()
            },
        )
        .unwrap();
        matches!(r.summary.verdict, Verdict::Violation(_))
    })
}

#[test]
fn nemesis_scenarios_pass_and_their_bug_switches_are_found_within_a_few_seeds() {
    for name in ["nemesis-kv", "nemesis-broadcast"] {
        let s = load(name);
        for seed in 0..2 {
            let r = run(
                &s,
                RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(
                r.summary.as_expected,
                "{name} seed {seed}: {}",
                r.summary.render()
            );
        }
    }
    assert!(first_failing(&load("nemesis-kv"), "no_tombstones", 5).is_some());
    assert!(first_failing(&load("nemesis-broadcast"), "rumor_only", 5).is_some());
}
