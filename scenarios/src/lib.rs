//! faultline's scenarios: the RON format, the runner, fuzzing and the command line.
//!
//! It is also the library that brings a protocol from another crate into faultline: implement
//! [`sim_core::Protocol`] and [`ProtocolSpec`], register it with [`Registry::with`], and hand
//! the registry to [`faultline_main`] for the whole command line, or load and fuzz scenarios
//! through [`Registry::load`] and [`fuzz::Campaign`] from `cargo test`.

pub mod byzantine;
pub mod checked;
pub mod cli;
pub mod explore;
pub mod family;
pub mod format;
pub mod fuzz;
pub mod groups;
pub mod history_formats;
pub mod liveness;
pub mod load;
pub mod model;
pub mod nemesis;
pub mod regions;
pub mod registry;
pub mod report_data;
pub mod runner;
pub mod shrink;
pub mod sweeps;
pub mod twins;

pub use protocols::{BugSet, BugSwitch, Family, NoBugs, ProtocolSpec, bug_switches};
pub use registry::Registry;
pub use {protocols, sim_core};

/// The `faultline` command line over the protocols of `registry`: a crate with protocols
/// of its own makes its `main` this one call (the built-in binary passes
/// [`Registry::builtin`]). Reads the process's arguments; returns the exit status.
pub fn faultline_main(registry: Registry) -> std::process::ExitCode {
    if registry.install().is_err() {
        eprintln!(
            "error: the protocol registry was fixed before faultline_main (a scenario was read or the protocols were listed first); call faultline_main first"
        );
        return std::process::ExitCode::from(cli::exit::BAD_INPUT);
    }
    cli::main_with_args(std::env::args_os())
}
