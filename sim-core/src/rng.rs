//! Seeded randomness: one run seed, many independent named ChaCha streams.
//!
//! Every stream uses the same ChaCha key (expanded from the run seed) and its own 64-bit
//! ChaCha stream number, derived from the stream's name. ChaCha streams with different
//! numbers are independent keystreams, so drawing more numbers from one stream (one more
//! client operation) never shifts what another stream yields (network latencies).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};
use serde::{Deserialize, Serialize};

use crate::time::SimDuration;

/// The random generator every part of a run draws from: ChaCha with 8 rounds, which is
/// plenty for simulation and the fastest of the family.
pub type SimRng = ChaCha8Rng;

/// The one seed of a run, from which every stream is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSeed(pub u64);

/// The named streams of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Latency, loss and duplication draws of the network.
    Network,
    /// The fault injector (random targets, random nemesis).
    Faults,
    /// The workload generator (which operation, which key, think times).
    Workload,
    /// Client pacing and client-to-node latency.
    Clients,
    /// One stream per node, handed to the protocol through `Ctx::rng`.
    Node(u32),
    /// One stream per Byzantine node's adversary.
    Adversary(u32),
    /// A stream for a part added later, named by the caller (e.g. "adversary").
    Named(&'static str),
}

impl Stream {
    /// The ChaCha stream number: small constants for the fixed streams, the node index
    /// above 2^32, and a hash of the name for named streams (top bit set), so that no two
    /// streams of a run can coincide.
    fn number(self) -> u64 {
        match self {
            Stream::Network => 1,
            Stream::Faults => 2,
            Stream::Workload => 3,
            Stream::Clients => 4,
            Stream::Node(i) => (1u64 << 32) | u64::from(i),
            Stream::Adversary(i) => (2u64 << 32) | u64::from(i),
            Stream::Named(name) => (1u64 << 63) | (fnv1a(name.as_bytes()) >> 1),
        }
    }
}

/// FNV-1a, a fixed hash for stream names; stable across processes and platforms.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl RunSeed {
    /// A fresh generator for one named stream of this run.
    pub fn stream(self, stream: Stream) -> SimRng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.0);
        rng.set_stream(stream.number());
        rng
    }
}

/// A distribution of delays, sampled with floats and returned as integer nanoseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Delay {
    /// Always the same delay.
    Constant(SimDuration),
    /// Uniform between two bounds, both included.
    Uniform(SimDuration, SimDuration),
    /// Normal with a mean and standard deviation, cut at zero.
    Normal {
        /// The mean delay.
        mean: SimDuration,
        /// The standard deviation.
        std_dev: SimDuration,
    },
    /// Log-normal with the given median and the standard deviation `sigma` of the
    /// underlying normal (a heavy right tail for large sigma).
    LogNormal {
        /// The median delay (e^mu).
        median: SimDuration,
        /// Sigma of the logarithm.
        sigma: f64,
    },
    /// Exponential with the given mean (memoryless arrivals, e.g. open-loop clients).
    Exponential {
        /// The mean delay.
        mean: SimDuration,
    },
    /// Pareto with a minimum (scale) and tail index `shape` (smaller shape, heavier tail).
    Pareto {
        /// The smallest delay drawn.
        min: SimDuration,
        /// The tail index alpha (> 0).
        shape: f64,
    },
}

impl std::fmt::Display for Delay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delay::Constant(d) => write!(f, "Constant({d})"),
            Delay::Uniform(lo, hi) => write!(f, "Uniform({lo}, {hi})"),
            Delay::Normal { mean, std_dev } => write!(f, "Normal(mean {mean}, sd {std_dev})"),
            Delay::LogNormal { median, sigma } => {
                write!(f, "LogNormal(median {median}, sigma {sigma})")
            }
            Delay::Exponential { mean } => write!(f, "Exponential(mean {mean})"),
            Delay::Pareto { min, shape } => write!(f, "Pareto(min {min}, shape {shape})"),
        }
    }
}

/// Why a delay distribution cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid delay distribution {dist:?}: {reason}")]
pub struct DelayError {
    /// The distribution as given.
    pub dist: Delay,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Default for Delay {
    fn default() -> Self {
        Delay::Uniform(SimDuration::from_millis(1), SimDuration::from_millis(10))
    }
}

impl Delay {
    /// Checks the parameters once, so sampling never has to fail.
    pub fn validate(&self) -> Result<(), DelayError> {
        let bad = |reason| {
            Err(DelayError {
                dist: self.clone(),
                reason,
            })
        };
        match *self {
            Delay::Uniform(lo, hi) if lo > hi => bad("lower bound above upper bound"),
            Delay::LogNormal { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => {
                bad("sigma must be finite and non-negative")
            }
            Delay::LogNormal { median, .. } if median == SimDuration::ZERO => {
                bad("median must be positive")
            }
            Delay::Pareto { shape, .. } if !(shape.is_finite() && shape > 0.0) => {
                bad("shape must be finite and positive")
            }
            Delay::Pareto { min, .. } if min == SimDuration::ZERO => bad("min must be positive"),
            _ => Ok(()),
        }
    }

    /// Draws one delay. Call [`Delay::validate`] first; invalid parameters yield the
    /// distribution's location parameter instead of a panic.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        match *self {
            Delay::Constant(d) => d,
            Delay::Uniform(lo, hi) => {
                if lo >= hi {
                    lo
                } else {
                    SimDuration(rng.random_range(lo.0..=hi.0))
                }
            }
            Delay::Normal { mean, std_dev } => match Normal::new(mean.0 as f64, std_dev.0 as f64) {
                Ok(n) => SimDuration::from_nanos_f64(n.sample(rng)),
                Err(_) => mean,
            },
            Delay::LogNormal { median, sigma } => {
                match LogNormal::new((median.0 as f64).ln(), sigma) {
                    Ok(d) => SimDuration::from_nanos_f64(d.sample(rng)),
                    Err(_) => median,
                }
            }
            Delay::Exponential { mean } => {
                if mean.0 == 0 {
                    return SimDuration::ZERO;
                }
                match Exp::new(1.0 / mean.0 as f64) {
                    Ok(d) => SimDuration::from_nanos_f64(d.sample(rng)),
                    Err(_) => mean,
                }
            }
            Delay::Pareto { min, shape } => match Pareto::new(min.0 as f64, shape) {
                Ok(d) => SimDuration::from_nanos_f64(d.sample(rng)),
                Err(_) => min,
            },
        }
    }

    /// The distribution's mean, where it is finite (for reports and sanity checks).
    pub fn mean(&self) -> Option<f64> {
        Some(match *self {
            Delay::Constant(d) => d.0 as f64,
            Delay::Uniform(lo, hi) => (lo.0 as f64 + hi.0 as f64) / 2.0,
            Delay::Normal { mean, .. } => mean.0 as f64,
            Delay::LogNormal { median, sigma } => median.0 as f64 * (sigma * sigma / 2.0).exp(),
            Delay::Exponential { mean } => mean.0 as f64,
            Delay::Pareto { min, shape } => {
                if shape <= 1.0 {
                    return None;
                }
                shape * min.0 as f64 / (shape - 1.0)
            }
        })
    }
}

/// Draws `true` with probability `p`, consuming no randomness when `p` is 0 or 1, so that
/// turning a fault off does not shift the stream (and costs nothing on the hot path).
#[inline]
pub fn chance(rng: &mut SimRng, p: f64) -> bool {
    if p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rng.random_bool(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_independent_of_each_others_use() {
        let seed = RunSeed(42);
        let mut net_a = seed.stream(Stream::Network);
        let mut net_b = seed.stream(Stream::Network);
        let mut work = seed.stream(Stream::Workload);
        // Drawing from the workload stream must not change the network stream.
        let a: Vec<u64> = (0..8).map(|_| net_a.next_u64()).collect();
        for _ in 0..1000 {
            work.next_u64();
        }
        let b: Vec<u64> = (0..8).map(|_| net_b.next_u64()).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn different_streams_and_seeds_differ() {
        let draws = |seed: u64, s: Stream| seed_draw(RunSeed(seed).stream(s));
        fn seed_draw(mut r: SimRng) -> u64 {
            r.next_u64()
        }
        let all = [
            draws(1, Stream::Network),
            draws(1, Stream::Faults),
            draws(1, Stream::Workload),
            draws(1, Stream::Node(0)),
            draws(1, Stream::Node(1)),
            draws(1, Stream::Clients),
            draws(1, Stream::Adversary(0)),
            draws(1, Stream::Named("adversary")),
            draws(2, Stream::Network),
        ];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j], "streams {i} and {j} coincide");
            }
        }
    }

    #[test]
    fn sample_means_match_their_distribution() {
        let mut rng = RunSeed(7).stream(Stream::Network);
        let ms = SimDuration::from_millis;
        let dists = [
            Delay::Constant(ms(5)),
            Delay::Uniform(ms(1), ms(10)),
            Delay::Normal {
                mean: ms(20),
                std_dev: ms(2),
            },
            Delay::LogNormal {
                median: ms(10),
                sigma: 0.5,
            },
            Delay::Exponential { mean: ms(4) },
            Delay::Pareto {
                min: ms(1),
                shape: 3.0,
            },
        ];
        let n = 200_000;
        for d in dists {
            d.validate().unwrap();
            let samples: Vec<f64> = (0..n).map(|_| d.sample(&mut rng).0 as f64).collect();
            let mean = samples.iter().sum::<f64>() / n as f64;
            let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let expected = d.mean().unwrap();
            // Five standard errors of the sample mean: fails by chance about once in 3.5M.
            let tol = 5.0 * (var / n as f64).sqrt() + 1.0;
            assert!(
                (mean - expected).abs() <= tol,
                "{d:?}: mean {mean} vs {expected} (tol {tol})"
            );
        }
    }

    #[test]
    fn invalid_parameters_are_reported() {
        let ms = SimDuration::from_millis;
        assert!(Delay::Uniform(ms(10), ms(1)).validate().is_err());
        assert!(
            Delay::Pareto {
                min: ms(1),
                shape: 0.0
            }
            .validate()
            .is_err()
        );
        assert!(
            Delay::LogNormal {
                median: ms(1),
                sigma: f64::NAN
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn chance_draws_nothing_at_the_extremes() {
        let mut a = RunSeed(3).stream(Stream::Faults);
        let mut b = RunSeed(3).stream(Stream::Faults);
        assert!(!chance(&mut a, 0.0));
        assert!(chance(&mut a, 1.0));
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
