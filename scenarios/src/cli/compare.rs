//! `faultline compare FILE... [--vary nodes=3,5,7]`: runs scenarios and draws their latency
//! percentiles and messages per operation side by side.

use std::path::PathBuf;

use clap::Args;

use super::exit;
use crate::format::Scenario;
use crate::load::LoadError;
use crate::runner::{self, RunOptions};

/// Arguments of `faultline compare`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  faultline compare scenarios/raft/calm.ron --vary nodes=3,5,7 --out compare/
  faultline compare a.ron b.ron --seed 3

Each variant is read and validated as `run` reads its file, at its own cluster size (node
ids in faults, regions, settings): a variant that does not fit is an error naming it and
its position in the file, before anything runs. (A scenario that names its nodes names
exactly as many as it has, so its size cannot be varied.)

Exit status: as `run`, over every run, once the report is written: 0 each verdict is the
one its scenario expects, 1 one is not, 3 none failed but one is undecided; 2 bad input.")]
pub struct CompareArgs {
    /// The scenario files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Run each file once per value of a setting (only `nodes=N,N,...` so far).
    #[arg(long, value_name = "SETTING=V,V,...")]
    pub vary: Option<String>,
    /// Run this seed instead of each file's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The folder to write the figures and index.html into.
    #[arg(long, value_name = "DIR", default_value = "compare")]
    pub out: PathBuf,
}

/// The cluster sizes `--vary` asks for (none: each file's own).
fn node_counts(vary: Option<&str>) -> Result<Vec<u32>, String> {
    let Some(v) = vary else {
        return Ok(Vec::new());
    };
    let Some(values) = v.strip_prefix("nodes=") else {
        return Err(format!("--vary {v}: only `nodes=N,N,...` can be varied"));
    };
    values
        .split(',')
        .map(|n| {
            n.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--vary: `{n}` is not a positive node count"))
        })
        .collect()
}

/// Runs `faultline compare`.
pub fn run(args: &CompareArgs) -> u8 {
    let sizes = match node_counts(args.vary.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let compared = match compare_runs(&args.files, &sizes, args.seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let written = super::report_written(
        reports::write_compare_report(&compared.runs, &args.out),
        &args.out,
    );
    if written == exit::OK {
        compared.status
    } else {
        written
    }
}

/// A run's verdict in a word or two, against what its scenario expects.
fn verdict_cell(s: &runner::Summary) -> String {
    match (&s.verdict, s.as_expected) {
        (runner::Verdict::Pass, true) => "pass".into(),
        (runner::Verdict::Pass, false) => "pass (UNEXPECTED)".into(),
        (runner::Verdict::Violation(v), true) => format!("{v} (expected)"),
        (runner::Verdict::Violation(v), false) => format!("{v} (VIOLATION)"),
        (runner::Verdict::Undecided(c), _) => format!("undecided ({})", c.join(", ")),
    }
}

/// What `compare` ran: each run's comparable figures, and the exit status their verdicts
/// make together.
pub struct Compared {
    /// One per file and cluster size, in order.
    pub runs: Vec<reports::CompareRun>,
    /// The worst of the runs' exit statuses (a violation over an undecided run).
    pub status: u8,
}

/// Every variant to run: each file once per size of `sizes` (or as written when `sizes`
/// is empty), loaded and validated at that size, with its label.
fn variants(files: &[PathBuf], sizes: &[u32]) -> Result<Vec<(String, Scenario)>, String> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let loaded: Vec<Result<(String, Scenario), LoadError>> = if sizes.is_empty() {
            vec![crate::load::load(file).map(|s| (s.name.clone(), s))]
        } else {
            sizes
                .iter()
                .map(|&n| {
                    crate::load::load_with_nodes(file, n)
                        .map(|s| (format!("{} nodes={n}", s.name), s))
                })
                .collect()
        };
        for l in loaded {
            match l {
                Ok(v) => out.push(v),
                Err(e) => errors.push(format!("error: {e}")),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}

/// Runs every scenario of `files`, once per cluster size of `sizes` (or once as written
/// when `sizes` is empty), with `seed` if given. Every variant is validated before any
/// runs; the errors of all that fail come back together.
pub fn compare_runs(
    files: &[PathBuf],
    sizes: &[u32],
    seed: Option<u64>,
) -> Result<Compared, String> {
    let variants = variants(files, sizes)?;
    let mut runs = Vec::new();
    let mut status = exit::OK;
    eprintln!(
        "{:<32} {:<24} {:>8} {:>12} {:>10} {:>10}",
        "run", "verdict", "ok ops", "messages/op", "p50 ms", "p99 ms"
    );
    for (label, s) in variants {
        let options = RunOptions {
            seed,
            ..Default::default()
        };
        let run = runner::run(&s, options).map_err(|e| format!("error: {label}: {e}"))?;
        let code = run.summary.exit_status();
        // A violation outranks an undecided run, which outranks a pass.
        status = match (status, code) {
            (exit::VIOLATION, _) | (_, exit::VIOLATION) => exit::VIOLATION,
            (exit::UNKNOWN, _) | (_, exit::UNKNOWN) => exit::UNKNOWN,
            _ => exit::OK,
        };
        let data = crate::report_data::run_data(&s, &run, Vec::new(), None);
        let mut c = reports::CompareRun::from_run(label, &data);
        c.expected = s
            .protocol
            .messages_per_op(s.nodes)
            .map(|(v, f)| (v, f.to_string()));
        c.by_region = crate::regions::median_latency_by_region(&s, &run.result.history);
        eprintln!(
            "{:<32} {:<24} {:>8} {:>12.2} {:>10.2} {:>10.2}",
            c.label,
            verdict_cell(&run.summary),
            c.ok_ops,
            c.messages_per_op(),
            c.latency.p50,
            c.latency.p99
        );
        runs.push(c);
    }
    Ok(Compared { runs, status })
}
