//! The published numbers of epidemic dissemination, measured on the shipped scenarios
//! over many seeds and printed next to the references. A sweep, not a CI test:
//!
//! ```text
//! cargo test --release -p scenarios --test gossip_numbers -- --ignored --nocapture
//! ```
//!
//! `GOSSIP_SEEDS` sets the number of seeds (default 100).

use rayon::prelude::*;
use scenarios::family::dissemination::coverage_stats;
use scenarios::format::Scenario;
use scenarios::runner::{RunOptions, run};

fn load(name: &str) -> Scenario {
    let dir = env!("CARGO_MANIFEST_DIR");
    let small = format!("{dir}/gossip/{name}.ron");
    let path = if std::path::Path::new(&small).exists() {
        small
    } else {
        format!("{dir}/gossip/large/{name}.ron")
    };
    scenarios::load::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

fn seeds() -> u64 {
    std::env::var("GOSSIP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
}

/// Mean and standard deviation, and how many samples there were.
fn spread(xs: &[f64]) -> (f64, f64, usize) {
    let n = xs.len().max(1) as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, v.sqrt(), xs.len())
}

/// What to measure of one run: rounds to a fraction of nodes, or the residue.
#[derive(Clone, Copy)]
enum Figure {
    Rounds(f64),
    Residue,
}

fn measure(s: &Scenario, figure: Figure) -> Vec<f64> {
    (0..seeds())
        .into_par_iter()
        .filter_map(|seed| {
            let r = run(
                s,
                RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            )
            .unwrap();
            let (stats, cov) = coverage_stats(s, &r.result);
            let u = cov.first()?;
            match figure {
                Figure::Residue => Some(stats.residue[0]),
                Figure::Rounds(f) => {
                    let need = ((f * stats.live as f64) - 1e-9).ceil().max(1.0) as usize;
                    let period = scenarios::family::dissemination::round_period(s);
                    u.rounds_to(need, period).map(|r| r as f64)
                }
            }
        })
        .collect()
}

#[test]
#[ignore = "a sweep over many seeds; run with --ignored --nocapture"]
fn published_numbers_table() {
    let pittel = |n: f64| n.log2() + n.ln();
    // Demers et al.: s = exp(-(k+1)(1-s)), solved by fixed-point iteration.
    let demers = |k: f64| {
        let mut s = 0.5f64;
        for _ in 0..200 {
            s = (-(k + 1.0) * (1.0 - s)).exp();
        }
        s
    };
    let rows: Vec<(&str, &str, Figure, String, f64)> = vec![
        (
            "push-10",
            "10 push, rounds to 95%",
            Figure::Rounds(0.95),
            "seed table ~7".into(),
            7.0,
        ),
        (
            "push-pull-10",
            "10 push-pull, rounds to 100%",
            Figure::Rounds(1.0),
            "seed table ~4".into(),
            4.0,
        ),
        (
            "push-pull-100",
            "100 push-pull, rounds to 99%",
            Figure::Rounds(0.99),
            "seed table ~9".into(),
            9.0,
        ),
        (
            "push-pull-1000",
            "1000 push-pull, rounds to 99.9%",
            Figure::Rounds(0.999),
            "seed table ~14".into(),
            14.0,
        ),
        (
            "push-10",
            "10 push, rounds to 100%",
            Figure::Rounds(1.0),
            format!("Pittel {:.1}", pittel(10.0)),
            pittel(10.0),
        ),
        (
            "push-100",
            "100 push, rounds to 100%",
            Figure::Rounds(1.0),
            format!("Pittel {:.1}", pittel(100.0)),
            pittel(100.0),
        ),
        (
            "push-1000",
            "1000 push, rounds to 100%",
            Figure::Rounds(1.0),
            format!("Pittel {:.1}", pittel(1000.0)),
            pittel(1000.0),
        ),
        (
            "residue-k1",
            "1000 push feedback counter k=1, residue",
            Figure::Residue,
            format!("Demers {:.3}", demers(1.0)),
            demers(1.0),
        ),
        (
            "residue-k2",
            "1000 push feedback counter k=2, residue",
            Figure::Residue,
            format!("Demers {:.3}", demers(2.0)),
            demers(2.0),
        ),
        (
            "residue-k3",
            "1000 push feedback counter k=3, residue",
            Figure::Residue,
            format!("Demers {:.3}", demers(3.0)),
            demers(3.0),
        ),
    ];
    println!(
        "\n{:<42} {:>8} {:>7} {:>6} {:>6} {:>6}  {:<18} {:>6}",
        "measurement", "mean", "sd", "min", "max", "n", "reference", "gap"
    );
    for (file, what, figure, reference, value) in rows {
        let s = load(file);
        let xs = measure(&s, figure);
        let (m, sd, n) = spread(&xs);
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let gap = (m - value) / value * 100.0;
        println!(
            "{what:<42} {m:>8.3} {sd:>7.3} {min:>6.2} {max:>6.2} {n:>6}  {reference:<18} {gap:>+5.0}%"
        );
        assert!(n > 0, "{what}: no run reached the figure");
    }
}
