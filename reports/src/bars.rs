//! Horizontal grouped bar charts: one band per category, one bar per series in it. Long
//! category names (message kinds) read well on the left of horizontal bars.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::figure::{self, DrawResult, OrErr, Plot, text};
use crate::font;
use crate::latency::fmt_num;

/// One series of bars: a legend label, a colour and one value per category.
pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) color: RGBColor,
    pub(crate) values: Vec<f64>,
}

/// A horizontal grouped bar chart.
pub(crate) struct Bars {
    pub(crate) title: String,
    pub(crate) x_desc: String,
    pub(crate) categories: Vec<String>,
    pub(crate) series: Vec<Series>,
    /// A mark per category (e.g. an expected value), with its legend label.
    pub(crate) marks: Option<(String, Vec<f64>)>,
}

impl Bars {
    /// A pixel size that gives each band room for its bars.
    pub(crate) fn size(&self) -> (u32, u32) {
        let band = 14 + 18 * self.series.len() as u32;
        (900, (150 + band * self.categories.len() as u32).max(320))
    }
}

impl Plot for Bars {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let k = self.categories.len();
        if k == 0 || self.series.is_empty() {
            return figure::empty(root, &self.title, "nothing to show");
        }
        let mut max = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0f64, f64::max);
        if let Some((_, m)) = &self.marks {
            max = m
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(max, f64::max);
        }
        let max = if max > 0.0 { max } else { 1.0 };
        let longest = self
            .categories
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(4);
        let label_area = (longest as u32 * 9 + 24).clamp(60, 300);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, figure::title())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0.0..max * 1.5, 0.0..k as f64)
            .or_err()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(self.x_desc.as_str())
            .axis_desc_style(text(font::AXIS))
            .label_style(text(font::LABEL))
            .x_label_formatter(&|v| fmt_num(*v))
            .draw()
            .or_err()?;
        let s = self.series.len() as f64;
        let pad = 0.12;
        let sub = (1.0 - 2.0 * pad) / s;
        // Category i's band is [k-i-1, k-i]: the first category on top.
        let band_top = |i: usize| (k - i) as f64 - pad;
        for (j, ser) in self.series.iter().enumerate() {
            let c = ser.color;
            chart
                .draw_series(
                    ser.values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, v)| {
                            let y1 = band_top(i) - sub * j as f64;
                            Rectangle::new([(0.0, y1 - sub * 0.92), (*v, y1)], c.filled())
                        }),
                )
                .or_err()?
                .label(ser.label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        if let Some((label, marks)) = &self.marks {
            let black = RGBColor(0, 0, 0);
            chart
                .draw_series(marks.iter().enumerate().filter(|(_, m)| m.is_finite()).map(
                    |(i, m)| {
                        PathElement::new(
                            [
                                (*m, band_top(i) + pad * 0.6),
                                (*m, band_top(i) - 1.0 + pad * 1.4),
                            ],
                            black.stroke_width(3),
                        )
                    },
                ))
                .or_err()?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x + 7, y - 7), (x + 7, y + 7)], black.stroke_width(3))
                });
        }
        // Category names left of the plot, value labels right of each bar.
        let name_style = text(font::LABEL).pos(Pos::new(HPos::Right, VPos::Center));
        let value_style = text(font::SMALL).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, name) in self.categories.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(0.0, (k - i) as f64 - 0.5));
            root.draw(&Text::new(name.clone(), (px - 8, py), name_style.clone()))
                .or_err()?;
            for (j, ser) in self.series.iter().enumerate() {
                // A series with no value here (NaN) gets neither bar nor label.
                let v = ser.values.get(i).copied().unwrap_or(f64::NAN);
                if !v.is_finite() {
                    continue;
                }
                let yc = band_top(i) - sub * (j as f64 + 0.46);
                let (vx, vy) = chart.backend_coord(&(v, yc));
                root.draw(&Text::new(fmt_num(v), (vx + 4, vy), value_style.clone()))
                    .or_err()?;
            }
        }
        // The legend goes in the right-hand corner the shorter bars leave free (the
        // first categories are drawn at the top).
        let half = k.div_ceil(2);
        let longest = |range: std::ops::Range<usize>| {
            self.series
                .iter()
                .flat_map(|s| s.values.get(range.clone()).unwrap_or(&[]).iter().copied())
                .filter(|v| v.is_finite())
                .fold(0.0f64, f64::max)
        };
        let corner = if longest(half..k) > longest(0..half) {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        };
        figure::legend(&mut chart, corner)
    }
}
