//! The acceptor (phase 1b and 2b): promise ballots at or above the one promised, accept
//! proposals in them, and make both durable before answering.

use sim_core::{Ctx, NodeId};

use super::ballot::Ballot;
use super::messages::{Accepted, PaxosMsg};
use super::{Paxos, obs, persist, value_digest};

impl Paxos {
    /// Refuses (with a NACK naming its promise) a ballot below the one promised for
    /// `instance`; `true` if refused.
    fn refuses(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        from: NodeId,
        instance: u64,
        ballot: Ballot,
    ) -> bool {
        let promised = self
            .acceptor
            .get(&instance)
            .map_or(Ballot::ZERO, |s| s.promised);
        if ballot < promised {
            let nack = PaxosMsg::Nack {
                instance,
                ballot,
                promised,
            };
            self.send(ctx, from, nack);
        }
        ballot < promised
    }

    /// Phase 1b.
    pub(super) fn on_prepare(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        from: NodeId,
        instance: u64,
        ballot: Ballot,
    ) {
        if !self.is_acceptor() {
            return;
        }
        self.see(instance, ballot);
        if let Some(value) = self.chosen.get(&instance) {
            // The outcome is known: say so rather than help run a ballot for nothing.
            let value = value.clone();
            self.send(ctx, from, PaxosMsg::Chosen { instance, value });
            return;
        }
        if self.refuses(ctx, from, instance, ballot) {
            return;
        }
        let slot = self.acceptor.entry(instance).or_default();
        slot.promised = ballot;
        let accepted = slot.accepted.clone();
        if !self.config.bugs.acceptor_forgets_on_restart {
            persist::save_promise(ctx.disk(), instance, ballot);
        }
        ctx.observe(obs::PROMISE, instance, ballot.encode());
        let reported = accepted.as_ref().map_or(Ballot::ZERO, |a| a.ballot);
        ctx.observe(obs::PROMISE_REPORTS, instance, reported.encode());
        self.send(
            ctx,
            from,
            PaxosMsg::Promise {
                instance,
                ballot,
                accepted,
            },
        );
    }

    /// Phase 2b: the Accepted goes to the ballot's proposer, the distinguished learner.
    pub(super) fn on_accept(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        from: NodeId,
        instance: u64,
        ballot: Ballot,
        value: String,
    ) {
        if !self.is_acceptor() {
            return;
        }
        self.see(instance, ballot);
        if self.refuses(ctx, from, instance, ballot) {
            return;
        }
        let slot = self.acceptor.entry(instance).or_default();
        slot.promised = ballot;
        let accepted = Accepted {
            ballot,
            value: value.clone(),
        };
        if !self.config.bugs.acceptor_forgets_on_restart {
            persist::save_promise(ctx.disk(), instance, ballot);
            persist::save_accepted(ctx.disk(), instance, &accepted);
        }
        slot.accepted = Some(accepted);
        ctx.observe(obs::ACCEPT, instance, ballot.encode());
        ctx.observe(obs::ACCEPT_VALUE, instance, value_digest(&value));
        self.send(
            ctx,
            ballot.owner(),
            PaxosMsg::Accepted {
                instance,
                ballot,
                value,
            },
        );
    }
}
