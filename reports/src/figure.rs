//! Drawing one figure to both an SVG and a PNG file.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use crate::{ReportError, font, io_err};

/// A figure that was written: `NAME.svg` and `NAME.png` in the report folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// File stem ("latency-cdf").
    pub name: String,
    /// Heading on the page.
    pub title: String,
    /// What a reader should know to read it.
    pub caption: String,
    /// Pixel size (the PNG's; the SVG's view box).
    pub size: (u32, u32),
}

impl Figure {
    /// The SVG file in `dir`.
    pub fn svg_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.svg", self.name))
    }
    /// The PNG file in `dir`.
    pub fn png_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.png", self.name))
    }
}

/// What plotting code returns; the message of the plotting library's error.
pub(crate) type DrawResult = Result<(), String>;

/// Something that draws itself on any plotters backend.
pub(crate) trait Plot {
    /// Draws on `root`, already cleared to white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Turns the plotting library's backend-specific errors into their message.
pub(crate) trait OrErr<T> {
    /// The value, or the error's message.
    fn or_err(self) -> Result<T, String>;
}

impl<T, E: Display> OrErr<T> for Result<T, E> {
    fn or_err(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Draws `plot` into `dir/NAME.svg` and `dir/NAME.png`.
pub(crate) fn render(dir: &Path, meta: Figure, plot: &impl Plot) -> Result<Figure, ReportError> {
    font::ensure();
    let draw_err = |message: String| ReportError::Draw {
        figure: meta.name.clone(),
        message,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, meta.size).into_drawing_area();
        root.fill(&WHITE).or_err().map_err(draw_err)?;
        plot.draw(&root).map_err(draw_err)?;
        root.present().or_err().map_err(draw_err)?;
    }
    let svg_path = meta.svg_path(dir);
    std::fs::write(&svg_path, svg).map_err(io_err(&svg_path))?;
    let png_path = meta.png_path(dir);
    {
        let root = BitMapBackend::new(&png_path, meta.size).into_drawing_area();
        root.fill(&WHITE).or_err().map_err(draw_err)?;
        plot.draw(&root).map_err(draw_err)?;
        root.present().or_err().map_err(draw_err)?;
    }
    Ok(meta)
}

/// A text style of the figures' font.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (font::FAMILY, size).into_font().into()
}

/// The title style.
pub(crate) fn title() -> TextStyle<'static> {
    (font::FAMILY, font::TITLE)
        .into_font()
        .style(FontStyle::Bold)
        .into()
}

/// Series colours, distinguishable with the common forms of colour blindness.
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

/// The `i`th series colour.
pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Draws the legend of `chart`'s labelled series at `position`, in the figures' style.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(text(font::LABEL))
        .draw()
        .or_err()
}

/// Draws the mesh of a chart of lanes over virtual time: lane `i` (its name from `name`)
/// at y = i, time in ms along x. Used by the timelines that put one client or one node
/// on each lane.
pub(crate) fn lanes_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    lanes: usize,
    name: &dyn Fn(usize) -> Option<String>,
) -> DrawResult {
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(lanes + 2)
        .y_label_formatter(&|y| {
            // Only whole values are lanes; the ticks between them stay blank.
            let i = y.round();
            if (y - i).abs() < 0.01 && i >= 0.0 {
                name(i as usize).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("virtual time (ms)")
        .axis_desc_style(text(font::AXIS))
        .label_style(text(font::LABEL))
        .x_label_formatter(&|v| crate::latency::fmt_num(*v))
        .draw()
        .or_err()
}

/// Draws "nothing to show" in the middle of an empty figure, with its title.
pub(crate) fn empty<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title_text: &str,
    message: &str,
) -> DrawResult {
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(title_text.to_string(), (20, 15), title()))
        .or_err()?;
    root.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2 - 150, h as i32 / 2),
        text(font::AXIS),
    ))
    .or_err()
}
