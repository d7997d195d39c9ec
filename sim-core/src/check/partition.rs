//! P-compositionality: a history is linearizable iff each partition the model declares
//! (each key of a map) is. Partitions are checked independently, in parallel when asked.

use std::sync::atomic::AtomicUsize;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::budget::Limits;
use super::model::{Indexed, Model};
use super::ops::Op;
use super::search::{Outcome, search};
use super::verdict::{CheckOptions, CheckReport, Verdict};

/// Below this many operations, spreading partitions over threads costs more than it saves.
const PARALLEL_THRESHOLD: usize = 2_000;

/// Checks whether `ops` is linearizable with respect to `model`. Operations that are known
/// to have failed (had no effect) must be left out by the caller.
pub fn check<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    options: &CheckOptions,
) -> CheckReport {
    let mut by_key: FxHashMap<u64, Vec<Indexed<'_, M>>> = FxHashMap::default();
    for (i, op) in ops.iter().enumerate() {
        by_key
            .entry(model.partition(&op.input))
            .or_default()
            .push((i, op));
    }
    let mut parts: Vec<(u64, Vec<Indexed<'_, M>>)> = by_key.into_iter().collect();
    parts.sort_unstable_by_key(|(key, _)| *key);

    let limits = Limits {
        give_up: options.give_up.clone(),
        max_steps: options.max_steps,
        max_memo_bytes: options.max_memo_bytes,
        first_failure: AtomicUsize::new(usize::MAX),
    };
    let run = |(position, (key, part)): (usize, &(u64, Vec<Indexed<'_, M>>))| {
        if limits.cancelled(position) {
            return (Outcome::Unknown("cancelled".into()), 0);
        }
        let result = search(model, part, *key, position, &limits);
        if matches!(result.0, Outcome::NotLinearizable(_)) {
            limits.failed_at(position);
        }
        result
    };
    let results: Vec<(Outcome, u64)> =
        if options.parallel && parts.len() > 1 && ops.len() >= PARALLEL_THRESHOLD {
            parts.par_iter().enumerate().map(run).collect()
        } else {
            parts.iter().enumerate().map(run).collect()
        };

    let steps = results.iter().map(|(_, s)| s).sum();
    let mut verdict = Verdict::Linearizable;
    for (outcome, _) in results {
        match outcome {
            Outcome::Linearizable => {}
            Outcome::NotLinearizable(counterexample) => {
                // The first failing partition, whatever finished first.
                verdict = Verdict::NotLinearizable { counterexample };
                break;
            }
            Outcome::Unknown(reason) => {
                if verdict == Verdict::Linearizable {
                    verdict = Verdict::Unknown { reason };
                }
            }
        }
    }
    CheckReport {
        verdict,
        model: model.name().to_string(),
        ops: ops.len(),
        partitions: parts.len(),
        steps,
    }
}
