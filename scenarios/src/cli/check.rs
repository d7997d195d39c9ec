//! `faultline check FILE`: the linearizability of a history recorded by faultline or by
//! another tool. Exit status 0 linearizable, 1 not, 3 unknown, 2 bad input.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::{Value as Json, json};
use sim_core::SimDuration;
use sim_core::check::models::{KvModel, RegisterModel};
use sim_core::check::{CheckOptions, CheckReport, GiveUp, OpRef, Verdict, check};

use super::exit;
use crate::history_formats::{Format, KvHistory, ParseError, ParsedHistory, detect, parse};

/// Which sequential specification to check against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// A read/write register.
    Register,
    /// A register with compare-and-set.
    CasRegister,
    /// A key-value map (get, put, cas, append), checked key by key.
    Kv,
}

/// Arguments of `faultline check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The history file.
    pub file: PathBuf,
    /// The model; by default the one the format's operations belong to (cas-register or kv).
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// The file format; detected from the content when absent.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Give up with "unknown" after this long (e.g. 500ms, 10s, 2m).
    #[arg(long, default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Give up with "unknown" after this many search steps in one partition.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Give up with "unknown" before the search holds more than this much memory, all
    /// partitions together (e.g. 512MiB, 2GiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_bytes)]
    pub max_memory: usize,
    /// The register's initial value, an integer or nil; by default the format's (nil for
    /// jepsen-etcd, 0 for knossos).
    #[arg(long, value_parser = parse_initial)]
    pub initial: Option<Initial>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the history in another checker's format to OUT, to cross-check the
    /// verdict there: porcupine (a key-value history: get, put, append) or knossos (a
    /// register history; Knossos assumes the register starts at 0).
    #[arg(long, num_args = 2, value_names = ["FORMAT", "OUT"])]
    pub export: Vec<String>,
}

/// A register's initial value given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Initial(pub Option<i64>);

fn parse_initial(s: &str) -> Result<Initial, String> {
    if s == "nil" {
        return Ok(Initial(None));
    }
    s.parse()
        .map(|v| Initial(Some(v)))
        .map_err(|_| format!("expected an integer or nil, found {s:?}"))
}

fn parse_bytes(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        other => {
            return Err(format!(
                "expected a size such as 512MiB or 2GiB (units B, KiB, MiB, GiB), found unit {other:?}"
            ));
        }
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("expected a size such as 512MiB or 2GiB, found {s:?}"))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{s} is too large"))?;
    // Below this the search's first tables alone would not fit.
    if bytes < 4 << 20 {
        return Err(format!("{s} is too small: at least 4MiB"));
    }
    Ok(bytes)
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    s.parse::<SimDuration>()
        .map(|d| Duration::from_nanos(d.as_nanos()))
        .map_err(|e| e.to_string())
}

/// The history inside a file of faultline's own that is not a history: the results of
/// `run --save-results` (one JSON object with the run's history) are read for it; a fuzz
/// results line says where a history comes from. `None` for anything else.
fn saved_run_history(text: &str) -> Option<Result<KvHistory, ParseError>> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let value: serde_json::Value = serde_json::from_str(first).ok()?;
    let object = value.as_object()?;
    if object.contains_key("history") && object.contains_key("scenario") {
        let data: reports::RunData = match serde_json::from_value(value) {
            Ok(d) => d,
            Err(e) => {
                return Some(Err(ParseError::new(
                    1,
                    1,
                    "the results of `faultline run --save-results`",
                    e.to_string(),
                )));
            }
        };
        let mut lines = Vec::new();
        let written = crate::history_formats::faultline::write(&data.history, &mut lines);
        let text = String::from_utf8(lines).unwrap_or_default();
        return Some(
            written
                .map_err(|e| ParseError::new(1, 1, "a run's history", e.to_string()))
                .and_then(|()| crate::history_formats::faultline::parse(&text)),
        );
    }
    if object.contains_key("fingerprint") && object.contains_key("verdict") {
        return Some(Err(ParseError::new(
            1,
            1,
            "a history; this is a line of fuzz results (results.jsonl), which holds none: rerun the seed with `faultline run FILE --seed N --history out.jsonl` and check that",
            format!("seed {}", object.get("seed").cloned().unwrap_or_default()),
        )));
    }
    None
}

/// Reads a history, detecting its format unless given. Empty text is an error: there is
/// nothing to judge.
pub fn load(
    text: &str,
    format: Option<Format>,
    model: Option<ModelKind>,
) -> Result<(Format, ParsedHistory), ParseError> {
    if format.is_none()
        && let Some(saved) = saved_run_history(text)
    {
        return saved.map(|h| (Format::Faultline, ParsedHistory::Kv(h)));
    }
    let format = match format.or_else(|| detect(text)) {
        Some(f) => f,
        // Nothing to judge is no verdict: an empty file is not a history.
        None if text.trim().is_empty() => {
            let _ = model;
            return Err(ParseError::new(
                1,
                1,
                "a history: at least one operation",
                "an empty file",
            ));
        }
        None => {
            let (line, first) = text
                .lines()
                .enumerate()
                .find(|(_, l)| !l.trim().is_empty())
                .unwrap_or((0, ""));
            let found: String = first.trim().chars().take(40).collect();
            return Err(ParseError::new(
                line + 1,
                1,
                "a history in a known format (faultline JSON lines, jepsen-etcd log, knossos EDN, porcupine-kv EDN); use --format to say which",
                format!("{found:?}"),
            ));
        }
    };
    Ok((format, parse(text, format)?))
}

/// Checks a parsed history against `model` (default: the history's own family). An error
/// says why the model does not fit the history.
pub fn check_parsed(
    history: &ParsedHistory,
    model: Option<ModelKind>,
    initial: Option<Initial>,
    options: &CheckOptions,
) -> Result<CheckReport, String> {
    match (history, model) {
        (ParsedHistory::Register(h), Some(ModelKind::Register | ModelKind::CasRegister) | None) => {
            let initial = initial.map_or(h.initial, |i| i.0);
            let model = if model == Some(ModelKind::Register) {
                RegisterModel::register(initial)
            } else {
                RegisterModel::cas_register(initial)
            };
            if let Some(i) = h.ops.iter().position(|op| !model.supports(&op.input)) {
                return Err(format!(
                    "line {}: a cas operation, which the register model lacks; use --model cas-register",
                    h.lines[i]
                ));
            }
            Ok(check(&model, &h.ops, options))
        }
        (ParsedHistory::Kv(h), Some(ModelKind::Kv) | None) => {
            if initial.is_some() {
                return Err("--initial applies to register models; every key starts as the empty string".into());
            }
            Ok(check(&KvModel, &h.ops, options))
        }
        (ParsedHistory::Register(_), Some(ModelKind::Kv)) => {
            Err("this is a register history (read, write, cas on one value); use --model cas-register or register".into())
        }
        (ParsedHistory::Kv(_), Some(_)) => {
            Err("this is a key-value history (get, put, append, cas on keys); use --model kv".into())
        }
    }
}

/// Says why the input is bad, on stderr, and with `--json` also as one JSON object on
/// stdout (`"verdict": "bad-input"`), so a script reading stdout sees every outcome.
fn bad_input(args: &CheckArgs, message: &str, at: Option<&ParseError>) -> u8 {
    let file = args.file.display().to_string();
    eprintln!("error: {file}: {message}");
    if args.json {
        let mut v = serde_json::json!({
            "file": file,
            "verdict": "bad-input",
            "error": message,
        });
        if let Some(e) = at {
            v["line"] = e.line.into();
            v["column"] = e.column.into();
            v["expected"] = e.expected.clone().into();
            v["found"] = e.found.clone().into();
        }
        println!("{v}");
    }
    exit::BAD_INPUT
}

/// Runs `faultline check`; returns the exit code.
pub fn run(args: &CheckArgs) -> u8 {
    let file = args.file.display();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return bad_input(args, &format!("cannot read the file: {e}"), None),
    };
    let (format, history) = match load(&text, args.format, args.model) {
        Ok(parsed) => parsed,
        Err(e) => return bad_input(args, &e.to_string(), Some(&e)),
    };
    if let [to, out] = &args.export[..] {
        let format =
            match <crate::history_formats::export::ExportFormat as clap::ValueEnum>::from_str(
                to, true,
            ) {
                Ok(f) => f,
                Err(_) => {
                    return bad_input(
                        args,
                        &format!("--export {to}: expected porcupine or knossos"),
                        None,
                    );
                }
            };
        let written = crate::history_formats::export::export(&history, format).and_then(|text| {
            std::fs::write(out, text).map_err(|e| format!("cannot write {out}: {e}"))
        });
        match written {
            Ok(()) => eprintln!("exported     {out} ({to})"),
            Err(e) => return bad_input(args, &format!("--export: {e}"), None),
        }
    }
    let options = CheckOptions {
        give_up: Some(wall_clock_limit(args.timeout)),
        max_steps: args.max_steps,
        max_memo_bytes: args.max_memory,
        ..CheckOptions::default()
    };
    let stopwatch = Stopwatch::start();
    let report = match check_parsed(&history, args.model, args.initial, &options) {
        Ok(r) => r,
        Err(e) => return bad_input(args, &e.to_string(), None),
    };
    let elapsed_ms = stopwatch.elapsed_ms();
    let (lines, key_names): (&[usize], &[String]) = match &history {
        ParsedHistory::Register(h) => (&h.lines, &[]),
        ParsedHistory::Kv(h) => (&h.lines, &h.key_names),
    };
    if args.json {
        println!(
            "{}",
            to_json(
                &file.to_string(),
                format,
                &report,
                lines,
                key_names,
                elapsed_ms
            )
        );
    } else {
        print!(
            "{}",
            to_text(
                &file.to_string(),
                format,
                &report,
                lines,
                key_names,
                elapsed_ms
            )
        );
    }
    match report.verdict {
        Verdict::Linearizable => exit::OK,
        Verdict::NotLinearizable { .. } => exit::VIOLATION,
        Verdict::Unknown { .. } => exit::UNKNOWN,
    }
}

/// Wall-clock time of a check, for the user. `check` runs outside any simulation, so the
/// clock cannot affect a run's determinism.
#[allow(clippy::disallowed_types)]
struct Stopwatch(std::time::Instant);

#[allow(clippy::disallowed_types)]
impl Stopwatch {
    fn start() -> Self {
        Stopwatch(std::time::Instant::now())
    }

    fn elapsed_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
}

/// A wall-clock limit for a check, which runs outside any simulation: the clock cannot
/// touch a run's determinism here.
#[allow(clippy::disallowed_types)]
pub fn wall_clock_limit(timeout: Duration) -> GiveUp {
    let deadline = std::time::Instant::now().checked_add(timeout);
    GiveUp {
        reached: std::sync::Arc::new(move || {
            deadline.is_some_and(|d| std::time::Instant::now() >= d)
        }),
        what: format!("time budget of {timeout:?}"),
    }
}

fn partition_name(partition: u64, key_names: &[String], model: &str) -> String {
    match key_names.get(partition as usize) {
        Some(name) => format!("key {name:?}"),
        None if model == "kv" => format!("key {partition}"),
        None => "the register".to_string(),
    }
}

fn op_line(op: &OpRef, lines: &[usize], partition: u64, key_names: &[String]) -> String {
    let line = lines
        .get(op.index)
        .map_or_else(|| "?".into(), |l| l.to_string());
    format!(
        "    line {line:<6} process {:<4} {}\n",
        op.client,
        with_key_name(&op.description, partition, key_names)
    )
}

/// `text` with each "partition N" written as the history names it ("key \"7\"").
fn name_partitions(text: &str, key_names: &[String], model: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("partition ") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let digits: String = from["partition ".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        match digits.parse::<u64>() {
            Ok(p) => {
                out.push_str(&partition_name(p, key_names, model));
                rest = &from["partition ".len() + digits.len()..];
            }
            Err(_) => {
                out.push_str("partition ");
                rest = &from["partition ".len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// An operation's description (`get 3 => "x"`) with its key as the history names it
/// (`get "7" => "x"`), where the history names keys by strings that the checker numbered.
fn with_key_name(description: &str, partition: u64, key_names: &[String]) -> String {
    let Some(name) = key_names.get(partition as usize) else {
        return description.to_string();
    };
    let number = partition.to_string();
    match description.split_once(' ') {
        Some((verb, rest))
            if rest
                .strip_prefix(&number)
                .is_some_and(|r| r.is_empty() || r.starts_with(' ')) =>
        {
            format!("{verb} {name:?}{}", &rest[number.len()..])
        }
        _ => description.to_string(),
    }
}

/// How many operations of the linearizable prefix the text form shows.
const SHOWN_PREFIX: usize = 20;

/// The text form of a report.
pub fn to_text(
    file: &str,
    format: Format,
    report: &CheckReport,
    lines: &[usize],
    key_names: &[String],
    elapsed_ms: f64,
) -> String {
    let mut s = format!(
        "{file}: {} ({format} history, {} model, {} ops, {} partition{}, {} steps, {elapsed_ms:.3} ms)\n",
        report.verdict.name(),
        report.model,
        report.ops,
        report.partitions,
        if report.partitions == 1 { "" } else { "s" },
        report.steps,
    );
    match &report.verdict {
        Verdict::Linearizable => {}
        Verdict::Unknown { reason } => {
            let _ = writeln!(
                s,
                "  no verdict: {}",
                name_partitions(reason, key_names, &report.model)
            );
        }
        Verdict::NotLinearizable { counterexample: c } => {
            let _ = writeln!(
                s,
                "  {} cannot be linearized.\n  longest linearizable prefix ({} op{}):",
                partition_name(c.partition, key_names, &report.model),
                c.linearized.len(),
                if c.linearized.len() == 1 { "" } else { "s" }
            );
            // The end of the prefix is where it goes wrong; the rest is in --json.
            let skipped = c.linearized.len().saturating_sub(SHOWN_PREFIX);
            if skipped > 0 {
                let _ = writeln!(s, "    ... {skipped} earlier ops (all of them with --json)");
            }
            for op in &c.linearized[skipped..] {
                s.push_str(&op_line(op, lines, c.partition, key_names));
            }
            let _ = writeln!(s, "  state after it: {}", c.state);
            let _ = writeln!(
                s,
                "  then none of these can be placed (the first returns before it can take effect):"
            );
            for op in &c.unplaceable {
                s.push_str(&op_line(op, lines, c.partition, key_names));
            }
        }
    }
    s
}

/// The JSON form of a report.
pub fn to_json(
    file: &str,
    format: Format,
    report: &CheckReport,
    lines: &[usize],
    key_names: &[String],
    elapsed_ms: f64,
) -> Json {
    let mut v = serde_json::to_value(report).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut v {
        map.insert("file".into(), json!(file));
        map.insert("format".into(), json!(format.name()));
        map.insert("elapsed_ms".into(), json!(elapsed_ms));
        if let Verdict::NotLinearizable { counterexample } = &report.verdict {
            map.insert(
                "key".into(),
                json!(partition_name(
                    counterexample.partition,
                    key_names,
                    &report.model
                )),
            );
            if let Some(Json::Object(c)) = map.get_mut("counterexample") {
                for field in ["linearized", "unplaceable"] {
                    if let Some(Json::Array(ops)) = c.get_mut(field) {
                        for op in ops {
                            let line = op
                                .get("index")
                                .and_then(Json::as_u64)
                                .and_then(|i| lines.get(i as usize));
                            if let Json::Object(o) = op {
                                if let Some(line) = line {
                                    o.insert("line".into(), json!(line));
                                }
                                if let Some(Json::String(d)) = o.get("description") {
                                    let named =
                                        with_key_name(d, counterexample.partition, key_names);
                                    o.insert("description".into(), json!(named));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn run_on(name: &str, text: &str, extra: &[&str]) -> u8 {
        let path =
            std::env::temp_dir().join(format!("faultline-check-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let mut args = vec!["faultline", "check", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let code = crate::cli::run(Cli::try_parse_from(args).unwrap());
        let _ = std::fs::remove_file(&path);
        code
    }

    const STALE: &str = "{:process 0, :type :invoke, :f :write, :value 1}\n\
                         {:process 0, :type :ok, :f :write, :value 1}\n\
                         {:process 1, :type :invoke, :f :read, :value nil}\n\
                         {:process 1, :type :ok, :f :read, :value 0}\n";

    #[test]
    fn memory_sizes_parse_with_their_units() {
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("4194304"), Ok(4 << 20));
        assert!(parse_bytes("4096").unwrap_err().contains("too small"));
        let err = parse_bytes("2GB").unwrap_err();
        assert!(err.contains("unit \"GB\""), "{err}");
        assert!(parse_bytes("MiB").is_err());
        assert!(Cli::try_parse_from(["faultline", "check", "h", "--max-memory", "lots"]).is_err());
    }

    #[test]
    fn exit_codes_follow_the_verdict() {
        assert_eq!(run_on("stale", STALE, &[]), exit::VIOLATION);
        assert_eq!(
            run_on("stale-json", STALE, &["--json", "--model", "cas-register"]),
            exit::VIOLATION
        );
        let fresh = STALE.replace(":value 0}", ":value 1}");
        assert_eq!(run_on("fresh", &fresh, &["--model", "register"]), exit::OK);
        assert_eq!(
            run_on("kv-model", &fresh, &["--model", "kv"]),
            exit::BAD_INPUT
        );
        assert_eq!(
            run_on("garbage", "{:process 0, :type :invoke", &[]),
            exit::BAD_INPUT
        );
        let kv = "{:process 0, :type :invoke, :f :put, :key \"a\", :value \"x\"}\n\
                  {:process 0, :type :ok, :f :put, :key \"a\", :value \"x\"}\n\
                  {:process 1, :type :invoke, :f :get, :key \"a\", :value nil}\n\
                  {:process 1, :type :ok, :f :get, :key \"a\", :value \"\"}\n";
        assert_eq!(run_on("kv", kv, &["--model", "kv"]), exit::VIOLATION);
        assert_eq!(
            run_on("kv-register", kv, &["--model", "register"]),
            exit::BAD_INPUT
        );
    }

    /// What cannot be a history is bad input (exit 2), never a verdict: an empty file,
    /// a completion before its invocation, an answer without a completion time, an
    /// answer of the wrong kind, and a second invocation of a process with one open.
    #[test]
    fn what_cannot_be_a_history_is_bad_input() {
        let line = |invoked: u64, completed: &str, op: &str, outcome: &str| {
            format!(
                "{{\"id\":0,\"client\":1,\"op\":{op},\"invoked\":{invoked},\"completed\":{completed},\"outcome\":{outcome}}}\n"
            )
        };
        let put = r#"{"Put":{"key":1,"value":"a"}}"#;
        let get = r#"{"Get":{"key":1}}"#;
        let done = r#"{"Ok":"Done"}"#;
        let good = line(100, "150", put, done);
        assert_eq!(
            run_on("good", &good, &[]),
            exit::OK,
            "the well-formed one passes"
        );
        for (name, text) in [
            ("empty", String::new()),
            ("blank", "\n\n".to_string()),
            ("backwards", line(100, "50", put, done)),
            ("no-completion", line(100, "null", put, done)),
            ("wrong-kind", line(100, "150", get, done)),
            (
                "second-invocation",
                "{:process 0, :type :invoke, :f :read, :value nil}\n\
                 {:process 0, :type :invoke, :f :read, :value nil}\n"
                    .to_string(),
            ),
            (
                "second-invocation-kv",
                "{:process 0, :type :invoke, :f :get, :key \"a\", :value nil}\n\
                 {:process 0, :type :invoke, :f :get, :key \"a\", :value nil}\n"
                    .to_string(),
            ),
        ] {
            assert_eq!(run_on(name, &text, &[]), exit::BAD_INPUT, "{name}");
            assert_eq!(run_on(name, &text, &["--json"]), exit::BAD_INPUT, "{name}");
        }
    }

    /// `--export` writes the history in the other tool's format, which reads back to the
    /// same verdict; a history the format cannot hold is bad input.
    #[test]
    fn export_writes_what_reads_back_the_same() {
        let out = std::env::temp_dir().join(format!("faultline-export-{}.edn", std::process::id()));
        let o = out.to_str().unwrap();
        assert_eq!(
            run_on("export-stale", STALE, &["--export", "knossos", o]),
            exit::VIOLATION
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(run_on("export-back", &text, &[]), exit::VIOLATION, "{text}");
        assert_eq!(
            run_on("export-wrong", STALE, &["--export", "porcupine", o]),
            exit::BAD_INPUT
        );
        assert_eq!(
            run_on("export-unknown", STALE, &["--export", "elle", o]),
            exit::BAD_INPUT
        );
        let _ = std::fs::remove_file(&out);
    }

    /// Counterexamples and undecided messages name keys as the history does.
    #[test]
    fn keys_are_named_as_the_history_names_them() {
        let kv = "{:process 0, :type :invoke, :f :put, :key \"7\", :value \"x\"}\n\
                  {:process 0, :type :ok, :f :put, :key \"7\", :value \"x\"}\n\
                  {:process 1, :type :invoke, :f :get, :key \"9\", :value nil}\n\
                  {:process 1, :type :ok, :f :get, :key \"9\", :value \"\"}\n\
                  {:process 1, :type :invoke, :f :get, :key \"7\", :value nil}\n\
                  {:process 1, :type :ok, :f :get, :key \"7\", :value \"\"}\n";
        let (format, history) = load(kv, None, None).unwrap();
        let report = check_parsed(&history, None, None, &CheckOptions::default()).unwrap();
        let ParsedHistory::Kv(h) = &history else {
            panic!("a kv history")
        };
        let text = to_text("h.edn", format, &report, &h.lines, &h.key_names, 0.0);
        assert!(text.contains("key \"7\" cannot be linearized"), "{text}");
        assert!(text.contains("get \"7\" => \"\""), "{text}");
        assert!(!text.contains("get 0"), "{text}");
        assert_eq!(
            name_partitions(
                "step budget exhausted in partition 1 (3 operations)",
                &h.key_names,
                "kv"
            ),
            "step budget exhausted in key \"9\" (3 operations)"
        );
    }

    #[test]
    fn a_hard_history_with_a_tiny_budget_is_unknown() {
        let mut text = String::new();
        for p in 0..30 {
            text.push_str(&format!(
                "{{:process {p}, :type :invoke, :f :write, :value {}}}\n",
                p % 5
            ));
        }
        for p in 0..30 {
            text.push_str(&format!(
                "{{:process {p}, :type :ok, :f :write, :value {}}}\n",
                p % 5
            ));
        }
        // Reads of 3, 4 and 3 again after all the writes: no order of them explains it,
        // and finding that out means trying them.
        for (p, v) in [(97, 3), (98, 4), (99, 3)] {
            text.push_str(&format!(
                "{{:process {p}, :type :invoke, :f :read, :value nil}}\n{{:process {p}, :type :ok, :f :read, :value {v}}}\n"
            ));
        }
        assert_eq!(
            run_on("budget", &text, &["--max-steps", "50"]),
            exit::UNKNOWN
        );
    }

    #[test]
    fn reports_name_lines_and_keys() {
        let (format, history) = load(STALE, None, None).unwrap();
        let report = check_parsed(&history, None, None, &CheckOptions::default()).unwrap();
        let ParsedHistory::Register(h) = &history else {
            panic!("a register history")
        };
        let text = to_text("f", format, &report, &h.lines, &[], 0.0);
        assert!(text.contains("not-linearizable"), "{text}");
        assert!(
            text.contains("line 3      process 1    read => 0"),
            "{text}"
        );
        let json = to_json("f", format, &report, &h.lines, &[], 0.0);
        assert_eq!(json["verdict"], "not-linearizable");
        assert_eq!(json["counterexample"]["unplaceable"][0]["line"], 3);
        assert_eq!(json["counterexample"]["linearized"][0]["line"], 1);
    }
}
