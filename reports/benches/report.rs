//! How long a run report of a million client operations takes, and how big it is.
//!
//! `cargo bench -p reports --bench report` (FAULTLINE_BENCH_OPS changes the 1 000 000
//! operations, FAULTLINE_BENCH_RUNS the 3 runs whose median is printed).

#![allow(clippy::disallowed_types)] // wall-clock timing of whole reports, outside any run

use std::time::Instant;

use reports::RunData;
use sim_core::SimTime;
use sim_core::fault::AppliedFault;
use sim_core::history::{History, OpOutput, Operation, Outcome};
use sim_core::metrics::{MetricsSummary, MsgCounts, NodeCounts};
use sim_core::protocol::NodeId;

/// A run of `ops` operations from 50 clients over 1 000 s, a few percent indeterminate,
/// with a leader crash and a partition: the shape of a long Raft run.
fn big_run(ops: u64) -> RunData {
    let mut h = History::new();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let span_ns = 1_000_000_000_000u64;
    for i in 0..ops {
        let at = SimTime(i * (span_ns / ops));
        let key = next() % 100;
        let op = match next() % 4 {
            0 => Operation::Get { key },
            1 => Operation::Put {
                key,
                value: format!("v{i}"),
            },
            2 => Operation::Cas {
                key,
                expected: "x".into(),
                new: format!("v{i}"),
            },
            _ => Operation::Append {
                key,
                value: format!("{i}"),
            },
        };
        let id = h.invoke((i % 50) as u32, op, at);
        let lat = 500_000 + next() % 20_000_000;
        let outcome = match next() % 100 {
            0..=2 => Outcome::Indeterminate,
            3 => Outcome::Failed,
            _ => Outcome::Ok(OpOutput::Value(String::new())),
        };
        h.complete(id, outcome, SimTime(at.0 + lat));
    }
    let mut metrics = MetricsSummary::default();
    for kind in [
        "AppendEntries",
        "AppendEntriesReply",
        "RequestVote",
        "RequestVoteReply",
    ] {
        metrics.messages.insert(
            kind.to_string(),
            MsgCounts {
                sent: ops * 4,
                delivered: ops * 4,
                dropped: ops / 100,
                duplicated: 0,
                bytes: ops * 400,
            },
        );
    }
    metrics.nodes = vec![
        NodeCounts {
            sent: ops * 3,
            received: ops * 3,
            bytes_sent: 0,
            bytes_received: 0
        };
        5
    ];
    let fault = |at_s: u64, kind: &str, node: Option<u32>| AppliedFault {
        at: SimTime(at_s * 1_000_000_000),
        kind: kind.to_string(),
        nodes: node.map(NodeId).into_iter().collect(),
        description: kind.to_lowercase(),
    };
    let faults = vec![
        fault(200, "Crash", Some(0)),
        fault(260, "Restart", Some(0)),
        fault(500, "Isolate", Some(2)),
        fault(560, "Heal", None),
    ];
    RunData {
        scenario: "bench/one-million-ops".into(),
        protocol: "Raft".into(),
        nodes: 5,
        end_time: SimTime(span_ns + 50_000_000),
        events: ops * 20,
        verdict: "pass".into(),
        history: h,
        metrics,
        faults,
        ..RunData::default()
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("report benchmark: run with `cargo bench -p reports --bench report`");
        return;
    }
    let ops = env("FAULTLINE_BENCH_OPS", 1_000_000);
    let runs = env("FAULTLINE_BENCH_RUNS", 3) as usize;
    let run = big_run(ops);
    let dir = std::env::temp_dir().join(format!("faultline-report-bench-{}", std::process::id()));
    let mut secs = Vec::new();
    let mut files = Vec::new();
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&dir);
        let start = Instant::now();
        files = reports::write_run_report(&run, &dir).expect("report written");
        secs.push(start.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    let size = |ext: &str| -> u64 {
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == ext))
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum()
    };
    println!(
        "report of {ops} operations: median {:.2} s over {runs} runs (min {:.2}, max {:.2}); index.html {} KiB, SVGs {} KiB, PNGs {} KiB, {} files",
        secs[secs.len() / 2],
        secs[0],
        secs[secs.len() - 1],
        size("html") / 1024,
        size("svg") / 1024,
        size("png") / 1024,
        files.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
