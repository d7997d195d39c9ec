//! The view change. A backup whose timer expires moves to the next view and sends
//! VIEW-CHANGE with its stable checkpoint's proof and its prepared certificates; the new
//! primary, with a quorum of valid ones, sends NEW-VIEW: those view changes (V) and, for
//! every sequence number between the highest stable checkpoint in V and the highest
//! prepared one, a proposal in the new view of the highest-view prepared request, or of
//! the null request (O). A backup checks V and recomputes O before it enters the view.
//! A view change that does not complete moves on to the next view, with a timeout
//! twice as long. A replica that f + 1 others have left behind joins them: it follows
//! their view changes, or asks for the NEW-VIEW of the view they are in.

use std::collections::BTreeMap;

use sim_core::auth::Signed;
use sim_core::{ClientRequest, Ctx, NodeId};

use super::log::{
    Quorums, add_vote, node_signer, proven_state, request_matches, valid_certificate,
};
use super::messages::{
    Carried, CheckpointVote, NULL_DIGEST, NewView, PbftMsg, Phase, PrePrepare, PreparedCert,
    ViewChange,
};
use super::{Pbft, VIEW_TIMER, obs, persist};

/// How far above its own view a replica takes others' view changes and votes into
/// account: enough for any honest run of failed view changes, and a Byzantine replica
/// cannot drive views towards overflow.
const MAX_VIEW_JUMP: u64 = 1024;

/// What a quorum of view changes implies for the new view.
struct Plan {
    /// The highest stable checkpoint among them, and its proof.
    stable: u64,
    proof: Vec<Signed<CheckpointVote>>,
    /// The proposals of the new view: sequence number, digest, request.
    proposals: Vec<(u64, u64, Option<ClientRequest>)>,
}

/// Computes O from V: the highest-view prepared request of every sequence number above
/// the highest stable checkpoint, the null request where none prepared. Under the bug
/// switch `view_change_drops_prepared` the certificates are ignored, and the new view
/// starts numbering right after the checkpoint.
fn plan(view_changes: &[&ViewChange], drop_prepared: bool) -> Plan {
    let (stable, proof) = view_changes
        .iter()
        .max_by_key(|v| v.stable)
        .map_or((0, Vec::new()), |v| (v.stable, v.proof.clone()));
    let mut best: BTreeMap<u64, &PreparedCert> = BTreeMap::new();
    if !drop_prepared {
        for c in view_changes.iter().flat_map(|v| &v.prepared) {
            let pp = c.pre_prepare.value();
            if pp.seq <= stable {
                continue;
            }
            let e = best.entry(pp.seq).or_insert(c);
            if e.pre_prepare.value().view < pp.view {
                *e = c;
            }
        }
    }
    let max = best.keys().next_back().copied().unwrap_or(stable);
    let proposals = (stable + 1..=max)
        .map(|s| match best.get(&s) {
            Some(c) => (s, c.pre_prepare.value().digest, c.request.clone()),
            None => (s, NULL_DIGEST, None),
        })
        .collect();
    Plan {
        stable,
        proof,
        proposals,
    }
}

impl Pbft {
    /// Whether a view change is well formed: a proven checkpoint, and valid prepared
    /// certificates from earlier views within the watermarks, one per sequence number.
    fn valid_view_change(&self, vc: &ViewChange) -> bool {
        let qs: &Quorums = &self.qs;
        if vc.stable > 0 && proven_state(&vc.proof, vc.stable, qs).is_none() {
            return false;
        }
        let mut seqs = Vec::with_capacity(vc.prepared.len());
        for c in &vc.prepared {
            let pp = c.pre_prepare.value();
            if pp.view >= vc.view
                || pp.seq <= vc.stable
                || pp.seq > vc.stable + self.config.watermark_window
                || !valid_certificate(c, qs, self.duplicates_count())
            {
                return false;
            }
            seqs.push(pp.seq);
        }
        seqs.sort_unstable();
        seqs.dedup();
        seqs.len() == vc.prepared.len()
    }

    /// Notes that `node` was seen working in `view`. The primary of a view this replica
    /// has not started is asked for its NEW-VIEW; so are replicas seen in such views once
    /// f + 1 of them (at least one honest) were. Each replica is asked at most once per
    /// `fetch_retry`, so a Byzantine one cannot keep this replica from asking others.
    pub(super) fn note_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, node: NodeId, view: u64) {
        let behind = |v: u64, me: &Pbft| v > me.view || (v == me.view && !me.active);
        if node == self.id || !behind(view, self) || view > self.view.saturating_add(MAX_VIEW_JUMP)
        {
            return;
        }
        let seen = self.seen_view.entry(node).or_insert(0);
        *seen = (*seen).max(view);
        let mut ask: Vec<NodeId> = Vec::new();
        if node == self.qs.primary(view) {
            // The primary of that view works in it: it has the NEW-VIEW that started it.
            ask.push(node);
        }
        let mut views: Vec<u64> = self
            .seen_view
            .values()
            .copied()
            .filter(|v| behind(*v, self))
            .collect();
        let f = self.qs.f as usize;
        if views.len() > f {
            views.sort_unstable_by(|a, b| b.cmp(a));
            let w = views[f];
            ask.extend(
                self.seen_view
                    .iter()
                    .filter(|(_, v)| **v >= w)
                    .map(|(n, _)| *n),
            );
        }
        let now = ctx.now();
        let retry = self.config.fetch_retry;
        ask.sort_unstable();
        ask.dedup();
        for n in ask {
            if self
                .asked_new_view
                .get(&n)
                .is_some_and(|at| now < *at + retry)
            {
                continue;
            }
            self.asked_new_view.insert(n, now);
            self.send(ctx, n, PbftMsg::FetchNewView);
            ctx.count("pbft.new_view_fetches", 1);
        }
    }

    pub(super) fn on_fetch_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId) {
        if self.active
            && let Some(nv) = self.new_view.clone()
            && self.may_answer(ctx, from, super::catch_up::Fetch::NewView)
        {
            self.send(ctx, from, PbftMsg::NewView(nv));
        }
    }

    pub(super) fn on_view_timer(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        // Checkpoint votes go once; lost, they could keep the window full for good. And
        // a request that did not execute here may have executed elsewhere.
        self.resend_checkpoint_votes(ctx);
        self.ask_committed(ctx);
        let next = self.view.saturating_add(1);
        if self.active {
            if self.is_primary() || !self.timed.is_some_and(|id| self.waiting.contains_key(&id)) {
                self.rewatch(ctx);
                return;
            }
            ctx.count("pbft.request_timeouts", 1);
            self.start_view_change(ctx, next);
        } else if self.vc_quorum {
            // A quorum moved here but the new primary did not start the view in time.
            self.backoff = self.backoff.saturating_add(1);
            self.start_view_change(ctx, next);
        } else {
            // No quorum for a whole timeout. If another replica is already changing to a
            // view not far above, follow it: replicas that restarted (and forgot the view
            // changes they heard) or lost messages could otherwise wait apart forever,
            // some for one view, some for the next. Moving up never endangers safety, and
            // the bound keeps a Byzantine replica from sending everyone to a view far off.
            // Otherwise the view changes may have been lost: say it again.
            let bound = self.view.saturating_add(u64::from(self.qs.n));
            let later = self
                .view_changes
                .range(next..=bound)
                .find(|(_, m)| m.keys().any(|n| *n != self.id))
                .map(|(v, _)| *v);
            match later {
                Some(v) => self.start_view_change(ctx, v),
                None => self.send_view_change(ctx),
            }
        }
    }

    /// Leaves the current view for `view`.
    pub(super) fn start_view_change(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64) {
        if view <= self.view {
            return;
        }
        self.view = view;
        self.active = false;
        self.vc_quorum = false;
        self.timed = None;
        self.queue.clear();
        persist::save_view(ctx.disk(), view, false);
        self.view_changes = self.view_changes.split_off(&view);
        ctx.count("pbft.view_changes", 1);
        self.send_view_change(ctx);
        self.check_view_change_quorum(ctx);
    }

    /// Sends this replica's VIEW-CHANGE for the view it is changing to.
    pub(super) fn send_view_change(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let prepared: Vec<PreparedCert> = self
            .log
            .range(self.stable.seq + 1..)
            .filter_map(|(_, e)| e.prepared.clone())
            .collect();
        let vc = ctx.sign(ViewChange {
            view: self.view,
            stable: self.stable.seq,
            proof: self.stable.proof.clone(),
            prepared,
        });
        self.view_changes
            .entry(self.view)
            .or_default()
            .insert(self.id, vc.clone());
        self.broadcast(ctx, PbftMsg::ViewChange(Box::new(vc)));
        let t = if self.vc_quorum {
            self.view_timeout()
        } else {
            self.config.view_change_timeout
        };
        ctx.set_timer(VIEW_TIMER, t);
    }

    pub(super) fn on_view_change(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        from: NodeId,
        vc: Signed<ViewChange>,
    ) {
        let Some(signer) = node_signer(&vc) else {
            return;
        };
        let to = vc.value().view;
        if vc.value().stable < self.stable.seq {
            // The sender is behind on checkpoints: the proof of this one lets it catch up.
            self.send_stable_proof(ctx, from);
        }
        if to < self.view || (to == self.view && self.active) {
            // The sender is behind: the NEW-VIEW of this view brings it up.
            if self.active
                && let Some(nv) = self.new_view.clone()
            {
                self.send(ctx, from, PbftMsg::NewView(nv));
            }
            return;
        }
        if signer == self.id
            || to > self.view.saturating_add(MAX_VIEW_JUMP)
            || !self.valid_view_change(vc.value())
        {
            return;
        }
        // Only each replica's latest view change counts.
        if self
            .view_changes
            .range(to.saturating_add(1)..)
            .any(|(_, m)| m.contains_key(&signer))
        {
            return;
        }
        for m in self.view_changes.values_mut() {
            m.remove(&signer);
        }
        self.view_changes.retain(|_, m| !m.is_empty());
        self.view_changes.entry(to).or_default().insert(signer, vc);
        // f + 1 replicas moving past this view: at least one is honest, so follow them
        // to the lowest view they move to.
        let later: Vec<u64> = self
            .view_changes
            .range(self.view.saturating_add(1)..)
            .flat_map(|(v, m)| m.keys().filter(|n| **n != self.id).map(move |_| *v))
            .collect();
        if later.len() > self.qs.f as usize
            && let Some(lowest) = later.iter().min().copied()
        {
            self.start_view_change(ctx, lowest);
        }
        self.check_view_change_quorum(ctx);
    }

    /// With a quorum of view changes to the view this replica is changing to: its timer
    /// starts, and the new primary starts the view.
    fn check_view_change_quorum(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        if self.active {
            return;
        }
        let heard = self.view_changes.get(&self.view).map_or(0, BTreeMap::len);
        if heard < self.qs.q {
            return;
        }
        if !self.vc_quorum {
            self.vc_quorum = true;
            let t = self.view_timeout();
            ctx.set_timer(VIEW_TIMER, t);
        }
        if self.is_primary() {
            self.make_new_view(ctx);
        }
    }

    /// The new primary starts its view.
    fn make_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let view = self.view;
        let vcs: Vec<Signed<ViewChange>> = self.view_changes[&view]
            .values()
            .take(self.qs.q)
            .cloned()
            .collect();
        let refs: Vec<&ViewChange> = vcs.iter().map(Signed::value).collect();
        let plan = plan(&refs, self.config.bugs.view_change_drops_prepared);
        let carried = plan
            .proposals
            .into_iter()
            .map(|(seq, digest, request)| Carried {
                pre_prepare: ctx.sign(PrePrepare { view, seq, digest }),
                request,
            })
            .collect();
        let nv = ctx.sign(NewView {
            view,
            view_changes: vcs,
            carried,
        });
        // Durable first: a primary that crashed after sending it and forgot it could
        // start the same view again with other proposals.
        let carried = self.install_view(ctx, nv.clone());
        self.broadcast(ctx, PbftMsg::NewView(Box::new(nv)));
        self.work_in_view(ctx, carried);
    }

    pub(super) fn on_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, nv: Signed<NewView>) {
        let v = nv.value();
        let view = v.view;
        let primary = self.qs.primary(view);
        if !nv.signed_by(primary) || view < self.view || (view == self.view && self.active) {
            return;
        }
        let mut signers = Vec::new();
        for vc in &v.view_changes {
            let Some(s) = node_signer(vc) else {
                return;
            };
            if vc.value().view != view || !self.valid_view_change(vc.value()) {
                return;
            }
            signers.push(s);
        }
        signers.sort_unstable();
        signers.dedup();
        if signers.len() != v.view_changes.len() || signers.len() < self.qs.q {
            return;
        }
        let refs: Vec<&ViewChange> = v.view_changes.iter().map(Signed::value).collect();
        let plan = plan(&refs, self.config.bugs.view_change_drops_prepared);
        let matches = plan.proposals.len() == v.carried.len()
            && plan.proposals.iter().zip(&v.carried).all(|((s, d, _), c)| {
                c.pre_prepare.signed_by(primary)
                    && *c.pre_prepare.value()
                        == PrePrepare {
                            view,
                            seq: *s,
                            digest: *d,
                        }
                    && request_matches(c.request.as_ref(), *d)
            });
        if !matches {
            ctx.count("pbft.bad_new_views", 1);
            return;
        }
        let carried = self.install_view(ctx, nv);
        self.work_in_view(ctx, carried);
    }

    /// Enters the view `nv` starts and makes it durable: the view, its proposals and the
    /// NEW-VIEW itself, all written before anything depending on them is sent. Returns
    /// the sequence numbers carried into it.
    fn install_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, nv: Signed<NewView>) -> Vec<u64> {
        let view = nv.value().view;
        self.view = view;
        self.active = true;
        self.vc_quorum = false;
        self.timed = None;
        self.queue.clear();
        persist::save_view(ctx.disk(), view, true);
        self.view_changes = self.view_changes.split_off(&view.saturating_add(1));
        self.seen_view.retain(|_, v| *v > view);
        ctx.cancel_timer(VIEW_TIMER);
        let primary = self.primary();
        ctx.observe(obs::VIEW, view, u64::from(primary.0));
        ctx.count("pbft.new_views", 1);
        for e in self.log.values_mut() {
            e.drop_votes_before(view);
        }
        let mut max = 0;
        let mut carried = Vec::new();
        for c in &nv.value().carried {
            let p = *c.pre_prepare.value();
            max = max.max(p.seq);
            if p.seq <= self.stable.seq {
                continue;
            }
            let e = self.log.entry(p.seq).or_default();
            e.pre_prepare = Some(c.pre_prepare.clone());
            e.request = c.request.clone();
            if primary != self.id {
                let vote = ctx.sign(p.vote(Phase::Prepare));
                add_vote(&mut e.prepares, vote, false);
            }
            self.save_entry(ctx, p.seq);
            carried.push(p.seq);
        }
        if primary == self.id {
            let refs: Vec<&ViewChange> =
                nv.value().view_changes.iter().map(Signed::value).collect();
            let stable = plan(&refs, true).stable;
            self.next_seq = max.max(stable).max(self.stable.seq);
        }
        persist::save_new_view(ctx.disk(), &nv);
        self.new_view = Some(Box::new(nv));
        carried
    }

    /// After a restart in a view it had started: the checkpoint its NEW-VIEW proved may
    /// be above the one on disk (its state was still being fetched); it is adopted again,
    /// and a primary numbers on from it, or its proposals would fall below the backups'
    /// watermarks.
    pub(super) fn resume_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let Some(nv) = self
            .new_view
            .clone()
            .filter(|nv| self.active && nv.value().view == self.view)
        else {
            return;
        };
        let refs: Vec<&ViewChange> = nv.value().view_changes.iter().map(Signed::value).collect();
        let p = plan(&refs, true);
        if self.is_primary() {
            self.next_seq = self.next_seq.max(p.stable);
        }
        if p.stable > self.stable.seq
            && let Some(state) = proven_state(&p.proof, p.stable, &self.qs)
        {
            self.adopt_stable(ctx, p.stable, state, p.proof);
        }
    }

    /// Works in the view just installed: the checkpoint of its NEW-VIEW, prepares for the
    /// carried proposals, and the requests this replica still waits for.
    fn work_in_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, carried: Vec<u64>) {
        let Some(nv) = self.new_view.clone() else {
            return;
        };
        let refs: Vec<&ViewChange> = nv.value().view_changes.iter().map(Signed::value).collect();
        let (stable, proof) = {
            let p = plan(&refs, true);
            (p.stable, p.proof)
        };
        if stable > self.stable.seq
            && let Some(state) = proven_state(&proof, stable, &self.qs)
        {
            self.adopt_stable(ctx, stable, state, proof);
        }
        let primary = self.primary();
        if primary != self.id {
            for seq in &carried {
                let mine = self.log.get(seq).and_then(|e| {
                    e.prepares
                        .iter()
                        .find(|v| v.signed_by(self.id) && v.value().view == self.view)
                        .cloned()
                });
                if let Some(vote) = mine {
                    self.broadcast(ctx, PbftMsg::Prepare(vote));
                }
            }
        }
        // Requests still waited for go to the new primary (it proposes its own).
        let waiting: Vec<ClientRequest> = self
            .waiting
            .values()
            .map(|(r, _)| r)
            .filter(|r| self.kv.answered(r.id).is_none() && self.proposed(r).is_none())
            .cloned()
            .collect();
        for r in waiting {
            if primary == self.id {
                self.propose(ctx, r, false);
            } else {
                self.send(ctx, primary, PbftMsg::Request(r));
            }
        }
        self.resend_checkpoint_votes(ctx);
        for seq in carried {
            self.progress(ctx, seq);
        }
        self.execute(ctx);
        self.rewatch(ctx);
    }
}
