//! The `faultline` command line. Each subcommand is a module with its arguments and its
//! `run`; `run`, `fuzz`, `replay` and `report` join `check` here as they arrive.

pub mod check;
pub mod compare;
pub mod explore;
pub mod fuzz;
pub mod list;
pub mod replay;
pub mod report;
pub mod run;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// faultline: a deterministic simulator for distributed protocols.
#[derive(Debug, Parser)]
#[command(
    name = "faultline",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:
  faultline                                      run a built-in demonstration scenario
  faultline run scenarios/echo/ping-storm.ron    one run: summary, verdict, fingerprint
  faultline fuzz FILE --seeds 1000 --jobs 2      many seeds; failures saved, the first shrunk
  faultline replay fuzz-out/NAME-seed7.ron       confirm a saved failure
  faultline check history.jsonl --model kv       linearizability of a recorded history
  faultline list                                 protocols, bug switches, fault kinds, scenarios
  faultline run FILE --report out/               the run's figures and page: out/index.html
  faultline compare FILE --vary nodes=3,5,7      latency and messages per op side by side
  faultline explore FILE --bug NAME              every schedule of a small scenario, searched

Exit status: 0 as expected, 1 not as expected (a check failed, or a fuzzed seed did not
meet its scenario's expectation), 2 bad input or usage, 3 undecided (a check could not
decide, so the run is not a pass). Each command's --help gives its own."
)]
pub enum Cli {
    /// Run one scenario and print a summary and a verdict.
    Run(run::RunArgs),
    /// Run many seeds of scenarios; shrink and save the failures.
    Fuzz(fuzz::FuzzArgs),
    /// Rerun a saved failure and confirm it.
    Replay(replay::ReplayArgs),
    /// Check whether a recorded client history is linearizable.
    Check(check::CheckArgs),
    /// List protocols, bug switches, fault kinds and shipped scenarios.
    List(list::ListArgs),
    /// Write the figures and HTML page of saved results (a run's or a fuzz campaign's).
    Report(report::ReportArgs),
    /// Run scenarios (optionally at several cluster sizes) and compare them side by side.
    Compare(compare::CompareArgs),
    /// Search every schedule of a small scenario (message orders, timers, faults within
    /// a budget) for a violation; write it as a replayable scenario.
    Explore(explore::ExploreArgs),
}

/// Writes `text` to `path`, making its folder first if need be (a report's JUnit file
/// inside the report's own folder, say).
pub(crate) fn write_creating_folder(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// Exit codes shared by the subcommands.
pub mod exit {
    /// The property holds (e.g. the history is linearizable).
    pub const OK: u8 = 0;
    /// The property is violated.
    pub const VIOLATION: u8 = 1;
    /// The input was bad (unreadable file, malformed history, wrong arguments).
    pub const BAD_INPUT: u8 = 2;
    /// No answer within the limits.
    pub const UNKNOWN: u8 = 3;
}

/// Parses `args` (including the program name) and runs the subcommand, over the
/// process's protocol registry (see [`crate::faultline_main`] to bring your own).
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    quiet_on_closed_output();
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // No arguments at all: show a newcomer a real run.
    if args.len() <= 1 {
        return ExitCode::from(run::run(&run::RunArgs {
            file: None,
            seed: None,
            bugs: Vec::new(),
            trace: None,
            json: false,
            check_determinism: false,
            report: None,
            save_results: None,
            history: None,
        }));
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            });
        }
    };
    ExitCode::from(run(cli))
}

/// Output closed under us (`faultline check --json | head`) ends the process quietly, as
/// a command-line tool should, instead of with a panic: Rust ignores SIGPIPE, so a write
/// to a closed pipe is an error that `print!` turns into a panic.
fn quiet_on_closed_output() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
                std::process::exit(0);
            }
            default(info);
        }));
    });
}

/// Runs a parsed command; returns its exit code.
pub fn run(cli: Cli) -> u8 {
    match cli {
        Cli::Run(args) => run::run(&args),
        Cli::Fuzz(args) => fuzz::run(&args),
        Cli::Replay(args) => replay::run(&args),
        Cli::Check(args) => check::run(&args),
        Cli::List(args) => list::run(&args),
        Cli::Report(args) => report::run(&args),
        Cli::Compare(args) => compare::run(&args),
        Cli::Explore(args) => explore::run(&args),
    }
}

/// Opens `path` for a JSON-lines trace; the error names the file.
pub(crate) fn trace_file(
    path: &std::path::Path,
) -> Result<Box<dyn sim_core::trace::TraceSink>, String> {
    std::fs::File::create(path)
        .map(|f| {
            Box::new(sim_core::trace::JsonLines(std::io::BufWriter::new(f)))
                as Box<dyn sim_core::trace::TraceSink>
        })
        .map_err(|e| format!("cannot create the trace file {}: {e}", path.display()))
}

/// Tells where a report was written, or why it was not; the exit status of that.
pub(crate) fn report_written<T>(
    written: Result<T, reports::ReportError>,
    out: &std::path::Path,
) -> u8 {
    match written {
        Ok(_) => {
            println!("report       {}", out.join("index.html").display());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::BAD_INPUT
        }
    }
}
