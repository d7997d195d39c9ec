//! sim-core: faultline's deterministic discrete-event engine.
//!
//! It knows no protocol and no file format. A run is a [`sim::Simulation`] of nodes running
//! one [`protocol::Protocol`], a seeded [`network`], a fault schedule and clients; it yields
//! a [`sim::RunResult`] with the client [`history`], a trace fingerprint and metrics.
//! Same seed, same configuration, same binary: the same run, bit for bit.

pub mod auth;
pub mod byzantine;
pub mod check;
pub mod client;
pub mod clock;
pub mod consensus_workload;
pub mod disk;
pub mod echo;
pub mod explore;
mod fabric;
pub mod fault;
pub mod fingerprint;
mod fixed;
pub mod history;
pub mod invariant;
pub mod metrics;
pub mod network;
pub mod protocol;
pub mod queue;
pub mod replica_workload;
pub mod rng;
pub mod schedule;
pub mod sim;
pub mod time;
pub mod trace;
pub mod txn_workload;

pub use fault::{Fault, LeaderAction, Target};
pub use fixed::Fixed;
pub use history::{History, Operation};
pub use protocol::{
    ClientRequest, Ctx, MembershipChange, Message, NodeId, Protocol, Reply, RequestId, TimerId,
};
pub use sim::{EndReason, LeaderChange, RunResult, SimConfig, Simulation};
pub use time::{SimDuration, SimTime};
