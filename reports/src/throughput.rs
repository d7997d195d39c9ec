//! Throughput over virtual time: completed operations per window, faults shaded.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use sim_core::history::Outcome;

use crate::figure::{self, DrawResult, Figure, OrErr, Plot, color, render, text};
use crate::latency::fmt_num;
use crate::shading::{self, FaultWindow, secs};
use crate::{ReportError, RunData, font};

/// At most this many windows across a run, so the line stays readable.
const MAX_WINDOWS: u64 = 200;

/// The window width (ns): the smallest of 1, 2, 5 × 10^k ms giving at most `MAX_WINDOWS`.
pub fn window_ns(end_ns: u64) -> u64 {
    let mut unit = 1_000_000u64;
    loop {
        for m in [1, 2, 5] {
            let w = unit * m;
            if end_ns / w < MAX_WINDOWS {
                return w;
            }
        }
        unit *= 10;
    }
}

/// Writes the throughput figure of `run` into `dir`.
pub fn figures(run: &RunData, dir: &Path) -> Result<Vec<Figure>, ReportError> {
    let end = run.end_time.as_nanos().max(1);
    let w = window_ns(end);
    let n = (end / w + 1) as usize;
    let mut ok = vec![0u64; n];
    let mut failed = vec![0u64; n];
    for o in run.history.ops() {
        if let Some(c) = o.completed {
            let b = ((c.as_nanos() / w) as usize).min(n - 1);
            match o.outcome {
                Outcome::Ok(_) => ok[b] += 1,
                Outcome::Failed => failed[b] += 1,
                _ => {}
            }
        }
    }
    let fig = render(
        dir,
        Figure {
            name: "throughput".into(),
            title: "Throughput over virtual time".into(),
            caption: format!(
                "Operations completed per {} window, as a rate; shaded: faults in force.",
                sim_core::SimDuration(w)
            ),
            size: (1100, 480),
        },
        &Throughput {
            window: w,
            ok,
            failed,
            windows: shading::windows(&run.faults, run.end_time),
            end_s: secs(run.end_time),
        },
    )?;
    Ok(vec![fig])
}

struct Throughput {
    window: u64,
    ok: Vec<u64>,
    failed: Vec<u64>,
    windows: Vec<FaultWindow>,
    end_s: f64,
}

impl Plot for Throughput {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        const TITLE: &str = "Throughput over virtual time";
        let per_s = 1e9 / self.window as f64;
        let max = self
            .ok
            .iter()
            .chain(&self.failed)
            .copied()
            .max()
            .unwrap_or(0);
        if max == 0 {
            return figure::empty(root, TITLE, "no client operation completed");
        }
        let y1 = max as f64 * per_s * 1.15;
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, figure::title())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..self.end_s.max(1e-6), 0.0..y1)
            .or_err()?;
        chart
            .configure_mesh()
            .x_desc("virtual time (s)")
            .y_desc("operations per second")
            .axis_desc_style(text(font::AXIS))
            .label_style(text(font::LABEL))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .or_err()?;
        shading::draw(&mut chart, &self.windows, 0.0, y1)?;
        let w_s = self.window as f64 / 1e9;
        let series = |v: &[u64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, n)| ((i as f64 + 0.5) * w_s, *n as f64 * per_s))
                .collect()
        };
        let c = color(0);
        chart
            .draw_series(
                AreaSeries::new(series(&self.ok), 0.0, c.mix(0.2)).border_style(c.stroke_width(2)),
            )
            .or_err()?
            .label("completed (ok)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        if self.failed.iter().any(|n| *n > 0) {
            let f = color(5);
            chart
                .draw_series(LineSeries::new(series(&self.failed), f.stroke_width(2)))
                .or_err()?
                .label("failed (system said no)")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], f.stroke_width(2)));
        }
        figure::legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
