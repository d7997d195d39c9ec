//! Random histories against brute force: the checker must agree with trying every order
//! on every small history, accepted and altered, and its reductions must change no verdict.

use super::*;

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
                    Operation::Txn { .. } | Operation::Propose { .. } => {
                        unreachable!("the generator draws only key-value operations")
                    }
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
    let mut with_stand_ins = [0usize; 2];
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
        // Brute force runs the operations as recorded; the search, stand-ins for writes
        // nothing observes (when the history has any).
        let refs: Vec<&Op<Operation, OpOutput>> = h.iter().collect();
        if KvModel.stand_ins(&refs).iter().any(Option::is_some) {
            with_stand_ins[usize::from(expected)] += 1;
        }
    }
    assert!(
        rejected > 300,
        "the alterations should often be caught ({rejected})"
    );
    assert!(
        with_stand_ins.iter().all(|&n| n > 200),
        "stand-ins are exercised in rejected and accepted histories: {with_stand_ins:?}"
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

/// The key-value model's filing of appends ([`Model::leave_key`]) never hides one that
/// can leave a state: on random values and appends over a small alphabet (so that
/// suffixes often match), every append that can leave a value has that value's key.
#[test]
fn appends_are_filed_under_every_value_they_can_leave() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6b6579);
    let word = |rng: &mut ChaCha8Rng, max: usize| -> String {
        let n = rng.random_range(0..=max);
        (0..n)
            .map(|_| ['a', 'b', 'é'][rng.random_range(0..3)])
            .collect()
    };
    let mut leavers = 0;
    for _ in 0..20_000 {
        let state = word(&mut rng, 6);
        let value = word(&mut rng, 3);
        let append = Operation::Append {
            key: 0,
            value: value.clone(),
        };
        let (len, key) = KvModel
            .leave_key(&append, Some(&OpOutput::Done))
            .expect("appends are filed");
        if KvModel.can_leave(&append, Some(&OpOutput::Done), &state) {
            leavers += 1;
            assert_eq!(
                KvModel.state_leave_key(&state, len),
                Some(key),
                "{value:?} leaves {state:?}"
            );
        }
    }
    assert!(leavers > 2_000, "too few appends could leave ({leavers})");
}
