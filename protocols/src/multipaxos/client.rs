//! Client requests: redirects from followers, commands through the log with exactly-once
//! sessions, and reads through the log or under a lease.

use sim_core::history::Operation;
use sim_core::{ClientRequest, Ctx, Reply};

use super::config::MpReadMode;
use super::messages::{Command, MpMsg};
use super::{MultiPaxos, Role};

impl MultiPaxos {
    pub(super) fn on_client_request(&mut self, ctx: &mut Ctx<'_, MpMsg>, request: ClientRequest) {
        if self.role != Role::Leader {
            ctx.reply(request.id, Reply::Redirect(self.leader));
            return;
        }
        if let Some(out) = self.kv.answered(request.id) {
            ctx.reply(request.id, Reply::Ok(out.clone()));
            return;
        }
        if self.waiting.values().any(|id| *id == request.id) {
            return; // a retry of a command in flight: answered when it executes
        }
        if matches!(request.op, Operation::Get { .. })
            && (self.config.bugs.leader_read_without_quorum || self.lease_holds(ctx))
        {
            ctx.count("multipaxos.local_reads", 1);
            let reply = match self.kv.read(&request.op) {
                Ok(out) => Reply::Ok(out),
                Err(_) => Reply::Fail("not a read".into()),
            };
            ctx.reply(request.id, reply);
            return;
        }
        let Some(l) = self.leading.as_mut() else {
            return;
        };
        let slot = l.next_slot;
        l.next_slot += 1;
        self.waiting.insert(slot, request.id);
        let command = Command::Client {
            id: request.id,
            op: request.op,
        };
        self.propose_in(ctx, slot, command);
    }

    /// Whether the leader may answer reads from its own state: it knows and executed
    /// every chosen command (its takeover's slots are chosen), and a majority
    /// acknowledged a heartbeat round that started less than a lease ago (so no other
    /// leader can have been elected since, given the acceptors' refusal and bounded
    /// clock drift).
    pub(super) fn lease_holds(&self, ctx: &Ctx<'_, MpMsg>) -> bool {
        if self.config.read_mode != MpReadMode::Lease {
            return false;
        }
        let Some(l) = self.leading.as_ref() else {
            return false;
        };
        if self.commit < l.recovered_upto || self.executed < self.commit {
            return false;
        }
        self.lease_confirmed(ctx)
    }

    /// Whether a majority acknowledged a heartbeat round of this leader that started
    /// less than a lease ago.
    pub(super) fn lease_confirmed(&self, ctx: &Ctx<'_, MpMsg>) -> bool {
        let Some(l) = self.leading.as_ref() else {
            return false;
        };
        let confirmed = self.confirmed_round();
        l.round_sent
            .get(&confirmed)
            .is_some_and(|sent| ctx.now() < *sent + self.config.lease_duration())
    }
}

impl MultiPaxos {
    /// The highest heartbeat round a majority (the leader included) acknowledged.
    pub(super) fn confirmed_round(&self) -> u64 {
        let Some(l) = self.leading.as_ref() else {
            return 0;
        };
        let mut acked: Vec<u64> = l
            .acked_round
            .iter()
            .enumerate()
            .map(|(n, r)| if n == self.id.index() { l.round } else { *r })
            .collect();
        acked.sort_unstable_by(|a, b| b.cmp(a));
        acked[self.majority() - 1]
    }
}
