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
    let written = match serde_json::from_str::<reports::RunData>(&text) {
        Ok(data) => reports::write_run_report(&data, &args.out),
        Err(run_err) => match fuzz_lines(&text) {
            Ok(lines) => reports::write_fuzz_report(&lines, &args.out),
            Err(line_err) => {
                eprintln!(
                    "error: {} is neither a run's saved results ({run_err}) nor a fuzz results file ({line_err})",
                    args.results.display()
                );
                return exit::BAD_INPUT;
            }
        },
    };
    super::report_written(written, &args.out)
}

/// Reads JSON lines of seed results; blank lines are skipped.
fn fuzz_lines(text: &str) -> Result<Vec<reports::FuzzLine>, String> {
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let line: reports::FuzzLine =
            serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1))?;
        lines.push(line);
    }
    if lines.is_empty() {
        return Err("no lines".into());
    }
    Ok(lines)
}
