//! Writing a history in another checker's format, so that anyone can cross-check a
//! verdict: Porcupine's key-value log (get, put, append) and Knossos's register EDN (read,
//! write, cas). Both are event logs: one line per invocation and per completion, in time
//! order, each process running one operation at a time.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sim_core::check::Op;
use sim_core::check::models::{RegisterInput, RegisterOutput};
use sim_core::history::{OpOutput, Operation};

use super::ParsedHistory;

/// A format `faultline check --export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Porcupine's key-value log (`{:process 0, :type :invoke, :f :put, :key "1", :value "x"}`).
    Porcupine,
    /// Knossos's register EDN (`{:process 0, :type :invoke, :f :write, :value 3}`).
    Knossos,
}

/// `history` in `format`, or why it cannot be written so (an operation the format has no
/// word for).
pub fn export(history: &ParsedHistory, format: ExportFormat) -> Result<String, String> {
    match (history, format) {
        (ParsedHistory::Kv(h), ExportFormat::Porcupine) => {
            let name = |key: u64| {
                h.key_names
                    .get(key as usize)
                    .cloned()
                    .unwrap_or_else(|| key.to_string())
            };
            let mut lines = Vec::with_capacity(h.ops.len());
            // Porcupine closes every open call at the end with an empty answer, so a get
            // whose answer is unknown would read as a get of "": it constrains nothing
            // here, so it is left out.
            let ops: Vec<&Op<Operation, OpOutput>> = h
                .ops
                .iter()
                .filter(|o| o.ret.is_some() || !matches!(o.input, Operation::Get { .. }))
                .collect();
            for op in &ops {
                let (f, key, value) = match &op.input {
                    Operation::Get { key } => ("get", *key, None),
                    Operation::Put { key, value } => ("put", *key, Some(value.clone())),
                    Operation::Append { key, value } => ("append", *key, Some(value.clone())),
                    other => {
                        return Err(format!(
                            "Porcupine's key-value model has get, put and append only; this history has {}",
                            other.kind()
                        ));
                    }
                };
                let answered = match op.output() {
                    Some(OpOutput::Value(v)) => Some(v.clone()),
                    _ => value.clone(),
                };
                let head = format!(":f :{f}, :key {}", edn_string(&name(key)));
                let invoke = format!("{head}, :value {}", edn_opt(value.as_deref()));
                let done = format!(":ok, {head}, :value {}", edn_opt(answered.as_deref()));
                if invoke.len().max(done.len()) > PORCUPINE_LINE {
                    return Err(format!(
                        "an operation's line would be longer than the {PORCUPINE_LINE} bytes Porcupine's log reader takes"
                    ));
                }
                lines.push((invoke, done));
            }
            Ok(event_log(&ops, &lines))
        }
        (ParsedHistory::Register(h), ExportFormat::Knossos) => {
            // Knossos starts the register at 0 and reads a nil read as "any value": a
            // history that starts elsewhere or reads an absent register would mean
            // something else there.
            if h.initial != Some(0) {
                return Err(format!(
                    "Knossos's register starts at 0; this history's starts at {}",
                    h.initial.map_or("nil (absent)".to_string(), |v| v.to_string())
                ));
            }
            if h.ops.iter().any(|o| o.output() == Some(&RegisterOutput::Read(None))) {
                return Err("a read of an absent register, which Knossos would read as a read of any value".into());
            }
            let mut lines = Vec::with_capacity(h.ops.len());
            for op in &h.ops {
                let (f, value) = match op.input {
                    RegisterInput::Read => ("read", "nil".to_string()),
                    RegisterInput::Write(v) => ("write", v.to_string()),
                    RegisterInput::Cas { from, to } => ("cas", format!("[{from} {to}]")),
                };
                let answered = match op.output() {
                    Some(RegisterOutput::Read(Some(v))) => v.to_string(),
                    Some(RegisterOutput::Read(None)) => "nil".to_string(),
                    _ => value.clone(),
                };
                // A compare-and-set that did not take effect completes with :fail.
                let kind = if op.output() == Some(&RegisterOutput::Cas(false)) {
                    ":fail"
                } else {
                    ":ok"
                };
                lines.push((
                    format!(":f :{f}, :value {value}"),
                    format!("{kind}, :f :{f}, :value {answered}"),
                ));
            }
            let refs: Vec<&Op<RegisterInput, RegisterOutput>> = h.ops.iter().collect();
            Ok(event_log(&refs, &lines))
        }
        (ParsedHistory::Kv(_), ExportFormat::Knossos) => Err(
            "Knossos's format is of one register; this is a key-value history: export it --export porcupine".into(),
        ),
        (ParsedHistory::Register(_), ExportFormat::Porcupine) => Err(
            "Porcupine's key-value log is of a map; this is a register history: export it --export knossos".into(),
        ),
    }
}

/// The event log of `ops`: `bodies[i]` is the rest of operation `i`'s invocation line and
/// of its completion line (which starts with its type, `:ok` or `:fail`). Invocations come before completions at equal times (which
/// count as concurrent); each operation gets a process free when it is invoked, and one
/// whose outcome is unknown ends with `:info` after everything else.
fn event_log<I, O>(ops: &[&Op<I, O>], bodies: &[(String, String)]) -> String {
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call, false, i));
        if let Some(r) = &op.ret {
            events.push((r.at.max(op.call), true, i));
        }
    }
    events.sort_unstable();
    let mut free: BTreeSet<u64> = BTreeSet::new();
    let mut next = 0u64;
    let mut process = vec![0u64; ops.len()];
    let mut out = String::new();
    for (_, is_ret, i) in events {
        if is_ret {
            let _ = writeln!(out, "{{:process {}, :type {}}}", process[i], bodies[i].1);
            free.insert(process[i]);
        } else {
            let p = free.pop_first().unwrap_or_else(|| {
                next += 1;
                next - 1
            });
            process[i] = p;
            let _ = writeln!(out, "{{:process {p}, :type :invoke, {}}}", bodies[i].0);
        }
    }
    for (i, op) in ops.iter().enumerate() {
        if op.ret.is_none() {
            let _ = writeln!(
                out,
                "{{:process {}, :type :info, {}}}",
                process[i], bodies[i].0
            );
        }
    }
    out
}

/// The longest line Porcupine's kv log reader takes, in bytes.
const PORCUPINE_LINE: usize = 4000;

fn edn_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn edn_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "nil".to_string(), edn_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history_formats::porcupine_kv;
    use sim_core::check::models::{KvModel, RegisterModel};
    use sim_core::check::{CheckOptions, check};

    fn kv_op(
        client: u64,
        input: Operation,
        call: u64,
        ret: Option<(u64, OpOutput)>,
    ) -> Op<Operation, OpOutput> {
        match ret {
            Some((at, out)) => Op::completed(client, input, call, at, out),
            None => Op::indeterminate(client, input, call),
        }
    }

    /// A key-value history written for Porcupine reads back the same, verdict and all,
    /// even where one client had two operations open at once (they get two processes) and
    /// one outcome is unknown.
    #[test]
    fn a_kv_history_round_trips_through_porcupines_format() {
        let put = |v: &str| Operation::Put {
            key: 0,
            value: v.into(),
        };
        let get = Operation::Get { key: 0 };
        for (stale, verdict) in [(false, "linearizable"), (true, "not-linearizable")] {
            let ops = vec![
                kv_op(0, put("a"), 0, Some((10, OpOutput::Done))),
                kv_op(1, put("b \"q\""), 11, Some((20, OpOutput::Done))),
                // The same client as the first put, while that one is open.
                kv_op(
                    0,
                    Operation::Append {
                        key: 0,
                        value: "c".into(),
                    },
                    6,
                    None,
                ),
                kv_op(
                    2,
                    get.clone(),
                    30,
                    Some((
                        40,
                        OpOutput::Value(if stale { "a".into() } else { "b \"q\"c".into() }),
                    )),
                ),
            ];
            let history = ParsedHistory::Kv(super::super::KvHistory {
                ops: ops.clone(),
                lines: vec![1, 2, 3, 4],
                key_names: vec!["7".into()],
            });
            let text = export(&history, ExportFormat::Porcupine).unwrap();
            assert!(text.contains(":key \"7\""), "{text}");
            let back = porcupine_kv::parse(&text).unwrap();
            assert_eq!(back.ops.len(), ops.len(), "{text}");
            assert_eq!(back.key_names, vec!["7".to_string()]);
            let before = check(&KvModel, &ops, &CheckOptions::default()).verdict;
            let after = check(&KvModel, &back.ops, &CheckOptions::default()).verdict;
            assert_eq!(before.name(), verdict, "{text}");
            assert_eq!(after.name(), verdict, "{text}");
        }
        let with_cas = ParsedHistory::Kv(super::super::KvHistory {
            ops: vec![kv_op(
                0,
                Operation::Cas {
                    key: 0,
                    expected: String::new(),
                    new: "x".into(),
                },
                0,
                Some((1, OpOutput::Cas(true))),
            )],
            lines: vec![1],
            key_names: Vec::new(),
        });
        assert!(
            export(&with_cas, ExportFormat::Porcupine)
                .unwrap_err()
                .contains("cas")
        );
        assert!(export(&with_cas, ExportFormat::Knossos).is_err());
    }

    /// What would mean something else in the other tool is left out or refused: a get
    /// whose answer is unknown (Porcupine would read it as a get of ""), a register that
    /// does not start at 0 or a read of an absent one (Knossos); a failed cas is written as
    /// failed.
    #[test]
    fn what_the_other_tool_would_misread_is_left_out_or_refused() {
        let ops = vec![
            kv_op(
                0,
                Operation::Put {
                    key: 0,
                    value: "a".into(),
                },
                0,
                Some((10, OpOutput::Done)),
            ),
            kv_op(1, Operation::Get { key: 0 }, 20, None),
        ];
        let history = ParsedHistory::Kv(super::super::KvHistory {
            ops,
            lines: vec![1, 2],
            key_names: Vec::new(),
        });
        let text = export(&history, ExportFormat::Porcupine).unwrap();
        assert!(!text.contains(":f :get"), "{text}");
        let register = |initial, ops| {
            ParsedHistory::Register(super::super::RegisterHistory {
                lines: vec![1; 2],
                initial,
                ops,
            })
        };
        let failed_cas = vec![Op::completed(
            0,
            RegisterInput::Cas { from: 1, to: 2 },
            0,
            10,
            RegisterOutput::Cas(false),
        )];
        let text = export(
            &register(Some(0), failed_cas.clone()),
            ExportFormat::Knossos,
        )
        .unwrap();
        assert!(text.contains(":type :fail, :f :cas"), "{text}");
        let back = crate::history_formats::knossos::parse(&text).unwrap();
        assert!(back.ops.is_empty(), "a failed op never happened: {text}");
        assert!(export(&register(None, failed_cas), ExportFormat::Knossos).is_err());
        let nil_read = vec![Op::completed(
            0,
            RegisterInput::Read,
            0,
            10,
            RegisterOutput::Read(None),
        )];
        assert!(export(&register(Some(0), nil_read), ExportFormat::Knossos).is_err());
    }

    /// A register history written for Knossos reads back with the same verdict.
    #[test]
    fn a_register_history_round_trips_through_knossos_format() {
        let ops = vec![
            Op::completed(0, RegisterInput::Write(3), 0, 10, RegisterOutput::Written),
            Op::completed(
                0,
                RegisterInput::Cas { from: 3, to: 4 },
                11,
                20,
                RegisterOutput::Cas(true),
            ),
            Op::completed(
                1,
                RegisterInput::Read,
                21,
                30,
                RegisterOutput::Read(Some(3)),
            ),
        ];
        let history = ParsedHistory::Register(super::super::RegisterHistory {
            ops: ops.clone(),
            lines: vec![1, 2, 3],
            initial: Some(0),
        });
        let text = export(&history, ExportFormat::Knossos).unwrap();
        let back = crate::history_formats::knossos::parse(&text).unwrap();
        assert_eq!(back.ops.len(), 3, "{text}");
        let model = RegisterModel::cas_register(Some(0));
        let before = check(&model, &ops, &CheckOptions::default()).verdict;
        let after = check(&model, &back.ops, &CheckOptions::default()).verdict;
        assert_eq!(before.name(), "not-linearizable");
        assert_eq!(after.name(), before.name(), "{text}");
    }
}
