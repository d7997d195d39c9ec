//! Log replication: AppendEntries both ways, fast backup, heartbeats, commitment and
//! applying committed entries.

use sim_core::{Ctx, NodeId};

use super::messages::{AppendRequest, AppendResponse, Command, RaftMsg};
use super::{HEARTBEAT_TIMER, Raft, Role, persist};
use crate::kv::digest;

impl Raft {
    /// Starts a heartbeat round: every follower gets an AppendEntries (with whatever
    /// entries it lacks), and their answers confirm leadership as of now.
    pub(super) fn broadcast_round(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let now = ctx.now();
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        ls.round += 1;
        ls.round_sent.insert(ls.round, now);
        for p in ctx.peers() {
            self.send_append(ctx, p, true);
        }
        // Catch-up rounds run out even when the server being added never answers.
        self.start_membership_change(ctx);
        ctx.set_timer(HEARTBEAT_TIMER, self.config.heartbeat_interval);
    }

    pub(super) fn on_heartbeat(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        match self.role {
            Role::Leader => {
                ctx.count("raft.heartbeats", 1);
                self.broadcast_round(ctx);
            }
            Role::Candidate | Role::PreCandidate => {
                self.request_votes(ctx);
                ctx.set_timer(HEARTBEAT_TIMER, self.config.heartbeat_interval);
            }
            Role::Follower => {}
        }
    }

    /// Sends new entries to every follower whose window allows it.
    pub(super) fn replicate(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        for p in ctx.peers() {
            self.send_append(ctx, p, false);
        }
    }

    /// Sends `to` an AppendEntries from its `next_index`. Unless `force` (a heartbeat),
    /// nothing is sent when there is nothing new or too much is in flight; a forced send
    /// with entries in flight carries none, unless they went unanswered for a heartbeat
    /// interval and are presumed lost.
    fn send_append(&mut self, ctx: &mut Ctx<'_, RaftMsg>, to: NodeId, force: bool) {
        let now = ctx.now();
        let base = self.log.snapshot_index();
        let pipeline = self.config.pipeline;
        let window = if pipeline {
            self.config.max_inflight.max(1)
        } else {
            1
        };
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        let pr = &mut ls.progress[to.index()];
        if pr.inflight > 0 && now >= pr.sent_at + self.config.heartbeat_interval {
            // Resend what went unanswered, not everything since the last known match: a
            // new leader knows of no match, and would otherwise start over from index 1.
            pr.inflight = 0;
            pr.next_index = pr.resend_from.max(pr.match_index + 1);
        }
        if pr.next_index <= base {
            // The entries it needs are compacted away.
            self.send_snapshot(ctx, to);
            return;
        }
        let busy = pr.inflight >= window;
        let has_new = pr.next_index <= self.log.last_index();
        if !force && (!has_new || busy) {
            return;
        }
        let (prev_index, entries) = if busy || !has_new {
            // With pipelined entries in flight, only what is known to match is a safe
            // point of reference for a bare heartbeat.
            let prev = if pipeline && busy {
                pr.match_index.max(base)
            } else {
                pr.next_index - 1
            };
            (prev, Vec::new())
        } else {
            let entries = self.log.slice(
                pr.next_index,
                self.config.max_entries_per_append,
                self.config.max_append_bytes,
            );
            (pr.next_index - 1, entries)
        };
        if !entries.is_empty() {
            if pr.inflight == 0 {
                pr.resend_from = pr.next_index;
            }
            pr.inflight += 1;
            pr.sent_at = now;
            if pipeline {
                pr.next_index += entries.len() as u64;
            }
        }
        let req = AppendRequest {
            term: self.term,
            prev_index,
            prev_term: self.log.term_at(prev_index).unwrap_or(0),
            entries,
            leader_commit: self.commit,
            round: ls.round,
        };
        self.send(ctx, to, RaftMsg::Append(req));
    }

    /// Follows `from` as the leader of `term` if that term is current; `false` if the
    /// message is from a stale leader.
    pub(super) fn accept_leader(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        from: NodeId,
        term: u64,
    ) -> bool {
        if term < self.term {
            return false;
        }
        if term > self.term || self.role != Role::Follower {
            self.become_follower(ctx, term, Some(from));
        }
        self.leader = Some(from);
        self.leader_contact = Some(ctx.now());
        self.reset_election_timer(ctx);
        true
    }

    pub(super) fn on_append(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        from: NodeId,
        req: AppendRequest,
    ) {
        let mut resp = AppendResponse {
            term: self.term,
            success: false,
            prev_index: req.prev_index,
            match_index: 0,
            conflict_term: None,
            conflict_index: 0,
            round: req.round,
        };
        if !self.accept_leader(ctx, from, req.term) {
            self.send(ctx, from, RaftMsg::AppendReply(resp));
            return;
        }
        resp.term = self.term;

        let (mut prev, mut entries) = (req.prev_index, req.entries);
        let base = self.log.snapshot_index();
        // Entries up to the snapshot are committed here, hence the leader's too: skip them.
        let skipped = prev < base;
        if skipped {
            let skip = ((base - prev) as usize).min(entries.len());
            entries.drain(..skip);
            prev += skip as u64;
        }
        match self.log.term_at(prev) {
            _ if skipped => self.accept_entries(ctx, prev, entries, req.leader_commit, &mut resp),
            None => {
                resp.conflict_index = self.log.last_index() + 1;
            }
            Some(t) if t != req.prev_term => {
                resp.conflict_term = Some(t);
                resp.conflict_index = self.log.first_index_of_term(prev, t);
            }
            Some(_) => self.accept_entries(ctx, prev, entries, req.leader_commit, &mut resp),
        }
        self.send(ctx, from, RaftMsg::AppendReply(resp));
    }

    /// Stores entries that passed the consistency check and learns the commit index.
    fn accept_entries(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        prev: u64,
        entries: Vec<super::Entry>,
        leader_commit: u64,
        resp: &mut AppendResponse,
    ) {
        let last_new = prev + entries.len() as u64;
        self.store_entries(ctx, prev, entries);
        resp.success = true;
        resp.match_index = last_new;
        let commit = leader_commit.min(last_new);
        if commit > self.commit {
            self.commit = commit;
            self.apply_committed(ctx);
        }
    }

    /// Appends entries following `prev_index`, truncating at the first conflict only: a
    /// stale or duplicated AppendEntries must never cut off entries it does not carry.
    fn store_entries(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        prev_index: u64,
        entries: Vec<super::Entry>,
    ) {
        for (k, e) in entries.into_iter().enumerate() {
            let index = prev_index + 1 + k as u64;
            match self.log.term_at(index) {
                Some(t) if t == e.term => continue,
                Some(_) => {
                    debug_assert!(index > self.commit, "truncating committed entry {index}");
                    self.log.truncate_from(index);
                    persist::truncate(ctx.disk(), index);
                    self.waiting.split_off(&index);
                }
                None => {}
            }
            let term = e.term;
            persist::save_entry(ctx.disk(), index, &e);
            self.log.push(e);
            ctx.observe("entry", index, term);
        }
    }

    pub(super) fn on_append_response(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        from: NodeId,
        resp: AppendResponse,
    ) {
        if resp.term > self.term {
            self.become_follower(ctx, resp.term, None);
            return;
        }
        if resp.term < self.term {
            return;
        }
        let last = self.log.last_index();
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        let pr = &mut ls.progress[from.index()];
        pr.active = true;
        pr.acked_round = pr.acked_round.max(resp.round);
        if resp.success {
            let advanced = resp.match_index > pr.match_index;
            pr.match_index = pr.match_index.max(resp.match_index);
            pr.next_index = pr.next_index.max(pr.match_index + 1);
            // Only an answer to entries frees a slot; a bare heartbeat's does not, and
            // neither does a duplicate or late answer (it advances nothing) — else each
            // duplicated response would send another request, and duplication on the
            // network would snowball into a message storm.
            if advanced && resp.match_index > resp.prev_index {
                pr.inflight = if self.config.pipeline {
                    pr.inflight.saturating_sub(1)
                } else {
                    0
                };
            }
        } else if resp.prev_index >= pr.match_index && resp.prev_index < pr.next_index {
            // (A rejection of a probe already backed off from is a duplicate: ignored.)
            let next = match resp.conflict_term {
                Some(t) => match self.log.last_index_of_term(resp.prev_index, t) {
                    Some(k) => k + 1,
                    None => resp.conflict_index,
                },
                None => resp.conflict_index,
            };
            // The rejected index must go back, but never below what is known to match.
            pr.next_index = next
                .min(resp.prev_index.max(1))
                .max(pr.match_index + 1)
                .min(last + 1);
            pr.inflight = 0;
        }
        self.advance_commit(ctx);
        self.serve_reads(ctx);
        // A server being caught up may have finished its round.
        self.start_membership_change(ctx);
        self.send_append(ctx, from, false);
    }

    /// Commits the highest index a majority holds, if it is of the current term (§5.4.2:
    /// earlier-term entries are committed only indirectly).
    pub(super) fn advance_commit(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        let me = self.id;
        let last = self.log.last_index();
        let members = super::membership::members_of(&self.log, &self.initial);
        // A leader outside the configuration (removing itself) does not count itself.
        let n = super::membership::quorum_value(members, |node| {
            if node == me {
                last
            } else {
                ls.progress[node.index()].match_index
            }
        });
        if n <= self.commit {
            return;
        }
        // The leader counts its own log: it must be on disk before anything that
        // depends on the commit (a client reply) leaves.
        ctx.disk().sync();
        let current = self.log.term_at(n) == Some(self.term);
        if !current && !self.config.bugs.commit_prior_term_by_count {
            return;
        }
        // Every index up to `n` is now committed in this term: leader completeness asks
        // it of every leader of a later term.
        ctx.observe("commit", n, self.term);
        self.commit = n;
        if current && !ls.term_committed {
            ls.term_committed = true;
            let commit = self.commit;
            for r in &mut ls.reads {
                r.read_index.get_or_insert(commit);
            }
        }
        self.apply_committed(ctx);
        self.serve_reads(ctx);
        self.step_down_if_removed(ctx);
        self.start_membership_change(ctx);
    }

    /// Applies committed entries in order and answers the clients waiting on them here.
    pub(super) fn apply_committed(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        while self.applied < self.commit {
            let index = self.applied + 1;
            let Some(entry) = self.log.entry(index) else {
                break;
            };
            self.applied = index;
            ctx.observe("apply", index, digest(entry));
            let Command::Client { id, op } = &entry.command else {
                continue;
            };
            let result = self.kv.apply(*id, op);
            if self.waiting.get(&index) == Some(id) {
                self.waiting.remove(&index);
                if let Some(reply) = crate::kv::reply_to(result) {
                    ctx.reply(*id, reply);
                }
            }
        }
        // Entries below the applied index can no longer be waited on.
        self.waiting = self.waiting.split_off(&(self.applied + 1));
        self.maybe_snapshot(ctx);
    }
}
