//! A replica's answers to an instance's leader (or recoverer): PreAccept, Accept and
//! Commit, and the rebuilding of its state from disk at a restart.

use std::collections::BTreeMap;

use sim_core::{Ctx, NodeId};

use super::EPaxos;
use super::instance::{Attrs, InstanceId, Record, Status, Vote};
use super::messages::EpMsg;
use crate::paxos::Ballot;

impl EPaxos {
    /// Rebuilds the volatile state from the records on disk: the index, the next slot,
    /// and the store, by executing the committed instances again.
    pub(super) fn restore(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        instances: BTreeMap<InstanceId, Record>,
    ) {
        for (inst, rec) in &instances {
            if inst.replica == self.id.0 {
                self.next_slot = self.next_slot.max(inst.slot + 1);
            }
            if let Some(v) = &rec.vote {
                self.index.record(*inst, &v.attrs.command, v.attrs.seq);
            }
        }
        let committed: Vec<InstanceId> = instances
            .iter()
            .filter(|(_, r)| r.committed())
            .map(|(i, _)| *i)
            .collect();
        let now = ctx.now();
        for (inst, rec) in &instances {
            if rec.vote.is_some() && !rec.committed() {
                self.stalled.insert(*inst, now);
            }
        }
        self.instances = instances;
        let mut commands = Vec::new();
        for inst in committed {
            if self.note_committed(ctx, inst) {
                commands.push(inst);
            }
        }
        for inst in commands {
            self.try_execute(ctx, inst);
        }
    }

    /// Refuses a message of `ballot` for `inst` if this replica joined a higher ballot
    /// there; `true` if refused.
    pub(super) fn refuse(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
    ) -> bool {
        let promised = self.promised(inst);
        if ballot >= promised {
            return false;
        }
        self.send(
            ctx,
            from,
            EpMsg::Nack {
                inst,
                ballot,
                promised,
            },
        );
        true
    }

    /// Sends the committed attributes of `inst` to `to`, if it is committed here: the
    /// asker is behind, and this settles the instance for it.
    pub(super) fn tell_committed(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        to: NodeId,
        inst: InstanceId,
    ) -> bool {
        let Some(attrs) = self.attrs_of(inst).cloned() else {
            return false;
        };
        self.send(ctx, to, EpMsg::Commit { inst, attrs });
        true
    }

    pub(super) fn on_preaccept(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
        attrs: Attrs,
    ) {
        if self.tell_committed(ctx, from, inst) || self.refuse(ctx, from, inst, ballot) {
            return;
        }
        let existing = self.instances.get(&inst).and_then(|r| r.vote.as_ref());
        let (attrs, deps_committed) = match existing {
            // A resend: the same answer, so that the vote a recovery may read is the one
            // the leader counted.
            Some(v) if v.ballot == ballot && v.status == Status::PreAccepted => {
                (v.attrs.clone(), v.deps_committed)
            }
            // Already past phase 1 in this ballot: a stale resend.
            Some(v) if v.ballot == ballot => return,
            _ => {
                let attrs_in = attrs.clone();
                let mut a = attrs;
                self.index
                    .widen(inst, &a.command, false, &mut a.seq, &mut a.deps);
                let mut vote = Vote::new(a.clone(), Status::PreAccepted, ballot);
                vote.eq = ballot.round == 0 && a == attrs_in;
                vote.deps_committed = self.deps_committed(inst, &a);
                let committed = vote.deps_committed;
                let durable = !self.config.bugs.preaccept_not_durable;
                self.vote(ctx, inst, vote, durable);
                (a, committed)
            }
        };
        let reply = EpMsg::PreAcceptOk {
            inst,
            ballot,
            deps_committed,
            seq: attrs.seq,
            deps: attrs.deps,
        };
        self.send(ctx, from, reply);
    }

    pub(super) fn on_accept(
        &mut self,
        ctx: &mut Ctx<'_, EpMsg>,
        from: NodeId,
        inst: InstanceId,
        ballot: Ballot,
        attrs: Attrs,
    ) {
        if self.tell_committed(ctx, from, inst) || self.refuse(ctx, from, inst, ballot) {
            return;
        }
        self.vote(ctx, inst, Vote::new(attrs, Status::Accepted, ballot), true);
        self.send(ctx, from, EpMsg::AcceptOk { inst, ballot });
    }

    pub(super) fn on_commit(&mut self, ctx: &mut Ctx<'_, EpMsg>, inst: InstanceId, attrs: Attrs) {
        self.coords.remove(&inst);
        if self.committed(inst) {
            return;
        }
        let ballot = self.promised(inst);
        self.vote(ctx, inst, Vote::new(attrs, Status::Committed, ballot), true);
        self.on_committed(ctx, inst);
    }
}
