//! Gossip's safety properties, checked after every event from the facts nodes report.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::invariant::{Invariant, World};

use super::Gossip;

/// Every gossip invariant, fresh.
pub fn all() -> Vec<Box<dyn Invariant<Gossip>>> {
    vec![
        Box::new(NoPhantomUpdates::default()),
        Box::new(NoResurrection::default()),
    ]
}

/// No node holds a broadcast update before some node was given it by a client: gossip
/// only spreads what exists.
#[derive(Default, Clone, Hash)]
pub struct NoPhantomUpdates {
    injected: BTreeSet<u64>,
}

impl Invariant<Gossip> for NoPhantomUpdates {
    sim_core::forkable!(Gossip);
    fn name(&self) -> &str {
        "no_phantom_updates"
    }
    fn check(&mut self, world: &World<'_, Gossip>) -> Result<(), String> {
        for o in world.observations {
            match o.obs.kind {
                "inject" => {
                    self.injected.insert(o.obs.key);
                }
                "have" if !self.injected.contains(&o.obs.key) => {
                    return Err(format!(
                        "{} holds update {} that no client broadcast",
                        o.node, o.obs.key
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A value a replica has replaced (by a later write or a delete) never comes back to that
/// replica: under last-writer-wins a register only moves to later stamps, and every
/// written value is unique, so seeing an old value again means state was forgotten —
/// typically a delete that left no tombstone, undone by anti-entropy.
#[derive(Default, Clone, Hash)]
pub struct NoResurrection {
    /// (node, key) → the value digest it holds now (0: absent or deleted).
    current: BTreeMap<(u32, u64), u64>,
    /// (node, key) → value digests it held and replaced.
    replaced: BTreeMap<(u32, u64), BTreeSet<u64>>,
}

impl Invariant<Gossip> for NoResurrection {
    sim_core::forkable!(Gossip);
    fn name(&self) -> &str {
        "no_resurrection"
    }
    fn check(&mut self, world: &World<'_, Gossip>) -> Result<(), String> {
        for o in world.observations.iter().filter(|o| o.obs.kind == "kv") {
            let at = (o.node.0, o.obs.key);
            let new = o.obs.value;
            if new != 0 && self.replaced.get(&at).is_some_and(|r| r.contains(&new)) {
                return Err(format!(
                    "key {} came back at {} with a value it had replaced or deleted (digest {new:016x})",
                    o.obs.key, o.node
                ));
            }
            if let Some(old) = self.current.insert(at, new)
                && old != 0
                && old != new
            {
                self.replaced.entry(at).or_default().insert(old);
            }
        }
        Ok(())
    }
}
