//! Jepsen etcd logs as shipped with Porcupine's test data: one event a line,
//! `INFO  jepsen.util - <process>\t:<type>\t:<f>\t<value>`, in real-time order.
//!
//! A read that returned nil saw the key absent; a failed cas found another value; a
//! failed (timed-out) read and every `info` leave the outcome unknown. The register starts
//! absent.

use super::register_ops::{Event, Func, Kind, Semantics, Value, assemble};
use super::{ParseError, RegisterHistory};

/// Reads a log.
pub fn parse(text: &str) -> Result<RegisterHistory, ParseError> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        events.push(event(i + 1, line)?);
    }
    assemble(
        &events,
        Semantics {
            nil_read_is_absent: true,
            failed_cas_observed: true,
            initial: None,
        },
    )
}

/// The whitespace-separated tokens of `s` and the 1-based column each starts at.
fn tokens(s: &str, first_column: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (column, (byte, c)) in s.char_indices().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some((column, byte)),
            (true, Some((col, b))) => {
                out.push((first_column + col, &s[b..byte]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some((col, b)) = start {
        out.push((first_column + col, &s[b..]));
    }
    out
}

fn event(number: usize, line: &str) -> Result<Event, ParseError> {
    const MARK: &str = "jepsen.util - ";
    let (payload, first_column) = match line.find(MARK) {
        Some(i) => {
            let start = i + MARK.len();
            (&line[start..], line[..start].chars().count() + 1)
        }
        None => (line, 1),
    };
    let toks = tokens(payload, first_column);
    let end_column = line.chars().count() + 1;
    let at = |k: usize| toks.get(k).copied().unwrap_or((end_column, ""));
    let found = |t: &str| {
        if t.is_empty() {
            "end of line".to_string()
        } else {
            format!("{t:?}")
        }
    };

    let (col, t) = at(0);
    let process = t
        .parse::<u64>()
        .map_err(|_| ParseError::new(number, col, "a process number", found(t)))?;
    let (col, t) = at(1);
    let kind = t
        .strip_prefix(':')
        .and_then(Kind::from_name)
        .ok_or_else(|| ParseError::new(number, col, ":invoke, :ok, :fail or :info", found(t)))?;
    let (col, t) = at(2);
    let func = t
        .strip_prefix(':')
        .and_then(Func::from_name)
        .ok_or_else(|| ParseError::new(number, col, ":read, :write or :cas", found(t)))?;
    let (column, t) = at(3);
    if t.is_empty() {
        return Err(ParseError::new(number, column, "a value", "end of line"));
    }
    // The value is one token, or a bracketed pair spread over two; annotations after it
    // (`:hint 3` in some logs) are ignored.
    let rest: Vec<&str> = toks[3..].iter().map(|(_, t)| *t).collect();
    let len = if rest[0].starts_with('[') && !rest[0].ends_with(']') {
        rest.iter()
            .position(|t| t.ends_with(']'))
            .map_or(rest.len(), |i| i + 1)
    } else {
        1
    };
    let text = rest[..len].join(" ");
    let value = value(&text).ok_or_else(|| {
        ParseError::new(
            number,
            column,
            "nil, an integer, [from to] or a keyword",
            found(&text),
        )
    })?;
    Ok(Event {
        process,
        kind,
        func,
        value,
        line: number,
        column,
    })
}

fn value(s: &str) -> Option<Value> {
    if s == "nil" {
        return Some(Value::Nil);
    }
    if let Ok(v) = s.parse() {
        return Some(Value::Int(v));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let mut parts = inner.split([' ', ',']).filter(|p| !p.is_empty());
        let (a, b) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
        return parts.next().is_none().then_some(Value::Pair(a, b));
    }
    (s.starts_with(':') && s.len() > 1 && !s.contains(' ')).then_some(Value::Other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::check::models::{RegisterInput, RegisterOutput};

    #[test]
    fn reads_a_log() {
        let h = parse(
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
             INFO  jepsen.util - 1   :invoke :cas    [1 2]\n\
             INFO  jepsen.util - 0\t:ok\t:read\tnil\n\
             INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n\
             INFO  jepsen.util - 2\t:invoke\t:write\t3\n\
             INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
             INFO  jepsen.util - 3\t:fail\t:read\t:timed-out\n\
             INFO  jepsen.util - 2\t:info\t:write\t3\n",
        )
        .unwrap();
        // The timed-out read constrains nothing and is dropped.
        assert_eq!(h.ops.len(), 3);
        assert_eq!(h.ops[0].output(), Some(&RegisterOutput::Read(None)));
        assert_eq!(h.ops[1].input, RegisterInput::Cas { from: 1, to: 2 });
        assert_eq!(h.ops[1].output(), Some(&RegisterOutput::Cas(false)));
        assert_eq!(h.ops[2].input, RegisterInput::Write(3));
        assert_eq!(h.ops[2].ret, None);
        assert_eq!(h.lines, [1, 2, 5]);
        let hinted = parse(
            "INFO  jepsen.util - 6 \t:invoke :write \t38 \t:hint 0\n\
             INFO  jepsen.util - 6 \t:ok :write \t38 \t:hint 2\n",
        )
        .unwrap();
        assert_eq!(hinted.ops[0].input, RegisterInput::Write(38));
        assert_eq!(hinted.ops[0].output(), Some(&RegisterOutput::Written));
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = parse(
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:okay\t:read\t1\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (2, 23));
        assert!(e.expected.contains(":ok"), "{e}");
        let e = parse("INFO  jepsen.util - 0\t:invoke\t:write\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.expected.contains("value"), "{e}");
        let e = parse("INFO  jepsen.util - 0\t:invoke\t:cas\t[1 x]\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 36));
        let e = parse("INFO  jepsen.util - 0\t:ok\t:read\t1\n").unwrap_err();
        assert!(e.to_string().contains("no open invocation"), "{e}");
    }
}
