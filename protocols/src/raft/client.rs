//! Client requests: redirects from followers, commands through the log with exactly-once
//! sessions, and the three ways of reading.

use sim_core::history::Operation;
use sim_core::{ClientRequest, Ctx, Reply};

use super::config::ReadMode;
use super::messages::{Command, Entry, RaftMsg};
use super::{PendingRead, Raft, Role};

impl Raft {
    pub(super) fn on_client_request(&mut self, ctx: &mut Ctx<'_, RaftMsg>, request: ClientRequest) {
        if self.role != Role::Leader {
            ctx.reply(request.id, Reply::Redirect(self.leader));
            return;
        }
        let read = matches!(request.op, Operation::Get { .. });
        match self.config.read_mode {
            ReadMode::Log => {}
            ReadMode::Lease if read && self.lease_holds(ctx) => {
                ctx.count("raft.lease_reads", 1);
                self.answer_read(ctx, &request);
                return;
            }
            _ if read => {
                self.start_read_index(ctx, request);
                return;
            }
            _ => {}
        }
        self.propose(ctx, request);
    }

    /// Appends a command to the log, unless it was applied or appended already.
    fn propose(&mut self, ctx: &mut Ctx<'_, RaftMsg>, request: ClientRequest) {
        if let Some(out) = self.kv.answered(request.id) {
            ctx.reply(request.id, Reply::Ok(out.clone()));
            return;
        }
        if self.waiting.values().any(|id| *id == request.id) {
            return; // a retry of a command in flight: answered when it applies
        }
        let entry = Entry {
            term: self.term,
            command: Command::Client {
                id: request.id,
                op: request.op,
            },
        };
        let index = self.append_local(ctx, entry);
        self.waiting.insert(index, request.id);
        self.replicate(ctx);
        self.advance_commit(ctx);
    }

    /// ReadIndex (thesis §6.4): the read waits for a round of heartbeats, started now, to
    /// be acknowledged by a majority, and for the commit index of now to be applied.
    fn start_read_index(&mut self, ctx: &mut Ctx<'_, RaftMsg>, request: ClientRequest) {
        let commit = self.commit;
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        let read_index = ls.term_committed.then_some(commit);
        ls.reads.push(PendingRead {
            request,
            round: ls.round + 1,
            read_index,
        });
        self.broadcast_round(ctx);
        self.serve_reads(ctx);
    }

    /// The highest round a majority (the leader included) has acknowledged.
    fn quorum_round(&self) -> u64 {
        let Some(ls) = self.leading.as_ref() else {
            return 0;
        };
        super::membership::quorum_value(self.members(), |node| {
            if node == self.id {
                ls.round
            } else {
                ls.progress[node.index()].acked_round
            }
        })
    }

    /// Answers the reads whose leadership check and read index are done.
    pub(super) fn serve_reads(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let confirmed = self.quorum_round();
        let applied = self.applied;
        let Some(ls) = self.leading.as_mut() else {
            return;
        };
        // Rounds before the confirmed one are no longer needed for leases either.
        ls.round_sent = ls.round_sent.split_off(&confirmed);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut ls.reads)
            .into_iter()
            .partition(|r| r.round <= confirmed && r.read_index.is_some_and(|i| i <= applied));
        ls.reads = waiting;
        for r in ready {
            self.answer_read(ctx, &r.request);
        }
    }

    fn answer_read(&self, ctx: &mut Ctx<'_, RaftMsg>, request: &ClientRequest) {
        let reply = match self.kv.read(&request.op) {
            Ok(out) => Reply::Ok(out),
            Err(_) => Reply::Fail("not a read".into()),
        };
        ctx.reply(request.id, reply);
    }

    /// Whether the leader may answer reads from its own state: an entry of its term is
    /// committed (so it is up to date) and a majority acknowledged a round that started
    /// less than a lease ago (so no other leader can have been elected since, given
    /// CheckQuorum's vote refusal and bounded clock drift).
    fn lease_holds(&self, ctx: &Ctx<'_, RaftMsg>) -> bool {
        let Some(ls) = self.leading.as_ref() else {
            return false;
        };
        if !ls.term_committed || self.applied < self.commit {
            return false;
        }
        if self.config.bugs.stale_lease_read {
            return true;
        }
        if !self.config.check_quorum {
            return false;
        }
        let confirmed = self.quorum_round();
        ls.round_sent
            .get(&confirmed)
            .is_some_and(|sent| ctx.now() < *sent + self.config.lease_duration())
    }
}
