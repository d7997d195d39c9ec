//! faultline's protocols: each a sans-IO state machine on sim-core's `Protocol` interface,
//! shipped with its invariants and its bug switches.

use sim_core::Protocol;
use sim_core::invariant::Invariant;

pub mod commit;
pub mod echo;
pub mod gossip;
pub mod kv;
pub mod raft;

/// The workload family a protocol serves (DESIGN.md, "Protocols").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// A replicated key-value store: clients send get/put/cas/append; checked for
    /// linearizability.
    KeyValue,
    /// Single-decree consensus on proposed values.
    Consensus,
    /// Atomic commitment of transactions.
    AtomicCommit,
    /// Dissemination of updates (gossip, anti-entropy).
    Dissemination,
    /// No client workload (engine exercises such as echo).
    None,
}

/// A deliberate, named mistake a protocol can be switched into (DESIGN.md, "Bug
/// switches"): the fuzzer must find each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugSwitch {
    /// The name used in scenario files and `--bug`.
    pub name: &'static str,
    /// What it breaks, and which check should catch it.
    pub description: &'static str,
}

/// What the scenario layer needs to know of a protocol beyond the engine interface.
pub trait ProtocolSpec: Protocol {
    /// The name used in scenario files ("Raft").
    const NAME: &'static str;
    /// The workload family it serves.
    const FAMILY: Family;
    /// Its bug switches.
    const BUGS: &'static [BugSwitch];
    /// Turns on the bug switch `name` (one of [`ProtocolSpec::BUGS`]); `false` if unknown.
    fn enable_bug(config: &mut Self::Config, name: &str) -> bool;
    /// The invariants checked after every event of a run.
    fn invariants(config: &Self::Config) -> Vec<Box<dyn Invariant<Self>>>;
}
