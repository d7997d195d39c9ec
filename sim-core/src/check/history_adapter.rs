//! From a run's [`History`] to the checker's operations on the key-value model.

use super::model::Model as _;
use super::models::KvModel;
use super::ops::Op;
use super::partition::check;
use super::verdict::{CheckOptions, CheckReport};
use crate::history::{History, OpOutput, Operation, Outcome};

/// The checker's view of a run's history. Failed operations (known not to have taken
/// effect) are left out; pending and indeterminate ones may take effect at any point after
/// their invocation, or never. Operation indices in counterexamples are positions in the
/// returned vector; `ids` maps them back to [`HistoryOp::id`](crate::history::HistoryOp).
/// Transactions and proposals are not key-value operations and are left out too (the
/// atomic-commit and consensus families have their own checks).
pub fn kv_ops(history: &History) -> (Vec<Op<Operation, OpOutput>>, Vec<u64>) {
    let mut ops = Vec::with_capacity(history.len());
    let mut ids = Vec::with_capacity(history.len());
    for h in history.ops() {
        if matches!(h.op, Operation::Txn { .. } | Operation::Propose { .. }) {
            continue;
        }
        let call = h.invoked.as_nanos();
        let op = match &h.outcome {
            Outcome::Failed => continue,
            Outcome::Pending | Outcome::Indeterminate => {
                Op::indeterminate(u64::from(h.client), h.op.clone(), call)
            }
            Outcome::Ok(output) => {
                // A success without a completion time can only have happened by the end.
                let ret = h.completed.map_or(u64::MAX, |t| t.as_nanos());
                Op::completed(u64::from(h.client), h.op.clone(), call, ret, output.clone())
            }
        };
        ops.push(op);
        ids.push(h.id);
    }
    (ops, ids)
}

/// Checks a run's history against the key-value model, key by key. Counterexample
/// indices are [`HistoryOp::id`](crate::history::HistoryOp)s.
pub fn check_history(history: &History, options: &CheckOptions) -> CheckReport {
    if let Some(other) = history
        .ops()
        .iter()
        .find(|h| matches!(h.op, Operation::Broadcast { .. }))
    {
        // Linearizability of a key-value map says nothing about dissemination.
        return CheckReport {
            verdict: super::Verdict::Unknown {
                reason: format!(
                    "the history holds {} operations, which the key-value model does not describe",
                    other.op.kind()
                ),
            },
            model: KvModel.name().to_string(),
            ops: history.len(),
            partitions: 0,
            steps: 0,
        };
    }
    let (ops, ids) = kv_ops(history);
    let mut report = check(&KvModel, &ops, options);
    if let super::Verdict::NotLinearizable { counterexample } = &mut report.verdict {
        for op in counterexample
            .linearized
            .iter_mut()
            .chain(counterexample.unplaceable.iter_mut())
        {
            op.index = ids[op.index] as usize;
        }
    }
    report
}
