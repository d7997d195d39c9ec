//! The protocols a scenario can name, and the one place that maps a name to its type.

use protocols::commit::{ThreePhaseCommit, ThreePhaseConfig, TwoPhaseCommit, TwoPhaseConfig};
use protocols::echo::{Echo, EchoConfig};
use protocols::gossip::{Gossip, GossipConfig};
use protocols::raft::{Raft, RaftConfig};
use protocols::{Family, ProtocolSpec};
use serde::{Deserialize, Serialize};

/// The protocol of a scenario with its settings: `Echo((max_hops: 10))`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProtocolChoice {
    /// Ping-pong between every pair of nodes (engine exercise; no clients).
    Echo(EchoConfig),
    /// Raft, serving a replicated key-value store.
    Raft(RaftConfig),
    /// Rumor mongering and anti-entropy (dissemination family).
    Gossip(GossipConfig),
    /// Two-phase commit (presumed abort), serving transactions.
    TwoPhaseCommit(TwoPhaseConfig),
    /// Three-phase commit with its termination protocol, serving transactions.
    ThreePhaseCommit(ThreePhaseConfig),
}

/// Static facts of a protocol, for validation and `faultline list`.
#[derive(Clone, Debug)]
pub struct ProtocolInfo {
    /// Its name in scenario files.
    pub name: &'static str,
    /// The workload family it serves.
    pub family: Family,
    /// Its bug switches.
    pub bugs: &'static [protocols::BugSwitch],
    /// Its default settings, as RON.
    pub defaults: String,
}

fn info<P: ProtocolSpec>() -> ProtocolInfo
where
    P::Config: Serialize,
{
    ProtocolInfo {
        name: P::NAME,
        family: P::FAMILY,
        bugs: P::BUGS,
        defaults: ron::ser::to_string(&P::Config::default()).unwrap_or_default(),
    }
}

/// Every protocol a scenario can use.
pub fn all() -> Vec<ProtocolInfo> {
    vec![
        info::<Echo>(),
        info::<Raft>(),
        info::<Gossip>(),
        info::<TwoPhaseCommit>(),
        info::<ThreePhaseCommit>(),
    ]
}

impl ProtocolChoice {
    /// The static facts of this protocol.
    pub fn info(&self) -> ProtocolInfo {
        match self {
            ProtocolChoice::Echo(_) => info::<Echo>(),
            ProtocolChoice::Raft(_) => info::<Raft>(),
            ProtocolChoice::Gossip(_) => info::<Gossip>(),
            ProtocolChoice::TwoPhaseCommit(_) => info::<TwoPhaseCommit>(),
            ProtocolChoice::ThreePhaseCommit(_) => info::<ThreePhaseCommit>(),
        }
    }
}

/// Calls `$body` with `$P` bound to the protocol type and `$cfg` to its settings — the
/// single dispatch from a scenario's protocol name to generic code.
#[macro_export]
macro_rules! with_protocol {
    ($choice:expr, |$P:ident, $cfg:ident| $body:expr) => {
        match $choice {
            $crate::registry::ProtocolChoice::Echo($cfg) => {
                type $P = protocols::echo::Echo;
                $body
            }
            $crate::registry::ProtocolChoice::Raft($cfg) => {
                type $P = protocols::raft::Raft;
                $body
            }
            $crate::registry::ProtocolChoice::Gossip($cfg) => {
                type $P = protocols::gossip::Gossip;
                $body
            }
            $crate::registry::ProtocolChoice::TwoPhaseCommit($cfg) => {
                type $P = protocols::commit::TwoPhaseCommit;
                $body
            }
            $crate::registry::ProtocolChoice::ThreePhaseCommit($cfg) => {
                type $P = protocols::commit::ThreePhaseCommit;
                $body
            }
        }
    };
}
