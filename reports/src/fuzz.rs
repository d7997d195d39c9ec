//! A fuzz campaign: seeds by verdict and by end reason, and events per seed.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::bars::{Bars, Series};
use crate::figure::{self, DrawResult, Figure, OrErr, Plot, color, render, text};
use crate::latency::fmt_num;
use crate::{FuzzLine, ReportError, font};

/// Most seeds the events-per-seed scatter draws.
const MAX_POINTS: usize = 5000;

fn counts(lines: &[FuzzLine], key: impl Fn(&FuzzLine) -> String) -> (Vec<String>, Vec<f64>) {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for l in lines {
        *m.entry(key(l)).or_default() += 1;
    }
    (
        m.keys().map(|k| k.to_string()).collect(),
        m.values().map(|v| *v as f64).collect(),
    )
}

/// A violation by its check; an expected one marked so, since it is a pass.
fn verdict_label(l: &FuzzLine) -> String {
    match (&l.violation, l.verdict.as_str()) {
        (Some(v), "violation") => v.clone(),
        (Some(v), "expected") => format!("{v} (expected)"),
        (Some(v), "missed") => format!("{v} missed"),
        _ => l.verdict.clone(),
    }
}

/// Writes the fuzz figures into `dir`.
pub fn figures(lines: &[FuzzLine], dir: &Path) -> Result<Vec<Figure>, ReportError> {
    let mut out = Vec::new();
    for (name, title, caption, key) in [
        (
            "fuzz-verdicts",
            "Seeds by verdict",
            "How many seeds passed, and which check each violation failed.",
            verdict_label as fn(&FuzzLine) -> String,
        ),
        (
            "fuzz-end-reasons",
            "Seeds by end reason",
            "Why each seed's run ended.",
            |l: &FuzzLine| l.end_reason.clone(),
        ),
    ] {
        let (cats, vals) = counts(lines, key);
        let bars = Bars {
            title: format!("{title} ({} seeds)", lines.len()),
            x_desc: "seeds".into(),
            categories: cats,
            series: vec![Series {
                label: "seeds".into(),
                color: color(0),
                values: vals,
            }],
            marks: None,
        };
        out.push(render(
            dir,
            Figure {
                name: name.into(),
                title: title.into(),
                caption: caption.into(),
                size: bars.size(),
            },
            &bars,
        )?);
    }
    out.push(render(
        dir,
        Figure {
            name: "fuzz-events".into(),
            title: "Events per seed".into(),
            caption: "Processed events of each seed's run, coloured by verdict.".into(),
            size: (1000, 480),
        },
        &Events { lines },
    )?);
    Ok(out)
}

struct Events<'a> {
    lines: &'a [FuzzLine],
}

impl Plot for Events<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        const TITLE: &str = "Events per seed";
        if self.lines.is_empty() {
            return figure::empty(root, TITLE, "no seeds");
        }
        let lo = self.lines.iter().map(|l| l.seed).min().unwrap_or(0) as f64;
        let hi = self.lines.iter().map(|l| l.seed).max().unwrap_or(0) as f64;
        let top = self
            .lines
            .iter()
            .map(|l| l.events)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, figure::title())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(85)
            .build_cartesian_2d(lo - 0.5..hi + 0.5, 0.0..top * 1.15)
            .or_err()?;
        chart
            .configure_mesh()
            .x_desc("seed")
            .y_desc("processed events")
            .axis_desc_style(text(font::AXIS))
            .label_style(text(font::LABEL))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .or_err()?;
        let mut groups: BTreeMap<String, Vec<&FuzzLine>> = BTreeMap::new();
        for l in self.lines {
            groups.entry(verdict_label(l)).or_default().push(l);
        }
        let step = self.lines.len().div_ceil(MAX_POINTS).max(1);
        for (i, (verdict, ls)) in groups.iter().enumerate() {
            // Failures are few and what a reader looks for: never thin them.
            let passed = ls.first().is_some_and(|l| l.passed());
            let c = if verdict == "pass" {
                color(0)
            } else {
                color(5 + i)
            };
            let thin = if passed { step } else { 1 };
            chart
                .draw_series(
                    ls.iter()
                        .step_by(thin)
                        .map(|l| Circle::new((l.seed as f64, l.events as f64), 3, c.filled())),
                )
                .or_err()?
                .label(format!("{verdict} ({})", ls.len()))
                .legend(move |(x, y)| Circle::new((x + 7, y), 4, c.filled()));
        }
        figure::legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
