//! `faultline compare FILE... [--vary nodes=3,5,7]`: runs scenarios and draws their latency
//! percentiles and messages per operation side by side.

use std::path::PathBuf;

use clap::Args;

use super::exit;
use crate::runner::{self, RunOptions};

/// Arguments of `faultline compare`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  faultline compare scenarios/raft/calm.ron --vary nodes=3,5,7 --out compare/
  faultline compare a.ron b.ron --seed 3

Exit status: 0 written, 2 bad input.")]
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
    let runs = match compare_runs(&args.files, &sizes, args.seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    super::report_written(reports::write_compare_report(&runs, &args.out), &args.out)
}

/// Runs every scenario of `files`, once per cluster size of `sizes` (or once as written
/// when `sizes` is empty), with `seed` if given, and returns their comparable figures.
pub fn compare_runs(
    files: &[PathBuf],
    sizes: &[u32],
    seed: Option<u64>,
) -> Result<Vec<reports::CompareRun>, String> {
    let mut runs = Vec::new();
    for file in files {
        let scenario = crate::load::load(file).map_err(|e| e.to_string())?;
        let variants: Vec<Option<u32>> = if sizes.is_empty() {
            vec![None]
        } else {
            sizes.iter().copied().map(Some).collect()
        };
        for n in variants {
            let mut s = scenario.clone();
            let label = match n {
                Some(n) => {
                    s.nodes = n;
                    format!("{} nodes={n}", s.name)
                }
                None => s.name.clone(),
            };
            let options = RunOptions {
                seed,
                ..Default::default()
            };
            let run = runner::run(&s, options).map_err(|e| format!("{label}: {e}"))?;
            let data = crate::report_data::run_data(&s, &run, Vec::new(), None);
            let c = reports::CompareRun::from_run(label, &data);
            eprintln!(
                "{:<32} {} ok ops, {:.2} messages/op, p50 {:.2} ms, p99 {:.2} ms",
                c.label,
                c.ok_ops,
                c.messages_per_op(),
                c.latency.p50,
                c.latency.p99
            );
            runs.push(c);
        }
    }
    Ok(runs)
}
