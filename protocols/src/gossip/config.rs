//! Gossip's settings, as a scenario file gives them.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

/// Who moves rumors in a contact (Demers et al. 1987, §1.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum Mode {
    /// Nodes with hot rumors send them to the peers they pick.
    Push,
    /// Every node asks the peers it picks for their hot rumors.
    Pull,
    /// Both in one exchange.
    #[default]
    PushPull,
}

/// When a node stops spreading a rumor (Demers et al. 1987, §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum StopRule {
    /// Spread forever (for the rounds-to-coverage measurements, and Pittel's bound).
    Never,
    /// Stop after `k` contacts: with `feedback`, only contacts whose peer already knew the
    /// rumor count; without, every contact does (blind).
    Counter {
        /// Contacts before stopping.
        k: u32,
        /// Count only unnecessary contacts, as the peer reports them.
        feedback: bool,
    },
    /// Stop with probability 1/k after each contact (feedback: each unnecessary one).
    Coin {
        /// The inverse of the stopping probability.
        k: u32,
        /// Toss only after unnecessary contacts.
        feedback: bool,
    },
}

/// Rumor mongering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct RumorConfig {
    /// Push, pull or push-pull.
    pub mode: Mode,
    /// Peers contacted per period.
    pub fanout: u32,
    /// The gossip period: one round.
    pub period: SimDuration,
    /// Each node gossips at a uniformly drawn offset of at most this into each period.
    /// Keep it (plus the link latency) well under the period for rounds to be well
    /// defined, and under the link latency for a rumor never to travel two hops in one
    /// round.
    pub jitter: SimDuration,
    /// When to stop spreading a rumor.
    pub stop: StopRule,
}

impl Default for RumorConfig {
    fn default() -> Self {
        RumorConfig {
            mode: Mode::PushPull,
            fanout: 1,
            period: SimDuration::from_millis(100),
            jitter: SimDuration::from_millis(5),
            stop: StopRule::Counter {
                k: 2,
                feedback: true,
            },
        }
    }
}

/// How replicas compare their state in anti-entropy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum Digest {
    /// Merkle trees with `2^depth` leaves over ranges of the hashed key space.
    Merkle {
        /// Levels below the root (at most 20).
        depth: u32,
    },
    /// Send the whole state (the baseline).
    Full,
}

/// Anti-entropy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct AntiEntropyConfig {
    /// Each node starts one exchange with a random peer per period.
    pub period: SimDuration,
    /// Each exchange starts at a uniformly drawn offset of at most this into its period.
    pub jitter: SimDuration,
    /// How state is compared.
    pub digest: Digest,
}

impl Default for AntiEntropyConfig {
    fn default() -> Self {
        AntiEntropyConfig {
            period: SimDuration::from_millis(500),
            jitter: SimDuration::from_millis(250),
            digest: Digest::Merkle { depth: 6 },
        }
    }
}

crate::bug_switches! {
    /// Gossip's deliberate mistakes (DESIGN.md, "Bug switches"); all off by default.
    pub struct GossipBugs {
        /// Deletes forget the key instead of keeping a tombstone, so anti-entropy brings
        /// an older value back.
        no_tombstones => "no_resurrection / convergence",
        /// Anti-entropy never runs, whatever the settings say, so updates that rumors
        /// miss (dead rumors, loss, crashes) never arrive.
        rumor_only => "coverage / convergence",
    }
}

/// Gossip's settings, the same on every node. Rumor mongering, anti-entropy, or both
/// (Demers' recommendation: rumors for speed, anti-entropy as the backstop).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct GossipConfig {
    /// Rumor mongering, if on.
    pub rumor: Option<RumorConfig>,
    /// Anti-entropy, if on.
    pub anti_entropy: Option<AntiEntropyConfig>,
    /// Deliberate mistakes.
    pub bugs: GossipBugs,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            rumor: Some(RumorConfig::default()),
            anti_entropy: Some(AntiEntropyConfig::default()),
            bugs: GossipBugs::default(),
        }
    }
}

impl GossipConfig {
    /// Turns on bug switch `name`; `false` if there is no such switch.
    pub fn enable_bug(&mut self, name: &str) -> bool {
        crate::BugSet::enable(&mut self.bugs, name)
    }

    /// Anti-entropy as it actually runs (off under `rumor_only`).
    pub fn active_anti_entropy(&self) -> Option<&AntiEntropyConfig> {
        if self.bugs.rumor_only {
            None
        } else {
            self.anti_entropy.as_ref()
        }
    }

    /// The depth of the Merkle tree every replica keeps (0 when not comparing trees).
    pub fn tree_depth(&self) -> u32 {
        match self.anti_entropy.as_ref().map(|a| a.digest) {
            Some(Digest::Merkle { depth }) => depth.min(super::merkle::MAX_DEPTH),
            _ => 0,
        }
    }
}
