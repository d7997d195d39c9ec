//! Figures that a protocol's family (or its kind, such as leader-based) adds to a run's
//! report, given as data: lanes of time spans (who led when, who was blocked when) or
//! lines over an axis (coverage by round). The report draws every family's the same way,
//! so a new family adds figures without touching this crate.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use crate::figure::{self, DrawResult, Figure, OrErr, Plot, color, render, text};
use crate::latency::fmt_num;
use crate::{ReportError, RunData, font};

/// One added figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtraFigure {
    /// File name (without extension) and anchor on the page.
    pub name: String,
    /// Title, above the figure and on the page.
    pub title: String,
    /// What it shows, under it on the page.
    pub caption: String,
    /// The data.
    pub plot: ExtraPlot,
}

/// What an added figure draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExtraPlot {
    /// Spans of virtual time on named lanes.
    Spans {
        /// The lanes, top to bottom.
        lanes: Vec<String>,
        /// The spans.
        spans: Vec<Span>,
        /// The run's end, ms: the time axis ends there.
        end_ms: f64,
    },
    /// Lines over a numeric axis.
    Lines {
        /// What x is.
        x_desc: String,
        /// What y is.
        y_desc: String,
        /// The lines.
        series: Vec<Line>,
    },
}

/// A span of time on a lane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// The lane's index.
    pub lane: usize,
    /// Start, ms.
    pub start_ms: f64,
    /// End, ms.
    pub end_ms: f64,
    /// Whether it was still open when the run ended (drawn fainter).
    pub open: bool,
    /// A short label, drawn inside the span where it fits.
    pub label: String,
    /// The colour group (spans of one group share a colour and a legend entry).
    pub group: String,
}

/// One line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Its legend.
    pub label: String,
    /// Points, by x.
    pub points: Vec<(f64, f64)>,
}

/// Draws every added figure of `run` into `dir`.
pub fn figures(run: &RunData, dir: &Path) -> Result<Vec<Figure>, ReportError> {
    run.extra_figures
        .iter()
        .map(|f| {
            let size = match &f.plot {
                ExtraPlot::Spans { lanes, .. } => (1100, 150 + 34 * lanes.len().max(1) as u32),
                ExtraPlot::Lines { .. } => (1100, 480),
            };
            render(
                dir,
                Figure {
                    name: f.name.clone(),
                    title: f.title.clone(),
                    caption: f.caption.clone(),
                    size,
                },
                f,
            )
        })
        .collect()
}

impl Plot for ExtraFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        match &self.plot {
            ExtraPlot::Spans {
                lanes,
                spans,
                end_ms,
            } => draw_spans(root, &self.title, lanes, spans, *end_ms),
            ExtraPlot::Lines {
                x_desc,
                y_desc,
                series,
            } => draw_lines(root, &self.title, x_desc, y_desc, series),
        }
    }
}

/// The groups of `spans`, in order of first appearance.
fn groups<'a>(spans: &[&'a Span]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for s in spans {
        if !out.contains(&s.group.as_str()) {
            out.push(&s.group);
        }
    }
    out
}

fn draw_spans<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    lanes: &[String],
    spans: &[Span],
    end_ms: f64,
) -> DrawResult {
    if spans.is_empty() || lanes.is_empty() {
        return figure::empty(root, title, "nothing happened on any lane");
    }
    let x1 = end_ms.max(spans.iter().map(|s| s.end_ms).fold(0.0, f64::max)) * 1.02 + 1e-3;
    let n = lanes.len();
    let mut chart = ChartBuilder::on(root)
        .caption(title, figure::title())
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(110)
        // One lane more than given: the legend's, so it hides no span.
        .build_cartesian_2d(0.0..x1, -0.5..n as f64 + 0.5)
        .or_err()?;
    // Lane 0 at the top.
    figure::lanes_mesh(&mut chart, n, &|i| {
        (i < n).then(|| lanes[n - 1 - i].clone())
    })?;
    let y_of = |lane: usize| (n - 1 - lane.min(n - 1)) as f64;
    // A span on a lane that does not exist is the caller's mistake: left out, not drawn
    // on another lane.
    let spans: Vec<&Span> = spans.iter().filter(|s| s.lane < n).collect();
    let spans = &spans[..];
    for (g, name) in groups(spans).into_iter().enumerate() {
        let c = color(g);
        let mine: Vec<&Span> = spans.iter().copied().filter(|s| s.group == name).collect();
        chart
            .draw_series(mine.iter().map(|s| {
                let y = y_of(s.lane);
                let fill = if s.open { c.mix(0.3) } else { c.mix(0.7) };
                Rectangle::new([(s.start_ms, y - 0.3), (s.end_ms, y + 0.3)], fill.filled())
            }))
            .or_err()?
            .label(name.to_string())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()));
    }
    // A label goes inside its span only when the span is wide enough to hold it and no
    // label drawn before it on the lane reaches it.
    let (w, _) = root.dim_in_pixel();
    let ms_per_px = x1 / f64::from(w.saturating_sub(140).max(1));
    let style = text(font::LABEL).pos(Pos::new(HPos::Left, VPos::Center));
    let mut order: Vec<&Span> = spans.to_vec();
    order.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    let mut lane_free = vec![f64::NEG_INFINITY; n];
    let mut labels = Vec::new();
    for s in order {
        let width = (s.label.chars().count() as f64 * 8.5 + 8.0) * ms_per_px;
        let lane = s.lane;
        if s.end_ms - s.start_ms > width && s.start_ms >= lane_free[lane] {
            lane_free[lane] = s.start_ms + width;
            labels.push(Text::new(
                s.label.clone(),
                (s.start_ms + 4.0 * ms_per_px, y_of(s.lane)),
                style.clone(),
            ));
        }
    }
    chart.draw_series(labels).or_err()?;
    figure::legend(&mut chart, SeriesLabelPosition::UpperRight)
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Line],
) -> DrawResult {
    let points = || series.iter().flat_map(|l| l.points.iter());
    if points().next().is_none() {
        return figure::empty(root, title, "no points");
    }
    let (x0, x1) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    let y1 = points().fold(0.0f64, |m, p| m.max(p.1)) * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(title, figure::title())
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1.max(x0 + 1e-9), 0.0..y1.max(1e-9))
        .or_err()?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(text(font::AXIS))
        .label_style(text(font::LABEL))
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()
        .or_err()?;
    for (i, l) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(l.points.iter().copied(), c.stroke_width(2)))
            .or_err()?
            .label(l.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    figure::legend(&mut chart, SeriesLabelPosition::LowerRight)
}
