//! What leader-based protocols (Raft, Multi-Paxos) share about election timing: the
//! settings that make sense together, and the randomised timeout that keeps candidates
//! from standing at once.

use rand::Rng;
use sim_core::{Ctx, Message, SimDuration, TimerId};

use crate::BadSetting;

/// Election timeouts are drawn between `min` and `max`, and a leader heartbeats every
/// `heartbeat`: both above zero, `min <= max`, heartbeats well within `min`.
pub fn check_election_timing(
    min: SimDuration,
    max: SimDuration,
    heartbeat: SimDuration,
) -> Result<(), BadSetting> {
    if min == SimDuration::ZERO {
        return Err(BadSetting::new(
            "election_timeout_min",
            "found 0, expected an election timeout above zero",
        ));
    }
    if min > max {
        return Err(BadSetting::new(
            "election_timeout_min",
            format!(
                "{min} is above election_timeout_max ({max}): timeouts are drawn between the two"
            ),
        ));
    }
    if heartbeat == SimDuration::ZERO || heartbeat >= min {
        return Err(BadSetting::new(
            "heartbeat_interval",
            format!(
                "found {heartbeat}, expected above zero and below election_timeout_min ({min}), or followers time out between heartbeats"
            ),
        ));
    }
    Ok(())
}

/// Sets `timer` to a timeout drawn uniformly between `min` and `max` from the node's
/// random stream.
pub fn set_election_timer<M: Message>(
    ctx: &mut Ctx<'_, M>,
    timer: TimerId,
    min: SimDuration,
    max: SimDuration,
) {
    let lo = min.as_nanos();
    let hi = max.as_nanos().max(lo);
    let d = ctx.rng().random_range(lo..=hi);
    ctx.set_timer(timer, SimDuration::from_nanos(d));
}
