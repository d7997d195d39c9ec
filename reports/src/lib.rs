//! faultline's reports: figures and one HTML page drawn from run results.
//!
//! Reports never see a live simulation: they read [`RunData`] (one run), [`FuzzLine`]s (a
//! fuzz campaign's results file) or [`CompareRun`]s (several runs side by side), all plain
//! data that can be saved as JSON and read back. Every figure is written twice, as SVG
//! (for the page) and as PNG (for pasting elsewhere); text in both uses an embedded font,
//! so nothing depends on the fonts of the machine.

mod bars;
pub mod compare;
pub mod counterexample;
pub mod data;
pub mod extra;
mod figure;
mod font;
pub mod fuzz;
pub mod junit;
pub mod latency;
pub mod messages;
pub mod page;
pub mod shading;
pub mod spacetime;
pub mod throughput;

use std::path::{Path, PathBuf};

pub use data::{CheckRow, CompareRun, CounterexampleData, FuzzLine, RunData};
pub use figure::Figure;

/// A horizontal grouped bar chart of one's own making: `categories` down the side, one
/// bar per series (legend label, one value per category) in each, written into `dir` as
/// `meta.name`.svg and .png (`meta.size` is worked out here). For figures outside the
/// run, fuzz and compare reports, such as a benchmark's sweep.
pub fn write_bars(
    dir: &Path,
    mut meta: Figure,
    x_desc: &str,
    categories: Vec<String>,
    series: Vec<(String, Vec<f64>)>,
) -> Result<Figure, ReportError> {
    create_dir(dir)?;
    let bars = bars::Bars {
        title: meta.title.clone(),
        x_desc: x_desc.to_string(),
        categories,
        series: series
            .into_iter()
            .enumerate()
            .map(|(i, (label, values))| bars::Series {
                label,
                color: figure::color(i),
                values,
            })
            .collect(),
        marks: None,
    };
    meta.size = bars.size();
    figure::render(dir, meta, &bars)
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Plotting failed.
    #[error("drawing {figure}: {message}")]
    Draw {
        /// The figure's name.
        figure: String,
        /// What the plotting library said.
        message: String,
    },
    /// The input could not be read.
    #[error("{0}")]
    Input(String),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))
}

/// Writes the figures of one run and `dir/index.html`; returns every file written.
pub fn write_run_report(run: &RunData, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    create_dir(dir)?;
    let mut figures = Vec::new();
    figures.extend(latency::figures(run, dir)?);
    figures.extend(throughput::figures(run, dir)?);
    figures.extend(messages::figures(run, dir)?);
    figures.extend(spacetime::figures(run, dir)?);
    figures.extend(counterexample::figures(run, dir)?);
    figures.extend(extra::figures(run, dir)?);
    let mut files = page::write_run_page(run, &figures, dir)?;
    for f in &figures {
        files.push(f.svg_path(dir));
        files.push(f.png_path(dir));
    }
    Ok(files)
}

/// Writes the figures of a fuzz campaign (its results lines) and `dir/index.html`.
pub fn write_fuzz_report(lines: &[FuzzLine], dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    create_dir(dir)?;
    let figures = fuzz::figures(lines, dir)?;
    let mut files = page::write_fuzz_page(lines, &figures, dir)?;
    for f in &figures {
        files.push(f.svg_path(dir));
        files.push(f.png_path(dir));
    }
    Ok(files)
}

/// Writes figures comparing several runs (latency percentiles, messages per operation)
/// and `dir/index.html`.
pub fn write_compare_report(runs: &[CompareRun], dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    create_dir(dir)?;
    let figures = compare::figures(runs, dir)?;
    let mut files = page::write_compare_page(runs, &figures, dir)?;
    for f in &figures {
        files.push(f.svg_path(dir));
        files.push(f.png_path(dir));
    }
    Ok(files)
}
