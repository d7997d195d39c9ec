//! The system model's rules: which faults a scenario may schedule and the nemesis may draw.

use sim_core::rng::Delay;
use sim_core::{LeaderAction, SimDuration};

use crate::format::{FaultSpec, Model, NemesisKind, NetModel, NodeModel, Timing};

/// Whether `fault` at time `at` stays inside `model`; `Err` says why not.
pub fn fault_allowed(model: &Model, at: SimDuration, fault: &FaultSpec) -> Result<(), String> {
    let network_fault = matches!(
        fault,
        FaultSpec::Partition(_)
            | FaultSpec::Isolate(_)
            | FaultSpec::Cut { .. }
            | FaultSpec::NextLeaders {
                action: LeaderAction::Isolate,
                ..
            }
    );
    let lossy_links = matches!(fault, FaultSpec::Links { loss: Some(p), .. } if p.0 > 0.0);
    if model.network == NetModel::Reliable && (network_fault || lossy_links) {
        return Err(format!(
            "{} drops messages, which a Reliable network never does; use model network FairLoss or Arbitrary",
            fault.kind()
        ));
    }
    let restarts = matches!(
        fault,
        FaultSpec::Restart(_)
            | FaultSpec::NextLeaders {
                action: LeaderAction::Crash,
                ..
            }
    );
    if model.nodes == NodeModel::CrashStop && restarts {
        return Err(format!(
            "{} restarts nodes, impossible under the CrashStop node model (crashed nodes never come back); use CrashRecovery",
            fault.kind()
        ));
    }
    let timing_fault = network_fault
        || matches!(
            fault,
            FaultSpec::Links { .. }
                | FaultSpec::Pause(_)
                | FaultSpec::NextLeaders {
                    action: LeaderAction::Pause,
                    ..
                }
                | FaultSpec::ClockSkew { .. }
                | FaultSpec::ClockDrift { .. }
        );
    match model.timing {
        Timing::Synchronous(_) if timing_fault => Err(format!(
            "{} breaks the delay bound of the Synchronous timing model; use PartiallySynchronous or Asynchronous",
            fault.kind()
        )),
        Timing::PartiallySynchronous(gst) if timing_fault && at >= gst => Err(format!(
            "{} at {at} is after the global stabilisation time ({gst}), when the PartiallySynchronous model allows no network or timing faults",
            fault.kind()
        )),
        _ => Ok(()),
    }
}

/// Whether the nemesis may draw `kind` at time `at` under `model`.
pub fn kind_allowed(model: &Model, kind: NemesisKind, at: SimDuration) -> bool {
    use NemesisKind as K;
    let network = matches!(
        kind,
        K::Partition | K::Isolate | K::OneWay | K::Loss | K::LeaderIsolate | K::LeaderChurn
    );
    let timing = network
        || matches!(
            kind,
            K::Pause | K::Latency | K::Duplicate | K::ClockSkew | K::ClockDrift | K::LeaderPause
        );
    if model.network == NetModel::Reliable && network {
        return false;
    }
    // A burst of restarts needs nodes that come back.
    if matches!(kind, K::Bounce | K::LeaderChurn | K::NewLeaderCrash)
        && model.nodes == NodeModel::CrashStop
    {
        return false;
    }
    match model.timing {
        Timing::Synchronous(_) => !timing,
        Timing::PartiallySynchronous(gst) => !timing || at < gst,
        Timing::Asynchronous => true,
    }
}

/// Whether a latency distribution respects the Synchronous bound.
pub fn latency_within(model: &Model, latency: &Delay) -> Result<(), String> {
    let Timing::Synchronous(bound) = model.timing else {
        return Ok(());
    };
    let max = match *latency {
        Delay::Constant(d) => Some(d),
        Delay::Uniform(_, hi) => Some(hi),
        _ => None,
    };
    match max {
        Some(m) if m <= bound => Ok(()),
        Some(m) => Err(format!(
            "latency can reach {m}, above the Synchronous bound of {bound}"
        )),
        None => Err(format!(
            "{latency:?} has no upper bound, so it cannot respect the Synchronous bound of {bound}; use Constant or Uniform"
        )),
    }
}
