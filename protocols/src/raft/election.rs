//! Elections and role changes: timeouts, (pre-)votes, stepping up and down, CheckQuorum.

use std::collections::{BTreeMap, VecDeque};

use sim_core::{Ctx, NodeId, Reply, SimTime};

use super::messages::{Command, Entry, RaftMsg, VoteRequest, VoteResponse};
use super::{HEARTBEAT_TIMER, LeaderState, Progress, QUORUM_TIMER, Raft, Role, persist};

impl Raft {
    pub(super) fn on_election_timeout(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        if self.role == Role::Leader {
            return;
        }
        // The leader is presumed gone; forget it so that votes are no longer refused
        // on its behalf.
        self.leader = None;
        self.leader_contact = None;
        if !self.is_member(self.id) {
            // Not (or no longer) a voting member: wait to be added.
            self.role = Role::Follower;
            self.reset_election_timer(ctx);
            return;
        }
        self.campaign(ctx, self.config.pre_vote);
    }

    /// A leader handing over asks this node to stand at once: no pre-vote (the leader
    /// has stepped down, so there is no one to disrupt), and voters disregard the leader
    /// they still hear from. Only from the leader of this node's term, and only to a
    /// member.
    pub(super) fn on_timeout_now(&mut self, ctx: &mut Ctx<'_, RaftMsg>, from: NodeId, term: u64) {
        if term != self.term || self.leader != Some(from) || !self.is_member(self.id) {
            return;
        }
        if self.role != Role::Follower {
            return;
        }
        ctx.count("raft.handovers_received", 1);
        self.handed_over = Some(self.term + 1);
        self.campaign(ctx, false);
    }

    /// Stands for election, or first asks for pre-votes.
    fn campaign(&mut self, ctx: &mut Ctx<'_, RaftMsg>, pre_vote: bool) {
        ctx.count(
            if pre_vote {
                "raft.pre_elections"
            } else {
                "raft.elections"
            },
            1,
        );
        self.votes.clear();
        self.votes.insert(self.id);
        if pre_vote {
            self.role = Role::PreCandidate;
        } else {
            self.role = Role::Candidate;
            self.term += 1;
            self.voted_for = Some(self.id);
            ctx.observe("vote", self.term, u64::from(self.id.0));
            self.leader = None;
            self.persist_hard_state(ctx);
        }
        self.reset_election_timer(ctx);
        // Vote requests are retried until answered (the paper's RPCs are retried), so
        // a voter that was down when the campaign began still gets asked.
        ctx.set_timer(HEARTBEAT_TIMER, self.config.heartbeat_interval);
        self.request_votes(ctx);
        self.tally(ctx);
    }

    /// Asks every peer that has not granted its (pre-)vote yet.
    pub(super) fn request_votes(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let pre_vote = self.role == Role::PreCandidate;
        let req = VoteRequest {
            term: if pre_vote { self.term + 1 } else { self.term },
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            pre_vote,
            transfer: self.handed_over == Some(self.term) && !pre_vote,
        };
        for p in ctx.peers() {
            if self.is_member(p) && !self.votes.contains(&p) {
                self.send(ctx, p, RaftMsg::Vote(req.clone()));
            }
        }
    }

    /// Moves on once the votes gathered make a majority.
    fn tally(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        if self.members_among(&self.votes) < self.majority() {
            return;
        }
        match self.role {
            Role::PreCandidate => self.campaign(ctx, false),
            Role::Candidate => self.become_leader(ctx),
            _ => {}
        }
    }

    /// Whether a leader is known to be alive, so that votes for others are refused
    /// (thesis §4.2.3). This is also what makes leader leases sound; under them a node
    /// that restarted less than a minimum election timeout ago refuses too, since it
    /// forgot whom it heard (its acknowledgement may be part of a lease that still holds).
    fn in_lease(&self, ctx: &Ctx<'_, RaftMsg>) -> bool {
        if !self.config.check_quorum {
            return false;
        }
        if self.role == Role::Leader || self.refuse_until.is_some_and(|t| ctx.now() < t) {
            return true;
        }
        match (self.leader, self.leader_contact) {
            (Some(_), Some(t)) => ctx.now() < t + self.config.election_timeout_min,
            _ => false,
        }
    }

    pub(super) fn on_vote_request(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        from: NodeId,
        req: VoteRequest,
    ) {
        let refuse = |term| VoteResponse {
            term,
            granted: false,
            pre_vote: req.pre_vote,
        };
        let disruptive = req.term > self.term && self.in_lease(ctx) && !req.transfer;
        if req.term < self.term || disruptive {
            self.send(ctx, from, RaftMsg::VoteReply(refuse(self.term)));
            return;
        }
        let log_ok = self.config.bugs.vote_without_log_check
            || (req.last_log_term, req.last_log_index)
                >= (self.log.last_term(), self.log.last_index());
        if req.pre_vote {
            // Nobody's state changes for a pre-vote; it is granted if a real vote in
            // that (later) term could be.
            let granted = req.term > self.term && log_ok;
            let term = if granted { req.term } else { self.term };
            let resp = VoteResponse {
                term,
                granted,
                pre_vote: true,
            };
            self.send(ctx, from, RaftMsg::VoteReply(resp));
            return;
        }
        if req.term > self.term {
            self.become_follower(ctx, req.term, None);
        }
        let granted = self.voted_for.is_none_or(|v| v == from) && log_ok;
        if granted {
            self.voted_for = Some(from);
            ctx.observe("vote", self.term, u64::from(from.0));
            self.persist_hard_state(ctx);
            self.reset_election_timer(ctx);
        }
        let resp = VoteResponse {
            term: self.term,
            granted,
            pre_vote: false,
        };
        self.send(ctx, from, RaftMsg::VoteReply(resp));
    }

    pub(super) fn on_vote_response(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        from: NodeId,
        resp: VoteResponse,
    ) {
        if resp.pre_vote {
            if self.role != Role::PreCandidate {
                return;
            }
            if resp.granted && resp.term == self.term + 1 {
                self.votes.insert(from);
                self.tally(ctx);
            } else if !resp.granted && resp.term > self.term {
                self.become_follower(ctx, resp.term, None);
            }
            return;
        }
        if resp.term > self.term {
            self.become_follower(ctx, resp.term, None);
            return;
        }
        if self.role == Role::Candidate && resp.term == self.term && resp.granted {
            self.votes.insert(from);
            self.tally(ctx);
        }
    }

    /// Follows `leader` (if known) in `term`, which is at least the current term.
    pub(super) fn become_follower(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        term: u64,
        leader: Option<NodeId>,
    ) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.persist_hard_state(ctx);
        }
        let was_leader = self.role == Role::Leader;
        if self.role != Role::Follower {
            ctx.cancel_timer(HEARTBEAT_TIMER);
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.votes.clear();
        if let Some(ls) = self.leading.take() {
            // Reads were never appended: the client may safely ask the new leader.
            for r in ls.reads {
                ctx.reply(r.request.id, Reply::Redirect(leader));
            }
            // Appended writes may still commit; they stay in `waiting` and are answered
            // if this node applies them, or time out at the client (indeterminate).
        }
        if was_leader {
            ctx.cancel_timer(QUORUM_TIMER);
            self.reset_election_timer(ctx);
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.votes.clear();
        ctx.observe("leader", self.term, u64::from(self.id.0));
        ctx.count("raft.leaders", 1);
        let next = self.log.last_index() + 1;
        let progress = (0..self.cluster)
            .map(|_| Progress {
                next_index: next,
                match_index: 0,
                inflight: 0,
                sent_at: SimTime::ZERO,
                resend_from: next,
                acked_round: 0,
                active: false,
            })
            .collect();
        self.leading = Some(LeaderState {
            progress,
            round: 0,
            round_sent: BTreeMap::new(),
            reads: Vec::new(),
            term_committed: false,
            changes: VecDeque::new(),
            catch_up: None,
        });
        ctx.cancel_timer(super::ELECTION_TIMER);
        ctx.set_timer(QUORUM_TIMER, self.config.election_timeout_max);
        self.append_local(
            ctx,
            Entry {
                term: self.term,
                command: Command::Noop,
            },
        );
        self.broadcast_round(ctx);
        // A cluster of one commits at once.
        self.advance_commit(ctx);
    }

    pub(super) fn on_check_quorum(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let me = self.id;
        let majority = self.majority();
        let members = super::membership::members_of(&self.log, &self.initial);
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        let mut heard = usize::from(members.contains(&me));
        for (i, p) in ls.progress.iter_mut().enumerate() {
            let active = std::mem::take(&mut p.active);
            if i != me.index() && active && members.contains(&NodeId(i as u32)) {
                heard += 1;
            }
        }
        if self.config.check_quorum && heard < majority {
            ctx.count("raft.check_quorum_stepdowns", 1);
            let term = self.term;
            self.become_follower(ctx, term, None);
            return;
        }
        ctx.set_timer(QUORUM_TIMER, self.config.election_timeout_max);
    }

    /// Appends `entry` to the leader's own log and disk.
    pub(super) fn append_local(&mut self, ctx: &mut Ctx<'_, RaftMsg>, entry: Entry) -> u64 {
        let term = entry.term;
        persist::save_entry(ctx.disk(), self.log.last_index() + 1, &entry);
        let index = self.log.push(entry);
        ctx.observe("entry", index, term);
        index
    }
}
