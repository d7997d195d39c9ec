//! Phase 2 and what follows it: the leader proposes a command in a slot, counts
//! acceptances, and advances its commit index; followers accept, and learn what is
//! chosen from the commit index Accepts and heartbeats carry. A follower that cannot
//! (it missed slots, or holds another ballot's values there) is sent the chosen commands.

use sim_core::{Ctx, NodeId, SimTime};

use super::messages::{Command, MpMsg, Snapshot};
use super::{HEARTBEAT_TIMER, MultiPaxos, Proposal, Role, obs, persist};
use crate::kv::digest;
use crate::multipaxos::config::MpReadMode;
use crate::paxos::Ballot;

impl MultiPaxos {
    /// The leader proposes `command` in `slot`: its own acceptor first, then the others.
    pub(super) fn propose_in(&mut self, ctx: &mut Ctx<'_, MpMsg>, slot: u64, command: Command) {
        let ballot = self.promised;
        self.store_accepted(ctx, slot, ballot, &command);
        let now = ctx.now();
        let commit = self.commit;
        let Some(l) = self.leading.as_mut() else {
            return;
        };
        l.proposals.insert(
            slot,
            Proposal {
                command: command.clone(),
                acks: [self.id].into(),
                sent_at: now,
            },
        );
        let peers: Vec<NodeId> = ctx.peers().collect();
        for to in peers {
            let msg = MpMsg::Accept {
                ballot,
                slot,
                command: command.clone(),
                commit,
            };
            self.send(ctx, to, msg);
        }
        self.maybe_chosen(ctx, slot);
    }

    /// The acceptor's side of accepting (durable before anything is sent).
    fn store_accepted(&mut self, ctx: &mut Ctx<'_, MpMsg>, slot: u64, ballot: Ballot, c: &Command) {
        persist::save_accepted(ctx.disk(), slot, ballot, c);
        self.accepted.insert(slot, (ballot, c.clone()));
        ctx.observe(obs::ACCEPT, slot, ballot.encode());
        ctx.observe(obs::ACCEPT_VALUE, slot, digest(c));
    }

    /// Accepts from the leader `from` in `ballot` (at or above the promise): follow it.
    fn follow(&mut self, ctx: &mut Ctx<'_, MpMsg>, from: NodeId, ballot: Ballot) {
        if ballot > self.promised {
            self.promise(ctx, ballot);
        }
        if self.role != Role::Follower || self.leader != Some(from) {
            self.role = Role::Follower;
            self.leading = None;
            self.candidacy = None;
            self.leader = Some(from);
            ctx.cancel_timer(HEARTBEAT_TIMER);
        }
        self.leader_contact = Some(ctx.now());
        self.reset_election_timer(ctx);
    }

    /// Refuses (with a NACK) a leader's message in a ballot below the promise, or in its
    /// own ballot while it still stands (then the message is from an impostor of its
    /// ballot, which no correct node sends); `true` if refused.
    fn refuses(&mut self, ctx: &mut Ctx<'_, MpMsg>, from: NodeId, ballot: Ballot) -> bool {
        let refused =
            ballot < self.promised || (ballot == self.promised && self.role == Role::Candidate);
        if refused {
            let promised = self.promised;
            self.send(ctx, from, MpMsg::Nack { ballot, promised });
        }
        refused
    }

    /// Phase 2b.
    pub(super) fn on_accept(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        command: Command,
        leader_commit: u64,
    ) {
        if self.refuses(ctx, from, ballot) {
            return;
        }
        self.follow(ctx, from, ballot);
        if slot > self.commit {
            self.store_accepted(ctx, slot, ballot, &command);
            if slot <= leader_commit && !self.chosen.contains_key(&slot) {
                // A retransmission of a slot chosen meanwhile: known chosen now.
                self.chosen.insert(slot, command);
            }
        }
        let behind = self.learn_commit(ctx, ballot, leader_commit);
        let commit = self.commit;
        self.send(
            ctx,
            from,
            MpMsg::Accepted {
                ballot,
                slot,
                commit,
                behind,
            },
        );
    }

    /// The leader of `ballot` says every slot up to `leader_commit` is chosen: the slots
    /// this node accepted in that ballot hold the chosen commands. Returns whether some
    /// slot up to it is still unknown here.
    fn learn_commit(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        ballot: Ballot,
        leader_commit: u64,
    ) -> bool {
        let (b, done) = self.scanned;
        let from = if b == ballot {
            done.max(self.commit)
        } else {
            self.commit
        } + 1;
        if from <= leader_commit {
            let learned: Vec<(u64, Command)> = self
                .accepted
                .range(from..=leader_commit)
                .filter(|(s, (b, _))| *b == ballot && !self.chosen.contains_key(s))
                .map(|(s, (_, c))| (*s, c.clone()))
                .collect();
            self.chosen.extend(learned);
            self.scanned = (ballot, leader_commit);
        }
        self.advance_commit(ctx);
        self.commit < leader_commit
    }

    /// Phase 2b arrives at the leader.
    pub(super) fn on_accepted(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        commit: u64,
        behind: bool,
    ) {
        if self.role != Role::Leader || ballot != self.promised {
            return;
        }
        self.heard_from(ctx, from);
        if let Some(p) = self
            .leading
            .as_mut()
            .and_then(|l| l.proposals.get_mut(&slot))
        {
            p.acks.insert(from);
        }
        self.maybe_chosen(ctx, slot);
        if behind {
            self.catch_up(ctx, from, commit);
        }
    }

    /// A proposal a majority accepted is chosen.
    fn maybe_chosen(&mut self, ctx: &mut Ctx<'_, MpMsg>, slot: u64) {
        let majority = self.majority();
        let Some(l) = self.leading.as_mut() else {
            return;
        };
        if l.proposals
            .get(&slot)
            .is_none_or(|p| p.acks.len() < majority)
        {
            return;
        }
        let Some(p) = l.proposals.remove(&slot) else {
            return;
        };
        self.chosen.insert(slot, p.command);
        self.advance_commit(ctx);
    }

    /// The leader heard `from` in its ballot.
    fn heard_from(&mut self, ctx: &Ctx<'_, MpMsg>, from: NodeId) {
        if let Some(l) = self.leading.as_mut() {
            l.heard[from.index()] = Some(ctx.now());
        }
    }

    /// Whether a majority (the leader included) answered within the longest election
    /// timeout, or the leader took over less than that ago. A leader that cannot hear a
    /// majority can choose nothing, while its heartbeats keep its followers from
    /// standing: it steps down instead (as Raft's CheckQuorum).
    fn hears_majority(&self, ctx: &Ctx<'_, MpMsg>) -> bool {
        let Some(l) = self.leading.as_ref() else {
            return false;
        };
        let now = ctx.now();
        let window = self.config.election_timeout_max;
        if now < l.since + window {
            return true;
        }
        let recent = l
            .heard
            .iter()
            .enumerate()
            .filter(|(n, t)| *n == self.id.index() || t.is_some_and(|t| now < t + window))
            .count();
        recent >= self.majority()
    }

    /// Every heartbeat interval: step down if no majority answers, retransmit proposals
    /// not yet accepted, heartbeat the nodes sent nothing lately (all of them under
    /// leases, whose rounds need answers).
    pub(super) fn on_heartbeat_tick(&mut self, ctx: &mut Ctx<'_, MpMsg>) {
        if self.role == Role::Leader && !self.hears_majority(ctx) {
            ctx.count("multipaxos.check_quorum_step_downs", 1);
            self.step_down(ctx);
            return;
        }
        let interval = self.config.heartbeat_interval;
        let now = ctx.now();
        let (ballot, commit) = (self.promised, self.commit);
        let lease = self.config.read_mode == MpReadMode::Lease;
        let confirmed = self.confirmed_round();
        let Some(l) = self.leading.as_mut() else {
            return;
        };
        // Rounds before the confirmed one can no longer make a lease.
        l.round_sent = l.round_sent.split_off(&confirmed);
        l.round += 1;
        let round = l.round;
        l.round_sent.insert(round, now);
        let mut out: Vec<(NodeId, MpMsg)> = Vec::new();
        for (&slot, p) in l.proposals.iter_mut() {
            if p.sent_at + interval > now {
                continue;
            }
            p.sent_at = now;
            for to in (0..self.cluster).map(NodeId) {
                if !p.acks.contains(&to) {
                    let msg = MpMsg::Accept {
                        ballot,
                        slot,
                        command: p.command.clone(),
                        commit,
                    };
                    out.push((to, msg));
                }
            }
        }
        for to in (0..self.cluster).map(NodeId).filter(|n| *n != self.id) {
            let quiet = l.last_sent[to.index()].is_none_or(|t| t + interval <= now);
            let resent = out.iter().any(|(n, _)| *n == to);
            if lease || (quiet && !resent) {
                out.push((
                    to,
                    MpMsg::Heartbeat {
                        ballot,
                        commit,
                        round,
                    },
                ));
            }
        }
        for (to, msg) in out {
            self.send(ctx, to, msg);
        }
        ctx.set_timer(HEARTBEAT_TIMER, interval);
    }

    /// A follower hears the leader.
    pub(super) fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        from: NodeId,
        ballot: Ballot,
        leader_commit: u64,
        round: u64,
    ) {
        if self.refuses(ctx, from, ballot) {
            return;
        }
        self.follow(ctx, from, ballot);
        let behind = self.learn_commit(ctx, ballot, leader_commit);
        let commit = self.commit;
        self.send(
            ctx,
            from,
            MpMsg::HeartbeatReply {
                ballot,
                round,
                commit,
                behind,
            },
        );
    }

    /// The leader hears a follower's answer (round 0: an answer to catch-up).
    pub(super) fn on_heartbeat_reply(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        from: NodeId,
        ballot: Ballot,
        round: u64,
        commit: u64,
        behind: bool,
    ) {
        if self.role != Role::Leader || ballot != self.promised {
            return;
        }
        self.heard_from(ctx, from);
        if let Some(l) = self.leading.as_mut() {
            let acked = &mut l.acked_round[from.index()];
            *acked = (*acked).max(round);
            if round == 0 {
                // An answer to catch-up: more may follow at once.
                l.caught_up_at[from.index()] = None;
            }
        }
        if behind {
            self.catch_up(ctx, from, commit);
        }
    }

    /// Sends `to`, whose commit index is `commit`, the chosen commands it lacks (from the
    /// snapshot, if they were compacted), at most once a heartbeat interval.
    fn catch_up(&mut self, ctx: &mut Ctx<'_, MpMsg>, to: NodeId, commit: u64) {
        let now = ctx.now();
        let interval = self.config.heartbeat_interval;
        let Some(l) = self.leading.as_mut() else {
            return;
        };
        let slot = &mut l.caught_up_at[to.index()];
        if slot.is_some_and(|t: SimTime| t + interval > now) || commit >= self.commit {
            return;
        }
        *slot = Some(now);
        let snapshot: Option<Snapshot> =
            self.snapshot.as_ref().filter(|s| s.slot > commit).cloned();
        let from = snapshot.as_ref().map_or(commit, |s| s.slot) + 1;
        let entries: Vec<(u64, Command)> = self
            .chosen
            .range(from..)
            .take_while(|(s, _)| **s <= self.commit)
            .take(self.config.max_catch_up)
            .map(|(s, c)| (*s, c.clone()))
            .collect();
        ctx.count("multipaxos.catch_up_sent", 1);
        let ballot = self.promised;
        let leader_commit = self.commit;
        self.send(
            ctx,
            to,
            MpMsg::Learn {
                ballot,
                snapshot,
                entries,
                commit: leader_commit,
            },
        );
    }

    /// A lagging replica is sent chosen commands.
    pub(super) fn on_learn(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        from: NodeId,
        ballot: Ballot,
        snapshot: Option<Snapshot>,
        entries: Vec<(u64, Command)>,
        leader_commit: u64,
    ) {
        if ballot < self.promised || (ballot == self.promised && self.role == Role::Candidate) {
            return;
        }
        self.follow(ctx, from, ballot);
        if let Some(s) = snapshot {
            self.install_snapshot(ctx, s);
        }
        for (s, c) in entries {
            if s > self.commit {
                self.chosen.entry(s).or_insert(c);
            }
        }
        let behind = self.learn_commit(ctx, ballot, leader_commit);
        let commit = self.commit;
        self.send(
            ctx,
            from,
            MpMsg::HeartbeatReply {
                ballot,
                round: 0,
                commit,
                behind,
            },
        );
    }
}
