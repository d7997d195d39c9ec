//! PBFT's settings, as a scenario file gives them.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

crate::bug_switches! {
    /// PBFT's deliberate mistakes (DESIGN.md, "Bug switches"); all off by default.
    pub struct PbftBugs {
        /// The new primary ignores the prepared certificates of the view changes: a
        /// request prepared (even committed) in the old view can be replaced at its
        /// sequence number.
        view_change_drops_prepared => "agreement",
        /// A replica is committed-local with 2f matching commits instead of 2f + 1: a
        /// request can commit without enough honest replicas holding its certificate to
        /// carry it into the next view.
        commit_quorum_2f => "agreement",
        /// A backup accepts a second pre-prepare with another digest for the same view and
        /// sequence number, and prepares both.
        accept_conflicting_preprepare => "agreement",
        /// A replica's repeated prepare or commit counts again toward a quorum.
        count_duplicate_votes => "agreement",
        /// The client takes the first reply instead of f + 1 matching ones: one lying
        /// replica decides what it sees.
        client_accepts_first_reply => "linearizability",
    }
}

/// PBFT's settings, the same on every replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct PbftConfig {
    /// A checkpoint every this many sequence numbers (K).
    pub checkpoint_interval: u64,
    /// The primary proposes at most this far beyond the stable checkpoint (L, the high
    /// watermark is the low one plus L); a multiple of the checkpoint interval.
    pub watermark_window: u64,
    /// How long a backup waits for a request it knows of to execute before it moves to
    /// the next view; doubled for each view change in a row that does not complete.
    pub view_change_timeout: SimDuration,
    /// How long a replica waits for state it asked for before it asks again.
    pub fetch_retry: SimDuration,
    /// Deliberate mistakes.
    pub bugs: PbftBugs,
}

impl Default for PbftConfig {
    fn default() -> Self {
        PbftConfig {
            checkpoint_interval: 16,
            watermark_window: 64,
            view_change_timeout: SimDuration::from_millis(300),
            fetch_retry: SimDuration::from_millis(100),
            bugs: PbftBugs::default(),
        }
    }
}

impl PbftConfig {
    /// Checks the settings against each other (see `ProtocolSpec::validate`).
    pub fn validate(&self, nodes: u32) -> Result<(), crate::BadSetting> {
        use crate::BadSetting as Bad;
        if nodes < 4 {
            return Err(Bad::new(
                "nodes",
                format!(
                    "found {nodes}, expected at least 4: PBFT with N = 3f + 1 replicas tolerates f Byzantine ones, and f = 0 tolerates none"
                ),
            ));
        }
        // Sequence numbers add the window to the low watermark: bounded, they cannot
        // overflow in any run.
        const MAX: u64 = 1 << 32;
        if self.checkpoint_interval == 0 || self.checkpoint_interval > MAX {
            return Err(Bad::new(
                "checkpoint_interval",
                format!(
                    "found {}, expected between 1 and {MAX}",
                    self.checkpoint_interval
                ),
            ));
        }
        if self.watermark_window > MAX {
            return Err(Bad::new(
                "watermark_window",
                format!("found {}, expected at most {MAX}", self.watermark_window),
            ));
        }
        if self.watermark_window < self.checkpoint_interval
            || self.watermark_window % self.checkpoint_interval != 0
        {
            return Err(Bad::new(
                "watermark_window",
                format!(
                    "found {}, expected a multiple of checkpoint_interval ({}) and at least it, or the primary stalls before the next checkpoint",
                    self.watermark_window, self.checkpoint_interval
                ),
            ));
        }
        for (name, d) in [
            ("view_change_timeout", self.view_change_timeout),
            ("fetch_retry", self.fetch_retry),
        ] {
            if d == SimDuration::ZERO {
                return Err(Bad::new(name, "found 0, expected a duration above zero"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BugSet;

    #[test]
    fn every_listed_bug_can_be_enabled_and_unknown_ones_cannot() {
        for b in <PbftBugs as BugSet>::SWITCHES {
            let mut c = PbftConfig::default();
            assert!(c.bugs.enable(b.name), "{}", b.name);
            assert_ne!(c, PbftConfig::default());
        }
        assert!(!PbftConfig::default().bugs.enable("no_such_bug"));
    }

    #[test]
    fn nonsense_is_refused_and_defaults_pass() {
        let ok = PbftConfig::default();
        assert!(ok.validate(4).is_ok());
        assert!(ok.validate(3).is_err());
        let bad = [
            PbftConfig {
                checkpoint_interval: 0,
                ..ok.clone()
            },
            PbftConfig {
                watermark_window: 8,
                ..ok.clone()
            },
            PbftConfig {
                watermark_window: 40,
                ..ok.clone()
            },
            PbftConfig {
                view_change_timeout: SimDuration::ZERO,
                ..ok.clone()
            },
            PbftConfig {
                checkpoint_interval: 1,
                watermark_window: u64::MAX,
                ..ok.clone()
            },
        ];
        for b in bad {
            assert!(b.validate(4).is_err(), "{b:?}");
        }
    }
}
