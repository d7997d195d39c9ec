//! A key-value map of strings (get, put, cas, append), checked key by key.

use crate::check::model::Model;
use crate::history::{OpOutput, Operation};

/// The key-value map of the replicated-state-machine family. Every key starts as the
/// empty string. The map partitions per key, so a state is the value of one key.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

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
            // Not a key-value operation: `kv_ops` leaves transactions out.
            Operation::Txn { .. } => None,
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
            (Operation::Broadcast { .. } | Operation::Txn { .. }, _) => true,
        }
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
        };
        let answer = match output {
            None => "unknown".to_string(),
            Some(OpOutput::Value(v)) => format!("{v:?}"),
            Some(OpOutput::Done) | Some(OpOutput::Cas(true)) => "ok".to_string(),
            Some(OpOutput::Cas(false)) => "failed".to_string(),
            Some(OpOutput::Txn { committed, reads }) => format!("committed {committed} {reads:?}"),
        };
        format!("{call} => {answer}")
    }

    fn describe_state(&self, state: &String) -> String {
        format!("{state:?}")
    }
}
