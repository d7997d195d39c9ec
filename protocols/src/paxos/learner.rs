//! The learner: a majority of matching Accepted messages (same ballot, same value) means
//! the value is chosen. The ballot's proposer hears them and announces the value to the
//! other learners; a learner answers the clients waiting on it and keeps what it learned.

use std::collections::BTreeSet;

use super::Map;

use sim_core::history::OpOutput;
use sim_core::{Ctx, NodeId, Reply};

use super::ballot::Ballot;
use super::messages::PaxosMsg;
use super::{Paxos, attempt_timer, obs, persist, value_digest};

/// The Accepted messages heard for one instance, per ballot.
#[derive(Clone, Debug, Default, Hash)]
pub(super) struct Tally {
    by_ballot: Map<Ballot, (String, BTreeSet<NodeId>)>,
}

impl Tally {
    /// The values heard of.
    pub(super) fn values(&self) -> impl Iterator<Item = &str> {
        self.by_ballot.values().map(|(v, _)| v.as_str())
    }
}

impl Paxos {
    /// An acceptor accepted `value` in `ballot`.
    pub(super) fn on_accepted(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        from: NodeId,
        instance: u64,
        ballot: Ballot,
        value: String,
    ) {
        if self.chosen.contains_key(&instance) {
            return;
        }
        let majority = self.majority();
        let tally = self.tallies.entry(instance).or_default();
        let (v, from_nodes) = tally
            .by_ballot
            .entry(ballot)
            .or_insert_with(|| (value.clone(), BTreeSet::new()));
        // Only one value is proposed per ballot; a message that disagrees (which only a
        // broken proposer can cause) is not counted as matching.
        if *v != value {
            return;
        }
        from_nodes.insert(from);
        if from_nodes.len() >= majority {
            self.learn(ctx, instance, value, true);
        }
    }

    /// `value` is chosen for `instance`: keep it, answer the waiting clients, and (as the
    /// distinguished learner, `announce`) tell the other learners.
    pub(super) fn learn(
        &mut self,
        ctx: &mut Ctx<'_, PaxosMsg>,
        instance: u64,
        value: String,
        announce: bool,
    ) {
        if self.chosen.contains_key(&instance) {
            return;
        }
        persist::save_chosen(ctx.disk(), instance, &value);
        // Durable before anyone hears of it, clients included.
        ctx.disk().sync();
        ctx.observe(obs::LEARN, instance, value_digest(&value));
        self.tallies.remove(&instance);
        if let Some(attempt) = self.attempts.remove(&instance) {
            ctx.cancel_timer(attempt_timer(instance));
            for id in attempt.waiting {
                ctx.reply(id, Reply::Ok(OpOutput::Decided(value.clone())));
            }
        }
        self.chosen.insert(instance, value.clone());
        if announce {
            let peers: Vec<NodeId> = ctx.peers().collect();
            for to in peers {
                self.send(
                    ctx,
                    to,
                    PaxosMsg::Chosen {
                        instance,
                        value: value.clone(),
                    },
                );
            }
        }
    }
}
