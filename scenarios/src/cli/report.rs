//! `faultline report RESULTS --out DIR`: figures and a page from saved results.

use std::path::PathBuf;

use clap::Args;

use super::exit;

/// Arguments of `faultline report`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  faultline run FILE --save-results run.json && faultline report run.json --out report/
  faultline fuzz FILE --seeds 1000 --out fuzz-out && faultline report fuzz-out/results.jsonl

  faultline report shard-*/results.jsonl --out merged/ --junit merged.xml

RESULTS is one run's results (`faultline run --save-results`, a JSON object) or one or
more fuzz results files (JSON lines, one seed a line; a folder stands for the
results.jsonl in it). Several fuzz results files, such as the shards of one campaign run
on several machines, make one report: a seed found in more than one is counted once, and
a seed whose fingerprints differ between files is named (the machines ran different
binaries or scenario files).

Exit status: 0 written, 2 unreadable input or the folder could not be written.")]
pub struct ReportArgs {
    /// The results file(s).
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Also write fuzz results as JUnit XML here (a case per failing or undecided seed
    /// and one per scenario file).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// In the JUnit XML, mark undecided seeds skipped instead of errors (as
    /// `fuzz --allow-undecided` does).
    #[arg(long)]
    pub allow_undecided: bool,
    /// The folder to write the figures and index.html into.
    #[arg(long, value_name = "DIR", default_value = "report")]
    pub out: PathBuf,
}

/// Runs `faultline report`.
pub fn run(args: &ReportArgs) -> u8 {
    let mut texts = Vec::new();
    for given in &args.results {
        let path = if given.is_dir() {
            given.join("results.jsonl")
        } else {
            given.clone()
        };
        match std::fs::read_to_string(&path) {
            Ok(t) => texts.push((path, t)),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return exit::BAD_INPUT;
            }
        }
    }
    let mut fuzz = Vec::new();
    for (path, text) in &texts {
        // A shard that ran no seed (stopped at once, say) left an empty results file.
        if text.trim().is_empty() && texts.len() > 1 {
            fuzz.push((path.display().to_string(), Vec::new()));
            continue;
        }
        match what(text) {
            Given::Run if texts.len() == 1 => {
                return match serde_json::from_str::<reports::RunData>(text) {
                    Ok(data) => super::report_written(
                        reports::write_run_report(&data, &args.out),
                        &args.out,
                    ),
                    Err(e) => {
                        eprintln!("error: {}: a run's saved results, but {e}", path.display());
                        exit::BAD_INPUT
                    }
                };
            }
            Given::Run => {
                eprintln!(
                    "error: {} is one run's results: a report is of one run, or of fuzz results files together",
                    path.display()
                );
                return exit::BAD_INPUT;
            }
            Given::Fuzz => match fuzz_lines(text) {
                Ok(lines) => fuzz.push((path.display().to_string(), lines)),
                Err(e) => {
                    eprintln!("error: {}: fuzz results, but {e}", path.display());
                    return exit::BAD_INPUT;
                }
            },
            Given::History => {
                eprintln!(
                    "error: {} is a client history, which has no report; check it with `faultline check {}`, or report the run it came from (`faultline run FILE --report DIR`)",
                    path.display(),
                    path.display()
                );
                return exit::BAD_INPUT;
            }
            Given::Other => {
                eprintln!(
                    "error: {} is neither a run's saved results (`faultline run --save-results`) nor a fuzz results file (`results.jsonl`)",
                    path.display()
                );
                return exit::BAD_INPUT;
            }
        }
    }
    let merged = merge(fuzz);
    if merged.lines.is_empty() {
        eprintln!("error: the fuzz results files hold no seeds");
        return exit::BAD_INPUT;
    }
    for c in &merged.conflicts {
        eprintln!("warning: {c}");
    }
    let lines = &merged.lines;
    let count = |f: &dyn Fn(&reports::FuzzLine) -> bool| lines.iter().filter(|l| f(l)).count();
    println!(
        "seeds        {} from {} file(s){}: {} passed, {} failed, {} undecided",
        lines.len(),
        texts.len(),
        if merged.repeated > 0 {
            format!(" ({} repeated seeds counted once)", merged.repeated)
        } else {
            String::new()
        },
        count(&|l| l.passed()),
        count(&|l| l.failed()),
        count(&|l| !l.passed() && !l.failed()),
    );
    if let Some(path) = &args.junit {
        let undecided = if args.allow_undecided {
            reports::junit::Undecided::Skipped
        } else {
            reports::junit::Undecided::Error
        };
        let xml = reports::junit::junit(lines, undecided);
        if let Err(e) = super::write_creating_folder(path, &xml) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return exit::BAD_INPUT;
        }
        println!("junit        {}", path.display());
    }
    super::report_written(reports::write_fuzz_report(lines, &args.out), &args.out)
}

/// Fuzz results of several files as one campaign.
struct Merged {
    /// One line per (scenario file, seed), in file and seed order.
    lines: Vec<reports::FuzzLine>,
    /// Seeds found in more than one file.
    repeated: usize,
    /// Seeds whose runs differ between files, described.
    conflicts: Vec<String>,
}

/// Merges the results of `files` (name, lines): the shards of one campaign, or a campaign
/// appended to an earlier one. A seed run twice counts once: its worst line (a failure
/// over an undecided seed over a pass), else the later one.
fn merge(files: Vec<(String, Vec<reports::FuzzLine>)>) -> Merged {
    let mut by_seed: std::collections::BTreeMap<(String, u64), (String, reports::FuzzLine)> =
        std::collections::BTreeMap::new();
    let mut repeated = 0;
    let mut conflicts = Vec::new();
    for (name, lines) in files {
        for l in lines {
            let key = (l.file.clone(), l.seed);
            if let Some((earlier, old)) = by_seed.get(&key) {
                repeated += 1;
                if old.fingerprint != l.fingerprint {
                    conflicts.push(format!(
                        "{} seed {}: fingerprint {} in {earlier}, {} in {name}: the runs differ (another binary or scenario file?)",
                        l.file, l.seed, old.fingerprint, l.fingerprint
                    ));
                }
            }
            let rank = |l: &reports::FuzzLine| {
                if l.failed() {
                    2
                } else if l.passed() {
                    0
                } else {
                    1
                }
            };
            if by_seed
                .get(&key)
                .is_none_or(|(_, old)| rank(&l) >= rank(old))
            {
                by_seed.insert(key, (name.clone(), l));
            }
        }
    }
    Merged {
        lines: by_seed.into_values().map(|(_, l)| l).collect(),
        repeated,
        conflicts,
    }
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
