//! Checkpoints and state transfer. Every K executed sequence numbers a replica votes for
//! the digest of its state; a quorum of matching votes from distinct replicas makes the
//! checkpoint stable: the low watermark moves up and the log below it is discarded. A
//! replica that sees a stable checkpoint beyond what it executed fetches the state,
//! which carries its own proof, so any replica may send it.

use sim_core::auth::Signed;
use sim_core::{Ctx, NodeId, Reply};

use super::log::{node_signer, proven_state};
use super::messages::{CheckpointVote, PbftMsg, StableState};
use super::{FETCH_TIMER, Pbft, obs, persist};
use crate::kv::digest;

impl Pbft {
    /// Votes for the state after `seq`.
    pub(super) fn take_checkpoint(&mut self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64) {
        let state = self.state_digest();
        self.own_checkpoints.insert(seq, self.kv.clone());
        let vote = ctx.sign(CheckpointVote { seq, state });
        self.checkpoint_votes
            .entry(seq)
            .or_default()
            .push(vote.clone());
        self.broadcast(ctx, PbftMsg::Checkpoint(vote));
        self.check_stable(ctx, seq);
    }

    pub(super) fn on_checkpoint(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        vote: Signed<CheckpointVote>,
    ) {
        let seq = vote.value().seq;
        if node_signer(&vote).is_none()
            || seq <= self.stable.seq
            || seq % self.config.checkpoint_interval != 0
        {
            return;
        }
        // One vote per replica per number (an honest one never votes two states).
        if self
            .checkpoint_votes
            .get(&seq)
            .is_some_and(|vs| vs.iter().any(|v| v.signer() == vote.signer()))
        {
            return;
        }
        // Beyond the window only each replica's latest vote is kept: enough to see that
        // this replica fell behind, and memory stays bounded whatever others send.
        let high = self.stable.seq + self.config.watermark_window;
        if seq > high {
            if self
                .checkpoint_votes
                .range(seq + 1..)
                .any(|(_, vs)| vs.iter().any(|v| v.signer() == vote.signer()))
            {
                return;
            }
            for (_, vs) in self.checkpoint_votes.range_mut(high + 1..) {
                vs.retain(|v| v.signer() != vote.signer());
            }
            self.checkpoint_votes.retain(|_, vs| !vs.is_empty());
        }
        self.checkpoint_votes.entry(seq).or_default().push(vote);
        self.check_stable(ctx, seq);
    }

    /// Makes the checkpoint at `seq` stable if a quorum voted for one state there.
    fn check_stable(&mut self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64) {
        let Some(votes) = self.checkpoint_votes.get(&seq) else {
            return;
        };
        let Some(state) = proven_state(votes, seq, &self.qs) else {
            return;
        };
        let proof: Vec<Signed<CheckpointVote>> = votes
            .iter()
            .filter(|v| v.value().state == state)
            .cloned()
            .collect();
        self.adopt_stable(ctx, seq, state, proof);
    }

    /// A checkpoint at `seq` with state `state` is proven stable: keep it if this replica
    /// has that state, or fetch the state if it is behind.
    pub(super) fn adopt_stable(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        seq: u64,
        state: u64,
        proof: Vec<Signed<CheckpointVote>>,
    ) {
        if seq <= self.stable.seq {
            return;
        }
        match self.own_checkpoints.get(&seq) {
            Some(kv) if digest(kv) == state => {
                let stable = StableState {
                    seq,
                    kv: kv.clone(),
                    proof,
                };
                self.set_stable(ctx, stable);
            }
            _ => {
                if self.last_exec >= seq {
                    // Executed past it with another state: that cannot happen to an
                    // honest replica unless it was wrong; fetch the proven state.
                    ctx.count("pbft.checkpoint_mismatch", 1);
                }
                self.fetch(ctx, seq, &proof);
            }
        }
    }

    /// Makes `stable` the stable checkpoint: moves the low watermark and discards the
    /// log, votes and own checkpoints it covers.
    fn set_stable(&mut self, ctx: &mut Ctx<'_, PbftMsg>, stable: StableState) {
        let seq = stable.seq;
        let kept = self.log.split_off(&(seq + 1));
        let covered = std::mem::replace(&mut self.log, kept);
        persist::save_stable(ctx.disk(), &stable, covered.into_keys());
        self.stable = stable;
        self.own_checkpoints = self.own_checkpoints.split_off(&(seq + 1));
        self.checkpoint_votes = self.checkpoint_votes.split_off(&(seq + 1));
        if self.fetching.is_some_and(|(s, _)| s <= seq) {
            self.fetching = None;
        }
        // A primary that learnt the state from others numbers on from it.
        self.next_seq = self.next_seq.max(seq);
        ctx.count("pbft.stable_checkpoints", 1);
        self.drain_queue(ctx);
    }

    /// Asks the replicas that proved a checkpoint at `seq` for its state.
    fn fetch(&mut self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64, proof: &[Signed<CheckpointVote>]) {
        let now = ctx.now();
        if let Some((s, at)) = self.fetching
            && s >= seq
            && now < at + self.config.fetch_retry
        {
            return;
        }
        self.fetching = Some((seq, now));
        let mut to: Vec<NodeId> = proof.iter().filter_map(node_signer).collect();
        to.sort_unstable();
        to.dedup();
        to.retain(|n| *n != self.id);
        for n in to {
            self.send(ctx, n, PbftMsg::FetchState { seq });
        }
        ctx.count("pbft.state_fetches", 1);
        let retry = self.config.fetch_retry;
        ctx.set_timer(FETCH_TIMER, retry);
    }

    pub(super) fn on_fetch_state(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, seq: u64) {
        if self.stable.seq >= seq
            && self.stable.seq > 0
            && self.may_answer(ctx, from, super::catch_up::Fetch::State)
        {
            let s = Box::new(self.stable.clone());
            self.send(ctx, from, PbftMsg::State(s));
        }
    }

    /// A stable checkpoint's state, from anyone: its proof makes it trustworthy.
    pub(super) fn on_state(&mut self, ctx: &mut Ctx<'_, PbftMsg>, state: StableState) {
        if state.seq <= self.stable.seq
            || proven_state(&state.proof, state.seq, &self.qs) != Some(digest(&state.kv))
        {
            return;
        }
        if state.seq <= self.last_exec {
            // Executed past it already: only the watermark moves, if the state matches.
            if self
                .own_checkpoints
                .get(&state.seq)
                .is_some_and(|kv| *kv == state.kv)
            {
                self.set_stable(ctx, state);
            }
            return;
        }
        let seq = state.seq;
        self.kv = state.kv.clone();
        self.last_exec = seq;
        self.own_checkpoints.clear();
        ctx.observe(obs::RESTORE, seq, 0);
        ctx.count("pbft.states_installed", 1);
        self.set_stable(ctx, state);
        // Requests the state already answers: their clients may still wait.
        let answered: Vec<_> = self
            .waiting
            .keys()
            .filter_map(|id| Some((*id, self.kv.answered(*id)?.clone())))
            .collect();
        for (id, out) in answered {
            ctx.reply(id, Reply::Ok(out));
        }
        self.execute(ctx);
        self.rewatch(ctx);
    }

    /// Asks every other replica again for the state still missing.
    pub(super) fn on_fetch_timer(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let Some((seq, _)) = self.fetching else {
            return;
        };
        if seq <= self.last_exec {
            self.fetching = None;
            return;
        }
        for n in ctx.peers().collect::<Vec<_>>() {
            self.send(ctx, n, PbftMsg::FetchState { seq });
        }
        self.fetching = Some((seq, ctx.now()));
        let retry = self.config.fetch_retry;
        ctx.set_timer(FETCH_TIMER, retry);
    }

    /// Sends again this replica's checkpoint votes above its stable checkpoint: votes
    /// are sent once, and with a quorum's lost the window could stay full for good.
    pub(super) fn resend_checkpoint_votes(&self, ctx: &mut Ctx<'_, PbftMsg>) {
        let mine: Vec<Signed<CheckpointVote>> = self
            .checkpoint_votes
            .values()
            .flatten()
            .filter(|v| v.signed_by(self.id))
            .cloned()
            .collect();
        for v in mine {
            self.broadcast(ctx, PbftMsg::Checkpoint(v));
        }
    }

    /// Sends `to` the votes that prove this replica's stable checkpoint (each signed by
    /// its voter), for a replica whose view change shows it behind.
    pub(super) fn send_stable_proof(&self, ctx: &mut Ctx<'_, PbftMsg>, to: NodeId) {
        for v in self.stable.proof.clone() {
            self.send(ctx, to, PbftMsg::Checkpoint(v));
        }
    }
}
