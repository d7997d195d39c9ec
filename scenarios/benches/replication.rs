//! The replicated key-value protocols at scale: for Raft, Multi-Paxos and EPaxos (five
//! nodes) and PBFT (four), the wall time to simulate 60 virtual seconds serving 10 000 checked
//! operations (goal: under a second), and fuzzing throughput in seeds per second on each
//! one's shipped nemesis scenario, one job.
//! `cargo bench -p scenarios --bench replication [raft|multipaxos|pbft|epaxos]`
//! (FAULTLINE_BENCH_SEEDS sets the 200 seeds).

#![allow(clippy::disallowed_types)] // wall-clock timing of whole runs, outside any run

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use scenarios::fuzz::{Campaign, run_campaign};
use scenarios::runner::{RunOptions, run};

/// Ten open-loop clients, each starting an operation every 55 ms on average, 1 000 each:
/// 10 000 operations in about 55 s, the run going on to the full minute; checked for
/// invariants after every event and for linearizability. `PROTOCOL` and `NODES` are
/// replaced.
const MINUTE: &str = r#"(
    name: "bench/minute",
    seed: 1,
    duration: "60s",
    nodes: NODES,
    protocol: PROTOCOL(()),
    network: (latency: Uniform("1ms", "5ms")),
    workload: KeyValue((clients: 10, ops: 1000, rate: "55ms", keys: 100, timeout: "1s", retry: SameId(max_attempts: 10))),
    checks: [Invariants, Linearizable],
    expect: Pass,
    limits: (stop_when_done: false),
)"#;

/// The protocols measured: name in scenario files, the directory of its scenarios, and
/// the cluster size.
const PROTOCOLS: &[(&str, &str, u32)] = &[
    ("Raft", "raft", 5),
    ("MultiPaxos", "multipaxos", 5),
    ("Pbft", "pbft", 4),
    ("EPaxos", "epaxos", 5),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("replication benchmark: run with `cargo bench -p scenarios --bench replication`");
        return;
    }
    let only: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (name, dir, nodes) in PROTOCOLS {
        if only.is_empty() || only.iter().any(|o| o.as_str() == *dir) {
            minute(name, *nodes);
            fuzz(dir);
        }
    }
}

/// Median wall time of three runs of the one-minute scenario.
fn minute(protocol: &str, nodes: u32) {
    let text = MINUTE
        .replace("PROTOCOL", protocol)
        .replace("NODES", &nodes.to_string());
    let minute = scenarios::load::parse(&text, "bench/minute.ron").expect("valid");
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let r = run(&minute, RunOptions::default()).expect("runs");
            let wall = start.elapsed().as_secs_f64();
            assert!(r.summary.as_expected, "the benchmark run failed its checks");
            println!(
                "  {} ops ({} ok), {} events, {:.1} virtual s",
                r.summary.ops.total,
                r.summary.ops.ok,
                r.summary.events,
                r.summary.end_time.0 as f64 / 1e9
            );
            wall
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{protocol}, {nodes} nodes, 60 virtual s, 10 000 ops, all checks: {:.3} s wall (median of 3)",
        times[1]
    );
}

/// Seeds per second of the protocol's nemesis scenario on one job.
fn fuzz(dir: &str) {
    let seeds: u64 = std::env::var("FAULTLINE_BENCH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let file = format!("{}/{dir}/nemesis.ron", env!("CARGO_MANIFEST_DIR"));
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("threads");
    let start = Instant::now();
    let (results, _) = pool.install(|| run_campaign(&files, &campaign, &stop, &|_| {}));
    let rate = results.len() as f64 / start.elapsed().as_secs_f64();
    println!("{file}: {seeds} seeds, 1 job: {rate:.0} seeds/s");
}
