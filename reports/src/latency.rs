//! Client latency: a CDF per operation kind, a histogram, and latency over virtual time
//! with fault windows shaded.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use sim_core::history::Outcome;

use crate::data::quantile;
use crate::figure::{self, DrawResult, Figure, OrErr, Plot, color, render, text};
use crate::shading::{self, FaultWindow, secs};
use crate::{ReportError, RunData, font};

/// Most points a CDF line has; more add nothing a reader can see.
const CDF_POINTS: usize = 400;
/// Most points the scatter draws (besides each time bucket's slowest), so a
/// million-operation run draws in well under a second and its SVG stays small.
const SCATTER_POINTS: usize = 4000;
/// Time buckets whose slowest operation the scatter always keeps, so that spikes survive
/// the thinning.
const SCATTER_BUCKETS: usize = 400;
/// Histogram bins.
const BINS: usize = 50;

/// Completed operations as (invocation time ns, latency ns), by kind.
type ByKind = BTreeMap<&'static str, Vec<(u64, u64)>>;

fn by_kind(run: &RunData) -> ByKind {
    let mut m: ByKind = BTreeMap::new();
    for o in run.history.ops() {
        if let (Outcome::Ok(_), Some(c)) = (&o.outcome, o.completed) {
            m.entry(o.op.kind()).or_default().push((
                o.invoked.as_nanos(),
                c.saturating_since(o.invoked).as_nanos(),
            ));
        }
    }
    m
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Writes the latency figures of `run` into `dir`.
pub fn figures(run: &RunData, dir: &Path) -> Result<Vec<Figure>, ReportError> {
    let kinds = by_kind(run);
    let all = run.sorted_latencies();
    let windows = shading::windows(&run.faults, run.end_time);
    let cdf = render(
        dir,
        Figure {
            name: "latency-cdf".into(),
            title: "Client latency: CDF".into(),
            caption: "Fraction of completed operations at or below each latency, per operation kind (logarithmic latency axis).".into(),
            size: (900, 500),
        },
        &Cdf { kinds: &kinds },
    )?;
    let hist = render(
        dir,
        Figure {
            name: "latency-histogram".into(),
            title: "Client latency: histogram".into(),
            caption: "Completed operations by latency; the last bar gathers everything above the 99th percentile.".into(),
            size: (900, 500),
        },
        &Histogram { sorted: &all },
    )?;
    let indeterminate: Vec<u64> = run
        .history
        .ops()
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Indeterminate | Outcome::Pending))
        .map(|o| o.invoked.as_nanos())
        .collect();
    let over = render(
        dir,
        Figure {
            name: "latency-over-time".into(),
            title: "Client latency over virtual time".into(),
            caption: format!(
                "Each completed operation at its invocation time (thinned to at most {SCATTER_POINTS} points plus the slowest of each of {SCATTER_BUCKETS} time slices); crosses on the top edge are operations whose outcome stayed unknown. Shaded: faults in force."
            ),
            size: (1100, 520),
        },
        &OverTime {
            kinds: &kinds,
            indeterminate: &indeterminate,
            windows: &windows,
            end_s: secs(run.end_time),
        },
    )?;
    Ok(vec![cdf, hist, over])
}

struct Cdf<'a> {
    kinds: &'a ByKind,
}

impl Plot for Cdf<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        const TITLE: &str = "Client latency CDF by operation kind";
        let mut lats: Vec<(&str, Vec<u64>)> = self
            .kinds
            .iter()
            .map(|(k, v)| {
                let mut l: Vec<u64> = v.iter().map(|p| p.1).collect();
                l.sort_unstable();
                (*k, l)
            })
            .collect();
        lats.retain(|(_, l)| !l.is_empty());
        if lats.is_empty() {
            return figure::empty(root, TITLE, "no completed client operations");
        }
        let lo = lats.iter().map(|(_, l)| l[0]).min().unwrap_or(1).max(1_000);
        let hi = lats
            .iter()
            .map(|(_, l)| l[l.len() - 1])
            .max()
            .unwrap_or(1)
            .max(lo * 2);
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, figure::title())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(65)
            .build_cartesian_2d((ms(lo) * 0.9..ms(hi) * 1.1).log_scale(), 0.0..1.0)
            .or_err()?;
        chart
            .configure_mesh()
            .x_desc("latency (ms, virtual time, log scale)")
            .y_desc("fraction of operations ≤ latency")
            .axis_desc_style(text(font::AXIS))
            .label_style(text(font::LABEL))
            .x_label_formatter(&|v| fmt_num(*v))
            .draw()
            .or_err()?;
        for (i, (kind, l)) in lats.iter().enumerate() {
            let n = l.len();
            let step = n.div_ceil(CDF_POINTS).max(1);
            let mut pts: Vec<(f64, f64)> = (0..n)
                .step_by(step)
                .map(|j| (ms(l[j]), (j + 1) as f64 / n as f64))
                .collect();
            pts.push((ms(l[n - 1]), 1.0));
            let c = color(i);
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .or_err()?
                .label(format!("{kind} ({n} ops)"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        figure::legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

struct Histogram<'a> {
    sorted: &'a [u64],
}

impl Plot for Histogram<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        const TITLE: &str = "Client latency histogram";
        if self.sorted.is_empty() {
            return figure::empty(root, TITLE, "no completed client operations");
        }
        let top = quantile(self.sorted, 0.99).max(1);
        let width = top.div_ceil(BINS as u64).max(1);
        // BINS regular bins up to the 99th percentile, then one overflow bin: timeouts
        // would otherwise squeeze every typical latency into the first bar or two.
        let mut counts = vec![0u64; BINS + 1];
        for &v in self.sorted {
            let b = ((v / width) as usize).min(BINS);
            counts[b] += 1;
        }
        let max = counts.iter().copied().max().unwrap_or(1);
        let x_hi = ms(width * (BINS as u64 + 1));
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, figure::title())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .build_cartesian_2d(0.0..x_hi, 0.0..max as f64 * 1.1)
            .or_err()?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "latency (ms, virtual time; bins of {})",
                fmt_num(ms(width))
            ))
            .y_desc("completed operations")
            .axis_desc_style(text(font::AXIS))
            .label_style(text(font::LABEL))
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .or_err()?;
        let c = color(0);
        chart
            .draw_series(
                counts[..BINS]
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(b, n)| {
                        let x0 = ms(width * b as u64);
                        Rectangle::new([(x0, 0.0), (x0 + ms(width), *n as f64)], c.filled())
                    }),
            )
            .or_err()?
            .label(format!("{} operations", self.sorted.len()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        let over = counts[BINS];
        if over > 0 {
            let x0 = ms(width * BINS as u64);
            let o = color(5);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x0 + ms(width), over as f64)],
                    o.filled(),
                )))
                .or_err()?
                .label(format!(
                    "{over} above {} ms (max {} ms)",
                    fmt_num(ms(top)),
                    fmt_num(ms(self.sorted[self.sorted.len() - 1]))
                ))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], o.filled()));
        }
        figure::legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

struct OverTime<'a> {
    kinds: &'a ByKind,
    indeterminate: &'a [u64],
    windows: &'a [FaultWindow],
    end_s: f64,
}

/// Thins `pts` (sorted by time) to about `SCATTER_POINTS` shares of the total, keeping
/// the slowest point of each time slice of a run that ends at `end_ns`.
fn thin(pts: &[(u64, u64)], share: f64, end_ns: u64) -> Vec<(u64, u64)> {
    let quota = ((SCATTER_POINTS as f64 * share).ceil() as usize).max(1);
    if pts.len() <= quota {
        return pts.to_vec();
    }
    let step = pts.len().div_ceil(quota);
    let slice = (end_ns / SCATTER_BUCKETS as u64).max(1);
    let mut slowest: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut out = Vec::with_capacity(quota + SCATTER_BUCKETS);
    for (i, p) in pts.iter().enumerate() {
        if i % step == 0 {
            out.push(*p);
        }
        let e = slowest.entry(p.0 / slice).or_insert(*p);
        if p.1 > e.1 {
            *e = *p;
        }
    }
    out.extend(slowest.into_values());
    out
}

impl Plot for OverTime<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        const TITLE: &str = "Client latency over virtual time";
        let total: usize = self.kinds.values().map(Vec::len).sum();
        if total == 0 {
            return figure::empty(root, TITLE, "no completed client operations");
        }
        let lo = self
            .kinds
            .values()
            .flatten()
            .map(|p| p.1)
            .min()
            .unwrap_or(1)
            .max(1_000);
        let hi = self
            .kinds
            .values()
            .flatten()
            .map(|p| p.1)
            .max()
            .unwrap_or(1)
            .max(lo * 2);
        let (y0, y1) = (ms(lo) * 0.8, ms(hi) * 1.5);
        let end_ns = (self.end_s * 1e9) as u64;
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, figure::title())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..self.end_s.max(1e-6), (y0..y1).log_scale())
            .or_err()?;
        chart
            .configure_mesh()
            .x_desc("invocation time (s, virtual)")
            .y_desc("latency (ms, log scale)")
            .axis_desc_style(text(font::AXIS))
            .label_style(text(font::LABEL))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .or_err()?;
        shading::draw(&mut chart, self.windows, y0, y1)?;
        for (i, (kind, pts)) in self.kinds.iter().enumerate() {
            let c = color(i);
            let kept = thin(pts, pts.len() as f64 / total as f64, end_ns);
            chart
                .draw_series(
                    kept.iter().map(|&(t, l)| {
                        Circle::new((t as f64 / 1e9, ms(l)), 2, c.mix(0.7).filled())
                    }),
                )
                .or_err()?
                .label(format!("{kind} ({} ops)", pts.len()))
                .legend(move |(x, y)| Circle::new((x + 7, y), 4, c.filled()));
        }
        if !self.indeterminate.is_empty() {
            let red = RGBColor(200, 0, 0);
            let step = self.indeterminate.len().div_ceil(SCATTER_POINTS).max(1);
            chart
                .draw_series(
                    self.indeterminate
                        .iter()
                        .step_by(step)
                        .map(|&t| Cross::new((t as f64 / 1e9, y1 / 1.15), 5, red.stroke_width(2))),
                )
                .or_err()?
                .label(format!(
                    "outcome unknown ({} ops)",
                    self.indeterminate.len()
                ))
                .legend(move |(x, y)| Cross::new((x + 7, y), 5, red.stroke_width(2)));
        }
        figure::legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// A number for an axis: few digits, no trailing noise.
pub(crate) fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        trim(format!("{v:.1}"))
    } else if a >= 1.0 {
        trim(format!("{v:.2}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
