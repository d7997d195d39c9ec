//! faultline's own history format: JSON lines, one [`HistoryOp`] each, as `run` and `fuzz`
//! write them. Described in `scenarios/HISTORY_FORMAT.md`.

use std::io::{self, Write};

use sim_core::check::kv_ops;
use sim_core::history::{History, HistoryOp};

use super::{KvHistory, ParseError};

/// Whether one operation can be part of a history: completed no sooner than invoked, an
/// answer only with a completion time, and an answer of the kind its operation gives.
/// `Err((expected, found))` otherwise.
fn well_formed(op: &HistoryOp) -> Result<(), (String, String)> {
    use sim_core::history::{OpOutput, Operation, Outcome};
    if let Some(c) = op.completed
        && c < op.invoked
    {
        return Err((
            format!("a completion at or after the invocation ({})", op.invoked.0),
            format!("completed {}", c.0),
        ));
    }
    let Outcome::Ok(output) = &op.outcome else {
        return Ok(());
    };
    if op.completed.is_none() {
        return Err((
            "a completion time for an answered operation".into(),
            "an \"Ok\" outcome with \"completed\": null".into(),
        ));
    }
    let fits = matches!(
        (&op.op, output),
        (Operation::Get { .. }, OpOutput::Value(_))
            | (
                Operation::Put { .. } | Operation::Append { .. } | Operation::Delete { .. },
                OpOutput::Done
            )
            | (Operation::Cas { .. }, OpOutput::Cas(_))
            | (Operation::Broadcast { .. }, OpOutput::Done)
            | (Operation::Txn { .. }, OpOutput::Txn { .. })
            | (Operation::Propose { .. }, OpOutput::Decided(_))
    );
    if fits {
        Ok(())
    } else {
        let found: String = format!("{output:?}").chars().take(40).collect();
        Err((
            format!("an answer of the kind a {} gives", op.op.kind()),
            found,
        ))
    }
}

/// Reads a history. Blank lines are skipped; operation ids are renumbered in file order.
/// An operation that cannot be part of a history (see `well_formed`) is an error at its
/// line, not something to judge.
pub fn parse(text: &str) -> Result<KvHistory, ParseError> {
    let mut ops = Vec::new();
    let mut op_lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let op: HistoryOp = serde_json::from_str(line).map_err(|e| {
            let message = e.to_string();
            let detail = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            let expected = match e.classify() {
                serde_json::error::Category::Data => {
                    "an operation as described in HISTORY_FORMAT.md"
                }
                _ => "one JSON object per line",
            };
            ParseError::new(i + 1, e.column().max(1), expected, detail)
        })?;
        if let Err((expected, found)) = well_formed(&op) {
            return Err(ParseError::new(i + 1, 1, expected, found));
        }
        ops.push(op);
        op_lines.push(i + 1);
    }
    let (ops, kept) = kv_ops(&History::from_ops(ops));
    let lines = kept.iter().map(|&id| op_lines[id as usize]).collect();
    Ok(KvHistory {
        ops,
        lines,
        key_names: Vec::new(),
    })
}

/// Writes a history in this format.
pub fn write(history: &History, out: &mut impl Write) -> io::Result<()> {
    for op in history.ops() {
        serde_json::to_writer(&mut *out, op)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimTime;
    use sim_core::history::{OpOutput, Operation, Outcome};

    #[test]
    fn round_trips_a_run_history() {
        let mut h = History::new();
        let a = h.invoke(
            1,
            Operation::Put {
                key: 2,
                value: "x".into(),
            },
            SimTime(10),
        );
        let b = h.invoke(2, Operation::Get { key: 2 }, SimTime(11));
        h.complete(a, Outcome::Ok(OpOutput::Done), SimTime(20));
        h.complete(b, Outcome::Failed, SimTime(21));
        let c = h.invoke(
            2,
            Operation::Cas {
                key: 2,
                expected: "x".into(),
                new: "y".into(),
            },
            SimTime(30),
        );
        h.complete(c, Outcome::Indeterminate, SimTime(40));
        let mut text = Vec::new();
        write(&h, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.lines().count(), 3);
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.ops.len(), 2, "the failed get is dropped");
        assert_eq!(parsed.lines, [1, 3]);
        assert_eq!(parsed.ops[0].ret.as_ref().unwrap().at, 20);
        assert_eq!(parsed.ops[1].ret, None);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("\n{\"id\": 0, \"client\": 1}\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.found.contains("missing field"), "{e}");
        let e = parse("{\"id\": 0,, }").unwrap_err();
        assert_eq!((e.line, e.column), (1, 10));
    }
}
