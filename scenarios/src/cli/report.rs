//! `faultline report RESULTS --out DIR`: figures and a page from saved results.

use std::path::PathBuf;

use clap::Args;

use super::exit;

/// Arguments of `faultline report`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  faultline run FILE --save-results run.json && faultline report run.json --out report/
  faultline fuzz FILE --seeds 1000 --out fuzz-out && faultline report fuzz-out/results.jsonl

RESULTS is either one run's results (`faultline run --save-results`, a JSON object) or a
fuzz campaign's results file (JSON lines, one seed a line).

Exit status: 0 written, 2 unreadable input or the folder could not be written.")]
pub struct ReportArgs {
    /// The results file.
    pub results: PathBuf,
    /// The folder to write the figures and index.html into.
    #[arg(long, value_name = "DIR", default_value = "report")]
    pub out: PathBuf,
}

/// Runs `faultline report`.
pub fn run(args: &ReportArgs) -> u8 {
    let text = match std::fs::read_to_string(&args.results) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", args.results.display());
            return exit::BAD_INPUT;
        }
    };
    let written = match what(&text) {
        Given::Run => match serde_json::from_str::<reports::RunData>(&text) {
            Ok(data) => reports::write_run_report(&data, &args.out),
            Err(e) => {
                eprintln!(
                    "error: {}: a run's saved results, but {e}",
                    args.results.display()
                );
                return exit::BAD_INPUT;
            }
        },
        Given::Fuzz => match fuzz_lines(&text) {
            Ok(lines) => reports::write_fuzz_report(&lines, &args.out),
            Err(e) => {
                eprintln!("error: {}: fuzz results, but {e}", args.results.display());
                return exit::BAD_INPUT;
            }
        },
        Given::History => {
            eprintln!(
                "error: {} is a client history, which has no report; check it with `faultline check {}`, or report the run it came from (`faultline run FILE --report DIR`)",
                args.results.display(),
                args.results.display()
            );
            return exit::BAD_INPUT;
        }
        Given::Other => {
            eprintln!(
                "error: {} is neither a run's saved results (`faultline run --save-results`) nor a fuzz results file (`results.jsonl`)",
                args.results.display()
            );
            return exit::BAD_INPUT;
        }
    };
    super::report_written(written, &args.out)
}

/// What a results file holds, told by the fields of its first JSON object.
enum Given {
    /// One run's saved results.
    Run,
    /// A fuzz campaign's results, a seed a line.
    Fuzz,
    /// A client history (`run --history`, `check`'s input).
    History,
    /// Something else.
    Other,
}

fn what(text: &str) -> Given {
    let Some(first) = text.lines().find(|l| !l.trim().is_empty()) else {
        return Given::Other;
    };
    let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(first) else {
        return Given::Other;
    };
    let has = |keys: &[&str]| keys.iter().all(|k| o.contains_key(*k));
    if has(&["scenario", "history", "fingerprint"]) {
        Given::Run
    } else if has(&["seed", "verdict", "fingerprint"]) {
        Given::Fuzz
    } else if has(&["op", "invoked", "outcome"]) {
        Given::History
    } else {
        Given::Other
    }
}

/// Reads JSON lines of seed results; blank lines are skipped.
fn fuzz_lines(text: &str) -> Result<Vec<reports::FuzzLine>, String> {
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1))?;
        if !["seed", "verdict", "fingerprint"]
            .iter()
            .all(|k| value.get(k).is_some())
        {
            return Err(format!(
                "line {} is not a seed's result (it lacks seed, verdict or fingerprint)",
                i + 1
            ));
        }
        let line: reports::FuzzLine =
            serde_json::from_value(value).map_err(|e| format!("line {}: {e}", i + 1))?;
        lines.push(line);
    }
    if lines.is_empty() {
        return Err("no lines".into());
    }
    Ok(lines)
}
