//! Raft's safety properties (paper, Figure 3), checked after every event. Each check is
//! incremental: it looks at the observations of the event and at the event's node only,
//! keeping what it needs from earlier events.

use std::collections::BTreeMap;

use sim_core::NodeId;
use sim_core::invariant::{Invariant, World};

use super::log::RaftLog;
use super::membership::members_of;
use super::{Raft, persist};
use crate::kv::digest;

/// Every Raft invariant, fresh.
pub fn all() -> Vec<Box<dyn Invariant<Raft>>> {
    vec![
        Box::new(ElectionSafety::default()),
        Box::new(VoteOnce::default()),
        Box::new(LogMatching::default()),
        Box::new(LeaderCompleteness::default()),
        Box::new(DurableCommit::default()),
        Box::new(StateMachineSafety::default()),
        Box::new(CommitMonotonic::default()),
    ]
}

/// At most one leader per term, over the whole run (restarts included).
#[derive(Default, Clone, Hash)]
pub struct ElectionSafety {
    leaders: BTreeMap<u64, NodeId>,
}

impl Invariant<Raft> for ElectionSafety {
    sim_core::forkable!(Raft);
    fn name(&self) -> &str {
        "election_safety"
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        for o in world.observations.iter().filter(|o| o.obs.kind == "leader") {
            let term = o.obs.key;
            match self.leaders.get(&term) {
                Some(&n) if n != o.node => {
                    return Err(format!("{} and {} both lead term {term}", n, o.node));
                }
                _ => {
                    self.leaders.insert(term, o.node);
                }
            }
        }
        Ok(())
    }
}

/// Each node votes for at most one candidate in a term, across restarts (§5.2). Election
/// safety rests on it; checking it names the node that broke it, at the vote, before two
/// candidates have also gathered the rest of their majorities (which most double votes
/// never lead to).
#[derive(Default, Clone, Hash)]
pub struct VoteOnce {
    votes: BTreeMap<(NodeId, u64), u64>,
}

impl Invariant<Raft> for VoteOnce {
    sim_core::forkable!(Raft);
    fn name(&self) -> &str {
        "vote_once"
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        for o in world.observations.iter().filter(|o| o.obs.kind == "vote") {
            let (term, candidate) = (o.obs.key, o.obs.value);
            match self.votes.insert((o.node, term), candidate) {
                Some(earlier) if earlier != candidate => {
                    return Err(format!(
                        "{} voted for n{earlier} and then for n{candidate} in term {term}",
                        o.node
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// If two logs hold an entry with the same index and term, they hold the same command
/// there and agree on everything before. Checked by induction as entries are appended:
/// every (index, term) always carries the same command and follows the same term at
/// index − 1, which with the same check there gives equal prefixes.
#[derive(Default, Clone, Hash)]
pub struct LogMatching {
    seen: BTreeMap<(u64, u64), (u64, u64)>,
}

impl Invariant<Raft> for LogMatching {
    sim_core::forkable!(Raft);
    fn name(&self) -> &str {
        "log_matching"
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        for o in world.observations.iter().filter(|o| o.obs.kind == "entry") {
            let Some(node) = world.node(o.node) else {
                continue;
            };
            let (index, term) = (o.obs.key, o.obs.value);
            let log = node.log();
            // A later observation of the same event may have truncated this entry.
            let Some(e) = log.entry(index).filter(|e| e.term == term) else {
                continue;
            };
            let prev = log.term_at(index - 1).unwrap_or(0);
            let shape = (digest(&e.command), prev);
            match self.seen.get(&(index, term)) {
                Some(s) if *s != shape => {
                    return Err(format!(
                        "{} holds at index {index} term {term} a command or predecessor \
                         (term {prev}) that differs from another log's",
                        o.node
                    ));
                }
                Some(_) => {}
                None => {
                    self.seen.insert((index, term), shape);
                }
            }
        }
        Ok(())
    }
}

/// A leader's log holds every entry committed in an earlier term (Raft §5.4.3), as far
/// as any node has applied it.
#[derive(Default, Clone, Hash)]
pub struct LeaderCompleteness {
    applied: BTreeMap<u64, u64>,
    /// The term in which each index was first committed (from the leaders' "commit"
    /// observations): only leaders of later terms must hold it. A leader of an older term
    /// can still be elected late (its votes were delayed) without it, legitimately.
    committed_in: BTreeMap<u64, u64>,
}

impl Invariant<Raft> for LeaderCompleteness {
    sim_core::forkable!(Raft);
    fn name(&self) -> &str {
        "leader_completeness"
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        for o in world.observations {
            match o.obs.kind {
                "apply" => {
                    self.applied.entry(o.obs.key).or_insert(o.obs.value);
                }
                "commit" => {
                    let (upto, term) = (o.obs.key, o.obs.value);
                    let from = self.committed_in.last_key_value().map_or(1, |(i, _)| i + 1);
                    for index in from..=upto {
                        self.committed_in.insert(index, term);
                    }
                }
                "leader" => {
                    let Some(node) = world.node(o.node) else {
                        continue;
                    };
                    let term = o.obs.key;
                    // A snapshot holds only committed entries: those were checked when
                    // applied (state-machine safety).
                    let from = node.log().snapshot_index() + 1;
                    for (&index, &d) in self.applied.range(from..) {
                        let earlier = self.committed_in.get(&index).is_some_and(|t| *t < term);
                        if earlier && node.log().entry(index).map(digest) != Some(d) {
                            return Err(format!(
                                "{} leads term {term} without entry {index}, committed in term {}",
                                o.node,
                                self.committed_in.get(&index).copied().unwrap_or(0)
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// When a leader commits an entry, no server without it could win an election with the
/// logs as they stand: every majority of that server's configuration includes a log more
/// up-to-date than its own, whose owner would refuse it a vote. This is the step on which
/// the proof of leader completeness rests (§5.4.3). Checking it at the commit sees an
/// unsafe commit the moment it is made — Figure 8(c), where S5 could still be elected —
/// rather than only once a later leader has overwritten the entry (8(d)), which takes
/// further crashes at the right moments. Votes are counted from the logs alone, without
/// terms, PreVote or leases, which can only refuse more: a correct Raft never fails it.
#[derive(Default, Clone, Hash)]
pub struct DurableCommit {
    /// The log on the disk of each crashed node, read once per incarnation: a disk does
    /// not change while its node is down.
    down: BTreeMap<NodeId, (u32, RaftLog)>,
}

impl DurableCommit {
    /// Reads the disks of the nodes that are down and were not read since they crashed.
    fn read_down_disks(&mut self, world: &World<'_, Raft>) {
        for (id, node) in world.nodes() {
            if node.is_some() {
                continue;
            }
            let inc = world.incarnation(id);
            if self.down.get(&id).is_none_or(|(i, _)| *i != inc) {
                self.down
                    .insert(id, (inc, persist::load(world.disk(id)).log));
            }
        }
    }
}

impl Invariant<Raft> for DurableCommit {
    sim_core::forkable!(Raft);
    fn name(&self) -> &str {
        "durable_commit"
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        for o in world.observations.iter().filter(|o| o.obs.kind == "commit") {
            let Some(leader) = world.node(o.node) else {
                continue;
            };
            let index = o.obs.key;
            let Some(term) = leader.log().term_at(index) else {
                continue;
            };
            self.read_down_disks(world);
            let logs: Vec<&RaftLog> = world
                .nodes()
                .map(|(id, node)| match node {
                    Some(n) => n.log(),
                    None => &self.down[&id].1,
                })
                .collect();
            let recency = |l: &RaftLog| (l.last_term(), l.last_index());
            for (x, log) in logs.iter().enumerate() {
                let x = NodeId(x as u32);
                if log.snapshot_index() >= index || log.term_at(index) == Some(term) {
                    continue;
                }
                let members = members_of(log, &leader.initial);
                if !members.contains(&x) {
                    // A non-member never stands for election.
                    continue;
                }
                let own = recency(log);
                let grants = members
                    .iter()
                    .filter(|v| logs.get(v.index()).is_some_and(|l| recency(l) <= own))
                    .count();
                if grants > members.len() / 2 {
                    return Err(format!(
                        "{} committed index {index} (term {term}) in term {}, yet {x}, \
                         whose log lacks it, could still be elected: {grants} of the {} \
                         members have logs no more up-to-date than its own",
                        o.node,
                        o.obs.value,
                        members.len()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// No two nodes apply different entries at one index.
#[derive(Default, Clone, Hash)]
pub struct StateMachineSafety {
    applied: BTreeMap<u64, (u64, NodeId)>,
}

impl Invariant<Raft> for StateMachineSafety {
    sim_core::forkable!(Raft);
    fn name(&self) -> &str {
        "state_machine_safety"
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        for o in world.observations.iter().filter(|o| o.obs.kind == "apply") {
            let (index, d) = (o.obs.key, o.obs.value);
            match self.applied.get(&index) {
                Some(&(other, by)) if other != d => {
                    return Err(format!(
                        "{} applied a different entry at index {index} than {by}",
                        o.node
                    ));
                }
                Some(_) => {}
                None => {
                    self.applied.insert(index, (d, o.node));
                }
            }
        }
        Ok(())
    }
}

/// A node's commit index never goes down while it lives (it restarts from 0).
#[derive(Default, Clone, Hash)]
pub struct CommitMonotonic {
    last: BTreeMap<NodeId, (u32, u64)>,
}

impl Invariant<Raft> for CommitMonotonic {
    sim_core::forkable!(Raft);
    fn name(&self) -> &str {
        "commit_monotonic"
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        let Some(id) = world.node else {
            return Ok(());
        };
        let Some(node) = world.node(id) else {
            return Ok(());
        };
        let inc = world.incarnation(id);
        let commit = node.commit_index();
        if let Some(&(i, c)) = self.last.get(&id)
            && i == inc
            && commit < c
        {
            return Err(format!("{id} commit index went from {c} down to {commit}"));
        }
        self.last.insert(id, (inc, commit));
        Ok(())
    }
}
