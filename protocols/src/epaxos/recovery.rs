//! Recovery of an instance whose leader may have failed (the technical report's explicit
//! prepare, with Sutra's correction): a Prepare in a higher ballot of the instance, then,
//! from a majority's votes, in this order — commit what one reports committed; accept
//! the accepted attributes of the highest vote ballot; if enough replicas other than the
//! leader pre-accepted one set of attributes in the initial ballot, accept them (at least
//! F) or try to pre-accept them on the rest (TryPreAccept, at least ⌊(F+1)/2⌋); otherwise
//! phase 1 again with the command, or a no-op if nobody has it.
//!
//! Each replica reports the ballot of its vote, not its promise (the two are kept apart
//! per instance): with one variable for both, a Prepare makes an old vote look new, and a
//! recoverer can pick stale attributes (`single_ballot_variable` switches that back on).

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Ctx, NodeId};

use super::EPaxos;
use super::instance::{Attrs, InstanceId, Status, Vote, access, interferes};
use super::leader::{Coord, Phase};
use super::messages::EpMsg;
use crate::multipaxos::Command;
use crate::paxos::Ballot;

/// A recovery in progress.
#[derive(Clone, Debug, Hash)]
pub(super) enum Recovery {
    /// Explicit prepare: each replica's vote (the recoverer's own included).
    Prepare {
        replies: BTreeMap<NodeId, Option<Vote>>,
    },
    /// TryPreAccept of `candidate` on the replicas that did not pre-accept it.
    TryPreAccept {
        candidate: Attrs,
        /// Whether the candidate is the leader's own attributes.
        eq: bool,
        /// Replicas that hold the candidate (pre-accepted it, or agreed to).
        holders: BTreeSet<NodeId>,
        /// Replicas asked, and those that answered.
        asked: BTreeSet<NodeId>,
        answered: BTreeSet<NodeId>,
        /// Replicas that cannot have been in a fast quorum that pre-accepted the
        /// candidate in the initial ballot: the Prepare's majority but the holders (none
        /// of them held it), and the leaders of conflicts the candidate does not cover
        /// (their own proposals are in every vote for their commands). Never the
        /// instance's own leader.
        excluded: BTreeSet<NodeId>,
    },
}

impl Recovery {
    /// The replicas that answered the current step.
    pub(super) fn answered(&self) -> BTreeSet<NodeId> {
        match self {
            Recovery::Prepare { replies } => replies.keys().copied().collect(),
            Recovery::TryPreAccept {
                answered, holders, ..
            } => answered.union(holders).copied().collect(),
        }
    }

    /// Whether it is at the TryPreAccept step.
    pub(super) fn is_try(&self) -> bool {
        matches!(self, Recovery::TryPreAccept { .. })
    }

    /// The current step's message, to resend.
    pub(super) fn message(&self, inst: InstanceId, ballot: Ballot) -> EpMsg {
        match self {
            Recovery::Prepare { .. } => EpMsg::Prepare { inst, ballot },
            Recovery::TryPreAccept { candidate, eq, .. } => EpMsg::TryPreAccept {
                inst,
                ballot,
                attrs: candidate.clone(),
                eq: *eq,
            },
        }
    }
}

/// What a replica answers to a TryPreAccept.
enum TryAnswer {
    /// Pre-accepted the candidate.
    Ok,
    /// Refused: an instance that conflicts with the candidate (or the instance itself,
    /// voted otherwise here), its status there, and whether the candidate's dependencies
    /// leave it out (rather than giving it a sequence number not below the candidate's).
    Conflict(InstanceId, Status, bool),
}

impl TryAnswer {
    fn into_reply(self) -> (bool, Option<(InstanceId, Status, bool)>) {
        match self {
            TryAnswer::Ok => (true, None),
            TryAnswer::Conflict(i, s, uncovered) => (false, Some((i, s, uncovered))),
        }
    }
}

impl EPaxos {
    /// Starts recovering `inst` in a ballot above every one seen for it.
    pub(super) fn start_recovery(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) {
        let rec = self.instances.entry(inst).or_default();
        let seen = rec
            .vote
            .as_ref()
            .map_or(rec.promised, |v| v.ballot.max(rec.promised));
        let seen = seen.max(self.hints.get(&inst).copied().unwrap_or_default());
        let ballot = Ballot::new(seen.round + 1, self.id);
        ctx.count("epaxos.recoveries", 1);
        // The recoverer answers its own Prepare like any replica: its vote, with the
        // ballot it was cast in, before it joins the new ballot.
        let own = self.prepare_answer(inst);
        self.join(inst, ballot);
        self.persist(ctx, inst);
        let mut replies = BTreeMap::new();
        replies.insert(self.id, own);
        let peers = self.peers_by_distance();
        self.coords.insert(
            inst,
            Coord {
                ballot,
                attrs: Attrs {
                    command: Command::Noop,
                    seq: 0,
                    deps: vec![0; self.cluster as usize],
                },
                phase: Phase::Recover(Recovery::Prepare { replies }),
                sent_at: ctx.now(),
                since: ctx.now(),
                asked: peers.iter().copied().collect(),
            },
        );
        for p in peers {
            self.send(ctx, p, EpMsg::Prepare { inst, ballot });
        }
        self.decide_prepare(ctx, inst);
    }

    /// This replica's vote for `inst` as a Prepare reports it: with the ballot it was cast
    /// in, or, under `single_ballot_variable`, with the one ballot the replica keeps for
    /// the instance (its promise).
    fn prepare_answer(&self, inst: InstanceId) -> Option<Vote> {
        let rec = self.instances.get(&inst)?;
        let mut vote = rec.vote.clone()?;
        if self.config.bugs.single_ballot_variable {
            vote.ballot = vote.ballot.max(rec.promised);
        }
        Some(vote)
    }

    pub(super) fn on_prepare(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
    ) {
        if self.refuse(ctx, from, inst, ballot) {
            return;
        }
        let vote = self.prepare_answer(inst);
        self.join(inst, ballot);
        self.persist(ctx, inst);
        if !self.committed(inst) {
            self.stalled.entry(inst).or_insert(ctx.now());
        }
        self.send(ctx, from, EpMsg::PrepareOk { inst, ballot, vote });
    }

    pub(super) fn on_prepare_ok(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
        vote: Option<Vote>,
    ) {
        let Some(c) = self.coords.get_mut(&inst) else {
            return;
        };
        if c.ballot != ballot {
            return;
        }
        if let Phase::Recover(Recovery::Prepare { replies }) = &mut c.phase {
            replies.insert(from, vote);
            self.decide_prepare(ctx, inst);
        }
    }

    /// Once a majority answered the Prepare: the case analysis.
    fn decide_prepare(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId) {
        let maj = self.majority();
        let Some(c) = self.coords.get(&inst) else {
            return;
        };
        let Phase::Recover(Recovery::Prepare { replies }) = &c.phase else {
            return;
        };
        if replies.len() < maj {
            return;
        }
        let ballot = c.ballot;
        let votes: Vec<(NodeId, &Vote)> = replies
            .iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| (*n, v)))
            .collect();
        // 1. Committed somewhere: that is the decision.
        if let Some((_, v)) = votes.iter().find(|(_, v)| v.status == Status::Committed) {
            let attrs = v.attrs.clone();
            ctx.count("epaxos.recovery_found_committed", 1);
            self.commit(ctx, inst, attrs, false);
            return;
        }
        // 2. Accepted in the highest vote ballot: Paxos's rule.
        let top = votes.iter().map(|(_, v)| v.ballot).max();
        if let Some((_, v)) = votes
            .iter()
            .find(|(_, v)| Some(v.ballot) == top && v.status == Status::Accepted)
        {
            let attrs = v.attrs.clone();
            ctx.count("epaxos.recovery_found_accepted", 1);
            self.start_accept(ctx, inst, ballot, attrs);
            return;
        }
        // 3 and 4. Pre-accepts in the initial ballot by replicas other than the leader,
        // when the leader did not answer (had it, it could no longer commit in the initial
        // ballot, and had it committed it would have said so).
        let initial = Ballot::new(0, inst.leader());
        let f = (self.cluster as usize - 1) / 2;
        if top == Some(initial) && !replies.contains_key(&inst.leader()) {
            let pre: Vec<(NodeId, &Vote)> = votes
                .iter()
                .filter(|(n, v)| {
                    *n != inst.leader() && v.status == Status::PreAccepted && v.ballot == initial
                })
                .copied()
                .collect();
            if let Some((candidate, eq)) = candidate(&pre) {
                let holders: BTreeSet<NodeId> = pre
                    .iter()
                    .filter(|(_, v)| v.attrs == candidate)
                    .map(|(n, _)| *n)
                    .collect();
                if holders.len() >= f.max(1) {
                    ctx.count("epaxos.recovery_found_preaccepted", 1);
                    self.start_accept(ctx, inst, ballot, candidate);
                    return;
                }
                // Without thrifty PreAccept only the leader's own attributes can have made
                // a fast commit: other candidates go to phase 1.
                let possible = eq || self.config.thrifty;
                if possible && holders.len() >= f.div_ceil(2).max(1) {
                    let others: BTreeSet<NodeId> = replies
                        .keys()
                        .filter(|n| !holders.contains(n))
                        .copied()
                        .collect();
                    self.start_try_preaccept(ctx, inst, ballot, candidate, eq, holders, others);
                    return;
                }
            }
        }
        // 5. Someone knows the command: phase 1 again, in this ballot (no fast path).
        let known = votes
            .iter()
            .filter(|(_, v)| !matches!(v.attrs.command, Command::Noop))
            .max_by_key(|(_, v)| v.ballot);
        if let Some((_, v)) = known {
            let attrs = v.attrs.clone();
            self.rerun_phase1(ctx, inst, ballot, attrs);
            return;
        }
        // 6. Nobody in a majority knows it: it cannot have been committed (a majority meets
        // every fast quorum), and no leader of a lower ballot can commit it now.
        let noop = Attrs {
            command: Command::Noop,
            seq: 0,
            deps: vec![0; self.cluster as usize],
        };
        ctx.count("epaxos.recovery_noop", 1);
        self.start_accept(ctx, inst, ballot, noop);
    }

    /// Phase 1 again for `inst` in `ballot`, from `attrs` widened by what this replica
    /// knows (its leader's earlier instances included).
    fn rerun_phase1(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        ballot: Ballot,
        mut attrs: Attrs,
    ) {
        ctx.count("epaxos.recovery_phase1", 1);
        self.index
            .widen(inst, &attrs.command, true, &mut attrs.seq, &mut attrs.deps);
        let vote = Vote::new(attrs.clone(), Status::PreAccepted, ballot);
        self.vote(ctx, inst, vote, true);
        self.start_preaccept(ctx, inst, ballot, attrs, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn start_try_preaccept(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        ballot: Ballot,
        candidate: Attrs,
        eq: bool,
        holders: BTreeSet<NodeId>,
        others: BTreeSet<NodeId>,
    ) {
        ctx.count("epaxos.try_preaccept", 1);
        let Some(c) = self.coords.get_mut(&inst) else {
            return;
        };
        c.attrs = candidate.clone();
        c.sent_at = ctx.now();
        c.asked = others.clone();
        let excluded = others
            .iter()
            .filter(|n| **n != inst.leader())
            .copied()
            .collect();
        c.phase = Phase::Recover(Recovery::TryPreAccept {
            candidate: candidate.clone(),
            eq,
            holders,
            asked: others.clone(),
            answered: BTreeSet::new(),
            excluded,
        });
        let me = self.id;
        for &n in others.iter().filter(|n| **n != me) {
            let msg = EpMsg::TryPreAccept {
                inst,
                ballot,
                attrs: candidate.clone(),
                eq,
            };
            self.send(ctx, n, msg);
        }
        // Its own answer last: it may settle the recovery at once.
        if others.contains(&self.id) {
            let answer = self.try_preaccept_here(ctx, inst, ballot, candidate, eq);
            let (ok, conflict) = answer.into_reply();
            self.on_try_preaccept_reply(ctx, self.id, inst, ballot, ok, conflict);
        }
    }

    pub(super) fn on_try_preaccept(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
        attrs: Attrs,
        eq: bool,
    ) {
        // Committed here already: the recoverer needs the decision, not a vote.
        if self.tell_committed(ctx, from, inst) || self.refuse(ctx, from, inst, ballot) {
            return;
        }
        let (ok, conflict) = self
            .try_preaccept_here(ctx, inst, ballot, attrs, eq)
            .into_reply();
        let reply = EpMsg::TryPreAcceptReply {
            inst,
            ballot,
            ok,
            conflict,
        };
        self.send(ctx, from, reply);
    }

    /// This replica's answer to a TryPreAccept of `attrs` for `inst` in `ballot` (not
    /// below its promise): it pre-accepts them, as the initial ballot's fast quorum would
    /// have, unless it knows an interfering instance that neither depends on the command
    /// nor is covered by `attrs` (a fast quorum with these attributes could not have
    /// formed), or it voted otherwise for the instance itself (its vote stands: only a
    /// replica with no vote takes the candidate, as in Sutra's fork).
    fn try_preaccept_here(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        inst: InstanceId,
        ballot: Ballot,
        attrs: Attrs,
        eq: bool,
    ) -> TryAnswer {
        self.join(inst, ballot);
        self.persist(ctx, inst);
        if let Some(v) = self.instances.get(&inst).and_then(|r| r.vote.as_ref()) {
            if v.status == Status::PreAccepted && v.attrs == attrs {
                return TryAnswer::Ok;
            }
            if v.status != Status::PreAccepted {
                return TryAnswer::Conflict(inst, v.status, false);
            }
            // Its own other vote stands; still name a conflict the candidate leaves out, so
            // that the recoverer can rule that conflict's leader out of the fast quorum
            // (without it, two recoveries on a bare majority can defer to each other for
            // ever).
            return match self.try_conflict(inst, &attrs) {
                Some(TryAnswer::Conflict(d, s, true)) => TryAnswer::Conflict(d, s, true),
                _ => TryAnswer::Conflict(inst, Status::PreAccepted, false),
            };
        }
        if let Some(conflict) = self.try_conflict(inst, &attrs) {
            return conflict;
        }
        // The vote keeps the initial ballot, as if cast by the fast quorum: the
        // candidate may be what a fast path committed, and a later recovery must still
        // count it (Sutra's fork does the same). With one ballot variable (the bug
        // switch), it takes the recovery's ballot, as the TLA+ specification has it.
        let initial = Ballot::new(0, inst.leader());
        let single = self.config.bugs.single_ballot_variable;
        self.index.record(inst, &attrs.command, attrs.seq);
        let mut vote = Vote::new(
            attrs,
            Status::PreAccepted,
            if single { ballot } else { initial },
        );
        vote.eq = eq;
        self.instances.entry(inst).or_default().vote = Some(vote);
        self.stalled.entry(inst).or_insert(ctx.now());
        self.persist(ctx, inst);
        TryAnswer::Ok
    }

    /// An instance here that interferes with `attrs`'s command and rules the candidate
    /// out: it does not depend on `inst`, and `attrs` either does not cover it or gives it
    /// a sequence number at least the candidate's.
    fn try_conflict(&self, inst: InstanceId, attrs: &Attrs) -> Option<TryAnswer> {
        let a = access(&attrs.command)?;
        for (d, rec) in &self.instances {
            if *d == inst {
                continue;
            }
            let Some(v) = rec.vote.as_ref() else {
                continue;
            };
            let Some(b) = access(&v.attrs.command) else {
                continue;
            };
            if !interferes(a, b, self.config.reads_commute) {
                continue;
            }
            let depends_on_inst = v
                .attrs
                .deps
                .get(inst.replica as usize)
                .is_some_and(|x| *x >= inst.slot);
            if depends_on_inst {
                continue;
            }
            let covered = attrs
                .deps
                .get(d.replica as usize)
                .is_some_and(|x| *x >= d.slot);
            if !covered || v.attrs.seq >= attrs.seq {
                return Some(TryAnswer::Conflict(*d, v.status, !covered));
            }
        }
        None
    }

    pub(super) fn on_try_preaccept_reply(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
        ok: bool,
        conflict: Option<(InstanceId, Status, bool)>,
    ) {
        let maj = self.majority();
        let fq = self.fast_quorum();
        let n = self.cluster as usize;
        let Some(c) = self.coords.get_mut(&inst) else {
            return;
        };
        if c.ballot != ballot {
            return;
        }
        let Phase::Recover(Recovery::TryPreAccept {
            candidate,
            holders,
            asked,
            answered,
            excluded,
            ..
        }) = &mut c.phase
        else {
            return;
        };
        answered.insert(from);
        if ok {
            holders.insert(from);
        }
        if let Some((d, status, true)) = conflict
            && d != inst
            && status != Status::Committed
            && d.leader() != inst.leader()
        {
            // The conflict's leader proposed it without this command, and every vote for
            // it contains that proposal: it was not in a fast quorum that saw this
            // command first.
            excluded.insert(d.leader());
        }
        let candidate = candidate.clone();
        let (held, possible) = (holders.len(), n - excluded.len());
        let all_answered = answered.is_superset(asked);
        if held >= maj {
            self.start_accept(ctx, inst, ballot, candidate);
            return;
        }
        match conflict {
            // The decision is on its way (the replica sent its Commit).
            Some((d, Status::Committed, _)) if d == inst => {
                self.coords.remove(&inst);
                return;
            }
            // Accepted in some ballot: a new Prepare must weigh that vote.
            Some((d, Status::Accepted, _)) if d == inst => {
                self.coords.remove(&inst);
                self.start_recovery(ctx, inst);
                return;
            }
            // A committed conflict the candidate does not order before it: the candidate
            // cannot have been committed on the fast path (an accepted or pre-accepted
            // vote proves nothing: its ballot may never have been chosen).
            Some((_, Status::Committed, _)) => {
                self.rerun_phase1(ctx, inst, ballot, candidate);
                return;
            }
            _ => {}
        }
        // Too few replicas left that could have formed the fast quorum: no fast commit.
        if possible < fq {
            self.rerun_phase1(ctx, inst, ballot, candidate);
            return;
        }
        if all_answered {
            // Only uncommitted conflicts: wait for them to be settled, then try again.
            ctx.count("epaxos.recovery_deferred", 1);
            self.coords.remove(&inst);
        }
    }
}

/// The attributes a fast path may have committed, from the initial-ballot pre-accepts of
/// replicas other than the leader: one set shared by all, or else the leader's own
/// attributes that some kept unchanged (whether they came unchanged, too).
fn candidate(pre: &[(NodeId, &Vote)]) -> Option<(Attrs, bool)> {
    let (_, first) = pre.first()?;
    if pre.iter().all(|(_, v)| v.attrs == first.attrs) {
        return Some((first.attrs.clone(), pre.iter().all(|(_, v)| v.eq)));
    }
    pre.iter()
        .find(|(_, v)| v.eq)
        .map(|(_, v)| (v.attrs.clone(), true))
}
