//! sim-core: faultline's deterministic discrete-event engine.
//!
//! It knows no protocol and no file format. A run is a [`sim::Simulation`] of nodes running
//! one [`protocol::Protocol`], a seeded [`network`], a fault schedule and clients; it yields
//! a [`sim::RunResult`] with the client [`history`], a trace fingerprint and metrics.
//! Same seed, same configuration, same binary: the same run, bit for bit.

pub mod disk;
pub mod history;
pub mod queue;
pub mod rng;
pub mod time;

pub use time::{SimDuration, SimTime};
