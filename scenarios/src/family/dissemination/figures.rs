//! Checks and figures of the dissemination family, computed after a run from the facts
//! nodes reported (`inject`, `have`, `kv`, `digest`; see `protocols::gossip`) and the
//! client history: coverage of each update over rounds, rounds to 95/99/100 %, residue,
//! messages per node per update, and convergence of the replicas.

use std::collections::{BTreeMap, BTreeSet};

use protocols::gossip::is_rumor_kind;
use protocols::gossip::store::value_digest;
use sim_core::history::{HistoryOp, Operation, Outcome};
use sim_core::{RunResult, SimDuration, SimTime};

use crate::format::Scenario;
use crate::runner::Status;

/// One round of the scenario: the rumor period (else the anti-entropy period, else 1 s).
pub fn round_period(s: &Scenario) -> SimDuration {
    s.protocol
        .round_period()
        .unwrap_or(SimDuration::from_secs(1))
}

/// Which nodes are up (or paused) at the end of the run, from the faults as they happened.
pub fn live_at_end(nodes: u32, r: &RunResult) -> Vec<bool> {
    let mut live = vec![true; nodes as usize];
    for f in &r.faults {
        let up = match f.kind.as_str() {
            "crash" => false,
            "restart" => true,
            _ => continue,
        };
        for n in &f.nodes {
            if let Some(l) = live.get_mut(n.index()) {
                *l = up;
            }
        }
    }
    live
}

/// How far one broadcast update got.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateCoverage {
    /// The update.
    pub id: u64,
    /// When it entered the system (the first `inject`).
    pub injected: SimTime,
    /// Whether a client saw it acknowledged.
    pub acknowledged: bool,
    /// When each node up at the end first held it, sorted.
    pub reached: Vec<SimTime>,
}

impl UpdateCoverage {
    /// Rounds of `period` from injection until `count` live nodes held it (rounded up),
    /// if that many ever did.
    pub fn rounds_to(&self, count: usize, period: SimDuration) -> Option<u64> {
        let count = count.max(1);
        let t = *self.reached.get(count - 1)?;
        let p = period.as_nanos().max(1);
        Some(t.saturating_since(self.injected).as_nanos().div_ceil(p))
    }

    /// How many live nodes held it `rounds` rounds after injection.
    pub fn reached_by(&self, rounds: u64, period: SimDuration) -> usize {
        let limit = self.injected + SimDuration(period.as_nanos().saturating_mul(rounds));
        self.reached.partition_point(|t| *t <= limit)
    }
}

/// Coverage of every update of a run, over the nodes up at the end.
pub fn coverage(nodes: u32, r: &RunResult) -> (Vec<UpdateCoverage>, usize) {
    let live = live_at_end(nodes, r);
    let n_live = live.iter().filter(|l| **l).count();
    let acked: BTreeSet<u64> = r
        .history
        .ops()
        .iter()
        .filter_map(|h| match (&h.op, &h.outcome) {
            (Operation::Broadcast { id }, Outcome::Ok(_)) => Some(*id),
            _ => None,
        })
        .collect();
    let mut injected: BTreeMap<u64, SimTime> = BTreeMap::new();
    let mut first: BTreeMap<(u64, u32), SimTime> = BTreeMap::new();
    for o in &r.observations {
        match o.obs.kind {
            "inject" => {
                injected.entry(o.obs.key).or_insert(o.time);
            }
            "have" => {
                first.entry((o.obs.key, o.node.0)).or_insert(o.time);
            }
            _ => {}
        }
    }
    let mut reached: BTreeMap<u64, Vec<SimTime>> = BTreeMap::new();
    for ((id, node), t) in first {
        if live.get(node as usize).copied().unwrap_or(false) {
            reached.entry(id).or_default().push(t);
        }
    }
    let out = injected
        .into_iter()
        .map(|(id, at)| {
            let mut times = reached.remove(&id).unwrap_or_default();
            times.sort_unstable();
            UpdateCoverage {
                id,
                injected: at,
                acknowledged: acked.contains(&id),
                reached: times,
            }
        })
        .collect();
    (out, n_live)
}

/// Figures of one run's dissemination.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageStats {
    /// Updates injected.
    pub updates: usize,
    /// Nodes up at the end.
    pub live: usize,
    /// Per update: rounds until 95 %, 99 % and 100 % of live nodes held it.
    pub rounds: Vec<[Option<u64>; 3]>,
    /// Per update: fraction of live nodes it never reached.
    pub residue: Vec<f64>,
    /// Mean fraction of live nodes holding an update, after 0, 1, 2 … rounds.
    pub curve: Vec<f64>,
    /// Rumor messages sent per node per update.
    pub rumor_messages_per_node_update: f64,
    /// All messages sent per node per update.
    pub messages_per_node_update: f64,
}

/// Computes the figures of a run of `s`.
pub fn coverage_stats(s: &Scenario, r: &RunResult) -> (CoverageStats, Vec<UpdateCoverage>) {
    let period = round_period(s);
    let (cov, live) = coverage(s.nodes, r);
    let need = |f: f64| ((f * live as f64) - 1e-9).ceil().max(1.0) as usize;
    let rounds = cov
        .iter()
        .map(|u| {
            [0.95, 0.99, 1.0].map(|f| (live > 0).then(|| u.rounds_to(need(f), period)).flatten())
        })
        .collect();
    let residue = cov
        .iter()
        .map(|u| 1.0 - u.reached.len() as f64 / live.max(1) as f64)
        .collect();
    let horizon = cov
        .iter()
        .filter_map(|u| u.rounds_to(u.reached.len(), period))
        .max()
        .unwrap_or(0)
        .min(60);
    let curve = (0..=horizon)
        .map(|k| {
            let sum: f64 = cov
                .iter()
                .map(|u| u.reached_by(k, period) as f64 / live.max(1) as f64)
                .sum();
            sum / cov.len().max(1) as f64
        })
        .collect();
    let per = (s.nodes as f64 * cov.len().max(1) as f64).max(1.0);
    let rumor: u64 = r
        .metrics
        .messages
        .iter()
        .filter(|(k, _)| is_rumor_kind(k))
        .map(|(_, c)| c.sent)
        .sum();
    let all: u64 = r.metrics.messages.values().map(|c| c.sent).sum();
    let stats = CoverageStats {
        updates: cov.len(),
        live,
        rounds,
        residue,
        curve,
        rumor_messages_per_node_update: rumor as f64 / per,
        messages_per_node_update: all as f64 / per,
    };
    (stats, cov)
}

/// Coverage by round for the report: the mean over updates of the share of live nodes
/// holding an update after each round since it was injected, with the slowest and the
/// fastest update beside it. `None` without updates.
pub fn coverage_figure(s: &Scenario, r: &RunResult) -> Option<reports::extra::ExtraFigure> {
    use reports::extra::{ExtraFigure, ExtraPlot, Line};
    let (stats, cov) = coverage_stats(s, r);
    if stats.updates == 0 || stats.live == 0 {
        return None;
    }
    let period = round_period(s);
    let share =
        |u: &UpdateCoverage, k: u64| 100.0 * u.reached_by(k, period) as f64 / stats.live as f64;
    let rounds = stats.curve.len() as u64;
    let extreme = |pick: fn(f64, f64) -> f64, start: f64| -> Vec<(f64, f64)> {
        (0..rounds)
            .map(|k| (k as f64, cov.iter().map(|u| share(u, k)).fold(start, pick)))
            .collect()
    };
    let series = vec![
        Line {
            label: "mean over updates".into(),
            points: stats
                .curve
                .iter()
                .enumerate()
                .map(|(k, c)| (k as f64, 100.0 * c))
                .collect(),
        },
        Line {
            label: "slowest update".into(),
            points: extreme(f64::min, f64::INFINITY),
        },
        Line {
            label: "fastest update".into(),
            points: extreme(f64::max, 0.0),
        },
    ];
    let at = |f: usize| {
        mean(stats.rounds.iter().filter_map(|r| r[f]).map(|v| v as f64))
            .map_or("never".to_string(), |m| format!("{m:.1}"))
    };
    Some(ExtraFigure {
        name: "coverage".into(),
        title: "Coverage by round".into(),
        caption: format!(
            "The share of the {} nodes up at the end that held an update, by rounds of {} since it was injected, over {} updates (mean rounds to 95 %: {}, to 100 %: {}).",
            stats.live,
            period,
            stats.updates,
            at(0),
            at(2)
        ),
        plot: ExtraPlot::Lines {
            x_desc: format!("rounds since injection (of {period})"),
            y_desc: "nodes holding the update (%)".into(),
            series,
        },
    })
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The coverage check: every acknowledged update reached at least `fraction` of the
/// nodes up at the end. Returns the status and a detail with the run's figures.
pub fn coverage_check(s: &Scenario, r: &RunResult, fraction: f64) -> (Status, String) {
    let (stats, cov) = coverage_stats(s, r);
    if stats.updates == 0 {
        return (
            Status::Vacuous,
            "no update was broadcast: nothing to judge".into(),
        );
    }
    let acked = r
        .history
        .ops()
        .iter()
        .filter(|h| {
            matches!(h.op, Operation::Broadcast { .. }) && matches!(h.outcome, Outcome::Ok(_))
        })
        .count();
    let mut figures = format!(
        "{} updates ({acked} acknowledged) over {} live nodes",
        stats.updates, stats.live
    );
    for (i, name) in ["95%", "99%", "100%"].iter().enumerate() {
        let got: Vec<f64> = stats
            .rounds
            .iter()
            .filter_map(|r| r[i])
            .map(|r| r as f64)
            .collect();
        match mean(got.iter().copied()) {
            Some(m) => figures.push_str(&format!(
                "; rounds to {name} {m:.1} ({}/{} updates)",
                got.len(),
                stats.updates
            )),
            None => figures.push_str(&format!("; {name} never reached")),
        }
    }
    if let Some(m) = mean(stats.residue.iter().copied()) {
        figures.push_str(&format!("; residue {m:.3}"));
    }
    figures.push_str(&format!(
        "; rumor messages per node per update {:.2} (all messages {:.2})",
        stats.rumor_messages_per_node_update, stats.messages_per_node_update
    ));
    let curve: Vec<String> = stats
        .curve
        .iter()
        .take(25)
        .map(|c| format!("{c:.2}"))
        .collect();
    figures.push_str(&format!("\ncoverage by round: {}", curve.join(" ")));
    let short: Vec<&UpdateCoverage> = cov
        .iter()
        .filter(|u| u.acknowledged)
        .filter(|u| (u.reached.len() as f64) < fraction * stats.live as f64 - 1e-9)
        .collect();
    if acked == 0
        && r.history
            .ops()
            .iter()
            .any(|h| matches!(h.op, Operation::Broadcast { .. }))
    {
        return (
            Status::Unknown,
            format!("no broadcast was acknowledged; {figures}"),
        );
    }
    match short.first() {
        None => (Status::Pass, figures),
        Some(u) => (
            Status::Fail,
            format!(
                "{} acknowledged update(s) reached fewer than {:.1}% of live nodes; update {} reached {} of {}\n{figures}",
                short.len(),
                fraction * 100.0,
                u.id,
                u.reached.len(),
                stats.live
            ),
        ),
    }
}

/// The convergence check: once faults and client operations are over, every live
/// replica holds the same state within `within`, and each key ends with a value no
/// acknowledged write superseded (so nothing acknowledged is lost and no deleted key
/// comes back).
pub fn convergence_check(s: &Scenario, r: &RunResult, within: SimDuration) -> (Status, String) {
    let live = live_at_end(s.nodes, r);
    let last_fault = r.faults.last().map_or(SimTime::ZERO, |f| f.at);
    let last_op = r
        .history
        .ops()
        .iter()
        .map(|h| h.completed.unwrap_or(h.invoked))
        .max()
        .unwrap_or(SimTime::ZERO);
    let quiet = last_fault.max(last_op);
    let deadline = quiet + within;
    // Per node: the current digest and since when it holds it; per (node, key): value.
    let mut digest: BTreeMap<u32, (u64, SimTime)> = BTreeMap::new();
    let mut values: BTreeMap<(u32, u64), u64> = BTreeMap::new();
    for o in &r.observations {
        match o.obs.kind {
            "digest" => {
                let e = digest.entry(o.node.0).or_insert((o.obs.value, o.time));
                if e.0 != o.obs.value {
                    *e = (o.obs.value, o.time);
                }
            }
            "kv" => {
                values.insert((o.node.0, o.obs.key), o.obs.value);
            }
            _ => {}
        }
    }
    let live_ids: Vec<u32> = (0..s.nodes).filter(|n| live[*n as usize]).collect();
    if live_ids.is_empty() {
        return (Status::Unknown, "no replica is up at the end".into());
    }
    if r.end_time < deadline {
        return (
            Status::Unknown,
            format!(
                "the run ended at {} before the bound ({deadline}: last fault or operation at {quiet} + {within})",
                r.end_time
            ),
        );
    }
    let states: BTreeSet<u64> = live_ids
        .iter()
        .filter_map(|n| digest.get(n).map(|d| d.0))
        .collect();
    if states.len() > 1 {
        return (
            Status::Fail,
            format!(
                "{} live replicas hold {} different states at the end ({}), {} after the last fault or operation",
                live_ids.len(),
                states.len(),
                r.end_time,
                r.end_time.saturating_since(quiet)
            ),
        );
    }
    let settled = live_ids
        .iter()
        .filter_map(|n| digest.get(n).map(|d| d.1))
        .max()
        .unwrap_or(SimTime::ZERO);
    if settled > deadline {
        return (
            Status::Fail,
            format!(
                "replicas became identical only {} after the last fault or operation (bound {within})",
                settled.saturating_since(quiet)
            ),
        );
    }
    let reference = live_ids[0];
    let mut keys: BTreeMap<u64, Vec<&HistoryOp>> = BTreeMap::new();
    for h in r.history.ops() {
        if matches!(h.op, Operation::Put { .. } | Operation::Delete { .. }) {
            keys.entry(h.op.key()).or_default().push(h);
        }
    }
    for (key, writes) in &keys {
        let fin = values.get(&(reference, *key)).copied().unwrap_or(0);
        if let Err(e) = final_value_allowed(*key, fin, writes) {
            return (Status::Fail, e);
        }
    }
    (
        Status::Pass,
        format!(
            "{} live replicas identical {} after the last fault or operation (bound {within}); {} keys hold a value no acknowledged write superseded",
            live_ids.len(),
            settled.saturating_since(quiet),
            keys.len()
        ),
    )
}

/// What a write leaves in its key: a value digest, 0 for a delete.
fn written(op: &Operation) -> u64 {
    match op {
        Operation::Put { value, .. } => value_digest(Some(value)),
        _ => 0,
    }
}

/// Whether `fin` (a value digest, 0: absent) may be the final state of `key` after
/// `writes`: it must come from a write (or the initial absence) that no acknowledged
/// write began after the end of. Indeterminate writes may take effect at any time, so
/// nothing supersedes them.
pub fn final_value_allowed(key: u64, fin: u64, writes: &[&HistoryOp]) -> Result<(), String> {
    let acked: Vec<&&HistoryOp> = writes
        .iter()
        .filter(|h| matches!(h.outcome, Outcome::Ok(_)))
        .collect();
    let superseded_by = |done: Option<SimTime>| -> Option<&HistoryOp> {
        let done = done?;
        acked.iter().find(|a| a.invoked > done).map(|a| **a)
    };
    let sources: Vec<&&HistoryOp> = writes
        .iter()
        .filter(|h| !matches!(h.outcome, Outcome::Failed) && written(&h.op) == fin)
        .collect();
    if sources.iter().any(|h| {
        let done = match h.outcome {
            Outcome::Ok(_) => h.completed,
            _ => None,
        };
        superseded_by(done).is_none()
    }) {
        return Ok(());
    }
    if fin == 0 && superseded_by(Some(SimTime::ZERO)).is_none() {
        return Ok(()); // never written by an acknowledged write: absence is fine
    }
    let Some(source) = sources.first() else {
        return Err(if fin == 0 {
            format!("key {key} lost its acknowledged writes: it ends absent and was never deleted")
        } else {
            format!("key {key} ends with a value no client wrote (digest {fin:016x})")
        });
    };
    let by = superseded_by(match source.outcome {
        Outcome::Ok(_) => source.completed,
        _ => None,
    })
    .or_else(|| superseded_by(Some(SimTime::ZERO)));
    let what = match (&source.op, by.map(|b| &b.op)) {
        (Operation::Put { value, .. }, Some(Operation::Delete { .. })) => format!(
            "key {key} was resurrected: it ends with {value:?}, written before an acknowledged delete"
        ),
        (Operation::Put { value, .. }, _) => format!(
            "key {key} lost an acknowledged write: it ends with {value:?}, superseded by a later acknowledged write"
        ),
        _ => format!(
            "key {key} lost an acknowledged write: it ends deleted, but a later write was acknowledged"
        ),
    };
    let by = by.map_or(String::new(), |b| {
        format!(" ({} at {}, op {})", b.op.kind(), b.invoked, b.id)
    });
    Err(format!("{what}{by}"))
}
