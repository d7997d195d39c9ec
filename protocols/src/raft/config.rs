//! Raft's settings, as a scenario file gives them.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

/// How a leader answers a `Get`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum ReadMode {
    /// ReadIndex (thesis §6.4): note the commit index, confirm leadership with one round
    /// of heartbeats, answer once that index is applied. No log entry, one round trip.
    #[default]
    ReadIndex,
    /// Append the read to the log like a write: the simplest, and the slowest.
    Log,
    /// Answer from the leader's state while its lease holds (thesis §6.4.1). Correct only
    /// while clocks drift less than `lease_margin` over an election timeout, and only with
    /// CheckQuorum on (followers then refuse votes while they hear from a leader).
    Lease,
}

crate::bug_switches! {
    /// Raft's deliberate mistakes (DESIGN.md, "Bug switches"); all off by default.
    pub struct RaftBugs {
        /// Grants votes to candidates with stale logs, so a leader can lack committed
        /// entries.
        vote_without_log_check => "leader_completeness / durable_commit / state_machine_safety",
        /// Commits entries of earlier terms by counting replicas (the paper's Figure 8).
        commit_prior_term_by_count => "durable_commit / leader_completeness / state_machine_safety",
        /// Forgets its vote when it restarts and votes again in the same term.
        forget_vote_on_restart => "vote_once / election_safety",
        /// Serves lease reads after the lease ran out (turns lease reads on).
        stale_lease_read => "linearizability",
        /// Starts a configuration change before an entry of the leader's term and the
        /// previous change are committed (the 2015 single-server bug).
        unsafe_membership_change => "durable_commit / election_safety / leader_completeness",
    }
}

/// Raft's settings, the same on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct RaftConfig {
    /// Shortest election timeout; each timeout is drawn uniformly from the range.
    pub election_timeout_min: SimDuration,
    /// Longest election timeout.
    pub election_timeout_max: SimDuration,
    /// How often a leader sends heartbeats (and retransmits unacknowledged entries).
    pub heartbeat_interval: SimDuration,
    /// Ask for pre-votes before bumping the term, so a node that was cut off cannot
    /// disrupt a working cluster when it returns (thesis §9.6).
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a majority for an election timeout,
    /// and followers that hear from a leader refuse to vote for others (thesis §6.2).
    pub check_quorum: bool,
    /// Most entries in one AppendEntries.
    pub max_entries_per_append: usize,
    /// Most bytes of entries in one AppendEntries (at least one entry is always sent).
    pub max_append_bytes: usize,
    /// Send further AppendEntries before earlier ones are acknowledged.
    pub pipeline: bool,
    /// AppendEntries with entries in flight per follower when pipelining.
    pub max_inflight: usize,
    /// How `Get`s are served.
    pub read_mode: ReadMode,
    /// How much shorter than the minimum election timeout a lease is, to allow for clock
    /// drift between leader and followers.
    pub lease_margin: SimDuration,
    /// Take a snapshot (and drop the log before it) every this many applied entries;
    /// 0: never.
    pub snapshot_every: u64,
    /// The voting members at the start (node ids); empty: every node. The others wait,
    /// passive, to be added.
    pub initial_members: Vec<u32>,
    /// Deliberate mistakes.
    pub bugs: RaftBugs,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            election_timeout_min: SimDuration::from_millis(150),
            election_timeout_max: SimDuration::from_millis(300),
            heartbeat_interval: SimDuration::from_millis(50),
            pre_vote: true,
            check_quorum: true,
            max_entries_per_append: 64,
            max_append_bytes: 64 * 1024,
            pipeline: false,
            max_inflight: 8,
            read_mode: ReadMode::ReadIndex,
            lease_margin: SimDuration::from_millis(30),
            snapshot_every: 1000,
            initial_members: Vec::new(),
            bugs: RaftBugs::default(),
        }
    }
}

impl RaftConfig {
    /// Checks the settings against each other and a cluster of `nodes` (see
    /// `ProtocolSpec::validate`).
    pub fn validate(&self, nodes: u32) -> Result<(), crate::BadSetting> {
        use crate::BadSetting as Bad;
        crate::timeouts::check_election_timing(
            self.election_timeout_min,
            self.election_timeout_max,
            self.heartbeat_interval,
        )?;
        if self.read_mode == ReadMode::Lease && self.lease_margin >= self.election_timeout_min {
            return Err(Bad::new(
                "lease_margin",
                format!(
                    "found {}, expected below election_timeout_min ({}), or a lease never holds",
                    self.lease_margin, self.election_timeout_min
                ),
            ));
        }
        for (setting, value) in [
            ("max_entries_per_append", self.max_entries_per_append),
            ("max_append_bytes", self.max_append_bytes),
            ("max_inflight", self.max_inflight),
        ] {
            if value == 0 {
                return Err(Bad::new(setting, "found 0, expected at least 1"));
            }
        }
        if let Some(m) = self.initial_members.iter().find(|m| **m >= nodes) {
            return Err(Bad::new(
                "initial_members",
                format!(
                    "node {m} does not exist: the scenario has {nodes} nodes, numbered 0 to {}",
                    nodes.saturating_sub(1)
                ),
            ));
        }
        Ok(())
    }

    /// Turns on the bug switch `name`; `false` if there is none of that name.
    pub fn enable_bug(&mut self, name: &str) -> bool {
        if !crate::BugSet::enable(&mut self.bugs, name) {
            return false;
        }
        if name == "stale_lease_read" {
            // The mistake lives in the lease read path: switching it on means serving
            // reads from leases, or it could never show.
            self.read_mode = ReadMode::Lease;
        }
        true
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

    #[test]
    fn every_listed_bug_can_be_enabled_and_unknown_ones_cannot() {
        for b in <RaftBugs as crate::BugSet>::SWITCHES {
            let mut c = RaftConfig::default();
            assert!(c.enable_bug(b.name), "{}", b.name);
            assert_ne!(c, RaftConfig::default());
        }
        assert!(!RaftConfig::default().enable_bug("no_such_bug"));
    }

    #[test]
    fn defaults_are_sane() {
        let c = RaftConfig::default();
        assert!(c.election_timeout_min < c.election_timeout_max);
        assert!(c.heartbeat_interval < c.election_timeout_min);
        assert!(c.lease_duration() < c.election_timeout_min);
        assert!(c.pre_vote && c.check_quorum);
    }
}
