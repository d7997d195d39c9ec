//! A space-time (Lamport) diagram of a window of the trace: one line per node and one for
//! the clients, an arrow per message, dropped messages crossed out, crashes and restarts
//! marked.
//!
//! Arrows start when a message left its sender, as the trace records it. Traces saved by
//! older versions lack that time; there the departure is taken as the sender's latest
//! event before the arrival, so such arrows may start a little late.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim_core::SimTime;
use sim_core::trace::{TraceEvent, TraceKind};

use crate::figure::{self, DrawResult, Figure, OrErr, Plot, color, render, text};
use crate::latency::fmt_num;
use crate::{ReportError, RunData, font};

/// Most message arrows drawn; beyond a few hundred a diagram is unreadable.
pub const MAX_MESSAGES: usize = 400;

/// Writes the space-time diagram of `run`'s trace window into `dir`.
pub fn figures(run: &RunData, dir: &Path) -> Result<Vec<Figure>, ReportError> {
    let events = window(&run.trace);
    let nodes = events
        .iter()
        .filter_map(|e| e.node.max(e.from))
        .map(|n| n.0 + 1)
        .max()
        .unwrap_or(0)
        .max(run.nodes) as usize;
    let lanes = nodes + 1;
    let fig = render(
        dir,
        Figure {
            name: "spacetime".into(),
            title: "Space-time diagram".into(),
            caption: format!(
                "{} trace records from {} on: one line per node and one for the clients; arrows are messages (coloured by kind) from when they left to when they arrived, crossed ones were dropped; grey arrows are client requests and replies.",
                events.len(),
                events
                    .first()
                    .map_or_else(|| "the start".to_string(), |e| e.time.to_string())
            ),
            size: (1400, (170 + 80 * lanes as u32).min(1600)),
        },
        &SpaceTime { run, events, nodes },
    )?;
    Ok(vec![fig])
}

/// The records the diagram draws: from the start of the window to its `MAX_MESSAGES`th
/// message.
fn window(trace: &[TraceEvent]) -> &[TraceEvent] {
    let mut messages = 0;
    for (i, e) in trace.iter().enumerate() {
        if matches!(e.kind, TraceKind::Deliver | TraceKind::Drop) {
            messages += 1;
            if messages > MAX_MESSAGES {
                return &trace[..i];
            }
        }
    }
    trace
}

struct SpaceTime<'a> {
    run: &'a RunData,
    events: &'a [TraceEvent],
    nodes: usize,
}

/// The client id in a request or response summary ("client 3 #5: ...").
fn client_of(summary: &str) -> Option<u32> {
    summary
        .strip_prefix("client ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// The latest time in `times` (sorted) before `t` (or at `t` when `inclusive`).
fn latest_before(times: &[u64], t: u64, inclusive: bool) -> Option<u64> {
    let i = times.partition_point(|&x| if inclusive { x <= t } else { x < t });
    i.checked_sub(1).map(|i| times[i])
}

impl Plot for SpaceTime<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        const TITLE: &str = "Space-time diagram";
        let (Some(first), Some(last)) = (self.events.first(), self.events.last()) else {
            return figure::empty(root, TITLE, "no trace window was recorded for this run");
        };
        let t0 = first.time.as_nanos();
        let t1 = last.time.as_nanos().max(t0 + 1);
        let ms = |ns: u64| ns as f64 / 1e6;
        let lanes = self.nodes + 1;
        // Lane 0 (top) is the clients; node n is lane n + 1.
        let lane_y = |lane: usize| (lanes - lane) as f64 - 0.5;
        let node_lane = |n: u32| n as usize + 1;
        let (_, h) = root.dim_in_pixel();
        let (plot_area, legend_area) = root.split_vertically(h - 60);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(
                format!("{TITLE}: {} to {}", first.time, last.time),
                figure::title(),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(ms(t0)..ms(t1), 0.0..lanes as f64)
            .or_err()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("virtual time (ms)")
            .axis_desc_style(text(font::AXIS))
            .label_style(text(font::LABEL))
            .x_label_formatter(&|v| fmt_num(*v))
            .draw()
            .or_err()?;
        let px = |t: u64, lane: f64| chart.backend_coord(&(ms(t.clamp(t0, t1)), lane));

        // Lane lines, names and node-down stretches.
        let lane_name = text(font::LABEL).pos(Pos::new(HPos::Right, VPos::Center));
        for lane in 0..lanes {
            let (x0, y) = px(t0, lane_y(lane));
            let (x1, _) = px(t1, lane_y(lane));
            root.draw(&PathElement::new([(x0, y), (x1, y)], BLACK.stroke_width(1)))
                .or_err()?;
            let name = if lane == 0 {
                "clients".to_string()
            } else {
                self.run.node_label(lane - 1)
            };
            root.draw(&Text::new(name, (x0 - 8, y), lane_name.clone()))
                .or_err()?;
        }
        let down = crate::shading::windows(&self.run.faults, self.run.end_time);
        for wdw in down
            .iter()
            .filter(|d| d.kind == crate::shading::ShadeKind::Crash)
        {
            if wdw.end.as_nanos() < t0 || wdw.start.as_nanos() > t1 {
                continue;
            }
            for n in &wdw.nodes {
                let y = lane_y(node_lane(*n));
                let (a, ya) = px(wdw.start.as_nanos(), y);
                let (b, _) = px(wdw.end.as_nanos(), y);
                root.draw(&Rectangle::new(
                    [(a, ya - 7), (b, ya + 7)],
                    RGBColor(214, 39, 40).mix(0.2).filled(),
                ))
                .or_err()?;
            }
        }

        // When each node acted: a message it sent left at one of these.
        let mut acts: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
        for e in self.events {
            if let (
                TraceKind::Deliver | TraceKind::Timer | TraceKind::Request | TraceKind::Start,
                Some(n),
            ) = (e.kind, e.node)
            {
                acts.entry(n.0).or_default().push(e.time.as_nanos());
            }
        }
        let mut invoked: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
        for o in self.run.history.ops() {
            invoked
                .entry(o.client)
                .or_default()
                .push(o.invoked.as_nanos());
        }
        for v in invoked.values_mut() {
            v.sort_unstable();
        }
        let no_acts = Vec::new();
        let acts_of = |n: u32| acts.get(&n).unwrap_or(&no_acts);

        let mut kinds: Vec<String> = self.events.iter().filter_map(|e| e.msg.clone()).collect();
        kinds.sort();
        kinds.dedup();
        let kind_color = |k: &str| color(kinds.iter().position(|x| x == k).unwrap_or(0));
        let grey = RGBColor(110, 110, 110);
        let red = RGBColor(200, 0, 0);
        let mut labels = Labels::default();
        let label_style = text(font::SMALL - 1).pos(Pos::new(HPos::Center, VPos::Bottom));

        for e in self.events {
            let t = e.time.as_nanos();
            match e.kind {
                TraceKind::Deliver | TraceKind::Drop => {
                    let (Some(to), Some(from)) = (e.node, e.from) else {
                        continue;
                    };
                    let dropped = e.kind == TraceKind::Drop;
                    let sent = e.sent.map(SimTime::as_nanos).unwrap_or_else(|| {
                        latest_before(acts_of(from.0), t, dropped).unwrap_or(t0)
                    });
                    let a = px(sent, lane_y(node_lane(from.0)));
                    let mut b = px(t, lane_y(node_lane(to.0)));
                    let c = e.msg.as_deref().map_or(grey, kind_color);
                    if dropped {
                        // Lost on the way: stop short of the receiver and cross it out.
                        b = (a.0 + (b.0 - a.0) * 6 / 10, a.1 + (b.1 - a.1) * 6 / 10);
                        root.draw(&PathElement::new([a, b], c.stroke_width(1)))
                            .or_err()?;
                        root.draw(&Cross::new(b, 6, red.stroke_width(2))).or_err()?;
                    } else {
                        arrow(root, a, b, c)?;
                    }
                    if let Some(k) = &e.msg {
                        let mid = ((a.0 + b.0) / 2, (a.1 + b.1) / 2 - 2);
                        let width = k.chars().count() as i32 * 6 + 4;
                        if labels.take(mid, width) {
                            root.draw(&Text::new(k.clone(), mid, label_style.clone().color(&c)))
                                .or_err()?;
                        }
                    }
                }
                TraceKind::Request => {
                    let Some(n) = e.node else { continue };
                    let start = client_of(&e.summary)
                        .and_then(|c| invoked.get(&c))
                        .and_then(|v| latest_before(v, t, true))
                        .unwrap_or(t)
                        .max(t0);
                    arrow(
                        root,
                        px(start, lane_y(0)),
                        px(t, lane_y(node_lane(n.0))),
                        grey,
                    )?;
                }
                TraceKind::Response => {
                    let Some(n) = e.from else { continue };
                    let start = latest_before(acts_of(n.0), t, false).unwrap_or(t0);
                    arrow(
                        root,
                        px(start, lane_y(node_lane(n.0))),
                        px(t, lane_y(0)),
                        grey,
                    )?;
                }
                TraceKind::Timeout => {
                    let p = px(t, lane_y(0));
                    root.draw(&Circle::new(p, 4, RGBColor(230, 159, 0).filled()))
                        .or_err()?;
                }
                TraceKind::Start if t > 0 => {
                    let Some(n) = e.node else { continue };
                    let p = px(t, lane_y(node_lane(n.0)));
                    root.draw(&Circle::new(p, 7, RGBColor(0, 150, 60).filled()))
                        .or_err()?;
                    root.draw(&Text::new(
                        "restart",
                        (p.0 + 9, p.1 - 9),
                        text(font::SMALL).color(&RGBColor(0, 120, 50)),
                    ))
                    .or_err()?;
                }
                _ => {}
            }
        }
        for f in &self.run.faults {
            let t = f.at.as_nanos();
            if t < t0 || t > t1 {
                continue;
            }
            let (x, top) = px(t, lanes as f64);
            let (_, bottom) = px(t, 0.0);
            root.draw(&PathElement::new(
                [(x, top), (x, bottom)],
                red.mix(0.6).stroke_width(1),
            ))
            .or_err()?;
            root.draw(&Text::new(
                format!(
                    "{} {:?}",
                    f.kind,
                    f.nodes.iter().map(|n| n.0).collect::<Vec<_>>()
                ),
                (x + 4, top + 2),
                text(font::SMALL).color(&red),
            ))
            .or_err()?;
            if f.kind == "crash" {
                for n in &f.nodes {
                    let p = px(t, lane_y(node_lane(n.0)));
                    root.draw(&Cross::new(p, 9, red.stroke_width(3))).or_err()?;
                }
            }
        }

        // Legend: message kinds, then the marks.
        let mut x = 20;
        let y = 25;
        let item = text(font::LABEL).pos(Pos::new(HPos::Left, VPos::Center));
        let entry = |label: String, c: RGBColor, x: &mut i32| -> DrawResult {
            legend_area
                .draw(&Rectangle::new([(*x, y - 6), (*x + 14, y + 6)], c.filled()))
                .or_err()?;
            let width = label.chars().count() as i32 * 8 + 34;
            legend_area
                .draw(&Text::new(label, (*x + 20, y), item.clone()))
                .or_err()?;
            *x += width;
            Ok(())
        };
        for k in &kinds {
            entry(k.clone(), kind_color(k), &mut x)?;
        }
        entry("client request / reply".into(), grey, &mut x)?;
        entry("dropped (×) / crash".into(), red, &mut x)?;
        entry("restart".into(), RGBColor(0, 150, 60), &mut x)?;
        Ok(())
    }
}

/// A line from `a` to `b` with a filled head at `b`.
fn arrow<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    a: (i32, i32),
    b: (i32, i32),
    c: RGBColor,
) -> DrawResult {
    root.draw(&PathElement::new([a, b], c.stroke_width(1)))
        .or_err()?;
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return Ok(());
    }
    let (ux, uy) = (dx / len, dy / len);
    let (size, spread) = (8.0, 3.5);
    let base = (b.0 as f64 - ux * size, b.1 as f64 - uy * size);
    let left = ((base.0 - uy * spread) as i32, (base.1 + ux * spread) as i32);
    let right = ((base.0 + uy * spread) as i32, (base.1 - ux * spread) as i32);
    root.draw(&Polygon::new(vec![b, left, right], c.filled()))
        .or_err()
}

/// Where message labels went, so that none is drawn over another.
#[derive(Default)]
struct Labels(Vec<(i32, i32, i32)>);

impl Labels {
    /// Claims room for a label of `width` centred at `at`; false if it would overlap.
    fn take(&mut self, at: (i32, i32), width: i32) -> bool {
        let clash = self
            .0
            .iter()
            .any(|&(x, y, w)| (x - at.0).abs() * 2 < w + width && (y - at.1).abs() < 13);
        if !clash {
            self.0.push((at.0, at.1, width));
        }
        !clash
    }
}
