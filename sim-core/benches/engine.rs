//! Engine throughput: events per second of the full engine (echo protocol) against a bare
//! event loop (queue + ChaCha + trivial dispatch) on the same traffic, at 5 and 1 000
//! nodes, plus the peak memory of long runs. Plain harness: medians of several runs.
//!
//! `cargo bench -p sim-core --bench engine` (set FAULTLINE_BENCH_EVENTS to change the
//! 10 M events per run, FAULTLINE_BENCH_RUNS for the 3 runs per figure).

#![allow(clippy::disallowed_types)] // wall-clock timing of whole runs, outside any run

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim_core::echo::Echo;
use sim_core::rng::Delay;
use sim_core::{SimConfig, SimDuration, Simulation};

const LO: u64 = 1_000_000;
const HI: u64 = 10_000_000;

/// The minimal loop: pop the earliest message, answer it with a fresh uniform latency.
trait Queue {
    fn push(&mut self, key: (u64, u64), item: (u32, u32));
    fn pop(&mut self) -> Option<((u64, u64), (u32, u32))>;
}

/// A heap entry of the bare loop: ((time, sequence), (from, to)), smallest first.
type Entry = Reverse<((u64, u64), (u32, u32))>;

struct Binary(BinaryHeap<Entry>);
impl Queue for Binary {
    fn push(&mut self, key: (u64, u64), item: (u32, u32)) {
        self.0.push(Reverse((key, item)));
    }
    fn pop(&mut self) -> Option<((u64, u64), (u32, u32))> {
        self.0.pop().map(|r| r.0)
    }
}

struct Quaternary(dary_heap::QuaternaryHeap<Entry>);
impl Queue for Quaternary {
    fn push(&mut self, key: (u64, u64), item: (u32, u32)) {
        self.0.push(Reverse((key, item)));
    }
    fn pop(&mut self) -> Option<((u64, u64), (u32, u32))> {
        self.0.pop().map(|r| r.0)
    }
}

/// The engine's own queue, keyed by the same (time, insertion) order.
struct Engine(sim_core::queue::EventQueue<(u32, u32)>);
impl Queue for Engine {
    fn push(&mut self, key: (u64, u64), item: (u32, u32)) {
        self.0.push(sim_core::SimTime(key.0), item);
    }
    fn pop(&mut self) -> Option<((u64, u64), (u32, u32))> {
        self.0.pop().map(|(t, item)| ((t.0, 0), item))
    }
}

fn bare_loop(mut q: impl Queue, nodes: u32, events: u64) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut seq = 0u64;
    for a in 0..nodes {
        for b in 0..nodes {
            if a != b {
                let t = rng.random_range(LO..=HI);
                q.push((t, seq), (a, b));
                seq += 1;
            }
        }
    }
    let mut done = 0;
    let mut check = 0u64;
    while done < events {
        let Some(((t, _), (from, to))) = q.pop() else {
            break;
        };
        check = check.wrapping_add(t ^ u64::from(from));
        let t2 = t + rng.random_range(LO..=HI);
        q.push((t2, seq), (to, from));
        seq += 1;
        done += 1;
    }
    black_box(check);
    done
}

fn engine(nodes: u32, events: u64) -> u64 {
    let mut c = SimConfig {
        seed: 1,
        nodes,
        horizon: SimDuration::MAX,
        max_events: Some(events),
        ..SimConfig::default()
    };
    c.network.default_link.latency = Delay::Uniform(SimDuration(LO), SimDuration(HI));
    let r = Simulation::<Echo>::builder(c).build().expect("valid").run();
    black_box(r.fingerprint);
    r.events
}

fn rate(runs: usize, mut f: impl FnMut() -> u64) -> f64 {
    let mut rates: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let n = f();
            n as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs us with no such flag.
    if !std::env::args().any(|a| a == "--bench") {
        println!("engine benchmark: run with `cargo bench -p sim-core --bench engine`");
        return;
    }
    let events = env("FAULTLINE_BENCH_EVENTS", 10_000_000);
    let runs = env("FAULTLINE_BENCH_RUNS", 3) as usize;
    // For profiling: FAULTLINE_BENCH_PROFILE=N runs only the engine on N nodes,
    // FAULTLINE_BENCH_PROFILE_BARE=N only the bare 4-ary loop.
    if let Some(nodes) = std::env::var("FAULTLINE_BENCH_PROFILE_BARE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let q = || Quaternary(dary_heap::QuaternaryHeap::new());
        let r = rate(runs, || bare_loop(q(), nodes, events));
        println!("bare 4-ary loop, {nodes} nodes: {:.2} M ev/s", r / 1e6);
        return;
    }
    if let Some(nodes) = std::env::var("FAULTLINE_BENCH_PROFILE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let r = rate(runs, || engine(nodes, events));
        println!("engine, {nodes} nodes: {:.2} M ev/s", r / 1e6);
        return;
    }

    // Memory first, while the process is small: a short and a long run of the same
    // workload; with tracing off the peak must not grow with the event count.
    engine(5, events / 10);
    let short_peak = peak_rss_kib();
    engine(5, events);
    let long_peak = peak_rss_kib();
    println!(
        "peak RSS after {} events: {:?} KiB; after {} events: {:?} KiB",
        events / 10,
        short_peak,
        events,
        long_peak
    );

    for nodes in [5u32, 1000] {
        let binary = rate(runs, || bare_loop(Binary(BinaryHeap::new()), nodes, events));
        let quaternary = rate(runs, || {
            bare_loop(Quaternary(dary_heap::QuaternaryHeap::new()), nodes, events)
        });
        let own = rate(runs, || {
            bare_loop(Engine(sim_core::queue::EventQueue::new()), nodes, events)
        });
        let eng = rate(runs, || engine(nodes, events));
        let bare = binary.max(quaternary);
        println!(
            "{nodes:>5} nodes, {events} events: bare binary heap {:.2} M ev/s, bare 4-ary heap {:.2} M ev/s, bare on the engine's queue {:.2} M ev/s, engine {:.2} M ev/s; engine/bare heap {:.2}, engine/bare on its own queue {:.2}",
            binary / 1e6,
            quaternary / 1e6,
            own / 1e6,
            eng / 1e6,
            eng / bare,
            eng / own
        );
    }
}
