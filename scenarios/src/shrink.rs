//! Shrinking a failing scenario: delta debugging over its faults, then its workload, then
//! its duration, keeping a smaller candidate only if the same check still fails.

use crate::format::Scenario;
use crate::runner::{self, RunOptions, Status};

/// How much shrinking achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// Scheduled faults.
    pub faults: usize,
    /// Client operations (clients × operations each).
    pub ops: u64,
    /// Virtual duration, ns.
    pub duration_ns: u64,
}

/// The size of a scenario, for reporting.
pub fn sizes(s: &Scenario) -> Sizes {
    Sizes {
        faults: s.faults.len(),
        ops: s.workload.kind().map_or(0, |w| w.size()),
        duration_ns: s.duration.0.0,
    }
}

/// Whether `s` (with its own seed) still fails the check named `violation`.
pub fn still_fails(s: &Scenario, violation: &str) -> bool {
    match runner::run(s, RunOptions::default()) {
        Ok(run) => run.summary.checks.iter().any(|c| {
            c.status == Status::Fail
                && (c.violation.as_deref() == Some(violation) || c.check == violation)
        }),
        Err(_) => false,
    }
}

/// Shrinks `s` (explicit faults, no nemesis) while it still fails `violation`, within
/// `budget` runs. Returns the smallest failing scenario found and the runs spent.
pub fn shrink(s: &Scenario, violation: &str, budget: usize) -> (Scenario, usize) {
    let mut best = s.clone();
    let mut runs = 0usize;
    let attempt = |candidate: &Scenario, runs: &mut usize| -> bool {
        if *runs >= budget {
            return false;
        }
        *runs += 1;
        still_fails(candidate, violation)
    };

    // Faults: remove chunks, from halves down to single faults (ddmin).
    let mut chunk = best.faults.len().div_ceil(2).max(1);
    while chunk >= 1 && !best.faults.is_empty() {
        let mut i = 0;
        let mut removed_any = false;
        while i < best.faults.len() {
            let mut c = best.clone();
            let end = (i + chunk).min(c.faults.len());
            c.faults.drain(i..end);
            if attempt(&c, &mut runs) {
                best = c;
                removed_any = true;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 && !removed_any {
            break;
        }
        chunk = if chunk == 1 { 1 } else { chunk / 2 };
        if runs >= budget {
            break;
        }
    }

    // Workload: fewer operations, clients and keys, one step at a time.
    while runs < budget {
        let mut progressed = false;
        for w in best.workload.kind().map_or_else(Vec::new, |w| w.smaller()) {
            let mut c = best.clone();
            c.workload = w;
            if attempt(&c, &mut runs) {
                best = c;
                progressed = true;
                break;
            }
        }
        if !progressed {
            break;
        }
    }

    // Duration: cut towards the last fault.
    let last_fault = best.faults.iter().map(|t| t.time().0).max().unwrap_or(0);
    loop {
        let d = best.duration.0.0;
        let shorter = (d / 2).max(last_fault + 1);
        if shorter >= d {
            break;
        }
        let mut c = best.clone();
        c.duration = crate::checked::Positive(sim_core::SimDuration(shorter));
        if !attempt(&c, &mut runs) {
            break;
        }
        best = c;
    }
    (best, runs)
}
