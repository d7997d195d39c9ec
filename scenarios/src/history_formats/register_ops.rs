//! Pairs invocations and completions of register operations, shared by the Jepsen etcd
//! and Knossos readers, which differ only in a few semantic choices.

use rustc_hash::FxHashMap;
use sim_core::check::models::{RegisterInput, RegisterOutput};
use sim_core::check::{Op, Return};

use super::{ParseError, RegisterHistory};

/// What an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl Kind {
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "invoke" => Kind::Invoke,
            "ok" => Kind::Ok,
            "fail" => Kind::Fail,
            "info" => Kind::Info,
            _ => return None,
        })
    }
}

/// Which operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Read,
    Write,
    Cas,
}

impl Func {
    pub(crate) fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "read" => Func::Read,
            "write" => Func::Write,
            "cas" => Func::Cas,
            _ => return None,
        })
    }
}

/// An event's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Nil,
    Int(i64),
    Pair(i64, i64),
    /// Anything else (`:timed-out`, a string...): fine where the value does not matter.
    Other,
}

/// One line of a history.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub(crate) process: u64,
    pub(crate) kind: Kind,
    pub(crate) func: Func,
    pub(crate) value: Value,
    pub(crate) line: usize,
    /// The column of the value, for errors about it.
    pub(crate) column: usize,
}

/// How the tool that wrote the format reads some events.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Semantics {
    /// A read that returned nil: the register was absent (`false`: value unknown, so the
    /// read constrains nothing and is dropped).
    pub(crate) nil_read_is_absent: bool,
    /// A failed cas: it found another value (`false`: it never happened and is dropped).
    pub(crate) failed_cas_observed: bool,
    pub(crate) initial: Option<i64>,
}

fn input_of(func: Func, value: Value, e: &Event) -> Result<RegisterInput, ParseError> {
    match (func, value) {
        (Func::Read, _) => Ok(RegisterInput::Read),
        (Func::Write, Value::Int(v)) => Ok(RegisterInput::Write(v)),
        (Func::Cas, Value::Pair(from, to)) => Ok(RegisterInput::Cas { from, to }),
        (Func::Write, _) => Err(ParseError::new(
            e.line,
            e.column,
            "an integer to write",
            "another value",
        )),
        (Func::Cas, _) => Err(ParseError::new(
            e.line,
            e.column,
            "a pair [from to] of integers",
            "another value",
        )),
    }
}

/// Builds the history: a completion closes the open invocation of its process.
pub(crate) fn assemble(
    events: &[Event],
    semantics: Semantics,
) -> Result<RegisterHistory, ParseError> {
    let mut ops: Vec<Option<Op<RegisterInput, RegisterOutput>>> = Vec::new();
    let mut lines = Vec::new();
    let mut open: FxHashMap<u64, (usize, Func)> = FxHashMap::default();
    for (time, e) in events.iter().enumerate() {
        let time = time as u64;
        if e.kind == Kind::Invoke {
            // A process runs one operation at a time; one whose outcome is unknown (:info)
            // is closed, and the client goes on as a new process.
            if let Some(&(index, _)) = open.get(&e.process) {
                return Err(ParseError::new(
                    e.line,
                    1,
                    format!(
                        "a completion of process {}'s open invocation (line {}) before its next one",
                        e.process, lines[index]
                    ),
                    "a second invocation",
                ));
            }
            let input = input_of(e.func, e.value, e)?;
            open.insert(e.process, (ops.len(), e.func));
            ops.push(Some(Op::indeterminate(e.process, input, time)));
            lines.push(e.line);
            continue;
        }
        let Some((index, func)) = open.remove(&e.process) else {
            if e.kind == Kind::Info {
                continue; // nothing was open: nothing is unknown
            }
            return Err(ParseError::new(
                e.line,
                1,
                format!(
                    "an invocation by process {} before its completion",
                    e.process
                ),
                "a completion with no open invocation",
            ));
        };
        if func != e.func {
            return Err(ParseError::new(
                e.line,
                1,
                format!("a completion of the open {func:?} of process {}", e.process),
                format!("a completion of {:?}", e.func),
            ));
        }
        let slot = &mut ops[index];
        let Some(op) = slot.as_mut() else {
            continue;
        };
        match (e.kind, func) {
            (Kind::Invoke | Kind::Info, _) => {}
            (Kind::Ok, Func::Read) => {
                let output = match e.value {
                    Value::Int(v) => Some(RegisterOutput::Read(Some(v))),
                    Value::Nil if semantics.nil_read_is_absent => Some(RegisterOutput::Read(None)),
                    Value::Nil => None,
                    _ => {
                        return Err(ParseError::new(
                            e.line,
                            e.column,
                            "nil or an integer read",
                            "another value",
                        ));
                    }
                };
                match output {
                    Some(output) => op.ret = Some(Return { at: time, output }),
                    None => *slot = None,
                }
            }
            (Kind::Ok, _) => {
                op.input = input_of(func, e.value, e)?;
                let output = if func == Func::Write {
                    RegisterOutput::Written
                } else {
                    RegisterOutput::Cas(true)
                };
                op.ret = Some(Return { at: time, output });
            }
            (Kind::Fail, Func::Cas) if semantics.failed_cas_observed => {
                op.ret = Some(Return {
                    at: time,
                    output: RegisterOutput::Cas(false),
                });
            }
            // A failed read is a timed-out one, which constrains nothing; a failed write or
            // cas did not happen.
            (Kind::Fail, _) => *slot = None,
        }
    }
    let (ops, lines) = ops
        .into_iter()
        .zip(lines)
        .filter_map(|(op, line)| op.map(|op| (op, line)))
        .unzip();
    Ok(RegisterHistory {
        ops,
        lines,
        initial: semantics.initial,
    })
}
