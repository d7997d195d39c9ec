//! `faultline replay REPRO.ron`: rerun a saved failure and confirm it.

use std::path::PathBuf;

use clap::Args;

use super::exit;
use crate::format::Expect;
use crate::runner::{self, RunOptions};

/// Arguments of `faultline replay`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  faultline replay fuzz-out/echo-ping-storm-seed17.ron --trace replay.jsonl

Exit status: 0 the saved violation and fingerprint were reproduced, 1 they were not,
2 bad input, 3 the run was undecided.")]
pub struct ReplayArgs {
    /// A reproducer written by `faultline fuzz` (or any scenario with an `expect`).
    pub file: PathBuf,
    /// Write a trace of every event as JSON lines.
    #[arg(long, value_name = "FILE.jsonl")]
    pub trace: Option<PathBuf>,
}

/// Runs `faultline replay`.
pub fn run(args: &ReplayArgs) -> u8 {
    let scenario = match crate::load::load(&args.file) {
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
    let run = match runner::run(
        &scenario,
        RunOptions {
            trace,
            ..Default::default()
        },
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    print!("{}", run.summary.render());
    let mut code = run.summary.exit_status();
    if let Some(fp) = &scenario.fingerprint {
        if *fp == run.summary.fingerprint {
            println!("replay       same fingerprint as recorded ({fp})");
        } else {
            println!(
                "replay       DIFFERENT fingerprint: recorded {fp}, now {}",
                run.summary.fingerprint
            );
            code = exit::VIOLATION;
        }
    }
    let what = match &scenario.expect {
        Expect::Pass => "a passing run".to_string(),
        Expect::Violation(v) => format!("the violation of {v}"),
    };
    if code == exit::OK {
        println!("replay       reproduced {what}");
    } else {
        println!("replay       did NOT reproduce {what}");
    }
    code
}
