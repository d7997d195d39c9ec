//! Several runs side by side: latency percentiles and messages per operation.

use std::path::Path;

use crate::bars::{Bars, Series};
use crate::figure::{Figure, color, render};
use crate::{CompareRun, ReportError};

/// Writes the comparison figures into `dir`.
pub fn figures(runs: &[CompareRun], dir: &Path) -> Result<Vec<Figure>, ReportError> {
    let labels: Vec<String> = runs.iter().map(|r| r.label.clone()).collect();
    let pick = |f: fn(&CompareRun) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    let latency = Bars {
        title: "Client latency percentiles".into(),
        x_desc: "latency (ms, virtual time)".into(),
        categories: labels.clone(),
        series: vec![
            Series {
                label: "p50".into(),
                color: color(0),
                values: pick(|r| r.latency.p50),
            },
            Series {
                label: "p90".into(),
                color: color(1),
                values: pick(|r| r.latency.p90),
            },
            Series {
                label: "p99".into(),
                color: color(5),
                values: pick(|r| r.latency.p99),
            },
        ],
        marks: None,
    };
    let per_op = Bars {
        title: "Messages per committed operation".into(),
        x_desc: "messages sent per completed operation".into(),
        categories: labels,
        series: vec![Series {
            label: "sent / completed ops".into(),
            color: color(0),
            values: pick(CompareRun::messages_per_op),
        }],
        marks: expected_marks(runs),
    };
    let mut figures = vec![
        render(
            dir,
            Figure {
                name: "compare-latency".into(),
                title: "Latency percentiles".into(),
                caption: "Latency of completed operations, per run.".into(),
                size: latency.size(),
            },
            &latency,
        )?,
        render(
            dir,
            Figure {
                name: "compare-messages-per-op".into(),
                title: "Messages per committed operation".into(),
                caption: "All messages between nodes over each run divided by its completed operations; the black mark is what the run's protocol costs per operation in a calm cluster of its size N, where it has a closed form (Raft and Multi-Paxos 2(N−1): one round from the leader and back; PBFT 2N(N−1): pre-prepares, prepares and commits; EPaxos on the fast path 3(N−1): PreAccept, its answer and Commit to every other replica, or 2(FQ−1) + (N−1) with thrifty PreAccept to the fast quorum only).".into(),
                size: per_op.size(),
            },
            &per_op,
        )?,
    ];
    if let Some(regions) = by_region(runs) {
        figures.push(render(
            dir,
            Figure {
                name: "compare-regions".into(),
                title: "Median latency by client region".into(),
                caption: "Median latency of the operations completed by the clients of each region (each client sits beside its home node), one bar per run: where a protocol's commit waits on a leader or a quorum, the clients far from it pay the distance.".into(),
                size: regions.size(),
            },
            &regions,
        )?);
    }
    Ok(figures)
}

/// The runs' median latencies by client region, regions down the side (every region of
/// any run, in order of first appearance) and one series per run, with no bar where a
/// run has no clients in a region; `None` unless some run's clients sit in regions.
fn by_region(runs: &[CompareRun]) -> Option<Bars> {
    let mut categories: Vec<String> = Vec::new();
    for (name, _) in runs.iter().flat_map(|r| &r.by_region) {
        if !categories.contains(name) {
            categories.push(name.clone());
        }
    }
    if categories.is_empty() {
        return None;
    }
    let series = runs
        .iter()
        .filter(|r| !r.by_region.is_empty())
        .enumerate()
        .map(|(i, r)| Series {
            label: r.label.clone(),
            color: color(i),
            values: categories
                .iter()
                .map(|c| {
                    r.by_region
                        .iter()
                        .find(|(n, _)| n == c)
                        .map_or(f64::NAN, |(_, v)| *v)
                })
                .collect(),
        })
        .collect();
    Some(Bars {
        title: "Median latency by client region".into(),
        x_desc: "median latency (ms, virtual time)".into(),
        categories,
        series,
        marks: None,
    })
}

/// The expected messages per operation of each run, labelled with the protocols' closed
/// forms; `None` if no run's protocol has one.
fn expected_marks(runs: &[CompareRun]) -> Option<(String, Vec<f64>)> {
    let mut forms: Vec<&str> = runs
        .iter()
        .filter_map(|r| r.expected.as_ref().map(|(_, f)| f.as_str()))
        .collect();
    if forms.is_empty() {
        return None;
    }
    forms.sort_unstable();
    forms.dedup();
    let values = runs
        .iter()
        .map(|r| r.expected.as_ref().map_or(f64::NAN, |(v, _)| *v))
        .collect();
    Some((
        format!("expected per operation: {}", forms.join(", ")),
        values,
    ))
}
