//! A transaction workload for the atomic-commit family: each client runs a number of
//! transactions, each reading and writing a few distinct keys. Written values are unique
//! (`c<client>.<n>`), so a read names the transaction whose write it saw.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::client::Workload;
use crate::history::{ClientId, Operation};
use crate::rng::SimRng;

/// The shape of the transactions a [`TxnWorkload`] draws.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TxnShape {
    /// Number of keys.
    pub keys: u64,
    /// Fewest keys one transaction touches.
    pub min_keys: u64,
    /// Most keys one transaction touches.
    pub max_keys: u64,
    /// Probability that a touched key is only read (at least one key is always written).
    pub read_ratio: f64,
}

impl Default for TxnShape {
    fn default() -> Self {
        TxnShape {
            keys: 8,
            min_keys: 1,
            max_keys: 3,
            read_ratio: 0.3,
        }
    }
}

/// Each client issues `txns_per_client` transactions of the given shape.
#[derive(Clone, Debug)]
pub struct TxnWorkload {
    shape: TxnShape,
    txns_per_client: u64,
    issued: Vec<u64>,
}

impl TxnWorkload {
    /// A workload; the shape must be drawable (some keys, a sane range, a probability).
    pub fn new(shape: TxnShape, txns_per_client: u64) -> Result<Self, String> {
        if shape.keys == 0 {
            return Err("a transaction workload needs at least one key".into());
        }
        if shape.min_keys == 0 || shape.min_keys > shape.max_keys {
            return Err(format!(
                "keys per transaction must satisfy 1 <= min_keys <= max_keys, found {}..={}",
                shape.min_keys, shape.max_keys
            ));
        }
        if shape.max_keys > shape.keys {
            return Err(format!(
                "a transaction cannot touch {} distinct keys out of {}",
                shape.max_keys, shape.keys
            ));
        }
        if !(0.0..=1.0).contains(&shape.read_ratio) {
            return Err(format!(
                "read_ratio {} is not a probability",
                shape.read_ratio
            ));
        }
        Ok(TxnWorkload {
            shape,
            txns_per_client,
            issued: Vec::new(),
        })
    }
}

impl Workload for TxnWorkload {
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
        if self.issued[c] >= self.txns_per_client {
            return None;
        }
        self.issued[c] += 1;
        let n = self.issued[c];
        let s = self.shape;
        let count = rng.random_range(s.min_keys..=s.max_keys);
        let mut keys: Vec<u64> = Vec::with_capacity(count as usize);
        while (keys.len() as u64) < count {
            let k = rng.random_range(0..s.keys);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.sort_unstable();
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            if rng.random_bool(s.read_ratio) {
                reads.push(*k);
            } else {
                writes.push((*k, format!("c{client}.{n}.{i}")));
            }
        }
        if writes.is_empty() {
            // Every transaction writes: move its last read to the writes.
            let k = reads.pop().unwrap_or(keys[0]);
            writes.push((k, format!("c{client}.{n}.w")));
        }
        Some(Operation::Txn { reads, writes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RunSeed, Stream};

    #[test]
    fn transactions_have_distinct_keys_and_a_write() {
        let shape = TxnShape {
            keys: 5,
            min_keys: 2,
            max_keys: 4,
            read_ratio: 0.5,
        };
        let mut w = TxnWorkload::new(shape, 200).unwrap();
        let mut rng = RunSeed(3).stream(Stream::Workload);
        let mut n = 0;
        let mut reads = 0;
        while let Some(op) = w.next_op(1, &mut rng) {
            let Operation::Txn { reads: r, writes } = op else {
                panic!("not a transaction: {op:?}");
            };
            let mut all: Vec<u64> = r
                .iter()
                .copied()
                .chain(writes.iter().map(|w| w.0))
                .collect();
            let len = all.len();
            assert!((2..=4).contains(&len), "{len} keys");
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), len, "keys repeat");
            assert!(all.iter().all(|k| *k < 5));
            assert!(!writes.is_empty());
            reads += r.len();
            n += 1;
        }
        assert_eq!(n, 200);
        assert!(reads > 50, "reads are drawn ({reads})");
    }

    #[test]
    fn bad_shapes_are_refused() {
        let ok = TxnShape::default();
        assert!(TxnWorkload::new(ok, 1).is_ok());
        for bad in [
            TxnShape { keys: 0, ..ok },
            TxnShape { min_keys: 0, ..ok },
            TxnShape {
                min_keys: 3,
                max_keys: 2,
                ..ok
            },
            TxnShape { max_keys: 9, ..ok },
            TxnShape {
                read_ratio: 1.5,
                ..ok
            },
        ] {
            assert!(TxnWorkload::new(bad, 1).is_err(), "{bad:?}");
        }
    }
}
