//! The part of a counterexample a reader needs: instead of the whole linearizable prefix
//! (often hundreds of operations), the operations around the contradiction, with the
//! time and the node that answered each.

use std::fmt::Write as _;

use super::{Counterexample, OpRef};
use crate::history::History;
use crate::protocol::NodeId;

/// Why an operation is in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowRole {
    /// The last operation of the prefix that changed the state: where the state the
    /// search was stuck in came from.
    SetState,
    /// Placed by the search, and concurrent with or after the first operation that could
    /// not be placed.
    Placed,
    /// Cannot be placed after the prefix, in any order.
    Unplaceable,
}

/// The window of a counterexample.
#[derive(Clone, Debug, PartialEq)]
pub struct Window<'a> {
    /// Operations of the prefix left out, before the window.
    pub elided: usize,
    /// The operations shown: the prefix's part in linearization order, then the ones that
    /// cannot be placed.
    pub ops: Vec<(&'a OpRef, WindowRole)>,
}

impl Counterexample {
    /// The smallest window that shows the contradiction: the operation that set the state
    /// the search was stuck in, the placed operations from the first unplaceable one's
    /// invocation on (the ones it had to be ordered against) and the last placed one, and
    /// the unplaceable ones.
    /// `history` is the history that was checked (for times).
    pub fn window(&self, history: &History) -> Window<'_> {
        let ops = history.ops();
        let from = self
            .unplaceable
            .iter()
            .filter_map(|o| ops.get(o.index))
            .map(|o| o.invoked)
            .min();
        let concurrent = |o: &OpRef| match (ops.get(o.index), from) {
            (Some(h), Some(from)) => h.completed.is_none_or(|c| c >= from),
            _ => true,
        };
        let state_setter = self
            .linearized
            .iter()
            .rposition(|o| ops.get(o.index).is_some_and(|h| !h.op.is_read_only()));
        // The last placed operation is the nearest to the contradiction (a rule that
        // rejects before any search puts its evidence there), so it is always shown.
        let last = self.linearized.len().checked_sub(1);
        let mut shown: Vec<(&OpRef, WindowRole)> = Vec::new();
        for (i, o) in self.linearized.iter().enumerate() {
            if Some(i) == state_setter {
                shown.push((o, WindowRole::SetState));
            } else if concurrent(o) || Some(i) == last {
                shown.push((o, WindowRole::Placed));
            }
        }
        let elided = self.linearized.len() - shown.len();
        shown.extend(
            self.unplaceable
                .iter()
                .map(|o| (o, WindowRole::Unplaceable)),
        );
        Window { elided, ops: shown }
    }

    /// [`Counterexample::window`] as text: each operation with its client, the node that
    /// answered it (named by `node`), and its invocation and completion times.
    pub fn render_window(&self, history: &History, node: &dyn Fn(NodeId) -> String) -> String {
        let w = self.window(history);
        let ops = history.ops();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "key {}: the search placed {} operations in order, then was stuck in state {}",
            self.partition,
            self.linearized.len(),
            self.state
        );
        if w.elided > 0 {
            let _ = writeln!(
                s,
                "  ({} earlier placed operations, over before the first that cannot be placed began, are not shown)",
                w.elided
            );
        }
        let mut heading = None;
        for (o, role) in &w.ops {
            let title = match role {
                WindowRole::SetState | WindowRole::Placed => "placed, in this order:",
                WindowRole::Unplaceable => "cannot be placed next, in any order:",
            };
            if heading != Some(title) {
                let _ = writeln!(s, "  {title}");
                heading = Some(title);
            }
            let (times, served) = match ops.get(o.index) {
                Some(h) => (
                    format!(
                        "{} → {}",
                        h.invoked,
                        h.completed.map_or("never".to_string(), |c| c.to_string())
                    ),
                    h.served_by.map_or("-".to_string(), node),
                ),
                None => (String::new(), "-".to_string()),
            };
            let _ = writeln!(
                s,
                "    #{:<6} client {:<4} via {:<6} {:<22} {}{}",
                o.index,
                o.client,
                served,
                times,
                o.description,
                if *role == WindowRole::SetState {
                    "   (set the state)"
                } else {
                    ""
                }
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckOptions, Verdict, check_history};
    use crate::history::{OpOutput, Operation, Outcome};
    use crate::time::SimTime;

    /// Forty sequential puts, a write that ends the run of the prefix, then a read served
    /// by node 4 that returns a value two writes old: the window holds the write that
    /// overwrote what the read saw (nothing can write it again) and the stale read, not
    /// the forty puts before.
    #[test]
    fn the_window_is_the_state_setter_and_the_contradiction() {
        let mut h = History::new();
        let mut t = 0;
        let mut put = |h: &mut History, v: &str, node: u32| {
            let id = h.invoke(
                0,
                Operation::Put {
                    key: 1,
                    value: v.into(),
                },
                SimTime(t),
            );
            h.served(id, NodeId(node));
            h.complete(id, Outcome::Ok(OpOutput::Done), SimTime(t + 5));
            t += 10;
            id
        };
        for i in 0..40 {
            put(&mut h, &format!("v{i}"), 0);
        }
        put(&mut h, "last", 1);
        let read = h.invoke(1, Operation::Get { key: 1 }, SimTime(1_000));
        h.served(read, NodeId(4));
        h.complete(
            read,
            Outcome::Ok(OpOutput::Value("v38".into())),
            SimTime(1_010),
        );
        let Verdict::NotLinearizable { counterexample } =
            check_history(&h, &CheckOptions::default()).verdict
        else {
            panic!("a stale read accepted");
        };
        let w = counterexample.window(&h);
        let shown: Vec<(usize, WindowRole)> = w.ops.iter().map(|(o, r)| (o.index, *r)).collect();
        assert_eq!(
            shown,
            [
                (39, WindowRole::SetState),
                (read as usize, WindowRole::Unplaceable)
            ]
        );
        // Found before any search: the last write of "v38", then the write over it that
        // ended before the read began.
        assert_eq!(w.elided, 1);
        let text = counterexample.render_window(&h, &|n| format!("node-{}", n.0));
        assert!(text.lines().count() <= 6, "{text}");
        assert!(text.contains("via node-4"), "{text}");
        assert!(text.contains("(set the state)"), "{text}");
        assert!(text.contains("put 1 \"v39\""), "{text}");
    }

    /// Placed operations concurrent with the unplaceable one are in the window, in
    /// linearization order; nothing else.
    #[test]
    fn concurrent_placed_operations_are_shown() {
        let mut h = History::new();
        let op = |h: &mut History, client: u32, op: Operation, out: OpOutput, t: u64| {
            let id = h.invoke(client, op, SimTime(t));
            h.complete(
                id,
                Outcome::Ok(out),
                SimTime(t + if t == 0 { 100 } else { 40 }),
            );
            id
        };
        let put = |value: &str| Operation::Put {
            key: 1,
            value: value.into(),
        };
        let value = |v: &str| OpOutput::Value(v.into());
        let get = Operation::Get { key: 1 };
        // Two concurrent puts; two readers each see one value, then the same again after
        // a pause: each value would have to stay from before the pause to after it.
        // No real-time order rules a read out on its own, so the search finds it.
        let w1 = op(&mut h, 0, put("a"), OpOutput::Done, 0);
        let w2 = op(&mut h, 1, put("b"), OpOutput::Done, 0);
        op(&mut h, 2, get.clone(), value("a"), 10);
        op(&mut h, 3, get.clone(), value("b"), 10);
        let again = op(&mut h, 2, get.clone(), value("a"), 60);
        op(&mut h, 3, get, value("b"), 60);
        let Verdict::NotLinearizable { counterexample } =
            check_history(&h, &CheckOptions::default()).verdict
        else {
            panic!("two values that each stayed over the same pause accepted");
        };
        let w = counterexample.window(&h);
        let shown: Vec<(usize, WindowRole)> = w.ops.iter().map(|(o, r)| (o.index, *r)).collect();
        // The puts run across the stuck read: shown, in linearization order. The first
        // read of "a" ended before it began: not shown.
        assert_eq!(
            shown,
            [
                (w1 as usize, WindowRole::Placed),
                (w2 as usize, WindowRole::SetState),
                (again as usize, WindowRole::Unplaceable)
            ],
            "{counterexample:?}"
        );
        let text = counterexample.render_window(&h, &|n| n.to_string());
        assert!(
            text.contains("via -"),
            "no node answered in a hand-made history: {text}"
        );
    }
}
