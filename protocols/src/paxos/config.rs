//! Basic Paxos's settings, as a scenario file gives them.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

crate::bug_switches! {
    /// Basic Paxos's deliberate mistakes (DESIGN.md, "Bug switches"); all off by default.
    pub struct PaxosBugs {
        /// Acceptors keep their promises and accepted proposals in memory only, so a
        /// restarted acceptor has forgotten them (Paxos Made Live, §5.1).
        acceptor_forgets_on_restart => "acceptor_monotonic / agreement",
        /// A proposer keeps its own value even when the promises report an accepted one.
        ignore_highest_accepted => "safe_proposal / agreement",
        /// Promises made to an earlier ballot of the proposer count toward the current
        /// ballot's majority, with the accepted values they reported back then.
        stale_promises_counted => "safe_proposal / agreement",
        /// A restarted proposer starts its rounds from scratch and reuses ballots it
        /// already used, with another value.
        ballot_reuse_after_restart => "one_value_per_ballot / agreement",
    }
}

/// Basic Paxos's settings, the same on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct PaxosConfig {
    /// The nodes that act as proposers (node ids); empty: every node. A client that asks
    /// another node is redirected to a proposer.
    pub proposers: Vec<u32>,
    /// The nodes that act as acceptors (node ids); empty: every node. A majority of them
    /// chooses a value. Every node is a learner.
    pub acceptors: Vec<u32>,
    /// How long a proposer waits for a majority in one phase before it tries again with
    /// a higher ballot (messages may be lost, acceptors down).
    pub phase_timeout: SimDuration,
    /// Wait a random while before retrying after a preemption, so that duelling
    /// proposers stop preempting each other. Off: retry at once, and duelling proposers
    /// can livelock.
    pub backoff: bool,
    /// The first retry waits up to this long; each further preemption of the same
    /// attempt doubles the bound.
    pub backoff_base: SimDuration,
    /// The most a retry waits.
    pub backoff_max: SimDuration,
    /// Deliberate mistakes.
    pub bugs: PaxosBugs,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig {
            proposers: Vec::new(),
            acceptors: Vec::new(),
            phase_timeout: SimDuration::from_millis(100),
            backoff: true,
            backoff_base: SimDuration::from_millis(10),
            backoff_max: SimDuration::from_millis(200),
            bugs: PaxosBugs::default(),
        }
    }
}

impl PaxosConfig {
    /// Checks the settings against each other and a cluster of `nodes` (see
    /// `ProtocolSpec::validate`).
    pub fn validate(&self, nodes: u32) -> Result<(), crate::BadSetting> {
        use crate::BadSetting as Bad;
        if self.phase_timeout == SimDuration::ZERO {
            return Err(Bad::new(
                "phase_timeout",
                "found 0, expected a timeout above zero",
            ));
        }
        if self.backoff && self.backoff_base == SimDuration::ZERO {
            return Err(Bad::new(
                "backoff_base",
                "found 0 with backoff on, expected a wait above zero (or backoff: false)",
            ));
        }
        if self.backoff_base > self.backoff_max {
            return Err(Bad::new(
                "backoff_base",
                format!(
                    "{} is above backoff_max ({}): retries wait between the two",
                    self.backoff_base, self.backoff_max
                ),
            ));
        }
        for (setting, ids) in [
            ("proposers", &self.proposers),
            ("acceptors", &self.acceptors),
        ] {
            if let Some(p) = ids.iter().find(|p| **p >= nodes) {
                return Err(Bad::new(
                    setting,
                    format!(
                        "node {p} does not exist: the scenario has {nodes} nodes, numbered 0 to {}",
                        nodes.saturating_sub(1)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The proposers among a cluster of `nodes`, in id order.
    pub fn proposer_ids(&self, nodes: u32) -> Vec<u32> {
        role(&self.proposers, nodes)
    }

    /// The acceptors among a cluster of `nodes`, in id order.
    pub fn acceptor_ids(&self, nodes: u32) -> Vec<u32> {
        role(&self.acceptors, nodes)
    }
}

/// The nodes of a role: those named that exist, in id order; every node if none is.
fn role(named: &[u32], nodes: u32) -> Vec<u32> {
    let mut p: Vec<u32> = named.iter().copied().filter(|p| *p < nodes).collect();
    p.sort_unstable();
    p.dedup();
    if p.is_empty() {
        p = (0..nodes).collect();
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BugSet;

    #[test]
    fn every_listed_bug_can_be_enabled_and_unknown_ones_cannot() {
        for b in <PaxosBugs as BugSet>::SWITCHES {
            let mut c = PaxosConfig::default();
            assert!(c.bugs.enable(b.name), "{}", b.name);
            assert_ne!(c, PaxosConfig::default());
        }
        assert!(!PaxosConfig::default().bugs.enable("no_such_bug"));
    }

    #[test]
    fn nonsense_is_refused_and_defaults_pass() {
        let ok = PaxosConfig::default();
        assert!(ok.validate(3).is_ok());
        let bad = [
            PaxosConfig {
                phase_timeout: SimDuration::ZERO,
                ..ok.clone()
            },
            PaxosConfig {
                backoff_base: SimDuration::from_secs(1),
                ..ok.clone()
            },
            PaxosConfig {
                proposers: vec![0, 3],
                ..ok.clone()
            },
            PaxosConfig {
                acceptors: vec![5],
                ..ok.clone()
            },
        ];
        for b in bad {
            assert!(b.validate(3).is_err(), "{b:?}");
        }
    }

    #[test]
    fn no_proposers_named_means_every_node() {
        let c = PaxosConfig::default();
        assert_eq!(c.proposer_ids(3), vec![0, 1, 2]);
        let c = PaxosConfig {
            proposers: vec![2, 0, 2],
            ..c
        };
        assert_eq!(c.proposer_ids(3), vec![0, 2]);
    }
}
