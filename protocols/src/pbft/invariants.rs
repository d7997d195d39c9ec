//! PBFT's safety properties among honest replicas, checked after every event from what
//! they report: agreement (one digest per sequence number, committed or executed, at
//! every honest replica, across views and restarts) and execution in sequence-number
//! order with no gaps, which together make every honest replica execute the same
//! requests in the same order. Replicas an adversary controls are left out: their
//! reports mean nothing.

use std::collections::BTreeMap;

use sim_core::NodeId;
use sim_core::invariant::{Invariant, World};

use super::{Pbft, obs};

/// Every PBFT invariant, fresh.
pub fn all() -> Vec<Box<dyn Invariant<Pbft>>> {
    vec![Box::new(Agreement::default()), Box::new(InOrder::default())]
}

/// One digest per sequence number among honest replicas' commits and executions.
#[derive(Default)]
pub struct Agreement {
    /// The digest first reported for each sequence number, and by whom.
    decided: BTreeMap<u64, (u64, NodeId, &'static str)>,
}

impl Invariant<Pbft> for Agreement {
    fn name(&self) -> &str {
        "agreement"
    }

    fn check(&mut self, world: &World<'_, Pbft>) -> Result<(), String> {
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
#[derive(Default)]
pub struct InOrder {
    /// The last sequence number each replica executed or restored.
    last: BTreeMap<NodeId, u64>,
}

impl Invariant<Pbft> for InOrder {
    fn name(&self) -> &str {
        "in_order"
    }

    fn check(&mut self, world: &World<'_, Pbft>) -> Result<(), String> {
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
