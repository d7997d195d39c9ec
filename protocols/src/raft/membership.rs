//! Membership change, one server at a time (thesis §4.1–4.2.3). A configuration is the
//! set of voting members; it lives in the log as `Command::Config` entries and takes
//! effect on each server as soon as the entry is in its log. Every majority — votes,
//! commitment, read confirmation, CheckQuorum — is counted over the configuration in
//! force. Nodes outside it are passive: they never stand for election, but a leader
//! replicates to them, so a server being added catches up and one being removed learns
//! of it. A server is added only once it has caught up (thesis §4.2.1): the leader
//! replicates to it in rounds, each up to the leader's commit index at the round's start
//! (entries still in flight to everyone do not hold it back), and adds it when a round
//! ends within an election timeout, so the new member does not stall commitment while it
//! copies the log; one that has not caught up after `CATCH_UP_ROUNDS` rounds, or as
//! many election timeouts, is not added. A leader starts a change only after it has
//! committed an entry of its own term and the previous change is committed (the fix for
//! the single-server bug found in 2015: otherwise two changes from different leaders can
//! leave overlapping configurations without a common majority). A leader that removes
//! itself steps down once that configuration is committed and hands over to the member
//! furthest along (TimeoutNow, thesis §3.10), which stands at once.

use sim_core::{Ctx, MembershipChange, NodeId, SimDuration, SimTime};

use super::log::RaftLog;
use super::messages::{Command, Entry, RaftMsg};
use super::{Raft, Role};

/// The configuration in force for a node with `log`, whose initial one is `initial`.
pub(super) fn members_of<'a>(log: &'a RaftLog, initial: &'a [NodeId]) -> &'a [NodeId] {
    log.members().unwrap_or(initial)
}

/// The highest value a majority of `members` has reached, given each member's value.
pub(super) fn quorum_value(members: &[NodeId], value: impl Fn(NodeId) -> u64) -> u64 {
    let mut values: Vec<u64> = members.iter().map(|&n| value(n)).collect();
    values.sort_unstable_by(|a, b| b.cmp(a));
    values.get(members.len() / 2).copied().unwrap_or(0)
}

/// Catch-up rounds a server gets before an addition is given up (the thesis suggests
/// about ten).
const CATCH_UP_ROUNDS: u32 = 10;

/// A server being brought up to date before it is added.
#[derive(Clone, Debug, Hash)]
pub(super) struct CatchUp {
    node: NodeId,
    /// The round ends when the server holds the log up to here.
    target: u64,
    /// When the round started.
    since: SimTime,
    /// Rounds begun, this one included.
    rounds: u32,
    /// When the first round started: a server that never finishes a round (down, cut
    /// off) is given up once the rounds' worth of time has passed.
    started: SimTime,
}

/// Whether a server to be added may be added now.
enum Readiness {
    Ready,
    Wait,
    GiveUp,
}

impl Raft {
    /// The voting members in force on this node.
    pub fn members(&self) -> &[NodeId] {
        members_of(&self.log, &self.initial)
    }

    /// Whether `node` is a voting member here.
    pub fn is_member(&self, node: NodeId) -> bool {
        self.members().contains(&node)
    }

    /// How many members make a majority.
    pub(super) fn majority(&self) -> usize {
        self.members().len() / 2 + 1
    }

    /// How many of `nodes` are members.
    pub(super) fn members_among<'a>(&self, nodes: impl IntoIterator<Item = &'a NodeId>) -> usize {
        nodes.into_iter().filter(|n| self.is_member(**n)).count()
    }

    /// An operator's request: a leader queues it and starts it when it safely can; other
    /// nodes leave it to the leader (a change asked of a cluster without a leader is
    /// lost, as an administrative request to such a cluster would fail).
    pub(super) fn on_membership_change(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        change: MembershipChange,
    ) {
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        ls.changes.push_back(change);
        self.start_membership_change(ctx);
    }

    /// Appends the next queued change if no other is under way and an entry of this
    /// term is committed (or at once, all of them, with `unsafe_membership_change`).
    pub(super) fn start_membership_change(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let unsafe_change = self.config.bugs.unsafe_membership_change;
        loop {
            let Some(ls) = self.leading.as_mut() else {
                return;
            };
            let settled = ls.term_committed && self.log.config_index() <= self.commit;
            if !settled && !unsafe_change {
                return;
            }
            if let Some(&MembershipChange::Add(n)) = ls.changes.front()
                && n.0 < self.cluster
                && !self.is_member(n)
            {
                match self.catch_up(ctx.now(), n) {
                    Readiness::Ready => {}
                    Readiness::Wait => return,
                    Readiness::GiveUp => {
                        ctx.count("raft.additions_given_up", 1);
                        if let Some(ls) = self.leading.as_mut() {
                            ls.changes.pop_front();
                            ls.catch_up = None;
                        }
                        continue;
                    }
                }
            }
            let Some(ls) = self.leading.as_mut() else {
                return;
            };
            ls.catch_up = None;
            let Some(change) = ls.changes.pop_front() else {
                return;
            };
            let mut members = self.members().to_vec();
            match change {
                MembershipChange::Add(n) if n.0 < self.cluster && !members.contains(&n) => {
                    members.push(n);
                    members.sort();
                }
                // A configuration keeps at least one member.
                MembershipChange::Remove(n) if members.contains(&n) && members.len() > 1 => {
                    members.retain(|m| *m != n);
                }
                _ => continue, // already so: nothing to change
            }
            let mask = members.iter().fold(0u64, |m, n| m | 1 << n.0.min(63));
            let entry = Entry {
                term: self.term,
                command: Command::Config(members),
            };
            let index = self.append_local(ctx, entry);
            ctx.observe("config", index, mask);
            ctx.count("raft.config_changes", 1);
            self.replicate(ctx);
            // A cluster of one commits at once.
            self.advance_commit(ctx);
            if !unsafe_change {
                return;
            }
        }
    }

    /// Moves the catch-up of `node` along: a round ends when it holds what the leader had
    /// committed at the round's start; a round that ends within an election timeout
    /// means it keeps up, and it may be added. A round that ends later starts another,
    /// towards the commit index of then.
    fn catch_up(&mut self, now: SimTime, node: NodeId) -> Readiness {
        let committed = self.commit;
        let timeout = self.config.election_timeout_min;
        let Some(ls) = self.leading.as_mut() else {
            return Readiness::Wait;
        };
        let matched = ls.progress[node.index()].match_index;
        let fresh = CatchUp {
            node,
            target: committed,
            since: now,
            rounds: 1,
            started: now,
        };
        let c = ls.catch_up.get_or_insert(fresh.clone());
        if c.node != node {
            *c = fresh;
        }
        if matched < c.target {
            let patience = SimDuration(timeout.0.saturating_mul(u64::from(CATCH_UP_ROUNDS)));
            return if now >= c.started + patience {
                Readiness::GiveUp
            } else {
                Readiness::Wait
            };
        }
        if now < c.since + timeout {
            return Readiness::Ready;
        }
        if c.rounds >= CATCH_UP_ROUNDS {
            return Readiness::GiveUp;
        }
        c.rounds += 1;
        c.since = now;
        c.target = committed;
        Readiness::Wait
    }

    /// A leader outside the committed configuration steps down, and hands over to the
    /// member whose log is furthest along (thesis §3.10), which stands at once instead
    /// of after an election timeout.
    pub(super) fn step_down_if_removed(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        if self.role != Role::Leader
            || self.is_member(self.id)
            || self.log.config_index() > self.commit
        {
            return;
        }
        ctx.count("raft.removed_leader_stepdowns", 1);
        // The member known to hold the most of the log: entries still in flight may be
        // missing from it, and if that costs it the election, an ordinary one follows.
        let successor = self.leading.as_ref().and_then(|ls| {
            self.members()
                .iter()
                .filter(|&&m| m != self.id)
                .max_by_key(|m| {
                    let p = &ls.progress[m.index()];
                    (p.match_index, p.acked_round)
                })
                .copied()
        });
        let term = self.term;
        self.become_follower(ctx, term, None);
        if let Some(to) = successor {
            ctx.count("raft.handovers", 1);
            self.send(ctx, to, RaftMsg::TimeoutNow { term });
        }
    }
}
