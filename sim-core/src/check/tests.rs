//! Hand-made histories that must be rejected or accepted, a brute-force cross-check on
//! random small histories, and acceptance of random histories of a sequential model.

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

fn verdict_of<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> Verdict {
    check(model, ops, &CheckOptions::default()).verdict
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
    // Many concurrent writes and a read nobody wrote: the search must try many orders.
    let mut h: Vec<RegOp> = (0..40)
        .map(|i| ok(i, In::Write(i as i64 % 7), 0, 100, Out::Written))
        .collect();
    h.push(ok(99, In::Read, 101, 102, Out::Read(Some(1000))));
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

#[test]
fn the_callers_give_up_signal_gives_unknown_with_its_reason() {
    let mut h: Vec<RegOp> = (0..40)
        .map(|i| ok(i, In::Write(i as i64 % 7), 0, 100, Out::Written))
        .collect();
    h.push(ok(99, In::Read, 101, 102, Out::Read(Some(1000))));
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

/// Tries every order and every subset of indeterminate operations, remembering only the
/// (placed set, state) pairs that failed: the definition, with none of the search's
/// reductions, at a cost only small histories (at most 64 operations a partition) afford.
fn brute_force<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> bool {
    let mut parts: FxHashMap<u64, Vec<&ModelOp<M>>> = FxHashMap::default();
    for op in ops {
        parts
            .entry(model.partition(&op.input))
            .or_default()
            .push(op);
    }
    parts.values().all(|part| {
        assert!(part.len() <= 64, "too long for the brute-force checker");
        let mut failed = FxHashSet::default();
        place(model, part, 0, &model.init(), &mut failed)
    })
}

fn place<M: Model>(
    model: &M,
    ops: &[&ModelOp<M>],
    placed: u64,
    state: &M::State,
    failed: &mut FxHashSet<(u64, M::State)>,
) -> bool {
    let is_placed = |i: usize| placed & (1 << i) != 0;
    if (0..ops.len()).all(|i| is_placed(i) || ops[i].ret.is_none()) {
        return true;
    }
    if failed.contains(&(placed, state.clone())) {
        return false;
    }
    for i in (0..ops.len()).filter(|&i| !is_placed(i)) {
        let ready = (0..ops.len())
            .all(|j| is_placed(j) || ops[j].ret.as_ref().is_none_or(|r| r.at >= ops[i].call));
        if !ready {
            continue;
        }
        let next = match &ops[i].ret {
            Some(r) => model.step(state, &ops[i].input, &r.output),
            None => model.step_indeterminate(state, &ops[i].input),
        };
        if let Some(next) = next {
            if place(model, ops, placed | (1 << i), &next, failed) {
                return true;
            }
        }
    }
    failed.insert((placed, state.clone()));
    false
}

/// A history of `n` operations by `clients` clients on a correct sequential register:
/// each operation takes effect at a random moment between its call and return, or (if
/// its client crashes) at a random moment after its call, or never.
fn generate(
    rng: &mut ChaCha8Rng,
    n: usize,
    clients: usize,
    initial: Option<i64>,
    crash: f64,
) -> Vec<RegOp> {
    enum Phase {
        Idle,
        Called(usize),
        Applied(usize, Out),
    }
    let mut state = initial;
    let mut ops: Vec<RegOp> = Vec::new();
    let mut phase: Vec<Phase> = (0..clients).map(|_| Phase::Idle).collect();
    let mut client_ids: Vec<u64> = (0..clients as u64).collect();
    let mut next_client = clients as u64;
    let mut t = 0;
    let mut started = 0;
    while started < n || phase.iter().any(|p| !matches!(p, Phase::Idle)) {
        t += 1;
        let c = rng.random_range(0..clients);
        phase[c] = match std::mem::replace(&mut phase[c], Phase::Idle) {
            Phase::Idle if started < n => {
                started += 1;
                let input = match rng.random_range(0..3) {
                    0 => In::Read,
                    1 => In::Write(rng.random_range(0..3)),
                    _ => In::Cas {
                        from: rng.random_range(0..3),
                        to: rng.random_range(0..3),
                    },
                };
                ops.push(lost(client_ids[c], input, t));
                Phase::Called(ops.len() - 1)
            }
            Phase::Idle => Phase::Idle,
            Phase::Called(i) if rng.random_bool(crash) => {
                // Crashes before taking effect.
                client_ids[c] = next_client;
                next_client += 1;
                let _ = i;
                Phase::Idle
            }
            Phase::Called(i) => {
                let (out, next) = match ops[i].input {
                    In::Read => (Out::Read(state), state),
                    In::Write(v) => (Out::Written, Some(v)),
                    In::Cas { from, to } if state == Some(from) => (Out::Cas(true), Some(to)),
                    In::Cas { .. } => (Out::Cas(false), state),
                };
                state = next;
                Phase::Applied(i, out)
            }
            Phase::Applied(_, _) if rng.random_bool(crash) => {
                // Crashes after taking effect: the answer is lost.
                client_ids[c] = next_client;
                next_client += 1;
                Phase::Idle
            }
            Phase::Applied(i, out) => {
                ops[i].ret = Some(Return { at: t, output: out });
                Phase::Idle
            }
        };
    }
    ops
}

#[test]
fn random_sequential_histories_are_accepted_and_altered_reads_match_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xfa17);
    let mut rejected = 0;
    for round in 0..900 {
        let initial = if round % 2 == 0 { None } else { Some(0) };
        let model = RegisterModel::cas_register(initial);
        let n = rng.random_range(1..=8);
        let clients = rng.random_range(1..=4);
        let crash = [0.0, 0.1, 0.4][round % 3];
        let mut h = generate(&mut rng, n, clients, initial, crash);
        assert!(linearizable(&model, &h), "round {round}: {h:?}");
        assert!(
            brute_force(&model, &h),
            "round {round}: brute force disagrees with the generator"
        );
        let reads: Vec<usize> = (0..h.len())
            .filter(|&i| matches!(h[i].output(), Some(Out::Read(_))))
            .collect();
        if reads.is_empty() {
            continue;
        }
        let i = reads[rng.random_range(0..reads.len())];
        let Some(ret) = &mut h[i].ret else {
            unreachable!()
        };
        let old = ret.output;
        while ret.output == old {
            ret.output = Out::Read(match rng.random_range(0..4) {
                3 => None,
                v => Some(v),
            });
        }
        let expected = brute_force(&model, &h);
        assert_eq!(linearizable(&model, &h), expected, "round {round}: {h:?}");
        rejected += usize::from(!expected);
    }
    assert!(
        rejected > 100,
        "the alterations should often be caught ({rejected})"
    );
}

#[test]
fn larger_random_sequential_histories_are_accepted() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for round in 0..60 {
        let model = RegisterModel::cas_register(Some(0));
        let h = generate(&mut rng, 200, 6, Some(0), 0.05);
        assert!(linearizable(&model, &h), "round {round}");
    }
}

/// Like [`generate`], on a key-value map with two keys; `append_only` draws only gets and
/// appends.
fn generate_kv(
    rng: &mut ChaCha8Rng,
    n: usize,
    clients: usize,
    append_only: bool,
) -> Vec<Op<Operation, OpOutput>> {
    generate_kv_values(rng, n, clients, append_only, false)
}

/// [`generate_kv`], with every written value unique (`w3;`) and compare-and-sets that
/// mostly expect the value the key holds when they are invoked, when `unique`.
fn generate_kv_values(
    rng: &mut ChaCha8Rng,
    n: usize,
    clients: usize,
    append_only: bool,
    unique: bool,
) -> Vec<Op<Operation, OpOutput>> {
    let mut written = 0u32;
    let mut values = [String::new(), String::new()];
    let mut ops: Vec<Op<Operation, OpOutput>> = Vec::new();
    let mut open: Vec<Option<(usize, Option<OpOutput>)>> = vec![None; clients];
    let mut t = 0;
    while ops.len() < n || open.iter().any(Option::is_some) {
        t += 1;
        let c = rng.random_range(0..clients);
        open[c] = match open[c].take() {
            None if ops.len() < n => {
                let key = rng.random_range(0..2);
                let mut word = |rng: &mut ChaCha8Rng| {
                    if unique {
                        written += 1;
                        format!("w{written};")
                    } else {
                        ["a", "b"][rng.random_range(0..2)].to_string()
                    }
                };
                let held = values[key as usize].clone();
                let kind = match rng.random_range(0..9) {
                    k if append_only => 2 * (k % 2),
                    8 => 4,
                    k => k / 2,
                };
                let op = match kind {
                    0 => Operation::Get { key },
                    1 => Operation::Put {
                        key,
                        value: word(rng),
                    },
                    2 => Operation::Append {
                        key,
                        value: word(rng),
                    },
                    3 => Operation::Cas {
                        key,
                        expected: if unique && rng.random_bool(0.7) {
                            held
                        } else {
                            ["", "a", "b"][rng.random_range(0..3)].to_string()
                        },
                        new: word(rng),
                    },
                    _ => Operation::Delete { key },
                };
                ops.push(Op::indeterminate(c as u64, op, t));
                Some((ops.len() - 1, None))
            }
            None => None,
            Some((_, None)) if rng.random_bool(0.08) => None,
            Some((i, None)) => {
                let v = &mut values[ops[i].input.key() as usize];
                let out = match &ops[i].input {
                    Operation::Get { .. } => OpOutput::Value(v.clone()),
                    Operation::Put { value, .. } => {
                        *v = value.clone();
                        OpOutput::Done
                    }
                    Operation::Append { value, .. } => {
                        v.push_str(value);
                        OpOutput::Done
                    }
                    Operation::Cas { expected, new, .. } => {
                        let ok = v == expected;
                        if ok {
                            *v = new.clone();
                        }
                        OpOutput::Cas(ok)
                    }
                    Operation::Delete { .. } => {
                        v.clear();
                        OpOutput::Done
                    }
                    // Not drawn; it only completes the match.
                    Operation::Broadcast { .. } => OpOutput::Done,
                    Operation::Txn { .. } => unreachable!("the generator draws no transactions"),
                };
                Some((i, Some(out)))
            }
            Some((_, Some(_))) if rng.random_bool(0.08) => None,
            Some((i, Some(out))) => {
                ops[i].ret = Some(Return { at: t, output: out });
                None
            }
        };
    }
    ops
}

#[test]
fn random_kv_histories_match_brute_force_before_and_after_altering_a_read() {
    for append_only in [false, true] {
        random_kv_rounds(0x6b76 + u64::from(append_only), append_only);
    }
}

/// Random key-value histories, accepted as generated and judged like brute force once a
/// read is altered; append-only ones exercise [`KvModel`]'s state filter.
fn random_kv_rounds(seed: u64, append_only: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rejected = 0;
    for round in 0..400 {
        let n = rng.random_range(1..=8);
        let clients = rng.random_range(1..=4);
        let mut h = generate_kv(&mut rng, n, clients, append_only);
        assert!(linearizable(&KvModel, &h), "round {round}: {h:?}");
        let reads: Vec<usize> = (0..h.len())
            .filter(|&i| matches!(h[i].output(), Some(OpOutput::Value(_))))
            .collect();
        if reads.is_empty() {
            continue;
        }
        let i = reads[rng.random_range(0..reads.len())];
        let Some(ret) = &mut h[i].ret else {
            unreachable!()
        };
        let old = ret.output.clone();
        while ret.output == old {
            let v = ["", "a", "b", "ab", "ba", "aa"][rng.random_range(0..6)];
            ret.output = OpOutput::Value(v.to_string());
        }
        let expected = brute_force(&KvModel, &h);
        assert_eq!(linearizable(&KvModel, &h), expected, "round {round}: {h:?}");
        rejected += usize::from(!expected);
    }
    assert!(
        rejected > 50,
        "the alterations should often be caught ({rejected})"
    );
}

/// A value that comes back (written again later) is not gone when it is overwritten: a
/// read of it after the second write is fine, and one between the overwrite and the
/// second write is not.
#[test]
fn a_value_written_again_is_not_gone() {
    let put = |v: &str| Operation::Put {
        key: 0,
        value: v.into(),
    };
    let append = || Operation::Append {
        key: 0,
        value: "x".into(),
    };
    let get = |t: u64, v: &str| {
        Op::completed(
            9,
            Operation::Get { key: 0 },
            t,
            t + 5,
            OpOutput::Value(v.into()),
        )
    };
    let mut h = vec![
        Op::completed(0, put("a"), 0, 10, OpOutput::Done),
        Op::completed(0, put("b"), 20, 30, OpOutput::Done),
        Op::completed(0, put("a"), 40, 50, OpOutput::Done),
        get(60, "a"),
        Op::completed(1, append(), 70, 80, OpOutput::Done),
        Op::completed(1, append(), 90, 100, OpOutput::Done),
        get(110, "axx"),
    ];
    assert!(linearizable(&KvModel, &h));
    h[3] = get(32, "a");
    assert!(
        !linearizable(&KvModel, &h),
        "a read between b and the second a"
    );
}

/// Small random histories with unique written values and unknown outcomes (the class
/// the "a state once overwritten is gone" pruning works on), as generated and with a read
/// altered to another value written earlier: the checker agrees with brute force on every
/// one.
#[test]
fn random_unique_valued_histories_match_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x756e);
    let (mut rejected, mut unknown_outcomes) = (0, 0);
    for round in 0..3000 {
        let n = rng.random_range(1..=9);
        let clients = rng.random_range(1..=4);
        let mut h = generate_kv_values(&mut rng, n, clients, false, true);
        unknown_outcomes += h.iter().filter(|o| o.ret.is_none()).count();
        assert!(linearizable(&KvModel, &h), "round {round}: {h:?}");
        let seen: Vec<String> = h
            .iter()
            .filter_map(|o| match &o.input {
                Operation::Put { value, .. } | Operation::Append { value, .. } => {
                    Some(value.clone())
                }
                _ => None,
            })
            .collect();
        let reads: Vec<usize> = (0..h.len())
            .filter(|&i| matches!(h[i].output(), Some(OpOutput::Value(_))))
            .collect();
        if reads.is_empty() || seen.is_empty() {
            continue;
        }
        let i = reads[rng.random_range(0..reads.len())];
        let Some(ret) = &mut h[i].ret else {
            unreachable!()
        };
        let old = ret.output.clone();
        for _ in 0..10 {
            if ret.output != old {
                break;
            }
            let v = if rng.random_bool(0.2) {
                String::new()
            } else {
                seen[rng.random_range(0..seen.len())].clone()
            };
            ret.output = OpOutput::Value(v);
        }
        let expected = brute_force(&KvModel, &h);
        assert_eq!(linearizable(&KvModel, &h), expected, "round {round}: {h:?}");
        rejected += usize::from(!expected);
    }
    assert!(
        rejected > 300,
        "the alterations should often be caught ({rejected})"
    );
    assert!(
        unknown_outcomes > 300,
        "unknown outcomes are exercised ({unknown_outcomes})"
    );
}

/// Thirty appends all concurrent, then a read of all of them in some order: without
/// knowing that an append-only value only grows, the search tries orders of the appends
/// that the read already rules out, exponentially many.
fn thirty_concurrent_appends(read: &str) -> Vec<Op<Operation, OpOutput>> {
    let mut h: Vec<_> = (0..30u8)
        .map(|i| {
            let value = char::from(b'A' + i % 26).to_string() + &"x".repeat(usize::from(i / 26));
            let append = Operation::Append { key: 3, value };
            Op::completed(u64::from(i), append, 0, 100, OpOutput::Done)
        })
        .collect();
    let get = Operation::Get { key: 3 };
    h.push(Op::completed(
        99,
        get,
        101,
        102,
        OpOutput::Value(read.into()),
    ));
    h
}

#[test]
fn append_only_keys_are_decided_without_trying_every_order() {
    let options = CheckOptions {
        max_steps: Some(20_000),
        ..CheckOptions::default()
    };
    let verdict = |read: &str| check(&KvModel, &thirty_concurrent_appends(read), &options).verdict;
    // The appends in an order no client issued them in.
    let order = "QRSTUVWXYZAxBxCxDxABCDEFGHIJKLMNOP";
    assert!(
        matches!(verdict(order), Verdict::Linearizable),
        "{:?}",
        verdict(order)
    );
    // One append missing, one applied twice, a value nobody appended: each impossible.
    for bad in [
        "QRSTUVWXYZAxBxCxDxABCDEFGHIJKLMNO",
        "QRSTUVWXYZAxBxCxDxABCDEFGHIJKLMNOPP",
        "QRSTUVWXYZAxBxCxDxABCDEFGHIJKLMNOp",
    ] {
        assert!(
            matches!(verdict(bad), Verdict::NotLinearizable { .. }),
            "{bad}: {:?}",
            verdict(bad)
        );
    }
    // A compare-and-set whose answer was lost, from a value the key never passes through,
    // cannot take effect among the appends, so it does not hide the read from them.
    let mut h = thirty_concurrent_appends(order);
    let cas = Operation::Cas {
        key: 3,
        expected: "never".into(),
        new: "x".into(),
    };
    h.push(Op::indeterminate(98, cas, 0));
    let verdict = check(&KvModel, &h, &options).verdict;
    assert!(matches!(verdict, Verdict::Linearizable), "{verdict:?}");
}

/// [`KvModel`] without the hints that let the search prune ([`Model::only_grows`]), to
/// check that pruning changes no verdict.
struct UnhintedKv;

impl Model for UnhintedKv {
    type Input = Operation;
    type Output = OpOutput;
    type State = String;
    fn name(&self) -> &str {
        "kv-unhinted"
    }
    fn init(&self) -> String {
        KvModel.init()
    }
    fn step(&self, state: &String, input: &Operation, output: &OpOutput) -> Option<String> {
        KvModel.step(state, input, output)
    }
    fn step_indeterminate(&self, state: &String, input: &Operation) -> Option<String> {
        KvModel.step_indeterminate(state, input)
    }
    fn is_read_only(&self, input: &Operation, output: Option<&OpOutput>) -> bool {
        KvModel.is_read_only(input, output)
    }
    fn partition(&self, input: &Operation) -> u64 {
        KvModel.partition(input)
    }
    fn describe_op(&self, input: &Operation, output: Option<&OpOutput>) -> String {
        KvModel.describe_op(input, output)
    }
    fn describe_state(&self, state: &String) -> String {
        KvModel.describe_state(state)
    }
}

#[test]
fn pruning_by_growth_changes_no_kv_verdict() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x9a0);
    let (mut rejected, mut accepted) = (0, 0);
    for round in 0..1500 {
        let n = rng.random_range(9..=30);
        let clients = rng.random_range(2..=6);
        let mut h = generate_kv(&mut rng, n, clients, round % 2 == 0);
        // Alter one read, or none, so that both verdicts occur.
        let reads: Vec<usize> = (0..h.len())
            .filter(|&i| matches!(h[i].output(), Some(OpOutput::Value(_))))
            .collect();
        if round % 3 != 0 && !reads.is_empty() {
            let i = reads[rng.random_range(0..reads.len())];
            if let Some(ret) = &mut h[i].ret
                && let OpOutput::Value(v) = &mut ret.output
            {
                match rng.random_range(0..3) {
                    0 => v.push('a'),
                    1 => {
                        v.pop();
                    }
                    _ => *v = v.chars().rev().collect(),
                }
            }
        }
        let expected = linearizable(&UnhintedKv, &h);
        assert_eq!(linearizable(&KvModel, &h), expected, "round {round}: {h:?}");
        if expected {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert!(
        rejected > 200 && accepted > 200,
        "{rejected} rejected, {accepted} accepted"
    );
}

#[test]
fn medium_random_histories_match_the_unreduced_search() {
    // Longer histories than brute force over orders can afford, with many crashes, so the
    // search's reductions (reads first, indeterminate operations only where needed,
    // interchangeable twins) are checked against the plain definition.
    let mut rng = ChaCha8Rng::seed_from_u64(0x3d);
    let mut rejected = 0;
    for round in 0..1500 {
        let initial = if round % 2 == 0 { None } else { Some(0) };
        let model = RegisterModel::cas_register(initial);
        let n = rng.random_range(9..=24);
        let clients = rng.random_range(2..=6);
        let crash = [0.05, 0.2, 0.4][round % 3];
        let mut h = generate(&mut rng, n, clients, initial, crash);
        assert!(linearizable(&model, &h), "round {round}: {h:?}");
        // Alter one completed operation's answer.
        let done: Vec<usize> = (0..h.len()).filter(|&i| h[i].ret.is_some()).collect();
        if done.is_empty() {
            continue;
        }
        let i = done[rng.random_range(0..done.len())];
        let Some(ret) = &mut h[i].ret else {
            unreachable!()
        };
        ret.output = match ret.output {
            Out::Read(_) => Out::Read(Some(rng.random_range(0..3))),
            Out::Cas(ok) => Out::Cas(!ok),
            Out::Written => Out::Written,
        };
        let expected = brute_force(&model, &h);
        assert_eq!(linearizable(&model, &h), expected, "round {round}: {h:?}");
        rejected += usize::from(!expected);
    }
    assert!(
        rejected > 50,
        "the alterations should often be caught ({rejected})"
    );
}

/// Keys are searched in rounds of growing budgets: a key that fails at once is found in
/// the first round even though an earlier key would use up the whole budget, and the
/// verdict names it.
#[test]
fn a_quickly_failing_key_is_found_before_a_hard_key_uses_the_budget() {
    let put = |key, v: String| Operation::Put { key, value: v };
    // Key 0: forty concurrent writes and a read of a value none wrote; deciding it takes
    // every order of the writes.
    let mut h: Vec<Op<Operation, OpOutput>> = (0..40)
        .map(|i| Op::completed(i, put(0, format!("v{}", i % 7)), 0, 100, OpOutput::Done))
        .collect();
    h.push(Op::completed(
        99,
        Operation::Get { key: 0 },
        101,
        102,
        OpOutput::Value("never".into()),
    ));
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
    h.push(ok(99, In::Read, 101, 102, Out::Read(Some(1000))));
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
