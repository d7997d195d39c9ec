//! Blocking, measured: how long each participant stayed uncertain of a transaction's
//! outcome — from its yes vote (`prepared`) to the decision reaching it (`decide`).

use std::collections::BTreeMap;

use serde::Serialize;
use sim_core::NodeId;
use sim_core::fault::AppliedFault;
use sim_core::invariant::Observed;
use sim_core::time::SimTime;

use super::obs;

/// Uncertainty figures of a run, over every (participant, transaction) that voted yes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Hash)]
pub struct Uncertainty {
    /// Participant-transaction pairs that voted yes.
    pub prepared: u64,
    /// Of those, how many never learnt the outcome while alive (still blocked at the end
    /// of the run, or at their final crash).
    pub unresolved: u64,
    /// Mean time uncertain, ns.
    pub mean_ns: u64,
    /// Longest time uncertain, ns.
    pub max_ns: u64,
}

/// One participant's time uncertain of one transaction's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Hash)]
pub struct Blocked {
    /// The participant.
    pub node: NodeId,
    /// The transaction.
    pub txn: u64,
    /// Its yes vote.
    pub from: SimTime,
    /// The decision reaching it, or the end of the run (or its node's final crash).
    pub to: SimTime,
    /// Whether the decision reached it.
    pub resolved: bool,
}

/// Every (participant, transaction) that voted yes, with how long it stayed uncertain,
/// from a run's observations and faults. An undecided pair counts until the run's end,
/// or until its node's last crash if it never came back. In (participant, transaction)
/// order.
pub fn blocked(observations: &[Observed], faults: &[AppliedFault], end: SimTime) -> Vec<Blocked> {
    let mut start: BTreeMap<(NodeId, u64), SimTime> = BTreeMap::new();
    let mut decided: BTreeMap<(NodeId, u64), SimTime> = BTreeMap::new();
    for o in observations {
        let k = (o.node, o.obs.key);
        match o.obs.kind {
            obs::PREPARED => {
                start.entry(k).or_insert(o.time);
            }
            obs::DECIDE => {
                decided.entry(k).or_insert(o.time);
            }
            _ => {}
        }
    }
    // When each node went down for good (crashed after its last restart), if it did.
    let mut gone: BTreeMap<NodeId, Option<SimTime>> = BTreeMap::new();
    for f in faults {
        for &n in &f.nodes {
            match f.kind.as_str() {
                "crash" => {
                    gone.insert(n, Some(f.at));
                }
                "restart" => {
                    gone.insert(n, None);
                }
                _ => {}
            }
        }
    }
    start
        .iter()
        .map(|(&(node, txn), &from)| {
            let (to, resolved) = match decided.get(&(node, txn)) {
                Some(t) => (*t, true),
                None => match gone.get(&node).copied().flatten() {
                    Some(c) if c >= from => (c, false),
                    _ => (end, false),
                },
            };
            Blocked {
                node,
                txn,
                from,
                to,
                resolved,
            }
        })
        .collect()
}

/// Computes the uncertainty figures from a run's observations and faults (see
/// [`blocked`]).
pub fn uncertainty(
    observations: &[Observed],
    faults: &[AppliedFault],
    end: SimTime,
) -> Uncertainty {
    let mut u = Uncertainty::default();
    let mut total: u128 = 0;
    for b in blocked(observations, faults, end) {
        let d = b.to.saturating_since(b.from).0;
        u.prepared += 1;
        if !b.resolved {
            u.unresolved += 1;
        }
        total += u128::from(d);
        u.max_ns = u.max_ns.max(d);
    }
    if u.prepared > 0 {
        u.mean_ns = (total / u128::from(u.prepared)) as u64;
    }
    u
}
