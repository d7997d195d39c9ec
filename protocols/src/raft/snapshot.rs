//! Log compaction (thesis §5): every `snapshot_every` applied entries a node folds its
//! log prefix into a snapshot of the key-value state; a leader sends its snapshot to a
//! follower that needs entries it no longer has (InstallSnapshot).

use sim_core::{Ctx, NodeId};

use super::messages::{AppendResponse, RaftMsg, Snapshot, SnapshotRequest};
use super::{Raft, persist};

impl Raft {
    /// Takes a snapshot at the applied index if enough entries were applied since the last.
    pub(super) fn maybe_snapshot(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let every = self.config.snapshot_every;
        if every == 0 || self.applied < self.log.snapshot_index() + every {
            return;
        }
        let index = self.applied;
        let Some(term) = self.log.term_at(index) else {
            return;
        };
        let snapshot = Snapshot {
            index,
            term,
            kv: self.kv.clone(),
            members: self.log.members_at(index),
        };
        persist::save_snapshot(ctx.disk(), snapshot.clone(), self.log.snapshot_index() + 1);
        self.log.compact_to(index);
        self.snapshot = Some(snapshot);
        ctx.count("raft.snapshots", 1);
    }

    /// Sends `to` the leader's snapshot, unless one is already on its way.
    pub(super) fn send_snapshot(&mut self, ctx: &mut Ctx<'_, RaftMsg>, to: NodeId) {
        let now = ctx.now();
        let pipeline = self.config.pipeline;
        let Some(snapshot) = self.snapshot.as_ref() else {
            return;
        };
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        let pr = &mut ls.progress[to.index()];
        if pr.inflight > 0 {
            return; // the send path already presumed earlier sends lost if they were
        }
        pr.inflight = 1;
        pr.sent_at = now;
        pr.resend_from = pr.next_index;
        if pipeline {
            pr.next_index = snapshot.index + 1;
        }
        let req = SnapshotRequest {
            term: self.term,
            snapshot: snapshot.clone(),
            round: ls.round,
        };
        ctx.count("raft.snapshots_sent", 1);
        self.send(ctx, to, RaftMsg::InstallSnapshot(req));
    }

    pub(super) fn on_install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        from: NodeId,
        req: SnapshotRequest,
    ) {
        let mut resp = AppendResponse {
            term: self.term,
            success: false,
            prev_index: 0,
            match_index: 0,
            conflict_term: None,
            conflict_index: self.log.last_index() + 1,
            round: req.round,
        };
        if !self.accept_leader(ctx, from, req.term) {
            self.send(ctx, from, RaftMsg::AppendReply(resp));
            return;
        }
        resp.term = self.term;
        let snap = req.snapshot;
        // Below the commit index the log already agrees with the snapshot.
        if snap.index > self.commit {
            let old_base = self.log.snapshot_index();
            if self.log.term_at(snap.index) == Some(snap.term) {
                // The log goes on past the snapshot in agreement with it: keep the rest.
                self.log.compact_to(snap.index);
            } else {
                self.log
                    .reset_to(snap.index, snap.term, snap.members.clone());
                persist::truncate(ctx.disk(), snap.index + 1);
            }
            persist::save_snapshot(ctx.disk(), snap.clone(), old_base + 1);
            self.kv = snap.kv.clone();
            self.applied = snap.index;
            self.commit = snap.index;
            self.waiting = self.waiting.split_off(&(snap.index + 1));
            self.snapshot = Some(snap.clone());
            ctx.count("raft.snapshots_installed", 1);
        }
        resp.success = true;
        resp.match_index = snap.index;
        self.send(ctx, from, RaftMsg::AppendReply(resp));
    }
}
