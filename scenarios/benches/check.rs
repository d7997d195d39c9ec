//! Times the linearizability checker on the Jepsen etcd histories beside Porcupine's
//! published times, and on a generated 100 000-operation key-value history.
//!
//! `cargo bench -p scenarios --bench check`; the data folder is `$FAULTLINE_SHARED_DATA`
//! or `../../shared/data` from this crate. Times are medians of several runs of the check
//! alone (parsing excluded, as in Porcupine's figures).

use std::path::PathBuf;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scenarios::cli::check::{check_parsed, load};
use sim_core::check::models::{KvModel, RegisterInput, RegisterModel, RegisterOutput};
use sim_core::check::{CheckOptions, Op, Verdict, check};
use sim_core::history::{OpOutput, Operation};

/// Benchmarks measure wall-clock time outside any simulation.
#[allow(clippy::disallowed_types)]
fn median_ms(mut f: impl FnMut(), min_runs: usize) -> f64 {
    let mut times = Vec::new();
    let start = std::time::Instant::now();
    while times.len() < min_runs
        || (start.elapsed() < Duration::from_millis(200) && times.len() < 200)
    {
        let t = std::time::Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn data_dir() -> PathBuf {
    std::env::var_os("FAULTLINE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")))
}

fn etcd() {
    let dir = data_dir().join("jepsen-etcd");
    let Ok(table) = std::fs::read_to_string(dir.join("verdicts.tsv")) else {
        eprintln!(
            "skipping the etcd benchmark: no {}",
            dir.join("verdicts.tsv").display()
        );
        return;
    };
    let options = CheckOptions::default();
    println!(
        "{:<14} {:>17} {:>10} {:>14} {:>7}",
        "file", "verdict", "ours ms", "porcupine ms", "ratio"
    );
    let (mut ours_total, mut theirs_total) = (0.0, 0.0);
    let (mut slow_ours, mut slow_theirs) = (0.0, 0.0);
    let mut worst_slow: (f64, String) = (0.0, String::new());
    let mut worst_any: (f64, String) = (0.0, String::new());
    for row in table.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let [file, expected, porcupine_ms] = cols[..] else {
            continue;
        };
        let porcupine_ms: f64 = porcupine_ms.parse().unwrap_or(f64::NAN);
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if expected == "empty" {
            // An empty file is bad input, refused before any check: nothing to time.
            let refused = load(&text, None, None).is_err();
            println!(
                "{file:<14} {:>17}{}",
                "refused (empty)",
                if refused { "" } else { "  WRONG VERDICT" }
            );
            continue;
        }
        let (_, history) = load(&text, None, None).expect("reference history parses");
        let mut verdict = String::new();
        let ms = median_ms(
            || {
                let report = check_parsed(&history, None, None, &options).expect("model fits");
                verdict = report.verdict.name().to_string();
            },
            5,
        );
        let ok = verdict == expected;
        let ratio = ms / porcupine_ms;
        println!(
            "{file:<14} {verdict:>17} {ms:>10.3} {porcupine_ms:>14.3} {ratio:>7.3}{}",
            if ok { "" } else { "  WRONG VERDICT" }
        );
        ours_total += ms;
        theirs_total += porcupine_ms;
        if ratio > worst_any.0 {
            worst_any = (ratio, file.to_string());
        }
        if porcupine_ms > 1.0 {
            slow_ours += ms;
            slow_theirs += porcupine_ms;
            if ratio > worst_slow.0 {
                worst_slow = (ratio, file.to_string());
            }
        }
    }
    println!(
        "\ntotal: ours {ours_total:.3} ms, porcupine {theirs_total:.3} ms, ratio {:.3}",
        ours_total / theirs_total
    );
    println!(
        "slow files (porcupine > 1 ms): ours {slow_ours:.3} ms, porcupine {slow_theirs:.3} ms, ratio {:.3}; worst {:.3} ({})",
        slow_ours / slow_theirs,
        worst_slow.0,
        worst_slow.1
    );
    println!(
        "worst ratio over all files: {:.3} ({})",
        worst_any.0, worst_any.1
    );
}

/// A linearizable history of `n` operations by `clients` clients over `keys` keys: each
/// operation takes effect at a random moment between its call and return.
fn kv_history(n: usize, clients: usize, keys: u64, seed: u64) -> Vec<Op<Operation, OpOutput>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values: Vec<String> = vec![String::new(); keys as usize];
    let mut ops: Vec<Op<Operation, OpOutput>> = Vec::with_capacity(n);
    // Per client: the open operation and whether it has taken effect (with its output).
    let mut open: Vec<Option<(usize, Option<OpOutput>)>> = vec![None; clients];
    let mut t = 0;
    while ops.len() < n || open.iter().any(Option::is_some) {
        t += 1;
        let c = rng.random_range(0..clients);
        open[c] = match open[c].take() {
            None if ops.len() < n => {
                let key = rng.random_range(0..keys);
                let op = match rng.random_range(0..4) {
                    0 | 1 => Operation::Get { key },
                    2 => Operation::Put {
                        key,
                        value: format!("{t}"),
                    },
                    _ => Operation::Append {
                        key,
                        value: format!("{}.", t % 10),
                    },
                };
                ops.push(Op::indeterminate(c as u64, op, t));
                Some((ops.len() - 1, None))
            }
            None => None,
            Some((i, None)) => {
                let k = ops[i].input.key() as usize;
                let out = match &ops[i].input {
                    Operation::Get { .. } => OpOutput::Value(values[k].clone()),
                    Operation::Put { value, .. } => {
                        values[k] = value.clone();
                        OpOutput::Done
                    }
                    Operation::Append { value, .. } => {
                        values[k].push_str(value);
                        OpOutput::Done
                    }
                    _ => unreachable!("not generated"),
                };
                Some((i, Some(out)))
            }
            Some((i, Some(out))) => {
                ops[i].ret = Some(sim_core::check::Return { at: t, output: out });
                None
            }
        };
    }
    ops
}

fn big_kv() {
    for (clients, keys) in [(16, 1_000), (64, 100)] {
        let ops = kv_history(100_000, clients, keys, 42);
        for parallel in [false, true] {
            let options = CheckOptions {
                parallel,
                ..CheckOptions::default()
            };
            let mut verdict = Verdict::Linearizable;
            let ms = median_ms(|| verdict = check(&KvModel, &ops, &options).verdict, 3);
            println!(
                "kv, 100000 ops, {clients} clients, {keys} keys, {}: {} in {ms:.1} ms",
                if parallel { "parallel" } else { "one thread" },
                verdict.name()
            );
        }
    }
}

/// A linearizable register history like Porcupine's large etcd logs: reads and writes of
/// values 0..100 by `clients` clients, each op taking effect inside its call and return.
fn register_history(n: usize, clients: usize, seed: u64) -> Vec<Op<RegisterInput, RegisterOutput>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut value = None;
    let mut ops: Vec<Op<RegisterInput, RegisterOutput>> = Vec::with_capacity(n);
    let mut open: Vec<Option<(usize, Option<RegisterOutput>)>> = vec![None; clients];
    let mut t = 0;
    while ops.len() < n || open.iter().any(Option::is_some) {
        t += 1;
        let c = rng.random_range(0..clients);
        open[c] = match open[c].take() {
            None if ops.len() < n => {
                let input = if rng.random_bool(0.5) {
                    RegisterInput::Read
                } else {
                    RegisterInput::Write(rng.random_range(0..100))
                };
                ops.push(Op::indeterminate(c as u64, input, t));
                Some((ops.len() - 1, None))
            }
            None => None,
            Some((i, None)) => {
                let out = match ops[i].input {
                    RegisterInput::Read => RegisterOutput::Read(value),
                    RegisterInput::Write(v) => {
                        value = Some(v);
                        RegisterOutput::Written
                    }
                    RegisterInput::Cas { .. } => unreachable!("not generated"),
                };
                Some((i, Some(out)))
            }
            Some((i, Some(out))) => {
                ops[i].ret = Some(sim_core::check::Return { at: t, output: out });
                None
            }
        };
    }
    ops
}

fn big_register() {
    let model = RegisterModel::cas_register(None);
    for clients in [8, 12, 16, 20] {
        let ops = register_history(20_000, clients, clients as u64);
        let mut report = None;
        let ms = median_ms(
            || report = Some(check(&model, &ops, &CheckOptions::default())),
            3,
        );
        let report = report.expect("ran at least once");
        println!(
            "register, 20000 ops, {clients} clients: {} in {ms:.1} ms ({} steps)",
            report.verdict.name(),
            report.steps
        );
    }
}

/// `history` with the read at its middle answering what the read forty reads earlier on
/// the same key answered, which it can no longer see when a write completed in between.
fn stale_read(history: &sim_core::history::History) -> sim_core::history::History {
    use sim_core::history::{OpOutput, Operation, Outcome};
    let mut ops = history.ops().to_vec();
    let reads: Vec<usize> = (0..ops.len())
        .filter(|&i| {
            matches!(ops[i].op, Operation::Get { .. })
                && matches!(ops[i].outcome, Outcome::Ok(OpOutput::Value(_)))
        })
        .collect();
    let at = reads[reads.len() / 2];
    let key = ops[at].op.key();
    let earlier = reads[..reads.len() / 2]
        .iter()
        .rev()
        .filter(|&&i| ops[i].op.key() == key)
        .nth(40);
    if let Some(&earlier) = earlier {
        ops[at].outcome = ops[earlier].outcome.clone();
    }
    sim_core::history::History::from_ops(ops)
}

/// Median and largest of a list.
fn median_and_most<T: Copy + PartialOrd>(values: &mut [T]) -> (T, T) {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    (values[values.len() / 2], values[values.len() - 1])
}

/// The hard class: the histories of `scenarios/raft/NAME.ron` (a WAN cluster under crash
/// storms, clients retrying), 200 seeds, each checked as `run` checks it, as recorded
/// and with one read made stale. Prints the median and the slowest check, the search
/// steps, and how many stayed undecided.
fn storm(name: &str) {
    let path = format!("{}/raft/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    let base = scenarios::load::load(std::path::Path::new(&path)).expect("scenario loads");
    let (mut times, mut steps) = (Vec::new(), Vec::new());
    let (mut stale_times, mut stale_steps) = (Vec::new(), Vec::new());
    let (mut undecided, mut stale_undecided, mut stale_accepted) = (0, 0, 0);
    for seed in 0..200 {
        let s = scenarios::fuzz::concretize(&base, seed, false, &[]);
        let run = scenarios::runner::run(&s, Default::default()).expect("runs");
        let options = scenarios::family::key_value::check_options(&s);
        let stale = stale_read(&run.result.history);
        for (history, times, steps, stale) in [
            (&run.result.history, &mut times, &mut steps, false),
            (&stale, &mut stale_times, &mut stale_steps, true),
        ] {
            let mut report = None;
            times.push(median_ms(
                || report = Some(sim_core::check::check_history(history, &options)),
                1,
            ));
            let report = report.expect("checked at least once");
            steps.push(report.steps);
            let unknown = usize::from(matches!(report.verdict, Verdict::Unknown { .. }));
            if stale {
                stale_undecided += unknown;
                stale_accepted += usize::from(matches!(report.verdict, Verdict::Linearizable));
            } else {
                undecided += unknown;
            }
        }
    }
    let ((t, tmax), (n, nmax)) = (median_and_most(&mut times), median_and_most(&mut steps));
    println!(
        "raft/{name}, 200 seeds: check median {t:.2} ms, slowest {tmax:.2} ms, {undecided} undecided; search steps median {n}, most {nmax}"
    );
    let ((t, tmax), (n, nmax)) = (
        median_and_most(&mut stale_times),
        median_and_most(&mut stale_steps),
    );
    println!(
        "raft/{name} with one stale read: check median {t:.2} ms, slowest {tmax:.2} ms, {stale_undecided} undecided, {stale_accepted} accepted; search steps median {n}, most {nmax}"
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; stay quick then.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    // An optional filter: `cargo bench --bench check -- kv`.
    let only = args.iter().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |name: &str| only.is_none_or(|o| name.contains(o.as_str()));
    if wanted("etcd") {
        etcd();
        println!();
    }
    if wanted("kv") {
        big_kv();
        println!();
    }
    if wanted("register") {
        big_register();
        println!();
    }
    if wanted("storm") {
        storm("wan-storm");
        storm("wan-storm-open");
    }
}
