//! faultline's scenarios: the RON format, the runner, fuzzing and the command line.

pub mod checked;
pub mod cli;
pub mod dissemination;
pub mod format;
pub mod fuzz;
pub mod history_formats;
pub mod load;
pub mod model;
pub mod nemesis;
pub mod registry;
pub mod report_data;
pub mod runner;
pub mod shrink;
