//! The proposer (phases 1a and 2a): client requests start an attempt for their instance;
//! an attempt runs ballots until the instance is decided, each above every ballot the
//! node has used or seen, with a random backoff after a preemption.

use super::Map;

use rand::Rng;
use sim_core::history::{OpOutput, Operation};
use sim_core::{ClientRequest, Ctx, NodeId, Reply, RequestId, SimDuration};

use super::ballot::Ballot;
use super::messages::{Accepted, PaxosMsg};
use super::{Paxos, attempt_timer, obs, persist, value_digest};

/// A promise a proposer holds: the ballot it answered and what it reported.
#[derive(Clone, Debug, Hash)]
struct Promised {
    ballot: Ballot,
    accepted: Option<Accepted>,
}

/// Where an attempt stands.
#[derive(Clone, Debug, Hash)]
enum Phase {
    /// Phase 1 of the attempt's ballot: the promises heard, by acceptor.
    Preparing,
    /// Phase 2 of the attempt's ballot, proposing `value`; Accepted messages go to the
    /// learner's tally.
    Accepting { value: String },
    /// Preempted or timed out: the timer starts the next ballot.
    Waiting,
}

/// A proposer's work on one instance, until it is decided.
#[derive(Clone, Debug, Hash)]
pub(super) struct Attempt {
    /// The value its first client asked for: proposed when no acceptor reports one.
    own: String,
    ballot: Ballot,
    phase: Phase,
    /// Promises heard, by acceptor. Cleared at each ballot (unless
    /// `stale_promises_counted`).
    promises: Map<NodeId, Promised>,
    /// Clients waiting for the outcome.
    pub(super) waiting: Vec<RequestId>,
    /// Preemptions since the attempt began, which set the backoff's bound.
    preemptions: u32,
}

impl Attempt {
    /// The value it proposes in phase 2, if it is there.
    pub(super) fn proposing(&self) -> Option<&str> {
        match &self.phase {
            Phase::Accepting { value } => Some(value),
            _ => None,
        }
    }

    /// The values it holds.
    pub(super) fn values(&self) -> impl Iterator<Item = &str> {
        let proposing = self.proposing();
        let promised = self
            .promises
            .values()
            .filter_map(|p| p.accepted.as_ref().map(|a| a.value.as_str()));
        std::iter::once(self.own.as_str())
            .chain(proposing)
            .chain(promised)
    }
}

impl Paxos {
    /// A client asks to propose a value for an instance.
    pub(super) fn on_client_request(&mut self, ctx: &mut Ctx<'_, PaxosMsg>, req: ClientRequest) {
        let Operation::Propose { instance, value } = req.op else {
            ctx.reply(
                req.id,
                Reply::Fail(format!(
                    "Paxos decides proposals, not {} operations",
                    req.op.kind()
                )),
            );
            return;
        };
        if let Some(v) = self.chosen.get(&instance) {
            ctx.reply(req.id, Reply::Ok(OpOutput::Decided(v.clone())));
            return;
        }
        if !self.is_proposer() {
            // Clients asking different nodes reach different proposers, as they would
            // if they asked the proposers themselves.
            let to = self.proposers[self.id.index() % self.proposers.len()];
            ctx.reply(req.id, Reply::Redirect(Some(NodeId(to))));
            return;
        }
        if let Some(a) = self.attempts.get_mut(&instance) {
            if !a.waiting.contains(&req.id) {
                a.waiting.push(req.id);
            }
            return;
        }
        self.attempts.insert(
            instance,
            Attempt {
                own: value,
                ballot: Ballot::ZERO,
                phase: Phase::Waiting,
                promises: Map::default(),
                waiting: vec![req.id],
                preemptions: 0,
            },
        );
        self.start_ballot(ctx, instance);
    }

    /// Phase 1a in a new ballot, above every one this node used or saw.
    fn start_ballot(&mut self, ctx: &mut Ctx<'_, PaxosMsg>, instance: u64) {
        let used = self.rounds.get(&instance).copied().unwrap_or(0);
        let seen = self.seen.get(&instance).copied().unwrap_or(0);
        let round = used.max(seen) + 1;
        self.rounds.insert(instance, round);
        persist::save_round(ctx.disk(), instance, round);
        let ballot = Ballot::new(round, self.id);
        let stale_counted = self.config.bugs.stale_promises_counted;
        let Some(a) = self.attempts.get_mut(&instance) else {
            return;
        };
        a.ballot = ballot;
        a.phase = Phase::Preparing;
        if !stale_counted {
            a.promises.clear();
        }
        ctx.set_timer(attempt_timer(instance), self.config.phase_timeout);
        self.ask_acceptors(
            ctx,
            instance,
            ballot,
            PaxosMsg::Prepare { instance, ballot },
        );
    }

    /// Sends a phase message to every acceptor, this node's own first (if it is one):
    /// if its own acceptor refuses, the attempt has moved on and the others are not
    /// asked.
    fn ask_acceptors(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        instance: u64,
        ballot: Ballot,
        msg: PaxosMsg,
    ) {
        if self.is_acceptor() {
            self.send(ctx, self.id, msg.clone());
            let still = self
                .attempts
                .get(&instance)
                .is_some_and(|a| a.ballot == ballot && !matches!(a.phase, Phase::Waiting));
            if !still {
                return;
            }
        }
        let others: Vec<NodeId> = self
            .acceptors
            .iter()
            .map(|&a| NodeId(a))
            .filter(|&a| a != self.id)
            .collect();
        for to in others {
            self.send(ctx, to, msg.clone());
        }
    }

    /// Phase 1b arrives: with a majority, phase 2a.
    pub(super) fn on_promise(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        from: NodeId,
        instance: u64,
        ballot: Ballot,
        accepted: Option<Accepted>,
    ) {
        let majority = self.majority();
        let bugs = self.config.bugs.clone();
        let Some(a) = self.attempts.get_mut(&instance) else {
            return;
        };
        let counts = |b: Ballot| {
            if bugs.stale_promises_counted {
                b <= a.ballot
            } else {
                b == a.ballot
            }
        };
        if !matches!(a.phase, Phase::Preparing) || !counts(ballot) {
            return;
        }
        a.promises.insert(from, Promised { ballot, accepted });
        let current = a.ballot;
        let valid: Vec<&Promised> = a.promises.values().filter(|p| counts(p.ballot)).collect();
        if valid.len() < majority {
            return;
        }
        let highest = valid
            .iter()
            .filter_map(|p| p.accepted.as_ref())
            .max_by_key(|acc| acc.ballot);
        let value = match highest {
            Some(acc) if !bugs.ignore_highest_accepted => acc.value.clone(),
            _ => a.own.clone(),
        };
        a.phase = Phase::Accepting {
            value: value.clone(),
        };
        ctx.set_timer(attempt_timer(instance), self.config.phase_timeout);
        ctx.observe(obs::PROPOSE, instance, current.encode());
        ctx.observe(obs::PROPOSE_VALUE, instance, value_digest(&value));
        let msg = PaxosMsg::Accept {
            instance,
            ballot: current,
            value,
        };
        self.ask_acceptors(ctx, instance, current, msg);
    }

    /// An acceptor refused `ballot` because it promised `promised`: the attempt in that
    /// ballot is preempted.
    pub(super) fn on_nack(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        instance: u64,
        ballot: Ballot,
        promised: Ballot,
    ) {
        self.see(instance, promised);
        let Some(a) = self.attempts.get_mut(&instance) else {
            return;
        };
        if a.ballot != ballot || matches!(a.phase, Phase::Waiting) {
            return;
        }
        a.phase = Phase::Waiting;
        a.preemptions += 1;
        if !self.config.backoff {
            self.start_ballot(ctx, instance);
            return;
        }
        let base = self.config.backoff_base.as_nanos();
        let doubled = base.saturating_mul(1 << (a.preemptions - 1).min(20));
        let hi = doubled.min(self.config.backoff_max.as_nanos()).max(1);
        let wait = ctx.rng().random_range(1..=hi);
        ctx.set_timer(attempt_timer(instance), SimDuration::from_nanos(wait));
    }

    /// The attempt's timer: a phase that heard no majority in time, or a backoff that is
    /// over. Either way, a new ballot.
    pub(super) fn on_attempt_timer(&mut self, ctx: &mut Ctx<'_, PaxosMsg>, instance: u64) {
        if self.attempts.contains_key(&instance) && !self.chosen.contains_key(&instance) {
            self.start_ballot(ctx, instance);
        }
    }
}
