//! Basic Paxos (Lamport, "Paxos Made Simple", 2001): single-decree consensus, run for
//! many independent instances, one per decree clients propose for.
//!
//! Every node is a learner; the nodes the settings name (every node by default) are
//! acceptors, and proposers. A proposer picks a ballot above every one it has used or
//! seen (its highest round is durable), gathers promises from a majority (phase 1),
//! proposes the value of the highest-ballot proposal they report or else its client's
//! (phase 2), and is the distinguished learner of its ballot: a majority of matching
//! Accepted messages tells it the value is chosen, and it announces that to the other
//! learners. A preempted proposer (a NACK naming a higher ballot) tries again with a
//! higher ballot after a random backoff that doubles with each preemption, unless the
//! settings turn it off; one that hears no majority within the phase timeout (the wait
//! was its backoff) tries again at once. Acceptors
//! sync their promise and accepted proposal before they answer; restarts rebuild them,
//! the proposer's round and the learned values from disk.
//!
//! An acceptor promises a ballot equal to the one it promised (a retransmitted
//! Prepare is answered again): safe because a ballot belongs to one proposer, which
//! never uses it twice; that is the guarantee `ballot_reuse_after_restart` breaks.
//!
//! The handlers live in `acceptor.rs`, `proposer.rs` and `learner.rs`; the checks in
//! `invariants.rs`.

mod acceptor;
mod ballot;
mod config;
pub mod invariants;
mod learner;
pub(crate) mod ledger;
mod messages;
mod persist;
mod proposer;

use sim_core::invariant::Invariant;
use sim_core::{ClientRequest, Ctx, NodeId, Protocol, TimerId};

pub use ballot::Ballot;
pub use config::{PaxosBugs, PaxosConfig};
pub use messages::{Accepted, PaxosMsg};
pub use persist::AcceptorSlot;

use crate::{Family, ProtocolSpec};
use learner::Tally;
use proposer::Attempt;

/// Observation kinds, shared by the protocol and its checkers. Values travel as
/// digests ([`value_digest`]); a kind with a `_value` partner is followed at once by it.
pub mod obs {
    /// An acceptor promised; key: instance, value: the ballot ([`super::Ballot::encode`]).
    pub const PROMISE: &str = "promise";
    /// The ballot of the proposal the promise just made reports (0: none). Follows every
    /// `promise`.
    pub const PROMISE_REPORTS: &str = "promise_reports";
    /// An acceptor accepted; key: instance, value: the ballot. Followed by `accept_value`.
    pub const ACCEPT: &str = "accept";
    /// The digest of the value just accepted.
    pub const ACCEPT_VALUE: &str = "accept_value";
    /// A proposer sent phase 2; key: instance, value: the ballot. Followed by
    /// `propose_value`.
    pub const PROPOSE: &str = "propose";
    /// The digest of the value just proposed.
    pub const PROPOSE_VALUE: &str = "propose_value";
    /// A learner learned the chosen value; key: instance, value: its digest (the
    /// consensus family's own report).
    pub const LEARN: &str = crate::consensus::LEARN;
}

pub use crate::consensus::value_digest;

/// The maps of a node's state, keyed by instance, ballot or node: a sorted vector. A map
/// here holds a few entries, and `explore` copies every node at every step: a B-tree
/// would allocate a node of eleven slots for each (most of a copy's time and memory).
pub(crate) type Map<K, V> = litemap::LiteMap<K, V>;

/// One Basic Paxos node: acceptor, learner, and proposer if the settings say so.
#[derive(Debug, Clone, Hash)]
pub struct Paxos {
    id: NodeId,
    /// The settings, with the role lists emptied (`explore` copies every node at every
    /// step): an empty list there means "every node", so the roles are read from the
    /// fields below, never from here.
    config: PaxosConfig,
    /// The proposers, in id order.
    proposers: Vec<u32>,
    /// The acceptors, in id order.
    acceptors: Vec<u32>,
    /// Per instance, the highest round this node used as a proposer (durable).
    rounds: Map<u64, u64>,
    /// Per instance, the highest round seen in any ballot since start, to pick one above.
    seen: Map<u64, u64>,
    /// Acceptor state per instance.
    acceptor: Map<u64, AcceptorSlot>,
    /// The proposer's attempts in progress, per instance.
    attempts: Map<u64, Attempt>,
    /// Accepted messages heard as the distinguished learner, per instance.
    tallies: Map<u64, Tally>,
    /// What this node learned (durable).
    chosen: Map<u64, String>,
}

impl Paxos {
    /// The acceptor's state for `instance`, if it has any.
    pub fn acceptor_slot(&self, instance: u64) -> Option<&AcceptorSlot> {
        self.acceptor.get(&instance)
    }
    /// The value this node learned for `instance`.
    pub fn learned(&self, instance: u64) -> Option<&str> {
        self.chosen.get(&instance).map(String::as_str)
    }
    /// The value this node proposes in `instance` now (its phase 2), if it does.
    pub fn proposing(&self, instance: u64) -> Option<&str> {
        self.attempts.get(&instance).and_then(Attempt::proposing)
    }
    /// Whether this node proposes.
    pub fn is_proposer(&self) -> bool {
        self.proposers.contains(&self.id.0)
    }

    /// A value this node holds (accepted, proposed, heard of or learned) whose digest is
    /// `d`, to name values in checkers' messages.
    pub fn value_with_digest(&self, d: u64) -> Option<&str> {
        let acceptor = self
            .acceptor
            .values()
            .filter_map(|s| s.accepted.as_ref().map(|a| a.value.as_str()));
        let attempts = self.attempts.values().flat_map(Attempt::values);
        let tallies = self.tallies.values().flat_map(Tally::values);
        let chosen = self.chosen.values().map(String::as_str);
        acceptor
            .chain(attempts)
            .chain(tallies)
            .chain(chosen)
            .find(|v| value_digest(v) == d)
    }

    /// Whether this node accepts.
    pub fn is_acceptor(&self) -> bool {
        self.acceptors.contains(&self.id.0)
    }

    /// A majority of the acceptors.
    fn majority(&self) -> usize {
        self.acceptors.len() / 2 + 1
    }

    /// Sends `msg` to `to`, after making every write so far durable: nothing leaves a
    /// node before the state it depends on is on disk. A message to itself is handled at
    /// once, without the network.
    fn send(&mut self, ctx: &mut Ctx<'_, PaxosMsg>, to: NodeId, msg: PaxosMsg) {
        if to == self.id {
            self.on_message(ctx, to, msg);
        } else {
            ctx.disk().sync();
            ctx.send(to, msg);
        }
    }

    /// Notes the round of a ballot seen in `instance`, so the next ballot goes above it.
    fn see(&mut self, instance: u64, b: Ballot) {
        let seen = self.seen.entry(instance).or_default();
        *seen = (*seen).max(b.round);
    }
}

/// The timer of an instance's attempt: its phase timeout, or the end of its backoff.
fn attempt_timer(instance: u64) -> TimerId {
    TimerId(instance)
}

impl Protocol for Paxos {
    type Msg = PaxosMsg;
    type Config = PaxosConfig;

    fn start(ctx: &mut Ctx<'_, PaxosMsg>, config: &PaxosConfig) -> Self {
        let durable = persist::load(ctx.disk());
        let rounds = if config.bugs.ballot_reuse_after_restart {
            Map::default()
        } else {
            durable.rounds
        };
        let acceptor = if config.bugs.acceptor_forgets_on_restart {
            Map::default()
        } else {
            durable.acceptor
        };
        // Its own acceptor's ballots are ballots seen: the first one after a restart
        // goes above them rather than being refused by its own acceptor.
        let seen = acceptor
            .iter()
            .map(|(i, s)| {
                let accepted = s.accepted.as_ref().map_or(0, |a| a.ballot.round);
                (*i, s.promised.round.max(accepted))
            })
            .collect();
        Paxos {
            id: ctx.id(),
            proposers: config.proposer_ids(ctx.cluster_size()),
            acceptors: config.acceptor_ids(ctx.cluster_size()),
            config: PaxosConfig {
                proposers: Vec::new(),
                acceptors: Vec::new(),
                ..config.clone()
            },
            rounds,
            seen,
            acceptor,
            attempts: Map::default(),
            tallies: Map::default(),
            chosen: durable.chosen,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PaxosMsg>, from: NodeId, msg: PaxosMsg) {
        match msg {
            PaxosMsg::Prepare { instance, ballot } => self.on_prepare(ctx, from, instance, ballot),
            PaxosMsg::Promise {
                instance,
                ballot,
                accepted,
            } => self.on_promise(ctx, from, instance, ballot, accepted),
            PaxosMsg::Accept {
                instance,
                ballot,
                value,
            } => self.on_accept(ctx, from, instance, ballot, value),
            PaxosMsg::Accepted {
                instance,
                ballot,
                value,
            } => self.on_accepted(ctx, from, instance, ballot, value),
            PaxosMsg::Nack {
                instance,
                ballot,
                promised,
            } => self.on_nack(ctx, instance, ballot, promised),
            PaxosMsg::Chosen { instance, value } => self.learn(ctx, instance, value, false),
        }
        // What was handled at this node alone (its own acceptor's answers, in a
        // one-node cluster everything) is durable once the handler is done too.
        ctx.disk().sync();
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PaxosMsg>, timer: TimerId) {
        self.on_attempt_timer(ctx, timer.0);
        ctx.disk().sync();
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, PaxosMsg>, request: ClientRequest) {
        self.on_client_request(ctx, request);
        ctx.disk().sync();
    }
}

impl ProtocolSpec for Paxos {
    const NAME: &'static str = "Paxos";
    const FAMILY: Family = Family::Consensus;
    type Bugs = PaxosBugs;

    fn enable_bug(config: &mut PaxosConfig, name: &str) -> bool {
        crate::BugSet::enable(&mut config.bugs, name)
    }

    fn invariants(config: &PaxosConfig) -> Vec<Box<dyn Invariant<Self>>> {
        invariants::all(config)
    }

    fn validate(config: &PaxosConfig, nodes: u32) -> Result<(), crate::BadSetting> {
        config.validate(nodes)
    }
}
