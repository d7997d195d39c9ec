//! Multi-Paxos's settings, as a scenario file gives them.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

/// How a leader answers a `Get`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum MpReadMode {
    /// Through the log like any command: linearizable under any timing.
    #[default]
    Log,
    /// From the leader's state while its lease holds: a majority acknowledged one of its
    /// heartbeats less than `election_timeout_min - lease_margin` ago, and acceptors
    /// that heard from a leader refuse other candidates for `election_timeout_min`.
    /// Correct only while clocks drift less than `lease_margin` over an election timeout.
    Lease,
}

crate::bug_switches! {
    /// Multi-Paxos's deliberate mistakes (DESIGN.md, "Bug switches"); all off by default.
    pub struct MultiPaxosBugs {
        /// A new leader skips phase-1 recovery: it ignores the values acceptors report and
        /// proposes new commands in the slots above its own log.
        new_leader_skips_recovery => "slot_agreement / state_machine_safety / linearizability",
        /// A new leader does not fill the slots nobody reported with no-ops: execution
        /// stalls at the first gap.
        no_gap_fill => "liveness",
        /// A leader answers reads from its own state without a lease or a quorum: once
        /// deposed (cut off, unaware), it serves stale reads.
        leader_read_without_quorum => "linearizability",
    }
}

/// Multi-Paxos's settings, the same on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct MultiPaxosConfig {
    /// Shortest election timeout; each is drawn uniformly from the range.
    pub election_timeout_min: SimDuration,
    /// Longest election timeout.
    pub election_timeout_max: SimDuration,
    /// How often a leader sends heartbeats to a follower it sent nothing else (and
    /// retransmits unacknowledged proposals).
    pub heartbeat_interval: SimDuration,
    /// Most chosen entries in one catch-up message to a lagging replica.
    pub max_catch_up: usize,
    /// Take a snapshot (and drop the log before it) every this many executed slots;
    /// 0: never.
    pub snapshot_every: u64,
    /// How `Get`s are served.
    pub read_mode: MpReadMode,
    /// How much shorter than the minimum election timeout a lease is.
    pub lease_margin: SimDuration,
    /// Deliberate mistakes.
    pub bugs: MultiPaxosBugs,
}

impl Default for MultiPaxosConfig {
    fn default() -> Self {
        MultiPaxosConfig {
            election_timeout_min: SimDuration::from_millis(150),
            election_timeout_max: SimDuration::from_millis(300),
            heartbeat_interval: SimDuration::from_millis(50),
            max_catch_up: 64,
            snapshot_every: 1000,
            read_mode: MpReadMode::Log,
            lease_margin: SimDuration::from_millis(30),
            bugs: MultiPaxosBugs::default(),
        }
    }
}

impl MultiPaxosConfig {
    /// Checks the settings against each other (see `ProtocolSpec::validate`).
    pub fn validate(&self) -> Result<(), crate::BadSetting> {
        use crate::BadSetting as Bad;
        crate::timeouts::check_election_timing(
            self.election_timeout_min,
            self.election_timeout_max,
            self.heartbeat_interval,
        )?;
        if self.max_catch_up == 0 {
            return Err(Bad::new("max_catch_up", "found 0, expected at least 1"));
        }
        if self.read_mode == MpReadMode::Lease
            && self
                .lease_margin
                .as_nanos()
                .saturating_add(self.heartbeat_interval.as_nanos())
                >= self.election_timeout_min.as_nanos()
        {
            return Err(Bad::new(
                "lease_margin",
                format!(
                    "found {}, expected below election_timeout_min ({}) less heartbeat_interval ({}), or no heartbeat round is confirmed within a lease and every read goes through the log",
                    self.lease_margin, self.election_timeout_min, self.heartbeat_interval
                ),
            ));
        }
        Ok(())
    }

    /// How long a lease lasts from the start of the heartbeat round that confirmed it.
    pub(crate) fn lease_duration(&self) -> SimDuration {
        SimDuration(
            self.election_timeout_min
                .as_nanos()
                .saturating_sub(self.lease_margin.as_nanos()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BugSet;

    #[test]
    fn every_listed_bug_can_be_enabled_and_unknown_ones_cannot() {
        for b in <MultiPaxosBugs as BugSet>::SWITCHES {
            let mut c = MultiPaxosConfig::default();
            assert!(c.bugs.enable(b.name), "{}", b.name);
            assert_ne!(c, MultiPaxosConfig::default());
        }
        assert!(!MultiPaxosConfig::default().bugs.enable("no_such_bug"));
    }

    #[test]
    fn nonsense_is_refused_and_defaults_pass() {
        let ok = MultiPaxosConfig::default();
        assert!(ok.validate().is_ok());
        assert!(ok.lease_duration() < ok.election_timeout_min);
        let bad = [
            MultiPaxosConfig {
                heartbeat_interval: SimDuration::from_millis(200),
                ..ok.clone()
            },
            MultiPaxosConfig {
                election_timeout_min: SimDuration::from_secs(1),
                ..ok.clone()
            },
            MultiPaxosConfig {
                max_catch_up: 0,
                ..ok.clone()
            },
            MultiPaxosConfig {
                read_mode: MpReadMode::Lease,
                lease_margin: SimDuration::from_secs(1),
                ..ok.clone()
            },
            MultiPaxosConfig {
                read_mode: MpReadMode::Lease,
                lease_margin: SimDuration::from_millis(120),
                ..ok.clone()
            },
        ];
        for b in bad {
            assert!(b.validate().is_err(), "{b:?}");
        }
    }
}
