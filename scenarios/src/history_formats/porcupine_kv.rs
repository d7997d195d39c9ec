//! Porcupine's key-value histories from MIT 6.824: one EDN map a line,
//! `{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}`. Functions are
//! `:get`, `:put` and `:append` on string keys and values; the `:ok` of a get carries the
//! value read. Every key starts as the empty string. `:fail` (did not happen) and `:info`
//! (unknown) are accepted too.

use rustc_hash::FxHashMap;
use sim_core::check::{Op, Return};
use sim_core::history::{OpOutput, Operation};

use super::edn::{Edn, Spanned};
use super::knossos::{keyword, op_maps, process};
use super::{KvHistory, ParseError};

fn string<'a>(map: &'a Spanned, key: &str) -> Result<Option<&'a str>, ParseError> {
    match map.get(key) {
        Some(Spanned {
            value: Edn::Str(s), ..
        }) => Ok(Some(s)),
        Some(Spanned {
            value: Edn::Nil, ..
        })
        | None => Ok(None),
        Some(other) => Err(other.error(format!("a string for :{key}"))),
    }
}

/// Reads a history.
pub fn parse(text: &str) -> Result<KvHistory, ParseError> {
    let mut keys: FxHashMap<String, u64> = FxHashMap::default();
    let mut key_names: Vec<String> = Vec::new();
    let mut ops: Vec<Option<Op<Operation, OpOutput>>> = Vec::new();
    let mut lines = Vec::new();
    let mut open: FxHashMap<u64, usize> = FxHashMap::default();
    for (time, map) in op_maps(text)?.iter().enumerate() {
        let time = time as u64;
        let Some(process) = process(map)? else {
            continue;
        };
        let kind = keyword(map, "type", ":invoke, :ok, :fail or :info")?;
        let f = keyword(map, "f", ":get, :put or :append")?;
        let value = string(map, "value")?;
        let missing = |what: &str| {
            let at = map.get("value").unwrap_or(map);
            ParseError::new(at.line, at.column, what.to_string(), "nil or nothing")
        };
        match kind {
            "invoke" => {
                let key_name = string(map, "key")?.ok_or_else(|| {
                    ParseError::new(map.line, map.column, "a string :key", "none")
                })?;
                let next = key_names.len() as u64;
                let key = *keys.entry(key_name.to_string()).or_insert_with(|| {
                    key_names.push(key_name.to_string());
                    next
                });
                let input = match f {
                    "get" => Operation::Get { key },
                    "put" => Operation::Put {
                        key,
                        value: value
                            .ok_or_else(|| missing("a string value to put"))?
                            .into(),
                    },
                    "append" => Operation::Append {
                        key,
                        value: value
                            .ok_or_else(|| missing("a string value to append"))?
                            .into(),
                    },
                    _ => return Err(map.get("f").unwrap_or(map).error(":get, :put or :append")),
                };
                if let Some(&index) = open.get(&process) {
                    return Err(ParseError::new(
                        map.line,
                        map.column,
                        format!(
                            "a completion of process {process}'s open invocation (line {}) before its next one",
                            lines[index]
                        ),
                        "a second invocation",
                    ));
                }
                open.insert(process, ops.len());
                ops.push(Some(Op::indeterminate(process, input, time)));
                lines.push(map.line);
            }
            "ok" | "fail" | "info" => {
                let Some(index) = open.remove(&process) else {
                    if kind == "info" {
                        continue;
                    }
                    return Err(ParseError::new(
                        map.line,
                        map.column,
                        format!("an invocation by process {process} before its completion"),
                        "a completion with no open invocation",
                    ));
                };
                let slot = &mut ops[index];
                let Some(op) = slot.as_mut() else { continue };
                if op.input.kind() != f {
                    return Err(map.get("f").unwrap_or(map).error(format!(
                        ":{} (the open invocation of process {process})",
                        op.input.kind()
                    )));
                }
                match kind {
                    "ok" => {
                        let output = match op.input {
                            Operation::Get { .. } => OpOutput::Value(
                                value
                                    .ok_or_else(|| missing("the string value read"))?
                                    .into(),
                            ),
                            _ => OpOutput::Done,
                        };
                        op.ret = Some(Return { at: time, output });
                    }
                    "fail" => *slot = None,
                    _ => {}
                }
            }
            _ => {
                return Err(map
                    .get("type")
                    .unwrap_or(map)
                    .error(":invoke, :ok, :fail or :info"));
            }
        }
    }
    let (ops, lines) = ops
        .into_iter()
        .zip(lines)
        .filter_map(|(op, line)| op.map(|op| (op, line)))
        .unzip();
    Ok(KvHistory {
        ops,
        lines,
        key_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_interns_keys() {
        let h = parse(
            "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
             {:process 1, :type :invoke, :f :get, :key \"7\", :value nil}\n\
             {:process 0, :type :ok, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
             {:process 1, :type :ok, :f :get, :key \"7\", :value \"\"}\n",
        )
        .unwrap();
        assert_eq!(h.key_names, ["4", "7"]);
        assert_eq!(
            h.ops[0].input,
            Operation::Append {
                key: 0,
                value: "x 0 1 y".into()
            }
        );
        assert_eq!(h.ops[1].output(), Some(&OpOutput::Value(String::new())));
        assert_eq!(h.lines, [1, 2]);
    }

    #[test]
    fn errors_point_at_the_field() {
        let e = parse("{:process 0, :type :invoke, :f :put, :key \"1\", :value 3}\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 55));
        let e = parse("{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"1\"}\n")
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.expected.contains("value read"), "{e}");
    }
}
