//! Fuzzing throughput: seeds per second of a shipped 5-node scenario, on one job and two.
//! `cargo bench -p scenarios --bench fuzz` (FAULTLINE_BENCH_SEEDS sets the 400 seeds,
//! FAULTLINE_BENCH_SCENARIO another scenario file).

#![allow(clippy::disallowed_types)] // wall-clock timing of whole campaigns, outside any run

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use scenarios::fuzz::{Campaign, run_campaign};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("fuzz benchmark: run with `cargo bench -p scenarios --bench fuzz`");
        return;
    }
    let seeds: u64 = std::env::var("FAULTLINE_BENCH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let file = std::env::var("FAULTLINE_BENCH_SCENARIO")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/echo/ping-storm.ron").into());
    let scenario = scenarios::load::load(std::path::Path::new(&file)).expect("a valid scenario");
    let files = vec![(file.clone(), scenario)];
    let campaign = Campaign {
        from: 0,
        seeds,
        shard: None,
        swarm: false,
        bugs: Vec::new(),
    };
    let stop = AtomicBool::new(false);
    for jobs in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .expect("threads");
        let mut rates: Vec<f64> = (0..3)
            .map(|_| {
                let start = Instant::now();
                let (results, _) = pool.install(|| run_campaign(&files, &campaign, &stop, &|_| {}));
                results.len() as f64 / start.elapsed().as_secs_f64()
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "{file}: {seeds} seeds, {jobs} job(s): {:.0} seeds/s (median of 3)",
            rates[1]
        );
    }
}
