//! The normal case: client requests (answered from the session if already executed,
//! passed on to the primary by backups), the primary's proposals within the watermarks,
//! the prepare and commit phases, and execution in sequence-number order.

use sim_core::auth::Signed;
use sim_core::{ClientRequest, Ctx, NodeId, Reply, RequestId};

use super::log::{add_vote, node_signer, request_matches};
use super::messages::{CommitCert, NULL_DIGEST, PbftMsg, Phase, PrePrepare, Vote};
use super::{Pbft, VIEW_TIMER, obs};
use crate::kv::digest;

impl Pbft {
    /// A request straight from its client.
    pub(super) fn on_client_request(&mut self, ctx: &mut Ctx<'_, PbftMsg>, request: ClientRequest) {
        if !request.authentic() || self.kv.expired(request.id) {
            return;
        }
        if let Some(out) = self.kv.answered(request.id) {
            ctx.reply(request.id, Reply::Ok(out.clone()));
            // The client asks again: the others may have missed a proposal or a vote,
            // or, if the log of it is gone, a checkpoint.
            match self.logged(request.id) {
                Some(seq) => self.resend(ctx, seq),
                None => {
                    for n in ctx.peers().collect::<Vec<_>>() {
                        self.send_stable_proof(ctx, n);
                    }
                }
            }
            return;
        }
        if self.waiting.contains_key(&request.id) {
            // The client asks again for a request known here and not executed: this
            // replica may be missing a commit that others have.
            self.ask_committed(ctx);
        }
        if self.active && self.is_primary() {
            self.propose(ctx, request, true);
            return;
        }
        // A backup passes it on to the primary and watches that it executes.
        if self.active {
            let primary = self.primary();
            self.send(ctx, primary, PbftMsg::Request(request.clone()));
        }
        self.watch(ctx, request);
    }

    /// A request a backup passed on: only the primary takes it.
    pub(super) fn on_relayed_request(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        _from: NodeId,
        request: ClientRequest,
    ) {
        if !request.authentic() || !self.active || !self.is_primary() || self.kv.expired(request.id)
        {
            return;
        }
        if let Some(out) = self.kv.answered(request.id) {
            ctx.reply(request.id, Reply::Ok(out.clone()));
            return;
        }
        self.propose(ctx, request, false);
    }

    /// Remembers a request not yet executed; a backup whose view-change timer is idle
    /// starts it for this request.
    pub(super) fn watch(&mut self, ctx: &mut Ctx<'_, PbftMsg>, request: ClientRequest) {
        if self.kv.answered(request.id).is_some() || self.kv.expired(request.id) {
            return;
        }
        let now = ctx.now();
        let id = request.id;
        self.waiting.entry(id).or_insert((request, now));
        if self.active && !self.is_primary() && self.timed.is_none() {
            self.timed = Some(id);
            let t = self.view_timeout();
            ctx.set_timer(VIEW_TIMER, t);
        }
    }

    /// The sequence number the current view's proposal for `request` has, if any.
    pub(super) fn proposed(&self, request: &ClientRequest) -> Option<u64> {
        self.log.iter().find_map(|(s, e)| {
            let pp = e.pre_prepare.as_ref()?;
            (pp.value().view == self.view && e.request.as_ref().map(|r| r.id) == Some(request.id))
                .then_some(*s)
        })
    }

    /// The sequence number holding request `id` in the log, in any view.
    fn logged(&self, id: RequestId) -> Option<u64> {
        self.log
            .iter()
            .find(|(_, e)| e.request.as_ref().is_some_and(|r| r.id == id))
            .map(|(s, _)| *s)
    }

    /// Sends again everything this replica holds about `seq` in the current view: the
    /// primary's proposal and every prepare and commit, each signed by whoever cast it.
    /// A client asking again for a request executed here means some replica lacks what
    /// it needs to execute it; the signatures let any replica pass the votes on.
    fn resend(&self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64) {
        let Some(e) = self.log.get(&seq) else {
            return;
        };
        let view = self.view;
        let mut out = Vec::new();
        if let Some(pp) = e.pre_prepare.as_ref().filter(|p| p.value().view == view) {
            out.push(PbftMsg::PrePrepare(pp.clone(), e.request.clone()));
        }
        let current = |v: &&Signed<Vote>| v.value().view == view;
        out.extend(
            e.prepares
                .iter()
                .filter(current)
                .cloned()
                .map(PbftMsg::Prepare),
        );
        out.extend(
            e.commits
                .iter()
                .filter(current)
                .cloned()
                .map(PbftMsg::Commit),
        );
        ctx.count("pbft.resends", 1);
        for m in out {
            self.broadcast(ctx, m);
        }
    }

    /// The primary proposes `request` at the next sequence number, or holds it until the
    /// watermarks leave room. A client's own retry of a request already proposed sends
    /// the proposal again (a backup may have missed it).
    pub(super) fn propose(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        request: ClientRequest,
        from_client: bool,
    ) {
        let now = ctx.now();
        self.waiting
            .entry(request.id)
            .or_insert_with(|| (request.clone(), now));
        if let Some(seq) = self.proposed(&request) {
            if from_client {
                self.resend(ctx, seq);
            }
            return;
        }
        if self.queue.iter().any(|r| r.id == request.id) {
            return;
        }
        if !self.in_window(self.next_seq + 1) {
            self.queue.push_back(request);
            return;
        }
        self.next_seq += 1;
        let seq = self.next_seq;
        let pp = ctx.sign(PrePrepare {
            view: self.view,
            seq,
            digest: request.digest(),
        });
        let e = self.log.entry(seq).or_default();
        e.pre_prepare = Some(pp.clone());
        e.request = Some(request.clone());
        self.save_entry(ctx, seq);
        self.broadcast(ctx, PbftMsg::PrePrepare(pp, Some(request)));
        self.progress(ctx, seq);
    }

    /// The primary proposes the requests it held, as far as the watermarks allow.
    pub(super) fn drain_queue(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        while self.active && self.is_primary() && self.in_window(self.next_seq + 1) {
            let Some(r) = self.queue.pop_front() else {
                break;
            };
            if self.kv.answered(r.id).is_none() {
                self.propose(ctx, r, false);
            }
        }
    }

    pub(super) fn on_pre_prepare(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        pp: Signed<PrePrepare>,
        request: Option<sim_core::ClientRequest>,
    ) {
        let p = *pp.value();
        let primary = self.qs.primary(p.view);
        if !pp.signed_by(primary) {
            return;
        }
        self.note_view(ctx, primary, p.view);
        // The null request is the new primary's to propose, in NEW-VIEW only.
        if !self.active
            || p.view != self.view
            || self.is_primary()
            || !self.in_window(p.seq)
            || p.digest == NULL_DIGEST
        {
            return;
        }
        if !request_matches(request.as_ref(), p.digest) {
            ctx.count("pbft.bad_preprepares", 1);
            return;
        }
        let e = self.log.entry(p.seq).or_default();
        if let Some(held) = e.pre_prepare.as_ref().map(|h| *h.value())
            && held.view == p.view
        {
            if held.digest == p.digest {
                // The primary sent it again: a vote of ours may have been lost.
                self.resend_votes(ctx, p.seq);
                return;
            }
            ctx.count("pbft.conflicting_preprepares", 1);
            if !self.config.bugs.accept_conflicting_preprepare {
                return;
            }
        }
        e.pre_prepare = Some(pp);
        e.request = request.clone();
        let vote = ctx.sign(p.vote(Phase::Prepare));
        add_vote(&mut e.prepares, vote.clone(), false);
        self.save_entry(ctx, p.seq);
        self.broadcast(ctx, PbftMsg::Prepare(vote));
        if let Some(r) = request
            && p.seq > self.last_exec
        {
            self.watch(ctx, r);
        }
        self.progress(ctx, p.seq);
    }

    /// Sends this replica's prepare and commit for `seq` in the current view again.
    fn resend_votes(&self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64) {
        let Some(e) = self.log.get(&seq) else {
            return;
        };
        let mine = |v: &&Signed<Vote>| v.signed_by(self.id) && v.value().view == self.view;
        let votes: Vec<PbftMsg> = e
            .prepares
            .iter()
            .filter(mine)
            .map(|v| PbftMsg::Prepare(v.clone()))
            .chain(
                e.commits
                    .iter()
                    .filter(mine)
                    .map(|v| PbftMsg::Commit(v.clone())),
            )
            .collect();
        for m in votes {
            self.broadcast(ctx, m);
        }
    }

    pub(super) fn on_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, vote: Signed<Vote>) {
        let v = *vote.value();
        let Some(signer) = node_signer(&vote) else {
            return;
        };
        if v.phase != Phase::Prepare || signer == self.qs.primary(v.view) {
            return;
        }
        self.on_vote(ctx, signer, vote);
    }

    pub(super) fn on_commit(&mut self, ctx: &mut Ctx<'_, PbftMsg>, vote: Signed<Vote>) {
        let Some(signer) = node_signer(&vote) else {
            return;
        };
        if vote.value().phase != Phase::Commit {
            return;
        }
        self.on_vote(ctx, signer, vote);
    }

    /// Keeps a vote of the current view or a later one, within the watermarks.
    fn on_vote(&mut self, ctx: &mut Ctx<'_, PbftMsg>, signer: NodeId, vote: Signed<Vote>) {
        let v = *vote.value();
        self.note_view(ctx, signer, v.view);
        // Votes of the next view may arrive before its NEW-VIEW; later ones are of no use
        // yet, and a Byzantine replica could send them without end.
        if v.view < self.view || v.view > self.view.saturating_add(1) || !self.in_window(v.seq) {
            return;
        }
        let dup = self.duplicates_count();
        let e = self.log.entry(v.seq).or_default();
        let list = match v.phase {
            Phase::Prepare => &mut e.prepares,
            Phase::Commit => &mut e.commits,
        };
        if !add_vote(list, vote, dup) {
            return;
        }
        self.save_entry(ctx, v.seq);
        if v.view == self.view && self.active {
            self.progress(ctx, v.seq);
        }
    }

    /// Moves `seq` on in the current view: prepared → commit sent; committed-local →
    /// execute.
    pub(super) fn progress(&mut self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64) {
        if !self.active {
            return;
        }
        let (view, qs, dup) = (self.view, self.qs, self.duplicates_count());
        let needed = self.commit_quorum();
        let Some(e) = self.log.get_mut(&seq) else {
            return;
        };
        let Some(digest) = e.prepared_in(view, &qs, dup) else {
            return;
        };
        let mut changed = false;
        if e.prepared
            .as_ref()
            .is_none_or(|c| c.pre_prepare.value().view < view)
        {
            e.prepared = e.certificate(view);
            changed = true;
        }
        let mut commit = None;
        if e.commit_sent != Some(view) {
            e.commit_sent = Some(view);
            let vote = ctx.sign(Vote {
                phase: Phase::Commit,
                view,
                seq,
                digest,
            });
            add_vote(&mut e.commits, vote.clone(), false);
            commit = Some(vote);
            changed = true;
        }
        let newly_committed =
            e.committed != Some(digest) && e.commits_for(view, seq, digest, dup) >= needed;
        if newly_committed {
            e.committed = Some(digest);
            let vote = Vote {
                phase: Phase::Commit,
                view,
                seq,
                digest,
            };
            e.commit_cert = e.pre_prepare.clone().map(|pre_prepare| CommitCert {
                pre_prepare,
                request: e.request.clone(),
                commits: e
                    .commits
                    .iter()
                    .filter(|c| *c.value() == vote)
                    .cloned()
                    .collect(),
            });
            changed = true;
        }
        if changed {
            self.save_entry(ctx, seq);
        }
        if let Some(vote) = commit {
            self.broadcast(ctx, PbftMsg::Commit(vote));
        }
        if newly_committed {
            ctx.observe(obs::COMMIT, seq, digest);
            self.execute(ctx);
        }
    }

    /// Executes every committed sequence number after the last executed one, in order,
    /// answering each request's client; takes a checkpoint every K.
    pub(super) fn execute(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let mut executed_any = false;
        // State from before the stable checkpoint arrives by state transfer.
        while self.last_exec >= self.stable.seq {
            let seq = self.last_exec + 1;
            let Some(e) = self.log.get(&seq) else {
                break;
            };
            let Some(d) = e.committed else {
                break;
            };
            if !request_matches(e.request.as_ref(), d) {
                break; // the request is not here (cannot happen for a committed digest)
            }
            let request = e.request.clone();
            self.last_exec = seq;
            executed_any = true;
            ctx.observe(obs::EXECUTE, seq, d);
            if let Some(r) = request {
                debug_assert_ne!(d, NULL_DIGEST);
                let result = self.kv.apply(r.id, &r.op);
                self.waiting.remove(&r.id);
                // A request executed in this view: the view works, timeouts start over.
                self.backoff = 0;
                if let Some(reply) = crate::kv::reply_to(result) {
                    ctx.count("pbft.replies", 1);
                    ctx.reply(r.id, reply);
                }
            }
            if seq % self.config.checkpoint_interval == 0 {
                self.take_checkpoint(ctx, seq);
            }
        }
        if executed_any {
            self.rewatch(ctx);
        }
    }

    /// After executions or a new view: a backup whose timed request executed (or that
    /// times none) times the oldest request it still waits for, from now; one waiting for
    /// none stops its timer.
    pub(super) fn rewatch(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        if !self.active {
            return;
        }
        let kv = &self.kv;
        self.waiting
            .retain(|id, _| kv.answered(*id).is_none() && !kv.expired(*id));
        if self.waiting.is_empty() || self.is_primary() {
            self.timed = None;
            ctx.cancel_timer(VIEW_TIMER);
            return;
        }
        if self.timed.is_some_and(|id| self.waiting.contains_key(&id)) {
            return; // still waiting for the request it times
        }
        self.timed = self
            .waiting
            .iter()
            .min_by_key(|(id, (_, at))| (*at, **id))
            .map(|(id, _)| *id);
        let t = self.view_timeout();
        ctx.set_timer(VIEW_TIMER, t);
    }

    /// The digest of the executed state, for checkpoint votes.
    pub(super) fn state_digest(&self) -> u64 {
        digest(&self.kv)
    }
}
