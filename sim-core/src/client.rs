//! Clients: who sends operations, how often, and what they do about silence and redirects.
//!
//! A client is driven by the engine: it asks its [`Workload`] for the next operation,
//! sends it to a node, and waits. An answer completes the operation in the history; a
//! redirect sends it on to the named node; a timeout makes its outcome *indeterminate*
//! and, by the retry policy, tries again.

use rand::Rng;
use rand_distr::{Distribution, Zipf};
use serde::{Deserialize, Serialize};

use crate::history::{ClientId, Operation};
use crate::rng::{Delay, SimRng};
use crate::time::SimDuration;

/// Where the next operation of a client comes from.
pub trait Workload: Send {
    /// The next operation of `client`, or `None` when the client is done.
    fn next_op(&mut self, client: ClientId, rng: &mut SimRng) -> Option<Operation>;
    /// A copy with everything it has handed out so far, for `explore`, which forks a run
    /// at every choice. `None` (the default): it cannot be copied, and `explore` refuses.
    fn fork(&self) -> Option<Box<dyn Workload>> {
        None
    }
    /// A digest of what it remembers (how far each client got), which `explore` folds
    /// into its state digest: two states merge only if their workloads remember the same.
    /// A workload that can [`fork`](Workload::fork) must give one.
    fn memory(&self) -> u64 {
        0
    }
}

/// How clients pace their operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Load {
    /// Each client has one operation outstanding and waits `think` between operations.
    Closed {
        /// Pause between an answer and the next operation.
        think: Delay,
    },
    /// Each client starts operations at random intervals, answered or not.
    Open {
        /// Time between arrivals (exponential gives Poisson arrivals).
        interval: Delay,
    },
}

impl Default for Load {
    fn default() -> Self {
        Load::Closed {
            think: Delay::Constant(SimDuration::from_millis(1)),
        }
    }
}

/// What a client does when an operation times out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Retry {
    /// Give up: the operation stays indeterminate (at-most-once).
    #[default]
    None,
    /// Send it again with the same request id, to the next node (exactly-once, if the
    /// protocol deduplicates by request id).
    SameId {
        /// Attempts in all, the first included.
        max_attempts: u32,
    },
    /// Send it again as a new operation with a new id (at-least-once: the first attempt
    /// stays in the history as indeterminate).
    NewId {
        /// Attempts in all, the first included.
        max_attempts: u32,
    },
}

/// The clients of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// How many clients.
    pub count: u32,
    /// Closed or open loop.
    pub load: Load,
    /// How long a client waits for an answer before the outcome is indeterminate.
    pub timeout: SimDuration,
    /// What it does then.
    pub retry: Retry,
    /// Redirects followed for one operation before it counts as failed.
    pub max_redirects: u32,
    /// Pause before trying another node after a redirect that names no leader.
    pub redirect_backoff: SimDuration,
    /// One-way latency between clients and nodes (no loss, no partitions: clients sit
    /// next to the cluster).
    pub latency: Delay,
    /// Matching answers from distinct nodes that complete an operation: 1 trusts the
    /// first answer; a Byzantine-tolerant protocol asks for f + 1, so that at least one
    /// comes from an honest node. Above 1, redirects are ignored (a faulty node could
    /// send the client anywhere) and a failure counts only when f + 1 nodes report it.
    pub reply_quorum: u32,
    /// A retry after a timeout goes to every node rather than the next one (PBFT: the
    /// backups then forward it to the primary and watch it).
    pub retry_to_all: bool,
    /// Where clients sit, and so what reaching a node costs them beyond `latency`.
    pub placement: Placement,
}

/// Where clients sit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placement {
    /// Next to every node alike: a request takes the client latency alone.
    #[default]
    Cluster,
    /// Client `c` sits beside node `c mod N` (its home, in its region): a request to
    /// node `n`, and its answer, also cross the network's link between the home and `n`
    /// (latency only: no loss, no partitions), so on a wide-area network a client pays
    /// the round trip to whichever node it asks.
    Home,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            count: 3,
            load: Load::default(),
            timeout: SimDuration::from_secs(1),
            retry: Retry::None,
            max_redirects: 10,
            redirect_backoff: SimDuration::from_millis(20),
            latency: Delay::Constant(SimDuration::from_micros(500)),
            reply_quorum: 1,
            retry_to_all: false,
            placement: Placement::Cluster,
        }
    }
}

/// How keys are picked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum KeyDistribution {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// Zipf with exponent `s`: key 0 the most popular.
    Zipf(f64),
    /// A conflict rate in percent, as in leaderless-protocol studies: that share of
    /// operations goes to one hot key (0), the rest to a key of the client's own (1 +
    /// its id), which no other client touches; `keys` does not apply.
    Conflict(f64),
}

/// The relative weights of key-value operation kinds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpMix {
    /// Weight of gets.
    pub get: u32,
    /// Weight of puts.
    pub put: u32,
    /// Weight of compare-and-sets.
    pub cas: u32,
    /// Weight of appends.
    pub append: u32,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix {
            get: 50,
            put: 30,
            cas: 10,
            append: 10,
        }
    }
}

/// A key-value workload: each client issues `ops_per_client` operations drawn from a mix
/// over `keys` keys. Written values are unique (`c<client>.<n>`), so a read tells which
/// write it saw, which is what makes the linearizability check sharp.
#[derive(Clone, Debug)]
pub struct KvWorkload {
    keys: u64,
    mix: OpMix,
    zipf: Option<Zipf<f64>>,
    /// The share of operations on the hot key, for [`KeyDistribution::Conflict`].
    conflict: Option<f64>,
    ops_per_client: u64,
    issued: Vec<u64>,
}

impl KvWorkload {
    /// A workload; `keys` is at least 1 and a Zipf exponent must be positive.
    pub fn new(
        keys: u64,
        mix: OpMix,
        distribution: KeyDistribution,
        ops_per_client: u64,
    ) -> Result<Self, String> {
        if keys == 0 {
            return Err("a key-value workload needs at least one key".into());
        }
        if mix.get + mix.put + mix.cas + mix.append == 0 {
            return Err("the operation mix has no positive weight".into());
        }
        let zipf = match distribution {
            KeyDistribution::Uniform => None,
            KeyDistribution::Zipf(s) => {
                Some(Zipf::new(keys as f64, s).map_err(|e| format!("zipf exponent {s}: {e}"))?)
            }
            KeyDistribution::Conflict(p) => {
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!(
                        "conflict rate {p}: expected a percent from 0 to 100"
                    ));
                }
                None
            }
        };
        let conflict = match distribution {
            KeyDistribution::Conflict(p) => Some(p / 100.0),
            _ => None,
        };
        Ok(KvWorkload {
            keys,
            mix,
            zipf,
            conflict,
            ops_per_client,
            issued: Vec::new(),
        })
    }

    fn key(&self, client: ClientId, rng: &mut SimRng) -> u64 {
        if let Some(p) = self.conflict {
            return if rng.random_bool(p) {
                0
            } else {
                1 + u64::from(client)
            };
        }
        match &self.zipf {
            // Zipf yields 1..=keys.
            Some(z) => (z.sample(rng) as u64).clamp(1, self.keys) - 1,
            None => rng.random_range(0..self.keys),
        }
    }
}

impl Workload for KvWorkload {
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
        let n = self.issued[c];
        let key = self.key(client, rng);
        let m = self.mix;
        let pick = rng.random_range(0..m.get + m.put + m.cas + m.append);
        let value = format!("c{client}.{n}");
        let op = if pick < m.get {
            Operation::Get { key }
        } else if pick < m.get + m.put {
            Operation::Put { key, value }
        } else if pick < m.get + m.put + m.cas {
            // Expect a value some client may have written: a recent write of a random
            // client, or the initial empty value.
            let other = rng.random_range(0..=client.max(1));
            let back = self.issued.get(other as usize).copied().unwrap_or(0);
            let expected = if back == 0 {
                String::new()
            } else {
                format!("c{other}.{}", rng.random_range(1..=back))
            };
            Operation::Cas {
                key,
                expected,
                new: value,
            }
        } else {
            Operation::Append {
                key,
                value: format!("{value};"),
            }
        };
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RunSeed, Stream};

    #[test]
    fn kv_workload_respects_counts_and_mix() {
        let mut w = KvWorkload::new(4, OpMix::default(), KeyDistribution::Uniform, 1000).unwrap();
        let mut rng = RunSeed(9).stream(Stream::Workload);
        let mut counts = [0u32; 4];
        let mut n = 0;
        while let Some(op) = w.next_op(0, &mut rng) {
            assert!(op.key() < 4);
            counts[["get", "put", "cas", "append"]
                .iter()
                .position(|k| *k == op.kind())
                .unwrap()] += 1;
            n += 1;
        }
        assert_eq!(n, 1000);
        // Binomial(1000, 0.5) for gets: mean 500, sd ~15.8; 5 sd.
        assert!((counts[0] as i32 - 500).abs() < 80, "{counts:?}");
        assert!(
            w.next_op(1, &mut rng).is_some(),
            "other clients have their own budget"
        );
    }

    #[test]
    fn zipf_prefers_low_keys_and_bad_settings_fail() {
        let mut w =
            KvWorkload::new(100, OpMix::default(), KeyDistribution::Zipf(1.2), 5000).unwrap();
        let mut rng = RunSeed(1).stream(Stream::Workload);
        let mut zero = 0;
        while let Some(op) = w.next_op(0, &mut rng) {
            assert!(op.key() < 100);
            zero += u32::from(op.key() == 0);
        }
        assert!(zero > 5000 / 10, "key 0 drawn only {zero} times");
        assert!(KvWorkload::new(0, OpMix::default(), KeyDistribution::Uniform, 1).is_err());
        assert!(KvWorkload::new(3, OpMix::default(), KeyDistribution::Zipf(-1.0), 1).is_err());
    }

    #[test]
    fn a_conflict_rate_sends_that_share_to_the_hot_key_and_the_rest_to_private_keys() {
        for (rate, lo, hi) in [(0.0, 0, 0), (25.0, 400, 600), (100.0, 2000, 2000)] {
            let dist = KeyDistribution::Conflict(rate);
            let mut w = KvWorkload::new(1, OpMix::default(), dist, 1000).unwrap();
            let mut rng = RunSeed(3).stream(Stream::Workload);
            let mut hot = 0;
            for c in [0, 7] {
                while let Some(op) = w.next_op(c, &mut rng) {
                    match op.key() {
                        0 => hot += 1,
                        k => assert_eq!(k, 1 + u64::from(c), "client {c}'s own key"),
                    }
                }
            }
            assert!((lo..=hi).contains(&hot), "rate {rate}: {hot} of 2000 hot");
        }
        let bad = KeyDistribution::Conflict(120.0);
        assert!(KvWorkload::new(1, OpMix::default(), bad, 1).is_err());
    }
}
