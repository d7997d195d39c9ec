//! PBFT's safety properties among honest replicas, checked after every event from what
//! they report: agreement (one digest per sequence number, committed or executed, at
//! every honest replica, across views and restarts) and execution in sequence-number
//! order with no gaps, which together make every honest replica execute the same
//! requests in the same order; and validity (only requests clients sent execute). Replicas an adversary controls are left out: their
//! reports mean nothing.

use std::collections::BTreeMap;

use sim_core::NodeId;
use sim_core::invariant::{Invariant, World};

use super::{Pbft, obs};

/// Every PBFT invariant, fresh.
pub fn all() -> Vec<Box<dyn Invariant<Pbft>>> {
    vec![
        Box::new(Agreement::default()),
        Box::new(InOrder::default()),
        Box::new(Validity::new(obs::EXECUTE)),
    ]
}

/// Honest nodes execute only requests some client sent (or the null request, digest 0):
/// a Byzantine node cannot make one up, only replay one. Reads the observations of
/// `kind` whose value is a request's [`ClientRequest::digest`](sim_core::ClientRequest::digest),
/// so any protocol that reports executions so can use it.
#[derive(Clone, Hash)]
pub struct Validity {
    kind: &'static str,
}

impl Validity {
    /// Checks the observations of `kind`.
    pub fn new(kind: &'static str) -> Self {
        Validity { kind }
    }
}

impl<P: sim_core::Protocol> Invariant<P> for Validity {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "validity"
    }

    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        for o in world.observations {
            if o.obs.kind != self.kind || world.faulty(o.node) {
                continue;
            }
            let digest = o.obs.value;
            if digest != super::NULL_DIGEST && !world.client_issued(digest) {
                return Err(format!(
                    "{} executed sequence number {} with digest {digest:#x}, which no client sent",
                    o.node, o.obs.key
                ));
            }
        }
        Ok(())
    }
}

/// One digest per sequence number among honest replicas' commits and executions.
#[derive(Default, Clone, Hash)]
pub struct Agreement {
    /// The digest first reported for each sequence number, and by whom.
    decided: BTreeMap<u64, (u64, NodeId, &'static str)>,
}

impl<P: sim_core::Protocol> Invariant<P> for Agreement {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "agreement"
    }

    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        for o in world.observations {
            let kind = o.obs.kind;
            if (kind != obs::COMMIT && kind != obs::EXECUTE) || world.faulty(o.node) {
                continue;
            }
            let (seq, digest) = (o.obs.key, o.obs.value);
            match self.decided.get(&seq) {
                Some((d, by, how)) if *d != digest => {
                    return Err(format!(
                        "sequence number {seq}: {} {kind}s digest {digest:#x}, but {by} {how} {d:#x}",
                        o.node,
                        how = if *how == obs::COMMIT {
                            "committed"
                        } else {
                            "executed"
                        }
                    ));
                }
                Some(_) => {}
                None => {
                    self.decided.insert(seq, (digest, o.node, kind));
                }
            }
        }
        Ok(())
    }
}

/// Each honest replica executes sequence numbers one after the other from its last
/// restored state, with no gap and no repeat.
#[derive(Default, Clone, Hash)]
pub struct InOrder {
    /// The last sequence number each replica executed or restored.
    last: BTreeMap<NodeId, u64>,
}

impl<P: sim_core::Protocol> Invariant<P> for InOrder {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "in_order"
    }

    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        for o in world.observations {
            if world.faulty(o.node) {
                continue;
            }
            let seq = o.obs.key;
            match o.obs.kind {
                obs::RESTORE => {
                    self.last.insert(o.node, seq);
                }
                obs::EXECUTE => {
                    let last = self.last.get(&o.node).copied().unwrap_or(0);
                    if seq != last + 1 {
                        return Err(format!(
                            "{} executed sequence number {seq} right after {last}",
                            o.node
                        ));
                    }
                    self.last.insert(o.node, seq);
                }
                _ => {}
            }
        }
        Ok(())
    }
}
