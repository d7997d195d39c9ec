//! Fault windows: the stretches of virtual time during which a crash, partition or pause
//! was in force, shaded behind time-series figures so a reader sees where they fell.

use std::collections::BTreeMap;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use sim_core::SimTime;
use sim_core::fault::AppliedFault;

use crate::figure::{DrawResult, OrErr};

/// What a shaded window stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShadeKind {
    /// A node was down.
    Crash,
    /// The network was split (partition, isolation or a one-way cut).
    Partition,
    /// A node was paused.
    Pause,
}

impl ShadeKind {
    /// The legend's name.
    pub fn label(self) -> &'static str {
        match self {
            ShadeKind::Crash => "node down",
            ShadeKind::Partition => "partition",
            ShadeKind::Pause => "node paused",
        }
    }

    pub(crate) fn color(self) -> RGBColor {
        match self {
            ShadeKind::Crash => RGBColor(214, 39, 40),
            ShadeKind::Partition => RGBColor(148, 103, 189),
            ShadeKind::Pause => RGBColor(140, 140, 140),
        }
    }
}

/// One window of a fault in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultWindow {
    /// What it is.
    pub kind: ShadeKind,
    /// When it began.
    pub start: SimTime,
    /// When it ended (the run's end if it never did).
    pub end: SimTime,
    /// The nodes involved (empty for the network as a whole).
    pub nodes: Vec<u32>,
}

/// The windows of `faults` in a run that ended at `end`, in start order.
pub fn windows(faults: &[AppliedFault], end: SimTime) -> Vec<FaultWindow> {
    let mut out = Vec::new();
    let mut down: BTreeMap<u32, SimTime> = BTreeMap::new();
    let mut paused: BTreeMap<u32, SimTime> = BTreeMap::new();
    let mut split: Option<(SimTime, Vec<u32>)> = None;
    let close = |out: &mut Vec<FaultWindow>, kind, start, end, nodes| {
        out.push(FaultWindow {
            kind,
            start,
            end,
            nodes,
        });
    };
    for f in faults {
        let nodes: Vec<u32> = f.nodes.iter().map(|n| n.0).collect();
        match f.kind.as_str() {
            "crash" => {
                for n in nodes {
                    down.entry(n).or_insert(f.at);
                }
            }
            "restart" => {
                for n in nodes {
                    if let Some(s) = down.remove(&n) {
                        close(&mut out, ShadeKind::Crash, s, f.at, vec![n]);
                    }
                }
            }
            "pause" => {
                for n in nodes {
                    paused.entry(n).or_insert(f.at);
                }
            }
            "resume" => {
                for n in nodes {
                    if let Some(s) = paused.remove(&n) {
                        close(&mut out, ShadeKind::Pause, s, f.at, vec![n]);
                    }
                }
            }
            "partition" | "isolate" | "cut" => match &mut split {
                Some((_, ns)) => ns.extend(nodes),
                None => split = Some((f.at, nodes)),
            },
            "heal" => {
                if let Some((s, ns)) = split.take() {
                    close(&mut out, ShadeKind::Partition, s, f.at, ns);
                }
            }
            _ => {}
        }
    }
    for (n, s) in down {
        close(&mut out, ShadeKind::Crash, s, end, vec![n]);
    }
    for (n, s) in paused {
        close(&mut out, ShadeKind::Pause, s, end, vec![n]);
    }
    if let Some((s, ns)) = split {
        close(&mut out, ShadeKind::Partition, s, end, ns);
    }
    out.sort_by_key(|w| (w.start, w.kind));
    out
}

/// Shades `windows` across the whole height `y0..y1` of a chart whose x axis is virtual
/// time in seconds, one legend entry per kind present.
pub(crate) fn draw<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    windows: &[FaultWindow],
    y0: Y::ValueType,
    y1: Y::ValueType,
) -> DrawResult
where
    DB: DrawingBackend,
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    for kind in [ShadeKind::Crash, ShadeKind::Partition, ShadeKind::Pause] {
        let of_kind: Vec<&FaultWindow> = windows.iter().filter(|w| w.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let c = kind.color();
        chart
            .draw_series(of_kind.iter().map(|w| {
                Rectangle::new(
                    [(secs(w.start), y0.clone()), (secs(w.end), y1.clone())],
                    c.mix(0.15).filled(),
                )
            }))
            .or_err()?
            .label(kind.label())
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.mix(0.35).filled())
            });
    }
    Ok(())
}

/// Virtual time in seconds, for time axes.
pub(crate) fn secs(t: SimTime) -> f64 {
    t.as_nanos() as f64 / 1e9
}
