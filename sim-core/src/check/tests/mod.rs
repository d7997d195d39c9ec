//! Hand-made histories that must be rejected or accepted, and the limits a search runs
//! within; the rule before any search is in `before_search.rs`, the look-ahead for far
//! reads in `growth.rs`, random histories against brute force in `random.rs`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::{FxHashMap, FxHashSet};

use super::models::{KvModel, RegisterInput as In, RegisterModel, RegisterOutput as Out};
use super::*;
use crate::history::{History, OpOutput, Operation, Outcome};
use crate::time::SimTime;

type RegOp = Op<In, Out>;

fn ok(client: u64, input: In, call: u64, ret: u64, output: Out) -> RegOp {
    Op::completed(client, input, call, ret, output)
}

fn lost(client: u64, input: In, call: u64) -> RegOp {
    Op::indeterminate(client, input, call)
}

/// The verdict, which the full search (without the quick pass) must give as well.
fn verdict_of<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> Verdict {
    let verdict = check(model, ops, &CheckOptions::default()).verdict;
    let full = CheckOptions {
        quick_pass: false,
        ..CheckOptions::default()
    };
    assert_eq!(
        check(model, ops, &full).verdict.name(),
        verdict.name(),
        "the quick pass changed the verdict of {ops:?}"
    );
    verdict
}

fn linearizable<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> bool {
    match verdict_of(model, ops) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable { .. } => false,
        Verdict::Unknown { reason } => panic!("no verdict: {reason}"),
    }
}

fn cas_reg() -> RegisterModel {
    RegisterModel::cas_register(None)
}

/// After writes of 0..7 over and over, reads of 3, 4 and 3 again: no order of the writes
/// ends in both 3 and 4, so rejecting this means trying every order (the values repeat,
/// so no value is ever gone for good).
fn flip_flop_reads() -> Vec<RegOp> {
    [(3, 101), (4, 103), (3, 105)]
        .into_iter()
        .map(|(v, at)| ok(99, In::Read, at, at + 1, Out::Read(Some(v))))
        .collect()
}

/// [`flip_flop_reads`] for a key of the key-value map written with "v0".."v6".
fn flip_flop_gets(key: u64) -> Vec<Op<Operation, OpOutput>> {
    [("v3", 101), ("v4", 103), ("v3", 105)]
        .into_iter()
        .map(|(v, at)| {
            let get = Operation::Get { key };
            Op::completed(99, get, at, at + 1, OpOutput::Value(v.into()))
        })
        .collect()
}

#[test]
fn stale_read_after_completed_write_is_rejected() {
    let h = [
        ok(0, In::Write(1), 0, 1, Out::Written),
        ok(1, In::Read, 2, 3, Out::Read(None)),
    ];
    assert!(!linearizable(&cas_reg(), &h));
}

#[test]
fn read_concurrent_with_write_sees_either_value() {
    for seen in [None, Some(1)] {
        let h = [
            ok(0, In::Write(1), 0, 10, Out::Written),
            ok(1, In::Read, 2, 3, Out::Read(seen)),
        ];
        assert!(linearizable(&cas_reg(), &h), "read {seen:?}");
    }
    let h = [
        ok(0, In::Write(1), 0, 10, Out::Written),
        ok(1, In::Read, 2, 3, Out::Read(Some(2))),
    ];
    assert!(!linearizable(&cas_reg(), &h));
}

#[test]
fn concurrent_writes_in_either_order() {
    for last in [1, 2] {
        let h = [
            ok(0, In::Write(1), 0, 10, Out::Written),
            ok(1, In::Write(2), 1, 9, Out::Written),
            ok(2, In::Read, 11, 12, Out::Read(Some(last))),
        ];
        assert!(linearizable(&cas_reg(), &h), "last {last}");
    }
}

#[test]
fn two_cas_from_the_same_value_cannot_both_succeed() {
    let model = RegisterModel::cas_register(Some(0));
    let h = [
        ok(0, In::Cas { from: 0, to: 1 }, 0, 10, Out::Cas(true)),
        ok(1, In::Cas { from: 0, to: 2 }, 1, 9, Out::Cas(true)),
    ];
    assert!(!linearizable(&model, &h));
    // One of them failing is fine.
    let h = [
        ok(0, In::Cas { from: 0, to: 1 }, 0, 10, Out::Cas(true)),
        ok(1, In::Cas { from: 0, to: 2 }, 1, 9, Out::Cas(false)),
    ];
    assert!(linearizable(&model, &h));
}

#[test]
fn failed_cas_needs_a_moment_where_the_value_differs() {
    let model = RegisterModel::cas_register(Some(0));
    let h = [ok(0, In::Cas { from: 0, to: 1 }, 0, 1, Out::Cas(false))];
    assert!(!linearizable(&model, &h));
}

#[test]
fn indeterminate_write_may_or_may_not_have_happened() {
    let model = cas_reg();
    for seen in [None, Some(1)] {
        let h = [
            lost(0, In::Write(1), 0),
            ok(1, In::Read, 5, 6, Out::Read(seen)),
        ];
        assert!(linearizable(&model, &h), "read {seen:?}");
    }
    // Once seen, it has happened: a later read cannot miss it.
    let h = [
        lost(0, In::Write(1), 0),
        ok(1, In::Read, 5, 6, Out::Read(Some(1))),
        ok(1, In::Read, 7, 8, Out::Read(None)),
    ];
    assert!(!linearizable(&model, &h));
    // It cannot take effect before its invocation.
    let h = [
        ok(1, In::Read, 0, 1, Out::Read(Some(1))),
        lost(0, In::Write(1), 2),
    ];
    assert!(!linearizable(&model, &h));
}

#[test]
fn each_indeterminate_write_takes_effect_at_most_once() {
    let model = cas_reg();
    let reads = |values: &[i64]| -> Vec<RegOp> {
        let mut h = vec![lost(0, In::Write(1), 0), lost(1, In::Write(2), 1)];
        for (k, v) in values.iter().enumerate() {
            let t = 10 + 2 * k as u64;
            h.push(ok(2, In::Read, t, t + 1, Out::Read(Some(*v))));
        }
        h
    };
    assert!(linearizable(&model, &reads(&[1, 2])));
    assert!(linearizable(&model, &reads(&[2, 2, 1, 1])));
    assert!(!linearizable(&model, &reads(&[2, 1, 2])));
    assert!(!linearizable(&model, &reads(&[1, 2, 1])));
}

#[test]
fn lost_update_in_kv_is_rejected() {
    let append = |v: &str| Operation::Append {
        key: 7,
        value: v.into(),
    };
    let get = Operation::Get { key: 7 };
    let h = [
        Op::completed(0, append("x"), 0, 2, OpOutput::Done),
        Op::completed(1, append("y"), 1, 3, OpOutput::Done),
        Op::completed(2, get.clone(), 4, 5, OpOutput::Value("y".into())),
    ];
    let Verdict::NotLinearizable { counterexample } = verdict_of(&KvModel, &h) else {
        panic!("lost update accepted");
    };
    assert_eq!(counterexample.partition, 7);
    let unplaceable: Vec<usize> = counterexample.unplaceable.iter().map(|o| o.index).collect();
    assert_eq!(unplaceable, [2]);
    assert_eq!(counterexample.linearized.len(), 2);
    let h = [
        Op::completed(0, append("x"), 0, 2, OpOutput::Done),
        Op::completed(1, append("y"), 1, 3, OpOutput::Done),
        Op::completed(2, get, 4, 5, OpOutput::Value("yx".into())),
    ];
    assert!(linearizable(&KvModel, &h));
}

#[test]
fn counterexample_names_the_failing_key_and_prefix() {
    let put = |key, v: &str| Operation::Put {
        key,
        value: v.into(),
    };
    let h = [
        Op::completed(0, put(1, "a"), 0, 1, OpOutput::Done),
        Op::completed(0, put(2, "b"), 2, 3, OpOutput::Done),
        Op::completed(
            1,
            Operation::Get { key: 1 },
            4,
            5,
            OpOutput::Value("a".into()),
        ),
        Op::completed(
            1,
            Operation::Get { key: 2 },
            6,
            7,
            OpOutput::Value("".into()),
        ),
    ];
    let Verdict::NotLinearizable { counterexample } = verdict_of(&KvModel, &h) else {
        panic!("stale read on key 2 accepted");
    };
    assert_eq!(counterexample.partition, 2);
    let prefix: Vec<usize> = counterexample.linearized.iter().map(|o| o.index).collect();
    assert_eq!(prefix, [1]);
    assert_eq!(counterexample.state, "\"b\"");
    assert_eq!(counterexample.unplaceable[0].index, 3);
    assert!(counterexample.render().contains("get 2 => \"\""));
}

#[test]
fn step_budget_gives_unknown_not_a_guess() {
    // Many concurrent writes and reads that no order of them explains: the search must
    // try many orders.
    let mut h: Vec<RegOp> = (0..40)
        .map(|i| ok(i, In::Write(i as i64 % 7), 0, 100, Out::Written))
        .collect();
    h.extend(flip_flop_reads());
    let options = CheckOptions {
        max_steps: Some(1_000),
        ..CheckOptions::default()
    };
    let report = check(&cas_reg(), &h, &options);
    assert!(
        matches!(report.verdict, Verdict::Unknown { .. }),
        "{:?}",
        report.verdict
    );
}

/// The memory budget counts what the search holds and stops before a growth would pass
/// it; what each search held is given back when it ends.
#[test]
fn memory_budget_gives_unknown_before_the_search_passes_it() {
    // Six hard keys, one after the other.
    let mut h: Vec<Op<Operation, OpOutput>> = Vec::new();
    for key in 0..6 {
        let value = |i: u64| format!("v{}", i % 7);
        for i in 0..40 {
            let put = Operation::Put {
                key,
                value: value(i),
            };
            h.push(Op::completed(i, put, 0, 100, OpOutput::Done));
            let cas = Operation::Cas {
                key,
                expected: value(i),
                new: "w".into(),
            };
            h.push(Op::completed(100 + i, cas, 0, 100, OpOutput::Cas(false)));
        }
        h.extend(flip_flop_gets(key));
    }
    let options = CheckOptions {
        max_memo_bytes: 4 << 20,
        ..CheckOptions::default()
    };
    let report = check(&KvModel, &h, &options);
    let Verdict::Unknown { reason } = &report.verdict else {
        panic!("{:?}", report.verdict);
    };
    assert!(reason.contains("memory budget of 4 MiB"), "{reason}");
    // A larger budget lets the search go further before it stops.
    let larger = check(
        &KvModel,
        &h,
        &CheckOptions {
            max_memo_bytes: 16 << 20,
            ..options
        },
    );
    assert!(
        larger.steps > 2 * report.steps,
        "{} steps with 16 MiB, {} with 4 MiB",
        larger.steps,
        report.steps
    );
}

#[test]
fn the_callers_give_up_signal_gives_unknown_with_its_reason() {
    let mut h: Vec<RegOp> = (0..40)
        .map(|i| ok(i, In::Write(i as i64 % 7), 0, 100, Out::Written))
        .collect();
    h.extend(flip_flop_reads());
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = asked.clone();
    let options = CheckOptions {
        // Gives up on the third question, as a deadline that passes mid-search would.
        give_up: Some(super::GiveUp {
            reached: std::sync::Arc::new(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 2
            }),
            what: "test budget".into(),
        }),
        parallel: false,
        ..CheckOptions::default()
    };
    let report = check(&cas_reg(), &h, &options);
    match report.verdict {
        Verdict::Unknown { reason } => assert!(reason.contains("test budget"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(asked.load(std::sync::atomic::Ordering::Relaxed) >= 3);
}

#[test]
fn run_history_adapter_drops_failed_and_keeps_indeterminate() {
    let mut h = History::new();
    let put = h.invoke(
        0,
        Operation::Put {
            key: 3,
            value: "v".into(),
        },
        SimTime(0),
    );
    h.complete(put, Outcome::Indeterminate, SimTime(5));
    let failed = h.invoke(
        1,
        Operation::Put {
            key: 3,
            value: "w".into(),
        },
        SimTime(1),
    );
    h.complete(failed, Outcome::Failed, SimTime(2));
    let get = h.invoke(2, Operation::Get { key: 3 }, SimTime(10));
    h.complete(get, Outcome::Ok(OpOutput::Value("v".into())), SimTime(11));
    let report = check_history(&h, &CheckOptions::default());
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert_eq!(report.ops, 2);

    let get = h.invoke(2, Operation::Get { key: 3 }, SimTime(12));
    h.complete(get, Outcome::Ok(OpOutput::Value("w".into())), SimTime(13));
    let Verdict::NotLinearizable { counterexample } =
        check_history(&h, &CheckOptions::default()).verdict
    else {
        panic!("read of a failed write accepted");
    };
    assert_eq!(counterexample.unplaceable[0].index as u64, get);
}

/// Keys are searched in rounds of growing budgets: a key that fails at once is found in
/// the first round even though an earlier key would use up the whole budget, and the
/// verdict names it.
#[test]
fn a_quickly_failing_key_is_found_before_a_hard_key_uses_the_budget() {
    let put = |key, v: String| Operation::Put { key, value: v };
    // Key 0: forty concurrent writes and reads that no order of them explains; deciding it
    // takes every order of the writes. Failed compare-and-sets expect each written value, so no
    // write is one that nothing observes (those the search would take in one order).
    let mut h: Vec<Op<Operation, OpOutput>> = (0..40)
        .map(|i| Op::completed(i, put(0, format!("v{}", i % 7)), 0, 100, OpOutput::Done))
        .collect();
    h.extend((0..7).map(|i| {
        let cas = Operation::Cas {
            key: 0,
            expected: format!("v{i}"),
            new: "w".into(),
        };
        Op::completed(60 + i, cas, 0, 100, OpOutput::Cas(false))
    }));
    h.extend(flip_flop_gets(0));
    // Key 1: a stale read after a completed write.
    h.push(Op::completed(50, put(1, "a".into()), 0, 1, OpOutput::Done));
    h.push(Op::completed(
        51,
        Operation::Get { key: 1 },
        2,
        3,
        OpOutput::Value(String::new()),
    ));
    let options = CheckOptions {
        max_steps: Some(50_000_000),
        parallel: false,
        ..CheckOptions::default()
    };
    let report = check(&KvModel, &h, &options);
    let Verdict::NotLinearizable { counterexample } = &report.verdict else {
        panic!("{:?}", report.verdict);
    };
    assert_eq!(counterexample.partition, 1);
    assert!(
        report.steps < 1_000_000,
        "{} steps: the hard key took its whole budget first",
        report.steps
    );
    // The same verdict with threads.
    let parallel = check(
        &KvModel,
        &h,
        &CheckOptions {
            parallel: true,
            ..options
        },
    );
    assert_eq!(parallel.verdict, report.verdict);
}

/// Without a failing key, a hard key still gets the whole budget before it is undecided.
#[test]
fn a_hard_key_gets_the_whole_budget_over_the_rounds() {
    let mut h: Vec<RegOp> = (0..40)
        .map(|i| ok(i, In::Write(i as i64 % 7), 0, 100, Out::Written))
        .collect();
    h.extend(flip_flop_reads());
    let report = check(
        &cas_reg(),
        &h,
        &CheckOptions {
            max_steps: Some(200_000),
            ..CheckOptions::default()
        },
    );
    match &report.verdict {
        Verdict::Unknown { reason } => assert!(reason.contains("200000"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(report.steps >= 200_000, "{}", report.steps);
}

mod before_search;
mod growth;
mod random;

fn kv_put(client: u64, value: &str, call: u64, ret: u64) -> Op<Operation, OpOutput> {
    let put = Operation::Put {
        key: 0,
        value: value.into(),
    };
    Op::completed(client, put, call, ret, OpOutput::Done)
}

fn kv_get(client: u64, value: &str, call: u64, ret: u64) -> Op<Operation, OpOutput> {
    let get = Operation::Get { key: 0 };
    Op::completed(client, get, call, ret, OpOutput::Value(value.into()))
}

/// A write nobody reads still takes effect: searched as a stand-in, it must still hide
/// the value written before it.
#[test]
fn a_write_nobody_reads_still_overwrites() {
    let h = vec![
        kv_put(0, "a", 0, 10),
        kv_put(1, "b", 20, 30),
        kv_get(2, "a", 40, 50),
    ];
    let refs: Vec<_> = h.iter().collect();
    assert!(
        KvModel.stand_ins(&refs)[1].is_some(),
        "the write of b is unobserved"
    );
    let Verdict::NotLinearizable { counterexample } = verdict_of(&KvModel, &h) else {
        panic!("a read of an overwritten value accepted");
    };
    // The counterexample speaks of the values as recorded, not of the stand-in.
    assert!(counterexample.render().contains("put 0 \"b\""));
    assert_eq!(counterexample.state, "\"b\"");
    // Concurrent with the read instead, it may come after it.
    let h = vec![
        kv_put(0, "a", 0, 10),
        kv_put(1, "b", 20, 60),
        kv_get(2, "a", 40, 50),
    ];
    assert!(linearizable(&KvModel, &h));
}

/// A value that looks like the search's own placeholder is an ordinary value: read back,
/// it is observed, and nothing is searched as a stand-in.
#[test]
fn a_value_like_the_placeholder_is_an_ordinary_value() {
    let h = vec![
        kv_put(0, "a", 0, 10),
        kv_put(1, "\u{0}unseen", 20, 30),
        kv_get(2, "\u{0}unseen", 40, 50),
    ];
    assert!(linearizable(&KvModel, &h));
    let h = vec![
        kv_put(0, "a", 0, 10),
        kv_put(1, "\u{0}unseen", 20, 30),
        kv_get(2, "a", 40, 50),
    ];
    assert!(!linearizable(&KvModel, &h));
}

/// Forty concurrent writes that nothing reads are searched in one order, not in every
/// subset: each verdict comes within a few thousand steps.
#[test]
fn unobserved_concurrent_writes_are_searched_in_one_order() {
    let options = CheckOptions {
        max_steps: Some(20_000),
        parallel: false,
        ..CheckOptions::default()
    };
    let with_read = |read: &str| {
        let mut h: Vec<_> = (0..40)
            .map(|i| kv_put(i, &format!("v{i};"), 0, 100))
            .collect();
        h.push(kv_get(99, read, 101, 102));
        check(&KvModel, &h, &options).verdict
    };
    assert!(matches!(with_read("v7;"), Verdict::Linearizable));
    for impossible in ["v40;", "", "v7;v8;"] {
        let verdict = with_read(impossible);
        assert!(
            matches!(verdict, Verdict::NotLinearizable { .. }),
            "{impossible:?}: {verdict:?}"
        );
    }
}

/// A read of a value with appends after it needs that value first: once the write of it
/// is overwritten and placed, the read is found stranded at once, not after every order
/// of the twenty writes that follow.
#[test]
fn a_read_of_an_appended_value_is_stranded_once_its_base_is_gone() {
    let options = CheckOptions {
        max_steps: Some(20_000),
        parallel: false,
        ..CheckOptions::default()
    };
    let history = |read: &str| {
        let mut h = vec![kv_put(0, "a", 0, 10), kv_put(1, "b", 20, 30)];
        for i in 0..20 {
            let value = format!("p{i};");
            h.push(kv_put(10 + i, &value, 40, 100));
            h.push(kv_get(40 + i, &value, 40, 100));
        }
        let append = Operation::Append {
            key: 0,
            value: "z;".into(),
        };
        h.push(Op::completed(80, append, 40, 100, OpOutput::Done));
        h.push(kv_get(81, read, 101, 102));
        check(&KvModel, &h, &options).verdict
    };
    // "b" was written over "a" before anything else began: "a" never comes back.
    let verdict = history("az;");
    assert!(
        matches!(verdict, Verdict::NotLinearizable { .. }),
        "{verdict:?}"
    );
    // The same read of the last write with the append after it is fine.
    let verdict = history("p19;z;");
    assert!(matches!(verdict, Verdict::Linearizable), "{verdict:?}");
}

/// Past the budget of questions the search asks about chains, a state whose leavers were
/// not worked out counts as reachable: a value written again later is not gone.
#[test]
fn a_state_past_the_question_budget_is_not_gone() {
    let mut h = Vec::new();
    for i in 0..316u64 {
        let append = Operation::Append {
            key: 0,
            value: "q".into(),
        };
        h.push(Op::completed(0, append, 2 * i, 2 * i + 1, OpOutput::Done));
    }
    h.push(kv_get(1, &"q".repeat(316), 700, 701));
    h.push(kv_put(2, "x", 710, 711));
    h.push(kv_put(2, "y", 712, 713));
    h.push(kv_get(3, "x", 714, 720));
    h.push(kv_put(2, "x", 714, 715));
    for i in 0..316u64 {
        let value = format!("f{i}");
        h.push(kv_put(2, &value, 800 + 4 * i, 801 + 4 * i));
        h.push(kv_get(3, &value, 802 + 4 * i, 803 + 4 * i));
    }
    assert!(linearizable(&KvModel, &h));
}
