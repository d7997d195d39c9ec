//! A command leader's side: client commands, phase 1 (PreAccept) with the fast-path
//! decision, phase 2 (Accept) on the slow path, commit, and resends. A recoverer that runs
//! phase 1 or 2 again for another replica's instance uses the same code in a higher
//! ballot (where the fast path is closed).

use std::collections::{BTreeMap, BTreeSet};

use sim_core::history::Operation;
use sim_core::{ClientRequest, Ctx, NodeId, Reply, SimTime};

use super::instance::{Attrs, InstanceId, Status, Vote};
use super::messages::EpMsg;
use super::recovery::Recovery;
use super::{EPaxos, obs};
use crate::multipaxos::Command;
use crate::paxos::Ballot;

/// An instance this replica drives, in `ballot`.
#[derive(Clone, Debug, Hash)]
pub(super) struct Coord {
    /// The ballot it drives the instance in.
    pub ballot: Ballot,
    /// The attributes proposed in the current phase.
    pub attrs: Attrs,
    /// Where it is.
    pub phase: Phase,
    /// When the current phase's messages last went out.
    pub sent_at: SimTime,
    /// When this replica started driving the instance in this ballot.
    pub since: SimTime,
    /// Who was sent them.
    pub asked: BTreeSet<NodeId>,
}

/// The phase an instance's driver is in, with the answers gathered.
#[derive(Clone, Debug, Hash)]
pub(super) enum Phase {
    /// Phase 1: each replica's (sequence number, dependencies).
    PreAccept {
        /// Each answer: sequence number, dependencies, and whether they were all committed
        /// at the replica when it computed them.
        replies: BTreeMap<NodeId, (u64, Vec<u64>, bool)>,
        /// The leader's own attributes had every dependency committed here when computed.
        deps_committed: bool,
        /// A resend went beyond the thrifty fast quorum first asked: from then on only
        /// answers with the leader's own attributes can make a fast-path commit.
        widened: bool,
    },
    /// Phase 2: who accepted.
    Accept { acks: BTreeSet<NodeId> },
    /// Recovery (explicit prepare, then possibly TryPreAccept).
    Recover(Recovery),
}

impl EPaxos {
    pub(super) fn on_client_request(&mut self, ctx: &mut Ctx<'_, EpMsg>, request: ClientRequest) {
        if let Some(out) = self.kv.answered(request.id) {
            ctx.reply(request.id, Reply::Ok(out.clone()));
            return;
        }
        if self.waiting.values().any(|id| *id == request.id) {
            return; // a retry of a command in flight here: answered when it executes
        }
        if !matches!(
            request.op,
            Operation::Get { .. }
                | Operation::Put { .. }
                | Operation::Cas { .. }
                | Operation::Append { .. }
        ) {
            ctx.reply(request.id, Reply::Fail("unsupported operation".into()));
            return;
        }
        let inst = InstanceId::new(self.id, self.next_slot);
        self.next_slot += 1;
        let command = Command::Client {
            id: request.id,
            op: request.op,
        };
        let mut attrs = Attrs {
            command,
            seq: 1,
            deps: vec![0; self.cluster as usize],
        };
        self.index
            .widen(inst, &attrs.command, true, &mut attrs.seq, &mut attrs.deps);
        self.waiting.insert(inst, request.id);
        let ballot = Ballot::new(0, self.id);
        let mut vote = Vote::new(attrs.clone(), Status::PreAccepted, ballot);
        vote.eq = true;
        // Whether its dependencies are committed is fixed now, with the attributes: later
        // commits cannot vouch for a sequence number computed before them.
        vote.deps_committed = self.deps_committed(inst, &attrs);
        let committed = vote.deps_committed;
        self.vote(ctx, inst, vote, true);
        self.start_preaccept(ctx, inst, ballot, attrs, committed);
    }

    /// Phase 1 of `inst` in `ballot` with the leader's `attrs` (already its own vote);
    /// `deps_committed`: every interfering dependency was committed here when they were
    /// computed.
    pub(super) fn start_preaccept(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        ballot: Ballot,
        attrs: Attrs,
        deps_committed: bool,
    ) {
        let targets: Vec<NodeId> = if self.config.thrifty {
            let k = self.fast_quorum() - 1;
            self.peers_by_distance().into_iter().take(k).collect()
        } else {
            self.peers_by_distance()
        };
        let since = self.driving_since(ctx, inst, ballot);
        self.coords.insert(
            inst,
            Coord {
                ballot,
                attrs: attrs.clone(),
                phase: Phase::PreAccept {
                    replies: BTreeMap::new(),
                    deps_committed,
                    widened: !self.config.thrifty,
                },
                sent_at: ctx.now(),
                since,
                asked: targets.iter().copied().collect(),
            },
        );
        for t in targets {
            let msg = EpMsg::PreAccept {
                inst,
                ballot,
                attrs: attrs.clone(),
            };
            self.send(ctx, t, msg);
        }
        self.decide_preaccept(ctx, inst, false);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_preaccept_ok(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
        seq: u64,
        deps: Vec<u64>,
        deps_committed: bool,
    ) {
        let Some(c) = self.coords.get_mut(&inst) else {
            return;
        };
        let Phase::PreAccept { replies, .. } = &mut c.phase else {
            return;
        };
        if c.ballot != ballot {
            return;
        }
        replies.insert(from, (seq, deps, deps_committed));
        self.decide_preaccept(ctx, inst, false);
    }

    /// Commits on the fast path, moves to the slow path, or waits for more answers.
    /// `timed_out`: no more answers came within a retry interval, so a majority is
    /// enough for the slow path even while the fast path is still open.
    pub(super) fn decide_preaccept(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        timed_out: bool,
    ) {
        let fq = self.fast_quorum();
        let maj = self.majority();
        let Some(c) = self.coords.get(&inst) else {
            return;
        };
        let Phase::PreAccept {
            replies,
            deps_committed,
            widened,
        } = &c.phase
        else {
            return;
        };
        // Answers that can make a fast-path commit: the leader's own attributes from each
        // (a recovery can find them among differing votes), or, from the thrifty fast
        // quorum that alone was asked, one set of attributes from all.
        let eq = replies
            .values()
            .all(|(s, d, _)| *s == c.attrs.seq && *d == c.attrs.deps);
        let first = replies.values().next();
        let identical = replies
            .values()
            .all(|(s, d, _)| first.is_some_and(|(s1, d1, _)| s == s1 && d == d1));
        let agree = eq || (!widened && identical);
        let mut fast = c.attrs.clone();
        if let Some((s, d, _)) = first.filter(|_| !eq) {
            fast.seq = *s;
            fast.deps = d.clone();
        }
        // Where a recovery may have to decide from ⌊(F+1)/2⌋ votes alone (F ≥ 2), the
        // paper's optimized fast path also needs every dependency committed when the
        // attributes were computed (by the leader, for its own; by a replica that
        // answered them), so that the sequence number is above theirs for good.
        let f = (self.cluster as usize - 1) / 2;
        let deps_committed =
            (eq && *deps_committed) || replies.values().any(|(_, _, committed)| *committed);
        let initial = c.ballot.round == 0;
        if initial && agree && replies.len() + 1 >= fq && (f < 2 || deps_committed) {
            self.commit(ctx, inst, fast, true);
            return;
        }
        let fast_open = initial && agree && replies.len() + 1 < fq && !timed_out;
        if replies.len() + 1 >= maj && !fast_open {
            let mut attrs = c.attrs.clone();
            for (s, d, _) in replies.values() {
                attrs.seq = attrs.seq.max(*s);
                for (a, b) in attrs.deps.iter_mut().zip(d) {
                    *a = (*a).max(*b);
                }
            }
            let ballot = c.ballot;
            self.start_accept(ctx, inst, ballot, attrs);
        }
    }

    /// Phase 2 of `inst` in `ballot` with `attrs`.
    pub(super) fn start_accept(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        ballot: Ballot,
        attrs: Attrs,
    ) {
        let since = self.driving_since(ctx, inst, ballot);
        self.vote(
            ctx,
            inst,
            Vote::new(attrs.clone(), Status::Accepted, ballot),
            true,
        );
        let targets: Vec<NodeId> = if self.config.thrifty {
            let k = self.majority() - 1;
            self.peers_by_distance().into_iter().take(k).collect()
        } else {
            self.peers_by_distance()
        };
        self.coords.insert(
            inst,
            Coord {
                ballot,
                attrs: attrs.clone(),
                phase: Phase::Accept {
                    acks: BTreeSet::new(),
                },
                sent_at: ctx.now(),
                since,
                asked: targets.iter().copied().collect(),
            },
        );
        for t in targets {
            let msg = EpMsg::Accept {
                inst,
                ballot,
                attrs: attrs.clone(),
            };
            self.send(ctx, t, msg);
        }
        self.decide_accept(ctx, inst);
    }

    pub(super) fn on_accept_ok(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
    ) {
        let Some(c) = self.coords.get_mut(&inst) else {
            return;
        };
        if c.ballot != ballot {
            return;
        }
        if let Phase::Accept { acks } = &mut c.phase {
            acks.insert(from);
        }
        self.decide_accept(ctx, inst);
    }

    fn decide_accept(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) {
        let maj = self.majority();
        let Some(c) = self.coords.get(&inst) else {
            return;
        };
        if let Phase::Accept { acks } = &c.phase
            && acks.len() + 1 >= maj
        {
            let attrs = c.attrs.clone();
            self.commit(ctx, inst, attrs, false);
        }
    }

    /// Since when this replica drives `inst` in `ballot` (now, if it starts).
    pub(super) fn driving_since(
        &self,
        ctx: &Ctx<'_, EpMsg>,
        inst: InstanceId,
        ballot: Ballot,
    ) -> SimTime {
        self.coords
            .get(&inst)
            .filter(|c| c.ballot == ballot)
            .map_or(ctx.now(), |c| c.since)
    }

    /// Commits `inst` with `attrs`, tells every other replica, and executes what it can.
    pub(super) fn commit(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        attrs: Attrs,
        fast: bool,
    ) {
        self.coords.remove(&inst);
        if self.committed(inst) {
            return;
        }
        let ballot = self.promised(inst);
        let vote = Vote::new(attrs.clone(), Status::Committed, ballot);
        self.vote(ctx, inst, vote, true);
        let kind = if fast {
            ctx.count("epaxos.fast_commits", 1);
            obs::FAST_COMMIT
        } else {
            ctx.count("epaxos.slow_commits", 1);
            obs::SLOW_COMMIT
        };
        ctx.observe(kind, inst.encode(), 0);
        for p in ctx.peers().collect::<Vec<_>>() {
            let msg = EpMsg::Commit {
                inst,
                attrs: attrs.clone(),
            };
            self.send(ctx, p, msg);
        }
        self.on_committed(ctx, inst);
    }

    /// A replica refused `ballot` for `inst`: someone else drives it now.
    pub(super) fn on_nack(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        ballot: Ballot,
        promised: Ballot,
    ) {
        if self.coords.get(&inst).is_some_and(|c| c.ballot == ballot) {
            self.coords.remove(&inst);
        }
        // Seen, not promised: the next recovery here starts above it.
        let hint = self.hints.entry(inst).or_default();
        *hint = (*hint).max(promised);
        if !self.committed(inst) {
            self.stalled.entry(inst).or_insert(ctx.now());
        }
    }

    /// Every retry interval: resend what went unanswered, and recover instances stalled
    /// for longer than the recovery timeout.
    pub(super) fn on_tick(&mut self, ctx: &mut Ctx<'_, EpMsg>) {
        let now = ctx.now();
        let due: Vec<InstanceId> = self
            .coords
            .iter()
            .filter(|(_, c)| now - c.sent_at >= self.config.retry_interval)
            .map(|(i, _)| *i)
            .collect();
        for inst in due {
            self.resend(ctx, inst);
        }
        let wait = self.config.recovery_timeout + self.jitter;
        // A recovery that has not decided within the timeout (a replica it waits for
        // crashed, or answers were lost) starts again in a higher ballot.
        let stuck: Vec<InstanceId> = self
            .coords
            .iter()
            .filter(|(_, c)| c.ballot.round > 0 && now - c.since >= wait)
            .map(|(i, _)| *i)
            .collect();
        for inst in stuck {
            self.coords.remove(&inst);
            self.start_recovery(ctx, inst);
        }
        let stale: Vec<InstanceId> = self
            .stalled
            .iter()
            .filter(|(i, since)| now - **since >= wait && !self.coords.contains_key(i))
            .map(|(i, _)| *i)
            .collect();
        for inst in stale {
            if self.committed(inst) {
                self.stalled.remove(&inst);
                continue;
            }
            self.stalled.insert(inst, now);
            self.start_recovery(ctx, inst);
        }
    }

    /// Resends the current phase's message of `inst` to those who have not answered
    /// (thrifty leaders widen to every replica), or moves on if a majority answered.
    fn resend(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) {
        if matches!(
            self.coords.get(&inst).map(|c| &c.phase),
            Some(Phase::PreAccept { .. })
        ) {
            self.decide_preaccept(ctx, inst, true);
        }
        let peers = self.peers_by_distance();
        let Some(c) = self.coords.get_mut(&inst) else {
            return;
        };
        c.sent_at = ctx.now();
        let answered: BTreeSet<NodeId> = match &c.phase {
            Phase::PreAccept { replies, .. } => replies.keys().copied().collect(),
            Phase::Accept { acks } => acks.clone(),
            Phase::Recover(r) => r.answered(),
        };
        let (ballot, attrs) = (c.ballot, c.attrs.clone());
        let msg = match &c.phase {
            Phase::PreAccept { .. } => EpMsg::PreAccept {
                inst,
                ballot,
                attrs,
            },
            Phase::Accept { .. } => EpMsg::Accept {
                inst,
                ballot,
                attrs,
            },
            Phase::Recover(r) => r.message(inst, ballot),
        };
        // A TryPreAccept goes only to the members of the Prepare's majority it was meant
        // for; other phases ask every replica that has not answered.
        let try_only = matches!(&c.phase, Phase::Recover(r) if r.is_try());
        let targets: Vec<NodeId> = peers
            .into_iter()
            .filter(|p| !answered.contains(p) && (!try_only || c.asked.contains(p)))
            .collect();
        let wider = targets.iter().any(|t| !c.asked.contains(t));
        if let Phase::PreAccept { widened, .. } = &mut c.phase {
            *widened |= wider;
        }
        c.asked.extend(targets.iter().copied());
        for t in targets {
            self.send(ctx, t, msg.clone());
        }
    }
}
