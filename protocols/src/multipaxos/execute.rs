//! Execution in slot order with no gaps, answers to the clients the leader proposed for,
//! and log compaction: every `snapshot_every` executed slots the state is folded into a
//! snapshot and the slots it covers are dropped.

use sim_core::Ctx;

use super::messages::{Command, MpMsg, Snapshot};
use super::{MultiPaxos, obs, persist};
use crate::kv::digest;

impl MultiPaxos {
    /// Moves the commit index over the chosen slots that follow it, and executes them.
    pub(super) fn advance_commit(&mut self, ctx: &mut Ctx<'_, MpMsg>) {
        while self.chosen.contains_key(&(self.commit + 1)) {
            self.commit += 1;
        }
        self.execute(ctx);
    }

    /// Executes every committed slot not yet executed, in order.
    fn execute(&mut self, ctx: &mut Ctx<'_, MpMsg>) {
        while self.executed < self.commit {
            let slot = self.executed + 1;
            let Some(command) = self.chosen.get(&slot) else {
                break;
            };
            self.executed = slot;
            ctx.observe(obs::EXECUTE, slot, digest(command));
            let Command::Client { id, op } = command else {
                continue;
            };
            let result = self.kv.apply(*id, op);
            if self.waiting.get(&slot) == Some(id) {
                self.waiting.remove(&slot);
                if let Some(reply) = crate::kv::reply_to(result) {
                    ctx.reply(*id, reply);
                }
            }
        }
        // Slots executed can no longer be waited on (another command won them, if any).
        self.waiting = self.waiting.split_off(&(self.executed + 1));
        self.maybe_snapshot(ctx);
    }

    /// The slot the snapshot ends at (0: none).
    fn snapshot_slot(&self) -> u64 {
        self.snapshot.as_ref().map_or(0, |s| s.slot)
    }

    /// Takes a snapshot at the executed slot if enough were executed since the last.
    fn maybe_snapshot(&mut self, ctx: &mut Ctx<'_, MpMsg>) {
        let every = self.config.snapshot_every;
        if every == 0 || self.executed < self.snapshot_slot() + every {
            return;
        }
        let snapshot = Snapshot {
            slot: self.executed,
            kv: self.kv.clone(),
        };
        self.compact(ctx, snapshot);
        ctx.count("multipaxos.snapshots", 1);
    }

    /// Keeps `snapshot` and drops the slots it covers.
    fn compact(&mut self, ctx: &mut Ctx<'_, MpMsg>, snapshot: Snapshot) {
        let slot = snapshot.slot;
        let kept = self.accepted.split_off(&(slot + 1));
        let covered = std::mem::replace(&mut self.accepted, kept);
        persist::save_snapshot(ctx.disk(), snapshot.clone(), covered.into_keys());
        self.chosen = self.chosen.split_off(&(slot + 1));
        self.snapshot = Some(snapshot);
    }

    /// Starts over from a snapshot of chosen slots beyond this node's commit index.
    pub(super) fn install_snapshot(&mut self, ctx: &mut Ctx<'_, MpMsg>, snapshot: Snapshot) {
        if snapshot.slot <= self.commit {
            return;
        }
        let slot = snapshot.slot;
        self.kv = snapshot.kv.clone();
        self.commit = slot;
        self.executed = slot;
        self.waiting = self.waiting.split_off(&(slot + 1));
        self.compact(ctx, snapshot);
        ctx.observe(obs::RESTORE, slot, 0);
        ctx.count("multipaxos.snapshots_installed", 1);
        self.advance_commit(ctx);
    }
}
