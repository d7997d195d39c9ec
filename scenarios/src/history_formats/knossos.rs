//! Knossos and Jepsen EDN histories of a (CAS) register: op maps
//! `{:process P, :type :invoke|:ok|:fail|:info, :f :read|:write|:cas, :value V}`, either
//! inside one vector or list, or one map after another (Jepsen's `history.edn`). Extra keys
//! are ignored, `:nemesis` events skipped.
//!
//! An `:ok` completion's value replaces the invocation's; a `:fail`ed op never happened; an
//! `:info` or missing completion leaves it unknown; a read that returned nil constrains
//! nothing. The register starts at 0, as in Knossos's own tests.

use super::edn::{Edn, Spanned, parse_all};
use super::register_ops::{Event, Func, Kind, Semantics, Value, assemble};
use super::{ParseError, RegisterHistory};

/// The op maps of an EDN history: the elements of a single top-level vector or list, or
/// else every top-level value.
pub(crate) fn op_maps(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut values = parse_all(text)?;
    if values.len() == 1 && matches!(values[0].value, Edn::Vector(_) | Edn::List(_)) {
        let Some(Spanned {
            value: Edn::Vector(items) | Edn::List(items),
            ..
        }) = values.pop()
        else {
            unreachable!("checked just above")
        };
        values = items;
    }
    for v in &values {
        if !matches!(v.value, Edn::Map(_)) {
            return Err(v.error("an op map {:process .., :type .., :f .., :value ..}"));
        }
    }
    Ok(values)
}

/// The keyword under `key`, or an error naming the choices.
pub(crate) fn keyword<'a>(
    map: &'a Spanned,
    key: &str,
    choices: &str,
) -> Result<&'a str, ParseError> {
    match map.get(key) {
        Some(Spanned {
            value: Edn::Keyword(k),
            ..
        }) => Ok(k),
        Some(other) => Err(other.error(choices)),
        None => Err(ParseError::new(
            map.line,
            map.column,
            format!("a {key} key ({choices})"),
            "a map without it",
        )),
    }
}

/// The process of an op map; `None` for the nemesis and other non-client processes.
pub(crate) fn process(map: &Spanned) -> Result<Option<u64>, ParseError> {
    match map.get("process") {
        Some(Spanned {
            value: Edn::Int(p), ..
        }) if *p >= 0 => Ok(Some(*p as u64)),
        Some(Spanned {
            value: Edn::Keyword(_),
            ..
        }) => Ok(None),
        Some(other) => Err(other.error("a process number or :nemesis")),
        None => Err(ParseError::new(
            map.line,
            map.column,
            "a :process key",
            "a map without it",
        )),
    }
}

fn register_value(v: Option<&Spanned>) -> Value {
    match v.map(|v| &v.value) {
        None | Some(Edn::Nil) => Value::Nil,
        Some(Edn::Int(i)) => Value::Int(*i),
        Some(Edn::Vector(pair) | Edn::List(pair)) => match pair.as_slice() {
            [
                Spanned {
                    value: Edn::Int(a), ..
                },
                Spanned {
                    value: Edn::Int(b), ..
                },
            ] => Value::Pair(*a, *b),
            _ => Value::Other,
        },
        Some(_) => Value::Other,
    }
}

/// Reads a history.
pub fn parse(text: &str) -> Result<RegisterHistory, ParseError> {
    let mut events = Vec::new();
    for map in op_maps(text)? {
        let Some(process) = process(&map)? else {
            continue;
        };
        let kind_name = keyword(&map, "type", ":invoke, :ok, :fail or :info")?;
        let kind = Kind::from_name(kind_name).ok_or_else(|| {
            map.get("type").map_or_else(
                || map.error("a :type"),
                |t| t.error(":invoke, :ok, :fail or :info"),
            )
        })?;
        let f_name = keyword(&map, "f", ":read, :write or :cas")?;
        let func = Func::from_name(f_name).ok_or_else(|| {
            map.get("f")
                .map_or_else(|| map.error("an :f"), |f| f.error(":read, :write or :cas"))
        })?;
        let value = map.get("value");
        events.push(Event {
            process,
            kind,
            func,
            value: register_value(value),
            line: map.line,
            column: value.map_or(map.column, |v| v.column),
        });
    }
    assemble(
        &events,
        Semantics {
            nil_read_is_absent: false,
            failed_cas_observed: false,
            initial: Some(0),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::check::models::{RegisterInput, RegisterOutput};

    #[test]
    fn reads_vector_and_line_forms() {
        let text = "; comment\n[{:process 0, :type :invoke, :f :cas, :value [0 1]}\n \
                    {:process :nemesis, :type :info, :f :kill, :value nil}\n \
                    {:type :ok, :process 0, :f :cas, :value [0 1], :time 5}\n \
                    {:process 1, :type :invoke, :f :read, :value nil}\n \
                    {:process 1, :type :ok, :f :read, :value nil}\n \
                    {:process 2, :type :invoke, :f :write, :value 4}\n \
                    {:process 2, :type :fail, :f :write, :value 4, :error [:x {:a 1}]}\n \
                    {:process 3, :type :invoke, :f :read, :value nil}\n \
                    {:process 3, :type :ok, :f :read, :value 1}]";
        let h = parse(text).unwrap();
        assert_eq!(h.initial, Some(0));
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[0].input, RegisterInput::Cas { from: 0, to: 1 });
        assert_eq!(h.ops[0].output(), Some(&RegisterOutput::Cas(true)));
        assert_eq!(h.ops[1].output(), Some(&RegisterOutput::Read(Some(1))));
        assert_eq!(h.lines, [2, 9]);
        let lines = "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :info, :f :write, :value 1}\n";
        let h = parse(lines).unwrap();
        assert_eq!(h.ops.len(), 1);
        assert_eq!(h.ops[0].ret, None);
    }

    #[test]
    fn errors_point_at_the_field() {
        let e = parse("[{:process 0, :type :invoke, :f :incr, :value 1}]").unwrap_err();
        assert_eq!((e.line, e.column), (1, 33));
        assert!(e.expected.contains(":cas"), "{e}");
        let e = parse("[{:process 0, :type :invoke, :f :write, :value \"x\"}]").unwrap_err();
        assert_eq!((e.line, e.column), (1, 48));
        let e = parse("[1]").unwrap_err();
        assert!(e.expected.contains("op map"), "{e}");
        let e = parse("[{:process 0 :type :invoke}").unwrap_err();
        assert!(e.to_string().contains("end of input"), "{e}");
    }
}
