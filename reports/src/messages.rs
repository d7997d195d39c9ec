//! Messages: counts by kind and by node, messages per committed operation, and bytes.

use std::path::Path;

use crate::bars::{Bars, Series};
use crate::figure::{Figure, color, render};
use crate::{ReportError, RunData};

fn bars_figure(
    dir: &Path,
    name: &str,
    title: &str,
    caption: String,
    bars: Bars,
) -> Result<Figure, ReportError> {
    render(
        dir,
        Figure {
            name: name.into(),
            title: title.into(),
            caption,
            size: bars.size(),
        },
        &bars,
    )
}

/// Writes the message figures of `run` into `dir`.
pub fn figures(run: &RunData, dir: &Path) -> Result<Vec<Figure>, ReportError> {
    let m = &run.metrics;
    let kinds: Vec<String> = m.messages.keys().cloned().collect();
    let col = |f: fn(&sim_core::metrics::MsgCounts) -> u64| -> Vec<f64> {
        m.messages.values().map(|c| f(c) as f64).collect()
    };
    let mut out = Vec::new();
    let mut by_kind = vec![
        Series {
            label: "sent".into(),
            color: color(0),
            values: col(|c| c.sent),
        },
        Series {
            label: "dropped".into(),
            color: color(5),
            values: col(|c| c.dropped),
        },
    ];
    if m.messages.values().any(|c| c.duplicated > 0) {
        by_kind.push(Series {
            label: "duplicated".into(),
            color: color(3),
            values: col(|c| c.duplicated),
        });
    }
    out.push(bars_figure(
        dir,
        "messages-by-kind",
        "Messages by kind",
        "Messages protocols handed to the network, and those the network lost (any reason), by message kind.".into(),
        Bars {
            title: "Messages by kind".into(),
            x_desc: "messages".into(),
            categories: kinds.clone(),
            series: by_kind,
            marks: None,
        },
    )?);
    out.push(bars_figure(
        dir,
        "messages-by-node",
        "Messages by node",
        "Messages each node sent and had delivered to it.".into(),
        Bars {
            title: "Messages by node".into(),
            x_desc: "messages".into(),
            categories: (0..m.nodes.len()).map(|i| run.node_label(i)).collect(),
            series: vec![
                Series {
                    label: "sent".into(),
                    color: color(0),
                    values: m.nodes.iter().map(|n| n.sent as f64).collect(),
                },
                Series {
                    label: "received".into(),
                    color: color(2),
                    values: m.nodes.iter().map(|n| n.received as f64).collect(),
                },
            ],
            marks: None,
        },
    )?);
    let ok = run.ok_ops();
    let per_op = |v: u64| if ok == 0 { 0.0 } else { v as f64 / ok as f64 };
    let mut cats = kinds.clone();
    cats.push("all kinds".into());
    let mut vals: Vec<f64> = m.messages.values().map(|c| per_op(c.sent)).collect();
    vals.push(per_op(m.total().sent));
    out.push(bars_figure(
        dir,
        "messages-per-op",
        "Messages per committed operation",
        format!(
            "Messages sent over the whole run divided by the {ok} operations that completed with an answer (heartbeats and elections included)."
        ),
        Bars {
            title: format!("Messages per committed operation ({ok} ops)"),
            x_desc: "messages sent per completed operation".into(),
            categories: cats,
            series: vec![Series {
                label: "sent / completed ops".into(),
                color: color(0),
                values: vals,
            }],
            marks: None,
        },
    )?);
    if m.total().bytes > 0 {
        out.push(bars_figure(
            dir,
            "bytes-by-kind",
            "Bytes by message kind",
            "Bytes sent, by message kind (sizes as the protocol's messages report them).".into(),
            Bars {
                title: "Bytes sent by message kind".into(),
                x_desc: "kB sent".into(),
                categories: kinds,
                series: vec![Series {
                    label: "kB sent".into(),
                    color: color(1),
                    values: col(|c| c.bytes).into_iter().map(|b| b / 1000.0).collect(),
                }],
                marks: None,
            },
        )?);
    }
    Ok(out)
}
