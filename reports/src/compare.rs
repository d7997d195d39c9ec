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
        marks: Some((
            "2(N−1): one round of leader-to-follower messages and replies".into(),
            pick(|r| 2.0 * (f64::from(r.nodes.max(1)) - 1.0)),
        )),
    };
    Ok(vec![
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
                caption: "All messages sent over each run divided by its completed operations; the black mark is 2(N−1) for the run's cluster size N.".into(),
                size: per_op.size(),
            },
            &per_op,
        )?,
    ])
}
