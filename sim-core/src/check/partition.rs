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

/// The step budget of each partition in the first round of the search.
const FIRST_ROUND_STEPS: u64 = 1 << 14;

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

    // Keys are searched fairly, in rounds: every undecided key gets the round's step
    // budget, which doubles from round to round up to the caller's. A key that fails
    // quickly is found in the first round even when an earlier key would take the whole
    // budget; the lowest failing key of the first round with a failure is reported, so the
    // verdict does not depend on thread timing. Rerunning a key from scratch each round
    // costs at most as much again as its last round.
    let cap = options.max_steps.unwrap_or(u64::MAX);
    let mut outcomes: Vec<Option<Outcome>> = parts.iter().map(|_| None).collect();
    let mut steps = 0u64;
    let mut budget = FIRST_ROUND_STEPS.min(cap);
    let mut first_round = true;
    loop {
        // With one key left there is no other to be fair to: it gets the whole budget.
        if outcomes.iter().filter(|o| o.is_none()).count() <= 1 {
            budget = cap;
        }
        let last_round = budget >= cap;
        let pending: Vec<usize> = (0..parts.len())
            .filter(|&p| outcomes[p].is_none())
            .collect();
        let parallel = options.parallel && pending.len() > 1 && ops.len() >= PARALLEL_THRESHOLD;
        let ways = if parallel {
            rayon::current_num_threads().min(pending.len()).max(1)
        } else {
            1
        };
        let limits = Limits {
            give_up: options.give_up.clone(),
            max_steps: (budget != u64::MAX).then_some(budget),
            max_memo_bytes: options.max_memo_bytes,
            memory_share: options.max_memo_bytes / ways,
            memory_ways: ways,
            first_failure: AtomicUsize::new(usize::MAX),
            quick_pass: first_round && options.quick_pass,
        };
        let run = |&position: &usize| {
            let (key, part) = &parts[position];
            if limits.cancelled(position) {
                return (position, Outcome::Unknown("cancelled".into()), 0, false);
            }
            let (outcome, spent) = search(model, part, *key, position, &limits);
            if matches!(outcome, Outcome::NotLinearizable(_)) {
                limits.failed_at(position);
            }
            // Only the round's step budget ran out: the next round goes on with more.
            let more = matches!(outcome, Outcome::Unknown(_)) && spent >= budget && !last_round;
            (position, outcome, spent, more)
        };
        let results: Vec<(usize, Outcome, u64, bool)> = if parallel {
            pending.par_iter().map(run).collect()
        } else {
            pending.iter().map(run).collect()
        };
        let mut failed = false;
        for (position, outcome, spent, more) in results {
            steps += spent;
            failed |= matches!(outcome, Outcome::NotLinearizable(_));
            if !more {
                outcomes[position] = Some(outcome);
            }
        }
        if failed || last_round || outcomes.iter().all(Option::is_some) {
            break;
        }
        budget = budget.saturating_mul(2).min(cap);
        first_round = false;
    }

    let mut verdict = Verdict::Linearizable;
    for outcome in outcomes.into_iter().flatten() {
        match outcome {
            Outcome::Linearizable => {}
            Outcome::NotLinearizable(counterexample) => {
                // The lowest failing partition of the round that found one.
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
