//! Byzantine behaviours a scenario can give a node (`byzantine: [(node: 3, behaviour:
//! Silent)]`): the generic ones here work for every protocol; a protocol adds its own
//! through [`ProtocolSpec::BEHAVIOURS`](crate::ProtocolSpec::BEHAVIOURS) and
//! [`ProtocolSpec::adversary`](crate::ProtocolSpec::adversary).

use std::collections::VecDeque;

use rand::Rng;
use sim_core::byzantine::{AdvCtx, Adversary, Forged, Silent};
use sim_core::{NodeId, Protocol, SimDuration};

use crate::ProtocolSpec;

/// A named Byzantine behaviour, as scenario files and `faultline list` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Behaviour {
    /// The name used in scenario files.
    pub name: &'static str,
    /// What a node with it does.
    pub description: &'static str,
}

/// The behaviours every protocol has.
pub const GENERIC: &[Behaviour] = &[
    Behaviour {
        name: "Silent",
        description: "sends nothing to anyone, nodes or clients (as if crashed, but counted among the Byzantine)",
    },
    Behaviour {
        name: "Replay",
        description: "sends what its protocol sends, and now and then an old message of its own again, to a random node",
    },
];

/// Every behaviour protocol `P` offers: the generic ones, then its own.
pub fn behaviours<P: ProtocolSpec>() -> Vec<Behaviour> {
    GENERIC.iter().chain(P::BEHAVIOURS).copied().collect()
}

/// The adversary of behaviour `name` for a node of protocol `P` with settings `config`
/// in a cluster of `nodes`; `None` if `P` has no such behaviour.
pub fn adversary<P: ProtocolSpec>(
    name: &str,
    config: &P::Config,
    nodes: u32,
) -> Option<Box<dyn Adversary<P>>> {
    if let Some(a) = P::adversary(name, config, nodes) {
        return Some(a);
    }
    match name {
        "Silent" => Some(Box::new(Silent)),
        "Replay" => Some(Box::new(Replay::default())),
        _ => None,
    }
}

/// Sends everything its protocol sends, and with each send, at a 1-in-4 chance, one of
/// its last 64 messages again to a random node, a little later: old votes, old proposals,
/// old view changes arrive where they are no longer expected.
pub struct Replay<M> {
    sent: VecDeque<M>,
}

impl<M> Default for Replay<M> {
    fn default() -> Self {
        Replay {
            sent: VecDeque::new(),
        }
    }
}

impl<P: Protocol> Adversary<P> for Replay<P::Msg> {
    fn intercept(
        &mut self,
        ctx: &mut AdvCtx<'_>,
        to: NodeId,
        msg: P::Msg,
        out: &mut Vec<Forged<P::Msg>>,
    ) {
        if !self.sent.is_empty() && ctx.rng().random_bool(0.25) {
            let old = self.sent[ctx.rng().random_range(0..self.sent.len())].clone();
            let nodes = ctx.cluster_size().max(1);
            let n = ctx.rng().random_range(0..nodes);
            let delay = SimDuration::from_micros(ctx.rng().random_range(0..5000));
            out.push(Forged {
                to: NodeId(n),
                msg: old,
                delay,
            });
        }
        if self.sent.len() == 64 {
            self.sent.pop_front();
        }
        self.sent.push_back(msg.clone());
        out.push(Forged {
            to,
            msg,
            delay: SimDuration::ZERO,
        });
    }
}
