//! The one font every figure uses, embedded so that no system font is needed.

use std::sync::Once;

/// The family name figures ask for. SVG files name it and let the browser pick its own
/// sans-serif; PNG files are drawn with the embedded DejaVu Sans registered under it.
pub(crate) const FAMILY: &str = "sans-serif";

/// Title size, px.
pub(crate) const TITLE: u32 = 22;
/// Axis description size, px.
pub(crate) const AXIS: u32 = 16;
/// Tick label and legend size, px.
pub(crate) const LABEL: u32 = 14;
/// Annotations inside a plot, px.
pub(crate) const SMALL: u32 = 12;

static REGISTER: Once = Once::new();

/// Registers the embedded font with the plotting library (once per process).
pub(crate) fn ensure() {
    REGISTER.call_once(|| {
        use plotters::style::{FontStyle, register_font};
        // Registration only fails on bytes that are not a font; these are fixed at build
        // time and parsed by the tests, so there is nothing useful to report here.
        let _ = register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold());
    });
}
