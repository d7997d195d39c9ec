//! From a finished run to the data `reports` draws: the summary's strings, the engine's
//! result, a window of the trace for the space-time diagram, and the linearizability
//! counterexample when there is one.

use reports::extra::{ExtraFigure, ExtraPlot, Span};
use std::sync::{Arc, Mutex, PoisonError};

use reports::{CheckRow, CounterexampleData, RunData};
use sim_core::trace::{TraceEvent, TraceKind, TraceSink};
use sim_core::{SimDuration, SimTime};

use crate::format::Scenario;
use crate::runner::{self, Run, RunError, RunOptions, Status, Verdict};

/// Messages (deliveries and drops) the space-time window keeps: a few hundred stay
/// readable in one diagram.
pub const WINDOW_MESSAGES: usize = 300;

/// How long before the first fault the window opens, so the diagram shows the cluster
/// working normally and then the fault.
const LEAD_IN: SimDuration = SimDuration::from_millis(15);

/// What the window sink says when it is full; it stops the engine's tracing, which would
/// otherwise format every later event for nothing.
const WINDOW_FULL: &str = "report trace window full";

/// Keeps the trace records from a start time on, until it has seen `max` messages.
pub struct WindowSink {
    from: SimTime,
    max: usize,
    messages: usize,
    /// Whether to stop the engine's tracing once full (only when no other sink needs it).
    stop_when_full: bool,
    // Shared with the caller, who takes the records when the run is over (a sink must be
    // `Send`, hence not an `Rc`).
    events: Arc<Mutex<Vec<TraceEvent>>>,
}

impl TraceSink for WindowSink {
    fn record(&mut self, event: &TraceEvent) -> std::io::Result<()> {
        if self.messages >= self.max {
            return if self.stop_when_full {
                Err(std::io::Error::other(WINDOW_FULL))
            } else {
                Ok(())
            };
        }
        if event.time < self.from {
            return Ok(());
        }
        if matches!(event.kind, TraceKind::Deliver | TraceKind::Drop) {
            self.messages += 1;
        }
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
        Ok(())
    }
}

/// Hands every record to several sinks.
struct Tee(Vec<Box<dyn TraceSink>>);

impl TraceSink for Tee {
    fn record(&mut self, event: &TraceEvent) -> std::io::Result<()> {
        for s in &mut self.0 {
            s.record(event)?;
        }
        Ok(())
    }
}

/// Where the space-time window of a run with `seed` starts: shortly before the first
/// fault, or at the beginning when there is none.
pub fn window_start(scenario: &Scenario, seed: u64) -> SimTime {
    match runner::faults_for(scenario, seed).first() {
        Some(t) => SimTime(t.time().as_nanos().saturating_sub(LEAD_IN.as_nanos())),
        None => SimTime::ZERO,
    }
}

/// Runs `scenario` keeping a trace window for the report (besides any trace the options
/// already stream); returns the run and the window.
pub fn run_with_window(
    scenario: &Scenario,
    mut options: RunOptions,
) -> Result<(Run, Vec<TraceEvent>), RunError> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let events = Arc::new(Mutex::new(Vec::new()));
    let user = options.trace.take();
    let window = WindowSink {
        from: window_start(scenario, seed),
        max: WINDOW_MESSAGES,
        messages: 0,
        stop_when_full: user.is_none(),
        events: events.clone(),
    };
    options.trace = Some(match user {
        Some(u) => Box::new(Tee(vec![u, Box::new(window)])),
        None => Box::new(window),
    });
    let mut run = runner::run(scenario, options)?;
    if run.result.trace_error.as_deref() == Some(WINDOW_FULL) {
        run.result.trace_error = None;
    }
    let window = std::mem::take(&mut *events.lock().unwrap_or_else(PoisonError::into_inner));
    Ok((run, window))
}

/// The report data of a finished run.
pub fn run_data(
    scenario: &Scenario,
    run: &Run,
    trace: Vec<TraceEvent>,
    trace_file: Option<String>,
) -> RunData {
    let s = &run.summary;
    let r = &run.result;
    let linearizability_failed = s
        .checks
        .iter()
        .any(|c| c.check == "linearizability" && c.status == Status::Fail);
    let counterexample = linearizability_failed
        .then(|| {
            // The summary keeps only the text; the figure needs the operations, so check
            // again with the runner's (deterministic) budget.
            let options = crate::family::key_value::check_options(scenario);
            match sim_core::check::check_history(&r.history, &options).verdict {
                sim_core::check::Verdict::NotLinearizable { counterexample } => {
                    Some(CounterexampleData::from_checker(&counterexample))
                }
                _ => None,
            }
        })
        .flatten();
    RunData {
        node_names: scenario.names.clone(),
        scenario: s.scenario.clone(),
        protocol: s.protocol.clone(),
        nodes: scenario.nodes,
        seed: s.seed,
        bugs: s.bugs.clone(),
        fingerprint: s.fingerprint.clone(),
        end_reason: s.end_reason.clone(),
        end: s.end.clone(),
        end_time: s.end_time,
        events: s.events,
        verdict: match &s.verdict {
            Verdict::Pass => "pass".into(),
            Verdict::Undecided(_) => "undecided".into(),
            Verdict::Violation(v) => v.clone(),
        },
        as_expected: s.as_expected,
        checks: s
            .checks
            .iter()
            .map(|c| CheckRow {
                name: c.check.clone(),
                status: match c.status {
                    Status::Pass => "pass",
                    Status::Fail => "fail",
                    Status::Unknown => "unknown",
                    Status::Vacuous => "vacuous",
                }
                .into(),
                detail: c.detail.clone(),
            })
            .collect(),
        history: r.history.clone(),
        metrics: r.metrics.clone(),
        faults: r.faults.clone(),
        trace,
        trace_file,
        counterexample,
        facts: s
            .facts
            .0
            .iter()
            .map(|f| (f.name.to_string(), f.line.clone()))
            .collect(),
        extra_figures: leader_timeline(scenario, r)
            .into_iter()
            .chain(crate::family::rules(scenario.protocol.family()).figures(scenario, r))
            .collect(),
    }
}

/// Lane names of a run's nodes: their names, or `node N`; then the twins' second
/// slots (nodes `nodes`, `nodes + 1` …), `twin of node I`.
pub fn node_lanes(s: &Scenario) -> Vec<String> {
    let name = |i: usize| {
        s.names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("node {i}"))
    };
    let twins = s.twins.iter().flat_map(|t| &t.nodes);
    (0..s.nodes as usize)
        .map(name)
        .chain(twins.map(|of| format!("twin of {}", name(*of as usize))))
        .collect()
}

/// Who led when, for a protocol whose nodes say whether they lead (Raft, say): one lane
/// per node, a span per term it led. `None` when no node ever led.
fn leader_timeline(s: &Scenario, r: &sim_core::RunResult) -> Option<ExtraFigure> {
    if r.leadership.is_empty() {
        return None;
    }
    let ms = |t: sim_core::SimTime| t.as_nanos() as f64 / 1e6;
    let lanes = node_lanes(s);
    let mut open: Vec<Option<(sim_core::SimTime, u64)>> = vec![None; lanes.len()];
    let mut spans = Vec::new();
    let close = |spans: &mut Vec<Span>,
                 node: usize,
                 from: sim_core::SimTime,
                 term: u64,
                 to,
                 still: bool| {
        spans.push(Span {
            lane: node,
            start_ms: ms(from),
            end_ms: ms(to),
            open: still,
            // A protocol without terms reports term 0 for whoever leads.
            label: if term == 0 {
                "leading".to_string()
            } else {
                format!("term {term}")
            },
            group: "leading".into(),
        });
    };
    for c in &r.leadership {
        let node = c.node.index();
        if let Some((from, term)) = open.get_mut(node).and_then(Option::take) {
            close(&mut spans, node, from, term, c.at, false);
        }
        if let (Some(term), Some(slot)) = (c.term, open.get_mut(node)) {
            *slot = Some((c.at, term));
        }
    }
    for (node, o) in open.iter().enumerate() {
        if let Some((from, term)) = o {
            close(&mut spans, node, *from, *term, r.end_time, true);
        }
    }
    spans.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    let terms: std::collections::BTreeSet<&str> = spans
        .iter()
        .map(|s| s.label.as_str())
        .filter(|l| *l != "leading")
        .collect();
    let caption = if terms.is_empty() {
        format!(
            "Each node's lane shows when it believed it led (the protocol has no terms): {} spans. A faint span was still open at the end.",
            spans.len()
        )
    } else {
        format!(
            "Each node's lane shows when it believed it led, and in which term: {} spans over {} terms. Two spans at one time in different terms are normal (an old leader not yet told); two in the same term would break election safety. A faint span was still open at the end.",
            spans.len(),
            terms.len()
        )
    };
    Some(ExtraFigure {
        name: "leaders".into(),
        title: "Leaders over time".into(),
        caption,
        plot: ExtraPlot::Spans {
            lanes,
            spans,
            end_ms: ms(r.end_time),
        },
    })
}
