//! The linearizability checker's counterexample on a timeline: the operations of the
//! failing key, one lane per client, each a bar from invocation to completion, the ones
//! that cannot be placed highlighted against the tail of the longest linearizable prefix.

use std::collections::BTreeSet;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim_core::history::{HistoryOp, OpOutput, Operation, Outcome};

use crate::figure::{self, DrawResult, Figure, OrErr, Plot, color, render, text};
use crate::{CounterexampleData, ReportError, RunData, font};

/// Operations of the linearized prefix shown before the unplaceable ones: enough context
/// to see what the checker had settled, few enough to read every label.
pub const PREFIX_SHOWN: usize = 12;

/// Most operations drawn in all.
pub const MAX_OPS: usize = 60;

/// What part an operation plays in the counterexample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// In the longest linearizable prefix.
    Linearized,
    /// Cannot be placed next, whatever the order: the contradiction.
    Unplaceable,
    /// Of the same key and overlapping the window, but never reached by the search.
    Other,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::Linearized => "linearized prefix",
            Role::Unplaceable => "cannot be placed",
            Role::Other => "not reached",
        }
    }

    fn color(self) -> RGBColor {
        match self {
            Role::Linearized => color(2),
            Role::Unplaceable => color(5),
            Role::Other => color(6),
        }
    }
}

/// One bar of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Index of the operation in the history.
    pub index: u64,
    /// Its client.
    pub client: u32,
    /// Invocation, in ms of virtual time.
    pub start_ms: f64,
    /// Completion in ms, or `None` for an operation that never completed.
    pub end_ms: Option<f64>,
    /// Its role.
    pub role: Role,
    /// A short text: what it asked and what it was told.
    pub label: String,
}

/// Writes the counterexample figure of `run` into `dir`, if the run has a counterexample.
pub fn figures(run: &RunData, dir: &Path) -> Result<Vec<Figure>, ReportError> {
    let Some(cx) = &run.counterexample else {
        return Ok(Vec::new());
    };
    let bars = bars(run.history.ops(), cx);
    let layout = Layout::of(&bars);
    let fig = render(
        dir,
        Figure {
            name: "counterexample".into(),
            title: format!("Linearizability counterexample, key {}", cx.key),
            caption: format!(
                "The operations of key {} around the contradiction, one lane per client: the \
                 last {} operations of the longest linearizable prefix, the operations that \
                 cannot be placed after it (state then: {}), and other operations of the key \
                 in that window. A bar runs from invocation to completion; an open end never \
                 completed.",
                cx.key, PREFIX_SHOWN, cx.state
            ),
            // One lane more than clients: the legend's, so it never hides a bar.
            size: (
                WIDTH,
                140 + layout.lane_px * (lanes(&bars).len() as u32 + 1),
            ),
        },
        &Timeline {
            key: cx.key,
            bars,
            layout,
        },
    )?;
    Ok(vec![fig])
}

/// The bars of the figure: the prefix's tail, the unplaceable operations, and the other
/// operations of the key that overlap their time span.
pub fn bars(ops: &[HistoryOp], cx: &CounterexampleData) -> Vec<Bar> {
    let tail = cx.linearized.len().saturating_sub(PREFIX_SHOWN);
    let mut chosen: Vec<(u64, Role)> = cx.linearized[tail..]
        .iter()
        .map(|&i| (i, Role::Linearized))
        .chain(cx.unplaceable.iter().map(|&i| (i, Role::Unplaceable)))
        .filter(|(i, _)| (*i as usize) < ops.len())
        .collect();
    let named: BTreeSet<u64> = chosen.iter().map(|(i, _)| *i).collect();
    let span =
        chosen
            .iter()
            .map(|(i, _)| &ops[*i as usize])
            .fold(None, |acc: Option<(u64, u64)>, o| {
                let (a, b) = (o.invoked.0, o.completed.map_or(o.invoked.0, |c| c.0));
                Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b))))
            });
    if let Some((from, to)) = span {
        for (i, o) in ops.iter().enumerate() {
            let overlaps = o.invoked.0 <= to && o.completed.is_none_or(|c| c.0 >= from);
            if overlaps && key_of(&o.op) == Some(cx.key) && !named.contains(&(i as u64)) {
                chosen.push((i as u64, Role::Other));
            }
        }
    }
    chosen.sort_by_key(|(i, _)| *i);
    // Keep the unplaceable ones first when the window is crowded.
    if chosen.len() > MAX_OPS {
        chosen.sort_by_key(|(i, r)| (*r != Role::Unplaceable, *r == Role::Other, *i));
        chosen.truncate(MAX_OPS);
        chosen.sort_by_key(|(i, _)| *i);
    }
    chosen
        .into_iter()
        .map(|(i, role)| {
            let o = &ops[i as usize];
            Bar {
                index: i,
                client: o.client,
                start_ms: o.invoked.0 as f64 / 1e6,
                end_ms: o.completed.map(|c| c.0 as f64 / 1e6),
                role,
                label: short_label(o),
            }
        })
        .collect()
}

/// The key of a key-value operation; other workload families have none here.
fn key_of(op: &Operation) -> Option<u64> {
    match op {
        Operation::Get { .. }
        | Operation::Put { .. }
        | Operation::Cas { .. }
        | Operation::Append { .. } => Some(op.key()),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// "put v3", "get → v1", "cas v1→v2 ✗": what was asked and, if known, what came back.
fn short_label(o: &HistoryOp) -> String {
    let asked = match &o.op {
        Operation::Get { .. } => "get".to_string(),
        Operation::Put { value, .. } => format!("put {value}"),
        Operation::Cas { expected, new, .. } => format!("cas {expected}→{new}"),
        Operation::Append { value, .. } => format!("append {value}"),
        #[allow(unreachable_patterns)]
        other => other.kind().to_string(),
    };
    let told = match &o.outcome {
        Outcome::Ok(OpOutput::Value(v)) => format!(" → {}", if v.is_empty() { "∅" } else { v }),
        Outcome::Ok(_) => String::new(),
        Outcome::Failed => " ✗".to_string(),
        _ => " ?".to_string(),
    };
    let mut s = format!("#{} {asked}{told}", o.id);
    if s.chars().count() > 28 {
        s = s.chars().take(27).collect::<String>() + "…";
    }
    s
}

/// The clients that have a bar, in order: one lane each.
fn lanes(bars: &[Bar]) -> Vec<u32> {
    bars.iter()
        .map(|b| b.client)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

struct Timeline {
    key: u64,
    bars: Vec<Bar>,
    layout: Layout,
}

/// The figure's width, px.
const WIDTH: u32 = 1100;
/// The plotting area's width: the figure less its margins and the lane names.
const PLOT_PX: f64 = (WIDTH - 2 * 15 - 90) as f64;
/// A bar's height, px.
const BAR_PX: u32 = 20;
/// One row of labels, px (the label font is 14 px).
const ROW_PX: u32 = 18;
/// Rows of labels a lane may stack above its bars; a label that finds none free is left
/// out (the text summary lists every operation).
const MAX_LABEL_ROWS: usize = 4;

/// Where labels go so that none overlaps another: each bar's row above its lane.
#[derive(Clone, Debug, PartialEq)]
struct Layout {
    /// Time axis: from, to (ms).
    x: (f64, f64),
    /// Per bar, the row of its label, or `None` when it is left out.
    rows: Vec<Option<usize>>,
    /// A lane's height, px.
    lane_px: u32,
}

impl Layout {
    fn of(bars: &[Bar]) -> Self {
        let t0 = bars
            .iter()
            .map(|b| b.start_ms)
            .fold(f64::INFINITY, f64::min);
        let t1 = bars
            .iter()
            .map(|b| b.end_ms.unwrap_or(b.start_ms))
            .fold(f64::NEG_INFINITY, f64::max);
        let pad = ((t1 - t0) * 0.05).max(0.5);
        let x = (t0 - pad, t1 + 3.0 * pad);
        let ms_per_px = (x.1 - x.0) / PLOT_PX;
        // A generous width per character, so that estimates err towards space.
        let width_ms = |label: &str| (label.chars().count() as f64 * 8.5 + 6.0) * ms_per_px;
        let mut rows = vec![None; bars.len()];
        let mut used = 1;
        for lane in lanes(bars) {
            let mut mine: Vec<usize> = (0..bars.len())
                .filter(|&i| bars[i].client == lane)
                .collect();
            mine.sort_by(|&a, &b| bars[a].start_ms.total_cmp(&bars[b].start_ms));
            // The time at which each row is free again.
            let mut free_at: Vec<f64> = Vec::new();
            for i in mine {
                let start = bars[i].start_ms;
                let row = match free_at.iter().position(|&t| t <= start) {
                    Some(r) => Some(r),
                    None if free_at.len() < MAX_LABEL_ROWS => {
                        free_at.push(f64::NEG_INFINITY);
                        Some(free_at.len() - 1)
                    }
                    None => None,
                };
                if let Some(r) = row {
                    free_at[r] = start + width_ms(&bars[i].label);
                    rows[i] = Some(r);
                }
            }
            used = used.max(free_at.len());
        }
        Layout {
            x,
            rows,
            lane_px: BAR_PX + 10 + ROW_PX * used as u32,
        }
    }

    /// A bar's half-height, in lanes.
    fn half_bar(&self) -> f64 {
        f64::from(BAR_PX) / 2.0 / f64::from(self.lane_px)
    }

    /// Where the label of a bar in `row` sits, above its lane's centre, in lanes.
    fn row_offset(&self, row: usize) -> f64 {
        self.half_bar() + (2.0 + f64::from(ROW_PX) * row as f64) / f64::from(self.lane_px)
    }
}

impl Plot for Timeline {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let title = format!("Linearizability counterexample, key {}", self.key);
        if self.bars.is_empty() {
            return figure::empty(
                root,
                &title,
                "no operation of the counterexample is in the history",
            );
        }
        let lanes = lanes(&self.bars);
        let (x0, x1) = self.layout.x;
        let h = self.layout.half_bar();
        let mut chart = ChartBuilder::on(root)
            .caption(&title, figure::title())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(x0..x1, -0.5..lanes.len() as f64 + 0.5)
            .or_err()?;
        figure::lanes_mesh(&mut chart, lanes.len(), &|i| {
            lanes.get(i).map(|c| format!("client {c}"))
        })?;
        let lane_of = |c: u32| lanes.iter().position(|l| *l == c).unwrap_or(0) as f64;
        for role in [Role::Other, Role::Linearized, Role::Unplaceable] {
            let c = role.color();
            let mine: Vec<&Bar> = self.bars.iter().filter(|b| b.role == role).collect();
            if mine.is_empty() {
                continue;
            }
            chart
                .draw_series(mine.iter().map(|b| {
                    let y = lane_of(b.client);
                    let end = b.end_ms.unwrap_or(x1);
                    let fill = if b.end_ms.is_some() {
                        c.mix(0.75)
                    } else {
                        c.mix(0.3)
                    };
                    Rectangle::new([(b.start_ms, y - h), (end, y + h)], fill.filled())
                }))
                .or_err()?
                .label(role.label())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()));
            chart
                .draw_series(mine.iter().map(|b| {
                    let y = lane_of(b.client);
                    let end = b.end_ms.unwrap_or(x1);
                    Rectangle::new([(b.start_ms, y - h), (end, y + h)], c.stroke_width(1))
                }))
                .or_err()?;
        }
        // Labels above their bars, in rows that keep them apart, so a reader sees what
        // each operation asked and got.
        let style = text(font::LABEL).pos(Pos::new(HPos::Left, VPos::Bottom));
        chart
            .draw_series(
                self.bars
                    .iter()
                    .zip(&self.layout.rows)
                    .filter_map(|(b, row)| Some((b, (*row)?)))
                    .map(|(b, row)| {
                        Text::new(
                            b.label.clone(),
                            (b.start_ms, lane_of(b.client) + self.layout.row_offset(row)),
                            style.clone(),
                        )
                    }),
            )
            .or_err()?;
        figure::legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimTime;
    use sim_core::history::History;

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    /// A stale read: client 1 reads the old value after client 0's write completed.
    fn stale_read() -> (History, CounterexampleData) {
        let mut h = History::new();
        let w = h.invoke(
            0,
            Operation::Put {
                key: 7,
                value: "a".into(),
            },
            ms(0),
        );
        h.complete(w, Outcome::Ok(OpOutput::Done), ms(2));
        let w2 = h.invoke(
            0,
            Operation::Put {
                key: 7,
                value: "b".into(),
            },
            ms(3),
        );
        h.complete(w2, Outcome::Ok(OpOutput::Done), ms(5));
        let r = h.invoke(1, Operation::Get { key: 7 }, ms(6));
        h.complete(r, Outcome::Ok(OpOutput::Value("a".into())), ms(8));
        let other = h.invoke(2, Operation::Get { key: 9 }, ms(6));
        h.complete(other, Outcome::Ok(OpOutput::Value(String::new())), ms(7));
        let hung = h.invoke(
            2,
            Operation::Put {
                key: 7,
                value: "c".into(),
            },
            ms(7),
        );
        let cx = CounterexampleData {
            key: 7,
            linearized: vec![w, w2],
            unplaceable: vec![r],
            state: "\"b\"".into(),
        };
        let _ = hung;
        (h, cx)
    }

    #[test]
    fn bars_mark_roles_and_skip_other_keys() {
        let (h, cx) = stale_read();
        let bars = bars(h.ops(), &cx);
        let roles: Vec<(u64, Role)> = bars.iter().map(|b| (b.index, b.role)).collect();
        assert_eq!(
            roles,
            vec![
                (0, Role::Linearized),
                (1, Role::Linearized),
                (2, Role::Unplaceable),
                (4, Role::Other),
            ],
            "op 3 is of another key"
        );
        assert_eq!(bars[2].label, "#2 get → a");
        assert_eq!(bars[3].end_ms, None, "the hung put never completed");
    }

    #[test]
    fn the_figure_names_the_key_roles_and_operations() {
        let (history, cx) = stale_read();
        let run = RunData {
            history,
            counterexample: Some(cx),
            ..RunData::default()
        };
        let dir = std::env::temp_dir().join(format!("faultline-cx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let figs = figures(&run, &dir).expect("drawn");
        assert_eq!(figs.len(), 1);
        let svg = std::fs::read_to_string(figs[0].svg_path(&dir)).expect("svg written");
        for needle in [
            "key 7",
            "cannot be placed",
            "linearized prefix",
            "not reached",
            "#2 get → a",
            "client 1",
            "virtual time (ms)",
        ] {
            assert!(svg.contains(needle), "figure lacks {needle:?}");
        }
        if std::env::var_os("FAULTLINE_KEEP_FIGURES").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// Labels of one lane that would overlap go to rows of their own; no two labels of a
    /// lane share a row where their estimated extents meet.
    #[test]
    fn labels_of_close_operations_take_separate_rows() {
        let bar = |index: u64, client: u32, start_ms: f64| Bar {
            index,
            client,
            start_ms,
            end_ms: Some(start_ms + 0.5),
            role: Role::Linearized,
            label: format!("#{index} put value-{index}"),
        };
        let mut bars: Vec<Bar> = (0..6).map(|i| bar(i, 0, i as f64 * 0.2)).collect();
        bars.push(bar(6, 1, 0.0));
        bars.push(bar(7, 0, 400.0));
        let layout = Layout::of(&bars);
        let rows: Vec<Option<usize>> = layout.rows.clone();
        assert_eq!(&rows[..4], &[Some(0), Some(1), Some(2), Some(3)]);
        assert_eq!(rows[4], None, "a fifth label so close has no room");
        assert_eq!(rows[6], Some(0), "another lane starts its own rows");
        assert_eq!(rows[7], Some(0), "far apart, a label reuses the first row");
        assert!(layout.lane_px >= BAR_PX + 4 * ROW_PX);
        assert!(
            layout.row_offset(3) + 0.5 * f64::from(ROW_PX) / f64::from(layout.lane_px)
                < 1.0 - layout.half_bar(),
            "the top row stays below the next lane's bars"
        );
    }

    #[test]
    fn a_run_without_counterexample_draws_nothing() {
        let dir = std::env::temp_dir();
        assert!(figures(&RunData::default(), &dir).expect("ok").is_empty());
    }
}
