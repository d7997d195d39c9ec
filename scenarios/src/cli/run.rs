//! `faultline run FILE`: one scenario, one seed, a summary and a verdict.

use std::path::PathBuf;

use clap::Args;

use super::exit;
use crate::format::Scenario;
use crate::runner::{self, RunOptions};

/// Arguments of `faultline run`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  faultline run scenarios/echo/ping-storm.ron
  faultline run scenarios/echo/ping-storm.ron --seed 42 --json
  faultline run FILE --bug vote_without_log_check --trace run.jsonl
  faultline run FILE --report out/          figures and out/index.html
  faultline run FILE --save-results run.json && faultline report run.json --out out/

Exit status: 0 the verdict is the one the scenario expects, 1 it is not, 2 bad input,
3 undecided: no check failed but one could not decide (never a pass).")]
pub struct RunArgs {
    /// The scenario file (RON). Without one, a built-in demonstration scenario runs.
    pub file: Option<PathBuf>,
    /// Run this seed instead of the file's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Turn on a bug switch of the protocol (repeatable).
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Write a trace of every event as JSON lines.
    #[arg(long, value_name = "FILE.jsonl")]
    pub trace: Option<PathBuf>,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run twice and fail unless both runs have the same fingerprint.
    #[arg(long)]
    pub check_determinism: bool,
    /// Write figures and an HTML page (DIR/index.html) about the run.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Save everything a report needs as JSON, for `faultline report`.
    #[arg(long, value_name = "FILE.json")]
    pub save_results: Option<PathBuf>,
    /// Write the client history here, as JSON lines that `faultline check` reads.
    #[arg(long, value_name = "FILE.jsonl")]
    pub history: Option<PathBuf>,
}

/// The scenario `faultline` runs when given no file.
pub const DEFAULT_SCENARIO: &str = include_str!("../../raft/leader-crash.ron");

/// Loads the scenario named on the command line, or the built-in one.
pub fn load_or_default(file: Option<&PathBuf>) -> Result<Scenario, String> {
    match file {
        Some(path) => crate::load::load(path).map_err(|e| e.to_string()),
        None => {
            crate::load::parse(DEFAULT_SCENARIO, "<built-in scenario>").map_err(|e| e.to_string())
        }
    }
}

/// Runs `faultline run`.
pub fn run(args: &RunArgs) -> u8 {
    let scenario = match load_or_default(args.file.as_ref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let trace = match args.trace.as_deref().map(super::trace_file).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    // Nothing asked for may be lost after a long run: every output is made writable first.
    if let Err(e) = outputs_writable(args) {
        eprintln!("error: {e}");
        return exit::BAD_INPUT;
    }
    let options = RunOptions {
        seed: args.seed,
        bugs: args.bugs.clone(),
        trace,
    };
    let wants_data = args.report.is_some() || args.save_results.is_some();
    let outcome = if wants_data {
        crate::report_data::run_with_window(&scenario, options).map(|(r, w)| (r, Some(w)))
    } else {
        runner::run(&scenario, options).map(|r| (r, None))
    };
    let (first, window) = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    if let Some(err) = &first.result.trace_error {
        eprintln!("warning: the trace stopped early: {err}");
    }
    if args.json {
        match serde_json::to_string_pretty(&first.summary) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        }
    } else {
        if args.file.is_none() {
            println!(
                "(no scenario file given: running the built-in demonstration; see `faultline run --help`)\n"
            );
        }
        print!("{}", first.summary.render());
    }
    if let Some(path) = &args.history
        && let Err(e) = write_history(path, &first.result.history)
    {
        eprintln!("error: {e}");
        return exit::BAD_INPUT;
    }
    if let Some(window) = window {
        let trace_file = args.trace.as_ref().map(|p| p.display().to_string());
        let data = crate::report_data::run_data(&scenario, &first, window, trace_file);
        if let Err(e) = write_outputs(args, &data) {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    }
    let mut code = first.summary.exit_status();
    if args.check_determinism {
        let again = runner::run(
            &scenario,
            RunOptions {
                seed: args.seed,
                bugs: args.bugs.clone(),
                trace: None,
            },
        );
        match again {
            Ok(r) if r.summary.fingerprint == first.summary.fingerprint => {
                eprintln!(
                    "determinism  two runs, same fingerprint {}",
                    r.summary.fingerprint
                );
            }
            Ok(r) => {
                eprintln!(
                    "determinism  FAILED: fingerprints {} and {} differ",
                    first.summary.fingerprint, r.summary.fingerprint
                );
                code = exit::VIOLATION;
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = exit::BAD_INPUT;
            }
        }
    }
    code
}

/// Makes the report folder and the results and history files, so that a path that cannot
/// be written fails before the run rather than after it.
fn outputs_writable(args: &RunArgs) -> Result<(), String> {
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the report folder {}: {e}", dir.display()))?;
        let probe = dir.join(".faultline-write-test");
        std::fs::write(&probe, b"")
            .map_err(|e| format!("cannot write into the report folder {}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(probe);
    }
    for path in [&args.save_results, &args.history].into_iter().flatten() {
        std::fs::File::create(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Writes a run's client history in the format `faultline check` reads.
fn write_history(
    path: &std::path::Path,
    history: &sim_core::history::History,
) -> Result<(), String> {
    use std::io::Write as _;
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    crate::history_formats::faultline::write(history, &mut w)
        .and_then(|()| w.flush())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("history      {}", path.display());
    Ok(())
}

/// Saves the results and writes the report, as asked.
fn write_outputs(args: &RunArgs, data: &reports::RunData) -> Result<(), String> {
    if let Some(path) = &args.save_results {
        let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::to_writer(std::io::BufWriter::new(f), data)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("results      {}", path.display());
    }
    if let Some(dir) = &args.report {
        reports::write_run_report(data, dir).map_err(|e| e.to_string())?;
        eprintln!("report       {}", dir.join("index.html").display());
    }
    Ok(())
}
