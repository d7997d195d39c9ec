//! Catching up on single sequence numbers: a replica that missed the votes of a request
//! others executed (lost messages, a restart, a view change it sat out) asks for their
//! commit certificates. A certificate (the proposal and a quorum of matching commits,
//! each signed) proves the request committed whatever view the asker is in now, so it
//! executes from it as if it had heard the votes. Behind by more than the log, it
//! fetches a stable checkpoint instead (`checkpoint.rs`).

use sim_core::{Ctx, NodeId, SimDuration};

use super::log::{request_matches, valid_commit_cert};
use super::messages::{CommitCert, PbftMsg};
use super::{Pbft, obs};

/// What a replica asks others for: answers are rate-limited per asker and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Fetch {
    /// A stable checkpoint's state.
    State,
    /// The NEW-VIEW of the current view.
    NewView,
    /// Commit certificates.
    Committed,
}

impl Pbft {
    /// Whether to answer `from`'s request for `kind` now: at most once per asker and
    /// kind in half a `fetch_retry` (an honest replica asks at most once per
    /// `fetch_retry`), so a Byzantine one asking without end cannot make this one ship
    /// its state or its NEW-VIEW once per message.
    pub(super) fn may_answer(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        from: NodeId,
        kind: Fetch,
    ) -> bool {
        let now = ctx.now();
        let gap = SimDuration(self.config.fetch_retry.as_nanos() / 2);
        if self
            .answered
            .get(&(from, kind))
            .is_some_and(|at| now < *at + gap)
        {
            ctx.count("pbft.fetches_refused", 1);
            return false;
        }
        self.answered.insert((from, kind), now);
        true
    }

    /// The matching commits that make a replica committed-local: a quorum, one fewer
    /// under the bug switch `commit_quorum_2f`.
    pub(super) fn commit_quorum(&self) -> usize {
        if self.config.bugs.commit_quorum_2f {
            self.qs.q - 1
        } else {
            self.qs.q
        }
    }

    /// Asks every other replica for the commit certificates after the last executed
    /// sequence number, at most once per `fetch_retry`.
    pub(super) fn ask_committed(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let now = ctx.now();
        if self
            .asked_committed
            .is_some_and(|at| now < at + self.config.fetch_retry)
        {
            return;
        }
        self.asked_committed = Some(now);
        ctx.count("pbft.commit_fetches", 1);
        self.broadcast(
            ctx,
            PbftMsg::FetchCommitted {
                from: self.last_exec + 1,
            },
        );
    }

    pub(super) fn on_fetch_committed(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        from: NodeId,
        seq: u64,
    ) {
        if !self.may_answer(ctx, from, Fetch::Committed) {
            return;
        }
        if seq <= self.stable.seq {
            // Its log is gone here: the checkpoint's proof lets the asker fetch the state.
            self.send_stable_proof(ctx, from);
        }
        let end = seq.saturating_add(self.config.checkpoint_interval);
        let certs: Vec<CommitCert> = self
            .log
            .range(seq..end)
            .filter_map(|(_, e)| e.commit_cert.clone())
            .collect();
        for c in certs {
            self.send(ctx, from, PbftMsg::Committed(Box::new(c)));
        }
    }

    /// A commit certificate, from anyone: valid, it commits its request here.
    pub(super) fn on_committed(&mut self, ctx: &mut Ctx<'_, PbftMsg>, cert: CommitCert) {
        let pp = *cert.pre_prepare.value();
        if pp.seq <= self.last_exec
            || !self.in_window(pp.seq)
            || !valid_commit_cert(
                &cert,
                &self.qs,
                self.commit_quorum(),
                self.duplicates_count(),
            )
        {
            return;
        }
        let e = self.log.entry(pp.seq).or_default();
        if e.committed.is_some() {
            return;
        }
        e.committed = Some(pp.digest);
        if !request_matches(e.request.as_ref(), pp.digest) {
            e.request = cert.request.clone();
        }
        e.commit_cert = Some(cert);
        self.save_entry(ctx, pp.seq);
        ctx.count("pbft.commits_fetched", 1);
        ctx.observe(obs::COMMIT, pp.seq, pp.digest);
        self.execute(ctx);
    }
}
