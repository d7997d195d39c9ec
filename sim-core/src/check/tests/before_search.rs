//! The rule that rejects a waiting operation before any search (a stale read): each case
//! run without the search, through `search::rejected_before_search`, and with it.

use super::*;

/// A read of a value overwritten, by a write that ended before the read began, after its
/// last possible writer ended, is rejected before any search, whatever comes around it.
#[test]
fn a_stale_read_is_rejected_before_any_search() {
    let mut h = vec![kv_put(0, "a", 0, 10), kv_put(1, "b", 20, 30)];
    // Forty unobserved concurrent writes around the read keep a search busy.
    for i in 0..40 {
        h.push(kv_put(10 + i, &format!("w{i}"), 35, 100));
        h.push(kv_get(60 + i, &format!("w{i}"), 35, 100));
    }
    h.push(kv_get(2, "a", 40, 50));
    let counterexample = rejected_before_search(&h);
    assert_eq!(
        descriptions(&counterexample),
        ["put 0 \"a\" => ok", "put 0 \"b\" => ok"]
    );
    // A step budget smaller than the quick pass's leaves the rule to decide it, with or
    // without the quick pass.
    for quick_pass in [true, false] {
        let options = CheckOptions {
            max_steps: Some(100),
            quick_pass,
            ..CheckOptions::default()
        };
        let verdict = check(&KvModel, &h, &options).verdict;
        assert_eq!(
            verdict.name(),
            "not-linearizable",
            "quick pass {quick_pass}"
        );
    }
    // With the second write still running when the read began, the read may come first.
    h[1] = kv_put(1, "b", 20, 45);
    assert!(linearizable(&KvModel, &h));
}

/// A return time recorded before its call counts as the call time, as in the search: the
/// rejection before any search must not read it as an earlier return.
#[test]
fn a_return_before_its_call_is_not_taken_for_an_early_return() {
    let h = vec![
        kv_put(0, "a", 10, 5),
        kv_put(1, "b", 7, 8),
        kv_get(2, "a", 9, 20),
    ];
    assert!(linearizable(&KvModel, &h));
}

/// The state shown for a stale read found before any search is what the overwrite left,
/// not a replay that skips the writes before.
#[test]
fn a_stale_read_shows_the_state_the_overwrite_left() {
    let append = |client: u64, value: &str, call: u64, ret: u64| {
        let op = Operation::Append {
            key: 0,
            value: value.into(),
        };
        Op::completed(client, op, call, ret, OpOutput::Done)
    };
    let h = vec![
        kv_put(0, "a", 0, 1),
        append(0, "b", 2, 3),
        append(0, "x", 4, 5),
        kv_get(1, "ab", 6, 7),
    ];
    let Verdict::NotLinearizable { counterexample } = verdict_of(&KvModel, &h) else {
        panic!("a stale read accepted");
    };
    assert_eq!(counterexample.state, "not \"ab\"");
}

/// The counterexample of a one-key history that is rejected before any search; the
/// whole check rejects it too.
fn rejected_before_search(h: &[Op<Operation, OpOutput>]) -> Counterexample {
    assert!(!linearizable(&KvModel, h), "accepted: {h:?}");
    let indexed: Vec<(usize, &Op<Operation, OpOutput>)> = h.iter().enumerate().collect();
    crate::check::search::rejected_before_search(&KvModel, &indexed)
        .expect("rejected by the search, not before it")
}

fn descriptions(counterexample: &Counterexample) -> Vec<&str> {
    counterexample
        .linearized
        .iter()
        .map(|o| o.description.as_str())
        .collect()
}

/// A read of another value that ended before a read began, after the last write of the
/// value that read returns ended, rules that read out: the state was something else in
/// between, and nothing can bring the value back.
#[test]
fn a_read_of_another_value_in_between_rules_out_a_stale_read() {
    let mut h = vec![
        kv_put(0, "a", 0, 10),
        kv_put(1, "b", 20, 40),
        kv_get(2, "b", 25, 35),
        kv_get(3, "a", 36, 45),
    ];
    let counterexample = rejected_before_search(&h);
    assert_eq!(
        descriptions(&counterexample),
        ["put 0 \"a\" => ok", "get 0 => \"b\""]
    );
    assert_eq!(counterexample.state, "\"b\"");
    // With the read of "b" still running when the read of "a" began, "a" may come first.
    h[2] = kv_get(2, "b", 25, 37);
    assert!(linearizable(&KvModel, &h));
}

/// A value that one operation alone writes is current over one stretch of any
/// linearization, holding every read of it: an operation between two such reads in real
/// time that changes the value rules the later read out, however long the write ran.
#[test]
fn a_value_written_once_is_current_over_one_stretch() {
    let mut h = vec![
        kv_put(0, "a", 0, 100),
        kv_get(1, "a", 10, 20),
        kv_put(2, "c", 30, 40),
        kv_get(1, "a", 50, 60),
    ];
    let counterexample = rejected_before_search(&h);
    assert_eq!(
        descriptions(&counterexample),
        ["put 0 \"a\" => ok", "get 0 => \"a\"", "put 0 \"c\" => ok"]
    );
    assert_eq!(counterexample.state, "\"c\"");
    assert_eq!(counterexample.unplaceable[0].index, 3);
    // The same with the write's outcome unknown: it still takes effect at most once.
    let lost = Op::indeterminate(
        0,
        Operation::Put {
            key: 0,
            value: "a".into(),
        },
        0,
    );
    let mut unknown = h.clone();
    unknown[0] = lost;
    rejected_before_search(&unknown);
    // A second write of "a" may bring it back after "c".
    let mut twice = h.clone();
    twice.push(kv_put(3, "a", 0, 100));
    assert!(linearizable(&KvModel, &twice));
    // A write of "c" that runs into the second read may come after it.
    let mut overlapping = h.clone();
    overlapping[2] = kv_put(2, "c", 30, 55);
    assert!(linearizable(&KvModel, &overlapping));
    // The initial value is current before any write, so a delete (its only writer) is
    // not the start of its only stretch: the delete may come after "c".
    h[0] = Op::completed(0, Operation::Delete { key: 0 }, 0, 100, OpOutput::Done);
    h[1] = kv_get(1, "", 10, 20);
    h[3] = kv_get(1, "", 50, 60);
    assert!(linearizable(&KvModel, &h));
}

/// A read of a value whose only writer was invoked after the read returned is the one
/// shown, with nothing placed before it; and a read of the initial value after a write
/// that ended before it began is rejected as well.
#[test]
fn a_read_before_its_only_writer_began_is_the_one_shown() {
    let cas = Op::completed(
        1,
        Operation::Cas {
            key: 0,
            expected: String::new(),
            new: "a".into(),
        },
        2,
        3,
        OpOutput::Cas(true),
    );
    let by_cas = vec![kv_get(0, "a", 0, 1), cas, kv_get(2, "a", 4, 5)];
    let by_put = vec![
        kv_get(0, "a", 0, 1),
        kv_put(1, "a", 2, 3),
        kv_put(1, "c", 4, 5),
        kv_get(2, "a", 6, 7),
    ];
    for h in [by_cas, by_put] {
        let counterexample = rejected_before_search(&h);
        assert!(counterexample.linearized.is_empty(), "{counterexample:?}");
        assert_eq!(counterexample.unplaceable[0].index, 0, "{counterexample:?}");
    }
    let initial = vec![kv_put(0, "x", 0, 1), kv_get(1, "", 2, 3)];
    let counterexample = rejected_before_search(&initial);
    assert_eq!(descriptions(&counterexample), ["put 0 \"x\" => ok"]);
}
