//! faultline's protocols: each a sans-IO state machine on sim-core's `Protocol` interface,
//! shipped with its invariants and its bug switches.

pub mod byzantine;
pub mod commit;
pub mod consensus;
pub mod echo;
pub mod epaxos;
pub mod gossip;
pub mod kv;
pub mod multipaxos;
pub mod paxos;
pub mod pbft;
pub mod raft;

pub mod spec;
pub mod timeouts;

pub use spec::{BadSetting, BugSet, BugSwitch, Family, NoBugs, ProtocolSpec};
