//! Workloads of the dissemination family: updates to spread (broadcasts) and key-value
//! operations against any replica of an optimistically replicated store.
//!
//! Both only say *what* is asked; *where* is the engine's client routing (client `i` starts
//! at node `i mod n` and moves on after a timeout), so a run with as many clients as nodes
//! sends each operation to the node of the client that drew it.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::client::Workload;
use crate::history::{ClientId, Operation};
use crate::rng::SimRng;

/// A fixed number of updates to spread, shared by all clients: whichever client wakes
/// next injects the next update, so with open-loop clients spread over the nodes the
/// updates arrive at random nodes as one Poisson stream.
#[derive(Clone, Debug)]
pub struct BroadcastWorkload {
    updates: u64,
    issued: u64,
}

impl BroadcastWorkload {
    /// `updates` updates in all, numbered from 0.
    pub fn new(updates: u64) -> Self {
        BroadcastWorkload { updates, issued: 0 }
    }
}

impl Workload for BroadcastWorkload {
    fn fork(&self) -> Option<Box<dyn Workload>> {
        Some(Box::new(self.clone()))
    }
    fn memory(&self) -> u64 {
        crate::fingerprint::digest(&self.issued)
    }
    fn next_op(&mut self, _client: ClientId, _rng: &mut SimRng) -> Option<Operation> {
        if self.issued >= self.updates {
            return None;
        }
        self.issued += 1;
        Some(Operation::Broadcast {
            id: self.issued - 1,
        })
    }
}

/// The relative weights of the operations of a replicated key-value store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicaMix {
    /// Weight of reads.
    pub get: u32,
    /// Weight of writes.
    pub put: u32,
    /// Weight of deletes.
    pub delete: u32,
}

impl Default for ReplicaMix {
    fn default() -> Self {
        ReplicaMix {
            get: 30,
            put: 50,
            delete: 20,
        }
    }
}

/// Gets, puts and deletes over `keys` keys, `ops_per_client` per client. Written values
/// are unique (`c<client>.<n>`), so a final state tells which write it came from.
#[derive(Clone, Debug)]
pub struct ReplicaKvWorkload {
    keys: u64,
    mix: ReplicaMix,
    ops_per_client: u64,
    issued: Vec<u64>,
}

impl ReplicaKvWorkload {
    /// A workload; it needs at least one key and one positive weight.
    pub fn new(keys: u64, mix: ReplicaMix, ops_per_client: u64) -> Result<Self, String> {
        if keys == 0 {
            return Err("a replicated key-value workload needs at least one key".into());
        }
        if mix.get + mix.put + mix.delete == 0 {
            return Err("the operation mix has no positive weight".into());
        }
        Ok(ReplicaKvWorkload {
            keys,
            mix,
            ops_per_client,
            issued: Vec::new(),
        })
    }
}

impl Workload for ReplicaKvWorkload {
    fn fork(&self) -> Option<Box<dyn Workload>> {
        Some(Box::new(self.clone()))
    }
    fn memory(&self) -> u64 {
        crate::fingerprint::digest(&self.issued)
    }
    fn next_op(&mut self, client: ClientId, rng: &mut SimRng) -> Option<Operation> {
        let c = client as usize;
        if self.issued.len() <= c {
            self.issued.resize(c + 1, 0);
        }
        if self.issued[c] >= self.ops_per_client {
            return None;
        }
        self.issued[c] += 1;
        let key = rng.random_range(0..self.keys);
        let m = self.mix;
        let pick = rng.random_range(0..m.get + m.put + m.delete);
        Some(if pick < m.get {
            Operation::Get { key }
        } else if pick < m.get + m.put {
            Operation::Put {
                key,
                value: format!("c{client}.{}", self.issued[c]),
            }
        } else {
            Operation::Delete { key }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RunSeed, Stream};

    #[test]
    fn broadcasts_are_numbered_and_shared_by_all_clients() {
        let mut w = BroadcastWorkload::new(3);
        let mut rng = RunSeed(1).stream(Stream::Workload);
        let ids: Vec<_> = [0, 5, 0, 2]
            .iter()
            .map(|c| w.next_op(*c, &mut rng))
            .collect();
        assert_eq!(
            ids,
            vec![
                Some(Operation::Broadcast { id: 0 }),
                Some(Operation::Broadcast { id: 1 }),
                Some(Operation::Broadcast { id: 2 }),
                None
            ]
        );
    }

    #[test]
    fn replica_ops_follow_the_mix_and_bad_settings_fail() {
        let mix = ReplicaMix {
            get: 0,
            put: 1,
            delete: 1,
        };
        let mut w = ReplicaKvWorkload::new(4, mix, 400).unwrap();
        let mut rng = RunSeed(2).stream(Stream::Workload);
        let (mut puts, mut deletes) = (0, 0);
        while let Some(op) = w.next_op(0, &mut rng) {
            assert!(op.key() < 4);
            match op {
                Operation::Put { .. } => puts += 1,
                Operation::Delete { .. } => deletes += 1,
                other => panic!("weight 0 for {other:?}"),
            }
        }
        assert_eq!(puts + deletes, 400);
        assert!(
            puts > 120 && deletes > 120,
            "{puts} puts, {deletes} deletes"
        );
        assert!(ReplicaKvWorkload::new(0, mix, 1).is_err());
        let none = ReplicaMix {
            get: 0,
            put: 0,
            delete: 0,
        };
        assert!(ReplicaKvWorkload::new(3, none, 1).is_err());
    }
}
