//! Search speed: distinct states per second of `explore` on `paxos/explore.ron` with no
//! faults (three acceptors, two proposers, two clients), breadth-first on every core and
//! on one, by iterative deepening and in one depth-first pass, median of three. `cargo bench -p scenarios --bench explore`
//! (FAULTLINE_BENCH_STATES sets the 300 000 states).

#![allow(clippy::disallowed_types)] // wall-clock timing of whole searches, outside any run

use std::time::Instant;

use scenarios::explore::{ExploreOptions, ExploreSpec};
use sim_core::explore::Strategy;

// As in the `faultline` binary.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("explore benchmark: run with `cargo bench -p scenarios --bench explore`");
        return;
    }
    let states: u64 = std::env::var("FAULTLINE_BENCH_STATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/paxos/explore.ron");
    let scenario = scenarios::load::load(std::path::Path::new(file)).expect("a valid scenario");
    // Breadth-first on every core and on one, then the depth-first searches (one thread).
    for (strategy, jobs) in [
        (Strategy::BreadthFirst, None),
        (Strategy::BreadthFirst, Some(1)),
        (Strategy::IterativeDeepening, Some(1)),
        (Strategy::DepthFirst, Some(1)),
    ] {
        let mut rates: Vec<f64> = (0..3)
            .map(|_| {
                let start = Instant::now();
                let e = scenarios::registry::explore(
                    &scenario,
                    ExploreOptions {
                        spec: ExploreSpec {
                            max_states: Some(states),
                            ..ExploreSpec::default()
                        },
                        strategy,
                        bugs: Vec::new(),
                        keep_going: Box::new(|_| true),
                        jobs,
                    },
                )
                .expect("explores");
                e.report.distinct as f64 / start.elapsed().as_secs_f64()
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "explore {strategy:?}, {}: {:.0} distinct states/s (median of 3; {states} states; runs {:.0} / {:.0} / {:.0})",
            jobs.map_or("every core".to_string(), |j| format!("{j} thread")),
            rates[1],
            rates[0],
            rates[1],
            rates[2]
        );
    }
}
