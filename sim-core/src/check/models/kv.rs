//! A key-value map of strings (get, put, cas, append), checked key by key.

use crate::check::model::{Model, ModelOp};
use crate::history::{OpOutput, Operation};

/// A deterministic hash of a value's bytes, for [`Model::leave_key`].
fn bytes_key(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.finish()
}

/// The key-value map of the replicated-state-machine family. Every key starts as the
/// empty string. The map partitions per key, so a state is the value of one key.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

/// The value the search writes in place of values no operation observes (see
/// [`KvModel::stand_ins`]). A recorded value may be the same string: where a read or an
/// expected value starts with it, no stand-ins are used at all.
const UNSEEN: &str = "\u{0}unseen";

/// The most byte comparisons spent finding appends whose suffix no read contains.
const APPEND_SCAN_BUDGET: usize = 1 << 26;

fn concat(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}

impl Model for KvModel {
    type Input = Operation;
    type Output = OpOutput;
    type State = String;

    fn name(&self) -> &str {
        "kv"
    }

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &Operation, output: &OpOutput) -> Option<String> {
        match (input, output) {
            (Operation::Get { .. }, OpOutput::Value(v)) => (v == state).then(|| state.clone()),
            (Operation::Put { value, .. }, OpOutput::Done) => Some(value.clone()),
            (Operation::Append { value, .. }, OpOutput::Done) => Some(concat(state, value)),
            (Operation::Delete { .. }, OpOutput::Done) => Some(String::new()),
            (Operation::Cas { expected, new, .. }, OpOutput::Cas(ok)) => {
                if state == expected {
                    ok.then(|| new.clone())
                } else {
                    (!ok).then(|| state.clone())
                }
            }
            _ => None,
        }
    }

    fn step_indeterminate(&self, state: &String, input: &Operation) -> Option<String> {
        match input {
            Operation::Get { .. } => None,
            Operation::Put { value, .. } => Some(value.clone()),
            Operation::Append { value, .. } => Some(concat(state, value)),
            Operation::Cas { expected, new, .. } => (state == expected).then(|| new.clone()),
            Operation::Delete { .. } => Some(String::new()),
            // Not a key-value operation: `check_history` refuses such histories first.
            Operation::Broadcast { .. } => None,
            // Not key-value operations: `kv_ops` leaves them out.
            Operation::Txn { .. } | Operation::Propose { .. } => None,
        }
    }

    fn is_read_only(&self, input: &Operation, output: Option<&OpOutput>) -> bool {
        matches!(
            (input, output),
            (Operation::Get { .. }, _) | (Operation::Cas { .. }, Some(OpOutput::Cas(false)))
        )
    }

    /// Appends only extend the value, so the search can drop orders of concurrent appends
    /// that the next read has already ruled out instead of trying each (their number grows
    /// as a factorial).
    fn only_grows(&self, input: &Operation, output: Option<&OpOutput>) -> bool {
        matches!(input, Operation::Append { .. }) || self.is_read_only(input, output)
    }

    fn can_grow_into(&self, state: &String, input: &Operation, output: Option<&OpOutput>) -> bool {
        match (input, output) {
            (Operation::Get { .. }, Some(OpOutput::Value(v))) => v.starts_with(state.as_str()),
            (Operation::Cas { expected, .. }, Some(OpOutput::Cas(true)) | None) => {
                expected.starts_with(state.as_str())
            }
            _ => true,
        }
    }

    fn partition(&self, input: &Operation) -> u64 {
        input.key()
    }

    fn needs_state(&self, input: &Operation, output: &OpOutput) -> Option<String> {
        match (input, output) {
            (Operation::Get { .. }, OpOutput::Value(v)) => Some(v.clone()),
            (Operation::Cas { expected, .. }, OpOutput::Cas(true)) => Some(expected.clone()),
            _ => None,
        }
    }

    fn leaves(&self, input: &Operation, output: Option<&OpOutput>) -> Option<String> {
        match (input, output) {
            (Operation::Put { value, .. }, _) => Some(value.clone()),
            (Operation::Delete { .. }, _) => Some(String::new()),
            (Operation::Cas { new, .. }, Some(OpOutput::Cas(true)) | None) => Some(new.clone()),
            _ => None,
        }
    }

    fn can_leave(&self, input: &Operation, output: Option<&OpOutput>, state: &String) -> bool {
        match (input, output) {
            (Operation::Get { .. }, _) | (Operation::Cas { .. }, Some(OpOutput::Cas(false))) => {
                false
            }
            (Operation::Put { value, .. }, _) => state == value,
            (Operation::Append { value, .. }, _) => state.ends_with(value.as_str()),
            (Operation::Delete { .. }, _) => state.is_empty(),
            (Operation::Cas { new, .. }, _) => state == new,
            // Not key-value operations: the model cannot say.
            (
                Operation::Broadcast { .. } | Operation::Txn { .. } | Operation::Propose { .. },
                _,
            ) => true,
        }
    }

    /// A value state is observable only while some read's answer or some compare-and-set's
    /// expected value starts with it (appends only extend it). A put or a compare-and-set
    /// writing a value that none starts with, and an append whose suffix no read or
    /// expected value contains, leave an unobservable state whatever they find: each is
    /// searched as a put of one placeholder that no read or expected value starts with.
    /// Unobservable states stay so under appends, compare unequal to every expected value
    /// and read answer, and are left by the same operations as any other state, so the
    /// history is linearizable exactly when the rewritten one is.
    fn stand_ins(&self, ops: &[&ModelOp<Self>]) -> Vec<Option<Operation>> {
        let mut probes: Vec<&str> = Vec::new();
        for op in ops {
            match (&op.input, op.output()) {
                (Operation::Get { .. }, Some(OpOutput::Value(v))) => probes.push(v),
                (Operation::Cas { expected, .. }, _) => probes.push(expected),
                _ => {}
            }
        }
        if probes.iter().any(|p| p.starts_with(UNSEEN)) {
            return vec![None; ops.len()];
        }
        probes.sort_unstable();
        probes.dedup();
        // A value is observable when some probe starts with it: the first probe not
        // below it in sorted order does if any does.
        let observable = |v: &str| {
            let at = probes.partition_point(|p| *p < v);
            probes.get(at).is_some_and(|p| p.starts_with(v))
        };
        let appends = ops
            .iter()
            .filter(|op| matches!(op.input, Operation::Append { .. }))
            .count();
        let haystack: String = if appends > 0 {
            probes.join("\u{0}")
        } else {
            String::new()
        };
        let scan_appends = appends.saturating_mul(haystack.len()) <= APPEND_SCAN_BUDGET;
        let finder = |value: &str| memchr::memmem::find(haystack.as_bytes(), value.as_bytes());
        let unseen = |key: u64| Operation::Put {
            key,
            value: UNSEEN.to_string(),
        };
        ops.iter()
            .map(|op| match &op.input {
                Operation::Put { key, value } if !observable(value) => Some(unseen(*key)),
                Operation::Cas { key, expected, new } if !observable(new) => Some(Operation::Cas {
                    key: *key,
                    expected: expected.clone(),
                    new: UNSEEN.to_string(),
                }),
                // A suffix found across two probes only keeps an append as it is.
                Operation::Append { key, value } if scan_appends && finder(value).is_none() => {
                    Some(unseen(*key))
                }
                _ => None,
            })
            .collect()
    }

    fn describe_op(&self, input: &Operation, output: Option<&OpOutput>) -> String {
        let call = match input {
            Operation::Get { key } => format!("get {key}"),
            Operation::Put { key, value } => format!("put {key} {value:?}"),
            Operation::Cas { key, expected, new } => format!("cas {key} {expected:?} -> {new:?}"),
            Operation::Append { key, value } => format!("append {key} {value:?}"),
            Operation::Delete { key } => format!("delete {key}"),
            Operation::Broadcast { id } => format!("broadcast {id}"),
            Operation::Txn { reads, writes } => format!("txn reads {reads:?} writes {writes:?}"),
            Operation::Propose { instance, value } => format!("propose {instance} {value:?}"),
        };
        let answer = match output {
            None => "unknown".to_string(),
            Some(OpOutput::Value(v)) => format!("{v:?}"),
            Some(OpOutput::Done) | Some(OpOutput::Cas(true)) => "ok".to_string(),
            Some(OpOutput::Cas(false)) => "failed".to_string(),
            Some(OpOutput::Txn { committed, reads }) => format!("committed {committed} {reads:?}"),
            Some(OpOutput::Decided(v)) => format!("decided {v:?}"),
        };
        format!("{call} => {answer}")
    }

    fn leaves_from(
        &self,
        input: &Operation,
        output: Option<&OpOutput>,
        state: &String,
    ) -> Option<String> {
        match (input, output) {
            (Operation::Append { value, .. }, _) => {
                state.strip_suffix(value.as_str()).map(str::to_string)
            }
            (Operation::Cas { expected, new, .. }, Some(OpOutput::Cas(true)) | None)
                if state == new =>
            {
                Some(expected.clone())
            }
            _ => None,
        }
    }

    /// An append is filed under its value's length and a hash of it: it leaves only
    /// values that end with it.
    fn leave_key(&self, input: &Operation, _output: Option<&OpOutput>) -> Option<(u32, u64)> {
        match input {
            Operation::Append { value, .. } => Some((
                u32::try_from(value.len()).ok()?,
                bytes_key(value.as_bytes()),
            )),
            _ => None,
        }
    }

    fn state_leave_key(&self, state: &String, len: u32) -> Option<u64> {
        let bytes = state.as_bytes();
        let from = bytes.len().checked_sub(len as usize)?;
        Some(bytes_key(&bytes[from..]))
    }

    fn state_bytes(&self, state: &String) -> usize {
        state.capacity()
    }

    fn describe_state(&self, state: &String) -> String {
        if state.starts_with(UNSEEN) {
            return "a value no read returns".to_string();
        }
        format!("{state:?}")
    }
}
