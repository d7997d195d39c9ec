//! The look-ahead for reads a new state must grow into, where reads lie far past the
//! search's front.

use super::*;

/// Two hundred appends, about fifty running at any moment, and one read at the end that
/// shows the order they took effect in: the read's return lies hundreds of entries past
/// the front of the search, and each append placed out of that order must be dropped at
/// once, not after every order of the fifty has been tried.
#[test]
fn appends_far_from_the_read_that_orders_them_are_placed_in_its_order() {
    let n = 200u64;
    let point = |i: u64| 10 * i + (i * 37) % 500;
    let mut order: Vec<u64> = (0..n).collect();
    order.sort_by_key(|&i| point(i));
    let value: String = order.iter().map(|i| format!("c{i};")).collect();
    let mut h: Vec<Op<Operation, OpOutput>> = (0..n)
        .map(|i| {
            let append = Operation::Append {
                key: 0,
                value: format!("c{i};"),
            };
            Op::completed(i, append, 10 * i, 10 * i + 500, OpOutput::Done)
        })
        .collect();
    h.push(kv_get(n, &value, 10 * n + 500, 10 * n + 501));
    let options = CheckOptions {
        max_steps: Some(200_000),
        ..CheckOptions::default()
    };
    for quick_pass in [true, false] {
        let options = CheckOptions {
            quick_pass,
            ..options.clone()
        };
        let report = check(&KvModel, &h, &options);
        assert_eq!(
            report.verdict,
            Verdict::Linearizable,
            "quick pass {quick_pass}"
        );
    }
    // The last append seen first, before appends that returned before it began:
    // rejected as fast.
    let last_value = format!("c{};", order[n as usize - 1]);
    let swapped = last_value.clone() + &value.replacen(&last_value, "", 1);
    let last = h.len() - 1;
    h[last] = kv_get(n, &swapped, 10 * n + 500, 10 * n + 501);
    let report = check(&KvModel, &h, &options);
    assert_eq!(report.verdict.name(), "not-linearizable");
}

/// Past the entries the far look goes through, a write it has not seen may still set
/// the state back: a read of a value that only a write invoked after many others brings
/// about is not ruled out while those others are placed (the read, invoked first and
/// returning last, keeps them all past the search's front).
#[test]
fn a_write_past_the_far_look_may_still_set_the_state_back() {
    let mut h = vec![kv_get(9, "z", 0, 1_000)];
    // Each value read back, so that no write is a stand-in.
    for i in 1..=12u64 {
        h.push(kv_put(0, &format!("p{i}"), 10 * i, 10 * i + 5));
        h.push(kv_get(3, &format!("p{i}"), 10 * i + 6, 10 * i + 8));
    }
    h.push(kv_put(1, "z", 125, 1_000));
    // An append, so that the search looks ahead for growth at all.
    let append = Operation::Append {
        key: 0,
        value: "!".into(),
    };
    h.push(Op::completed(4, append, 2_000, 2_010, OpOutput::Done));
    assert!(linearizable(&KvModel, &h));
}
