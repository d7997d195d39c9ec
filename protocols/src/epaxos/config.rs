//! EPaxos's settings, as a scenario file gives them.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

crate::bug_switches! {
    /// EPaxos's deliberate mistakes (DESIGN.md, "Bug switches"); all off by default.
    pub struct EPaxosBugs {
        /// One ballot variable per instance, as in the TLA+ specification and the Go
        /// implementation that Sutra (2020) corrected: a Prepare raises it, and the
        /// replica reports it as the ballot its attributes were accepted in. After
        /// concurrent recoveries a recoverer cannot tell which accepted attributes are the
        /// newest, and replicas commit different dependencies for one command.
        single_ballot_variable => "stability / execution_consistency",
        /// A simple majority as the fast quorum (F + 1 instead of F + ⌊(F+1)/2⌋): two
        /// conflicting commands can both commit on the fast path without either in the
        /// other's dependencies, or recovery cannot find a fast-path decision.
        fast_quorum_majority => "stability / execution_consistency",
        /// A replica answers a PreAccept without writing the instance to disk: a restarted
        /// replica forgets the attributes it acknowledged, and recovery may choose others.
        preaccept_not_durable => "stability / execution_consistency",
        /// A command executes while one of its dependencies is not yet committed (the
        /// missing dependency is ignored).
        execute_without_committed_deps => "execution_consistency / linearizability",
    }
}

/// EPaxos's settings, the same on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct EPaxosConfig {
    /// Send PreAccept only to the fast quorum (the closest replicas, by measured round
    /// trip) and Accept only to a majority, rather than to every replica.
    pub thrifty: bool,
    /// Reads of a key do not interfere with each other (they still interfere with writes
    /// of the key), so concurrent reads do not order each other.
    pub reads_commute: bool,
    /// A command leader resends a phase's messages to replicas that have not answered
    /// after this long.
    pub retry_interval: SimDuration,
    /// A replica recovers an instance it knows of (or waits on) that has not been
    /// committed for this long; each replica adds a random extra of up to the same
    /// again, so that recoveries rarely duel.
    pub recovery_timeout: SimDuration,
    /// Deliberate mistakes.
    pub bugs: EPaxosBugs,
}

impl Default for EPaxosConfig {
    fn default() -> Self {
        EPaxosConfig {
            thrifty: false,
            reads_commute: false,
            retry_interval: SimDuration::from_millis(100),
            recovery_timeout: SimDuration::from_millis(300),
            bugs: EPaxosBugs::default(),
        }
    }
}

impl EPaxosConfig {
    /// Checks the settings against each other (see `ProtocolSpec::validate`).
    pub fn validate(&self) -> Result<(), crate::BadSetting> {
        use crate::BadSetting as Bad;
        if self.retry_interval == SimDuration::ZERO {
            return Err(Bad::new(
                "retry_interval",
                "found 0, expected a pause above zero between resends",
            ));
        }
        if self.recovery_timeout < self.retry_interval {
            return Err(Bad::new(
                "recovery_timeout",
                format!(
                    "found {}, expected at least retry_interval ({}): a live command leader must have time to resend before others take its instances over",
                    self.recovery_timeout, self.retry_interval
                ),
            ));
        }
        Ok(())
    }
}

/// The replicas a fast-path decision needs, the command leader included, in a cluster of
/// `n` = 2F + 1: F + ⌊(F+1)/2⌋ (a majority under the `fast_quorum_majority` bug).
/// At n = 3 it is a majority; at n = 5, 3; at n = 7, 5.
pub fn fast_quorum(n: u32, majority_bug: bool) -> usize {
    let f = (n.saturating_sub(1) / 2) as usize;
    if majority_bug {
        majority(n)
    } else {
        (f + f.div_ceil(2)).max(majority(n))
    }
}

/// A simple majority of `n`.
pub fn majority(n: u32) -> usize {
    n as usize / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BugSet;

    #[test]
    fn quorum_sizes_follow_the_paper() {
        // F + ⌊(F+1)/2⌋ for N = 2F + 1.
        assert_eq!(fast_quorum(3, false), 2);
        assert_eq!(fast_quorum(5, false), 3);
        assert_eq!(fast_quorum(7, false), 5);
        assert_eq!(fast_quorum(9, false), 6);
        assert_eq!(fast_quorum(1, false), 1);
        assert_eq!(fast_quorum(7, true), 4);
        assert_eq!((majority(5), majority(4)), (3, 3));
    }

    #[test]
    fn every_listed_bug_can_be_enabled_and_nonsense_is_refused() {
        for b in <EPaxosBugs as BugSet>::SWITCHES {
            let mut c = EPaxosConfig::default();
            assert!(c.bugs.enable(b.name), "{}", b.name);
        }
        assert!(EPaxosConfig::default().validate().is_ok());
        let bad = EPaxosConfig {
            recovery_timeout: SimDuration::from_millis(10),
            ..EPaxosConfig::default()
        };
        assert!(bad.validate().is_err());
        let zero = EPaxosConfig {
            retry_interval: SimDuration::ZERO,
            ..EPaxosConfig::default()
        };
        assert!(zero.validate().is_err());
    }
}
