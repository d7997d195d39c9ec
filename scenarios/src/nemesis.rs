//! The nemesis: random faults drawn from the run seed, turned into an explicit schedule
//! before the run starts (so a failing run's faults can be written out and shrunk).
//!
//! Every fault the nemesis starts it also ends (restart, resume, heal, restore) after a
//! drawn duration, never lets more than `max_down` nodes be down at once, runs one network
//! fault at a time, draws only kinds the system model allows at that time, and heals
//! everything when the quiet period before the end of the run begins.

use rand::Rng;
use sim_core::rng::{Delay, RunSeed, SimRng, Stream};
use sim_core::{LeaderAction, SimDuration};

use crate::checked::{DelaySpec, NodeRef, Positive, Prob, Signed};
use crate::format::{
    FaultSpec, LinkScopeSpec, Model, NemesisKind, NemesisSpec, NodeModel, Scenario, TargetSpec,
    Timed,
};
use crate::groups::GroupSpec;
use crate::model::kind_allowed;

/// Draws the schedule of `scenario`'s nemesis `spec` for one seed.
pub fn schedule(scenario: &Scenario, spec: &NemesisSpec, seed: u64) -> Vec<Timed> {
    let model: &Model = &scenario.model;
    let nodes = scenario.nodes;
    let duration = scenario.duration.0;
    let base_latency = &scenario.network.latency.0;
    let base_loss = scenario.network.loss.0;
    let base_duplicate = scenario.network.duplicate.0;
    let mut rng = RunSeed(seed).stream(Stream::Named("nemesis"));
    let quiet = spec.quiet.unwrap_or(SimDuration(duration.0 / 4));
    let stop = SimDuration(duration.0.saturating_sub(quiet.0));
    let max_down = spec.max_down.unwrap_or(nodes.saturating_sub(1) / 2) as usize;
    let recovers = model.nodes != NodeModel::CrashStop;
    let gap = Delay::Exponential {
        mean: spec.interval.0,
    };
    let mut out = Vec::new();
    // Nodes crashed or paused, with when they come back (MAX: never).
    let mut down: Vec<(u32, SimDuration)> = Vec::new();
    let mut net_free_at = SimDuration::ZERO;
    // Nodes the nemesis took out of the membership, to add back.
    let mut removed: Vec<u32> = Vec::new();
    let mut t = spec.start;
    loop {
        t += gap.sample(&mut rng);
        if t >= stop {
            break;
        }
        let kinds: Vec<NemesisKind> = spec
            .kinds
            .iter()
            .copied()
            .filter(|k| kind_allowed(model, *k, t))
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let kind = kinds[rng.random_range(0..kinds.len())];
        let end = (t + spec.fault_duration.0.sample(&mut rng)).min(stop);
        down.retain(|(_, until)| *until > t);
        let at = |when: SimDuration, f: FaultSpec| Timed::At(when, f);
        match kind {
            NemesisKind::Crash | NemesisKind::Pause => {
                if down.len() >= max_down {
                    continue;
                }
                let up: Vec<u32> = (0..nodes)
                    .filter(|n| down.iter().all(|d| d.0 != *n))
                    .collect();
                if up.is_empty() {
                    continue;
                }
                let node = up[rng.random_range(0..up.len())];
                let target = TargetSpec::Node(NodeRef(node));
                if kind == NemesisKind::Crash {
                    out.push(at(t, FaultSpec::Crash(target.clone())));
                    if recovers {
                        out.push(at(end, FaultSpec::Restart(target)));
                        down.push((node, end));
                    } else {
                        down.push((node, SimDuration::MAX));
                    }
                } else {
                    out.push(at(t, FaultSpec::Pause(target.clone())));
                    out.push(at(end, FaultSpec::Resume(target)));
                    down.push((node, end));
                }
            }
            NemesisKind::LeaderCrash | NemesisKind::LeaderPause => {
                if down.len() >= max_down {
                    continue;
                }
                // Which node leads is known only when the fault happens, so it comes
                // back with every other node that is down by then (a little early for
                // those, which is harmless).
                if kind == NemesisKind::LeaderCrash {
                    out.push(at(t, FaultSpec::Crash(TargetSpec::Leader)));
                    if recovers {
                        out.push(at(end, FaultSpec::Restart(TargetSpec::All)));
                        down.push((SOMEONE, end));
                    } else {
                        down.push((SOMEONE, SimDuration::MAX));
                    }
                } else {
                    out.push(at(t, FaultSpec::Pause(TargetSpec::Leader)));
                    out.push(at(end, FaultSpec::Resume(TargetSpec::All)));
                    down.push((SOMEONE, end));
                }
            }
            NemesisKind::Membership => {
                let members = nodes as usize - removed.len();
                let add_back = !removed.is_empty() && (members <= 3 || rng.random_bool(0.5));
                if add_back {
                    let node = removed.swap_remove(rng.random_range(0..removed.len()));
                    out.push(at(t, FaultSpec::AddNode(NodeRef(node))));
                } else if members > 3 {
                    let node = loop {
                        let n = rng.random_range(0..nodes);
                        if !removed.contains(&n) {
                            break n;
                        }
                    };
                    removed.push(node);
                    out.push(at(t, FaultSpec::RemoveNode(NodeRef(node))));
                }
            }
            NemesisKind::MembershipChurn => {
                let node = NodeRef(rng.random_range(0..nodes));
                if removed.contains(&node.0) || nodes <= 3 {
                    continue;
                }
                let back = (t + SimDuration::from_millis(rng.random_range(1..100))).min(stop);
                out.push(at(t, FaultSpec::RemoveNode(node)));
                out.push(at(back, FaultSpec::AddNode(node)));
            }
            NemesisKind::Bounce => {
                t = bounce(&mut rng, &mut out, &mut down, max_down, nodes, t, stop);
            }
            NemesisKind::NewLeaderCrash => {
                if down.len() >= max_down {
                    continue;
                }
                // Crash the leader to cause an election; once it is back, watch the
                // elections that follow, with up to two of the watch's victims down at
                // once (a crashed leader that stays down while the next one is elected
                // and fails is Figure 8's S5). Slow links (where the model and the
                // other network faults allow) stretch the windows in which a new
                // leader's entries have reached only some followers, against the
                // election timeouts.
                let slow_links =
                    t >= net_free_at && nodes >= 2 && kind_allowed(model, NemesisKind::Latency, t);
                let latency = if slow_links {
                    slower(base_latency, &mut rng, 2.0, 8.0)
                } else {
                    base_latency.clone()
                };
                let up = (t + SimDuration::from_millis(rng.random_range(1..100))).min(stop);
                let times = rng.random_range(1..=3);
                let at_once = (max_down - down.len()).min(2) as u32;
                let (window, room) = (end.saturating_sub(up), stop.saturating_sub(up));
                let Some(f) = new_leader_crash(&mut rng, &latency, times, at_once, window, room)
                else {
                    continue;
                };
                let back = up + f.latest_effect().unwrap_or(SimDuration::ZERO);
                if slow_links {
                    let links = |latency: &Delay| FaultSpec::Links {
                        scope: LinkScopeSpec::All,
                        latency: Some(DelaySpec(latency.clone())),
                        loss: None,
                        duplicate: None,
                    };
                    out.push(at(t, links(&latency)));
                    out.push(at(back, links(base_latency)));
                    net_free_at = back;
                }
                out.push(at(t, FaultSpec::Crash(TargetSpec::Leader)));
                out.push(at(up, FaultSpec::Restart(TargetSpec::All)));
                out.push(at(up, f));
                down.extend(std::iter::repeat_n((SOMEONE, back), at_once as usize));
            }
            _ if t < net_free_at || nodes < 2 => continue,
            NemesisKind::LeaderChurn => {
                churn(&mut rng, &mut out, &down, max_down, base_latency, t, end);
                net_free_at = end;
                // Nothing else happens during the churn, so its count of nodes down holds.
                t = end;
            }
            NemesisKind::LeaderIsolate => {
                out.push(at(t, FaultSpec::Isolate(TargetSpec::Leader)));
                out.push(at(end, FaultSpec::Heal));
                net_free_at = end;
            }
            NemesisKind::Partition | NemesisKind::OneWay => {
                let (a, b) = split(&mut rng, nodes);
                let (a, b) = (GroupSpec::Nodes(a), GroupSpec::Nodes(b));
                let f = if kind == NemesisKind::Partition {
                    FaultSpec::Partition(vec![a, b])
                } else {
                    FaultSpec::Cut { from: a, to: b }
                };
                out.push(at(t, f));
                out.push(at(end, FaultSpec::Heal));
                net_free_at = end;
            }
            NemesisKind::Isolate => {
                let node = NodeRef(rng.random_range(0..nodes));
                out.push(at(t, FaultSpec::Isolate(TargetSpec::Node(node))));
                out.push(at(end, FaultSpec::Heal));
                net_free_at = end;
            }
            NemesisKind::Loss | NemesisKind::Duplicate | NemesisKind::Latency => {
                // Loss from 5 to 40 %; duplication up to 20 % (beyond that a real network
                // is broken rather than flaky).
                let p = match kind {
                    NemesisKind::Duplicate => Prob(rng.random_range(0.01..0.2)),
                    _ => Prob(rng.random_range(0.05..0.4)),
                };
                let links = |latency, loss, duplicate| FaultSpec::Links {
                    scope: LinkScopeSpec::All,
                    latency,
                    loss,
                    duplicate,
                };
                let (start, restore) = match kind {
                    NemesisKind::Loss => (
                        links(None, Some(p), None),
                        links(None, Some(Prob(base_loss)), None),
                    ),
                    NemesisKind::Duplicate => (
                        links(None, None, Some(p)),
                        links(None, None, Some(Prob(base_duplicate))),
                    ),
                    _ => (
                        links(Some(DelaySpec(slow(base_latency, &mut rng))), None, None),
                        links(Some(DelaySpec(base_latency.clone())), None, None),
                    ),
                };
                out.push(at(t, start));
                out.push(at(end, restore));
                net_free_at = end;
            }
            NemesisKind::ClockSkew => {
                let node = TargetSpec::Node(NodeRef(rng.random_range(0..nodes)));
                let ms = rng.random_range(1..1000i64) * if rng.random_bool(0.5) { 1 } else { -1 };
                out.push(at(
                    t,
                    FaultSpec::ClockSkew {
                        target: node.clone(),
                        offset: Signed(ms * 1_000_000),
                    },
                ));
                out.push(at(
                    end,
                    FaultSpec::ClockSkew {
                        target: node,
                        offset: Signed(0),
                    },
                ));
            }
            NemesisKind::ClockDrift => {
                let node = TargetSpec::Node(NodeRef(rng.random_range(0..nodes)));
                let ppm =
                    rng.random_range(100..200_000i64) * if rng.random_bool(0.5) { 1 } else { -1 };
                out.push(at(
                    t,
                    FaultSpec::ClockDrift {
                        target: node.clone(),
                        ppm,
                    },
                ));
                out.push(at(
                    end,
                    FaultSpec::ClockDrift {
                        target: node,
                        ppm: 0,
                    },
                ));
            }
        }
    }
    // The quiet period: everything back to normal.
    if !out.is_empty() {
        for node in removed {
            out.push(Timed::At(stop, FaultSpec::AddNode(NodeRef(node))));
        }
        out.push(Timed::At(stop, FaultSpec::Heal));
        if recovers {
            out.push(Timed::At(stop, FaultSpec::Restart(TargetSpec::All)));
        }
        out.push(Timed::At(stop, FaultSpec::Resume(TargetSpec::All)));
    }
    // Faults are applied in time order, ties in the order drawn.
    out.sort_by_key(Timed::time);
    out
}

/// Stands in the list of down nodes for one whose id is known only at run time (the
/// leader of the moment): it counts against `max_down` but excludes no node from choice.
const SOMEONE: u32 = u32::MAX;

/// A burst of quick crash-restarts from `t`: the leader first, then random nodes, each
/// down for 1–60 ms, 20–200 ms apart. A node that restarts within an election votes in
/// it again, with whatever it kept of its vote. Returns the time of the last crash, from
/// which the nemesis goes on drawing.
fn bounce(
    rng: &mut SimRng,
    out: &mut Vec<Timed>,
    down: &mut Vec<(u32, SimDuration)>,
    max_down: usize,
    nodes: u32,
    t: SimDuration,
    stop: SimDuration,
) -> SimDuration {
    let crashes = rng.random_range(2..=4);
    let mut when = t;
    let mut last = t;
    for i in 0..crashes {
        if when >= stop {
            break;
        }
        down.retain(|(_, until)| *until > when);
        let back = (when + SimDuration::from_millis(rng.random_range(1..60))).min(stop);
        if down.len() < max_down {
            let up: Vec<u32> = (0..nodes)
                .filter(|n| down.iter().all(|d| d.0 != *n))
                .collect();
            let (crash, restart, id) = if i == 0 {
                (TargetSpec::Leader, TargetSpec::All, SOMEONE)
            } else if up.is_empty() {
                break;
            } else {
                let n = up[rng.random_range(0..up.len())];
                let target = TargetSpec::Node(NodeRef(n));
                (target.clone(), target, n)
            };
            out.push(Timed::At(when, FaultSpec::Crash(crash)));
            out.push(Timed::At(back, FaultSpec::Restart(restart)));
            down.push((id, back));
            last = when;
        }
        when += SimDuration::from_millis(rng.random_range(20..200));
    }
    last
}

/// Leader churn from `t` to `end` on slowed links: every 10–80 ms the leader crashes or
/// is cut off, or a random node crashes for 1–30 ms, or the crashed nodes restart, or the
/// network heals; at `end`, all of them and the links as they were. Slow links let new
/// leaders fail before their entries spread (Figure 8) and candidates overlap, and the
/// quick crashes land inside elections. Crashes stop while the nodes down (those of
/// `down`, and those crashed since the last restart) would reach `max_down`.
#[allow(clippy::too_many_arguments)]
fn churn(
    rng: &mut SimRng,
    out: &mut Vec<Timed>,
    down: &[(u32, SimDuration)],
    max_down: usize,
    base_latency: &Delay,
    t: SimDuration,
    end: SimDuration,
) {
    let links = |latency: Delay| FaultSpec::Links {
        scope: LinkScopeSpec::All,
        latency: Some(DelaySpec(latency)),
        loss: None,
        duplicate: None,
    };
    out.push(Timed::At(t, links(slower(base_latency, rng, 2.0, 8.0))));
    let mut when = t;
    let mut crashed = 0;
    while when < end {
        let others = down.iter().filter(|(_, until)| *until > when).count();
        let can_crash = others + crashed < max_down;
        let fault = match rng.random_range(0..20) {
            0..6 if can_crash => {
                crashed += 1;
                FaultSpec::Crash(TargetSpec::Leader)
            }
            6..9 if can_crash => {
                crashed += 1;
                let back = when + SimDuration::from_millis(rng.random_range(1..30));
                out.push(Timed::At(
                    back.min(end),
                    FaultSpec::Restart(TargetSpec::All),
                ));
                FaultSpec::Crash(TargetSpec::Random)
            }
            0..14 => {
                crashed = 0;
                FaultSpec::Restart(TargetSpec::All)
            }
            14..17 => FaultSpec::Isolate(TargetSpec::Leader),
            _ => FaultSpec::Heal,
        };
        out.push(Timed::At(when, fault));
        when += SimDuration::from_millis(rng.random_range(10..80));
    }
    out.push(Timed::At(end, FaultSpec::Heal));
    out.push(Timed::At(end, FaultSpec::Restart(TargetSpec::All)));
    out.push(Timed::At(end, links(base_latency.clone())));
}

/// Crash each of the next `times` leaders elected within `window`, at most six mean
/// message delays after its election — while its first entries, and the older ones a
/// lagging follower asks for, are still on their way — and restart it 1–300 ms later
/// (`at_once` of them down at most); every restart comes within `room`.
fn new_leader_crash(
    rng: &mut SimRng,
    base: &Delay,
    times: u32,
    at_once: u32,
    window: SimDuration,
    room: SimDuration,
) -> Option<FaultSpec> {
    let mean = base.mean().unwrap_or(5e6).max(1e5);
    let after = SimDuration((6.0 * mean) as u64);
    let down = SimDuration::from_millis(rng.random_range(1..300));
    let within = window.min(SimDuration(room.0.checked_sub(after.0 + down.0)?));
    (within > SimDuration::ZERO).then_some(FaultSpec::NextLeaders {
        times,
        after: DelaySpec(Delay::Uniform(SimDuration::ZERO, after)),
        down: Positive(down),
        action: LeaderAction::Crash,
        within: Some(Positive(within)),
        at_once,
    })
}

/// A random split of the nodes into a minority side and the rest.
fn split(rng: &mut SimRng, nodes: u32) -> (Vec<NodeRef>, Vec<NodeRef>) {
    let mut all: Vec<u32> = (0..nodes).collect();
    for i in (1..all.len()).rev() {
        let j = rng.random_range(0..=i);
        all.swap(i, j);
    }
    let k = rng.random_range(1..=(nodes / 2).max(1)) as usize;
    let mut a: Vec<NodeRef> = all[..k].iter().map(|&n| NodeRef(n)).collect();
    let mut b: Vec<NodeRef> = all[k..].iter().map(|&n| NodeRef(n)).collect();
    a.sort();
    b.sort();
    (a, b)
}

/// A latency 5 to 20 times slower than the base (by its mean).
fn slow(base: &Delay, rng: &mut SimRng) -> Delay {
    slower(base, rng, 5.0, 20.0)
}

/// A latency `lo` to `hi` times slower than the base (by its mean).
fn slower(base: &Delay, rng: &mut SimRng, lo: f64, hi: f64) -> Delay {
    let mean = base.mean().unwrap_or(5e6).max(1e5);
    let factor = rng.random_range(lo..hi);
    let lo = SimDuration((mean * factor * 0.5) as u64);
    let hi = SimDuration((mean * factor * 1.5) as u64);
    Delay::Uniform(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{NetModel, Timing};

    fn scenario(model: Model) -> (Scenario, NemesisSpec) {
        let text = r#"(name: "t", duration: "8s", nodes: 5, protocol: Raft(()),
            nemesis: (kinds: [Crash, Pause, Partition, Isolate, OneWay, Loss, Duplicate,
                Latency, ClockSkew, ClockDrift, LeaderCrash, LeaderPause, LeaderIsolate,
                Bounce, LeaderChurn, NewLeaderCrash, Membership, MembershipChurn],
                interval: "200ms"))"#;
        let mut s = crate::load::parse(text, "t.ron").expect("valid");
        s.model = model;
        let spec = s.nemesis.clone().expect("a nemesis");
        (s, spec)
    }

    /// Counts nodes down at worst: a crash or pause of a node the schedule cannot name
    /// (the leader, a random one) is one more, until a restart or resume of all.
    fn most_down(faults: &[Timed]) -> usize {
        let (mut crashed, mut paused) = (Vec::new(), Vec::new());
        // Crashes of leaders not yet elected: as many as a watch may have down at once,
        // until its latest restart.
        let mut elected: Vec<SimDuration> = Vec::new();
        let mut most = 0;
        let mut anon = u32::MAX;
        let mut id = |t: &TargetSpec| match t {
            TargetSpec::Node(NodeRef(n)) => Some(*n),
            TargetSpec::All => None,
            _ => {
                anon -= 1;
                Some(anon)
            }
        };
        for Timed::At(when, f) in faults {
            elected.retain(|until| until > when);
            match f {
                FaultSpec::NextLeaders { at_once, .. } => {
                    let until = *when + f.latest_effect().expect("a watch");
                    elected.extend(std::iter::repeat_n(until, *at_once as usize));
                }
                FaultSpec::Crash(t) => {
                    // Crashing a crashed node does nothing.
                    let n = id(t);
                    if !crashed.iter().any(|c| Some(*c) == n) {
                        crashed.extend(n);
                    }
                }
                FaultSpec::Pause(t) => paused.extend(id(t)),
                FaultSpec::Restart(TargetSpec::All) => crashed.clear(),
                FaultSpec::Resume(TargetSpec::All) => paused.clear(),
                FaultSpec::Restart(t) => {
                    let n = id(t);
                    crashed.retain(|c| Some(*c) != n);
                }
                FaultSpec::Resume(t) => {
                    let n = id(t);
                    paused.retain(|c| Some(*c) != n);
                }
                _ => {}
            }
            most = most.max(crashed.len() + paused.len() + elected.len());
        }
        most
    }

    #[test]
    fn never_more_than_max_down_nodes_down_even_when_aiming_at_the_leader() {
        let (s, spec) = scenario(Model::default());
        for seed in 0..200 {
            let faults = schedule(&s, &spec, seed);
            assert!(most_down(&faults) <= 2, "seed {seed}: {faults:?}");
            assert!(faults.iter().all(|f| f.time() <= SimDuration::from_secs(6)));
            for Timed::At(at, f) in &faults {
                let last = *at + f.latest_effect().unwrap_or(SimDuration::ZERO);
                assert!(last <= SimDuration::from_secs(6), "seed {seed}: {f:?}");
            }
        }
    }

    #[test]
    fn the_checker_of_this_test_sees_too_many_down() {
        let crash = |n| {
            Timed::At(
                SimDuration::ZERO,
                FaultSpec::Crash(TargetSpec::Node(NodeRef(n))),
            )
        };
        let leader = Timed::At(SimDuration::ZERO, FaultSpec::Crash(TargetSpec::Leader));
        assert_eq!(most_down(&[crash(1), crash(1), leader.clone(), leader]), 3);
    }

    #[test]
    fn leader_kinds_stay_inside_the_model() {
        let crash_stop = Model {
            nodes: NodeModel::CrashStop,
            ..Model::default()
        };
        let reliable = Model {
            network: NetModel::Reliable,
            timing: Timing::Asynchronous,
            ..Model::default()
        };
        for seed in 0..100 {
            let (s, spec) = scenario(crash_stop.clone());
            for Timed::At(at, f) in schedule(&s, &spec, seed) {
                crate::model::fault_allowed(&s.model, at, &f).expect("inside CrashStop");
            }
            let (s, spec) = scenario(reliable.clone());
            for Timed::At(at, f) in schedule(&s, &spec, seed) {
                crate::model::fault_allowed(&s.model, at, &f).expect("inside Reliable");
            }
        }
    }
}
