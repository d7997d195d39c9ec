//! The figures and pages: SVGs parse and carry their series and labels, PNGs decode at
//! their stated size, pages link only to files that exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reports::{CheckRow, CompareRun, FuzzLine, RunData};
use sim_core::fault::AppliedFault;
use sim_core::history::{History, OpOutput, Operation, Outcome};
use sim_core::metrics::{MetricsSummary, MsgCounts, NodeCounts};
use sim_core::trace::{TraceEvent, TraceKind};
use sim_core::{NodeId, SimTime};

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-reports-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn ms(v: u64) -> SimTime {
    SimTime(v * 1_000_000)
}

fn sample_run() -> RunData {
    let mut h = History::new();
    for i in 0..200u64 {
        let op = if i % 3 == 0 {
            Operation::Put {
                key: i % 4,
                value: format!("v{i}"),
            }
        } else {
            Operation::Get { key: i % 4 }
        };
        let id = h.invoke((i % 3) as u32, op, ms(i * 10));
        let outcome = if i == 150 {
            Outcome::Indeterminate
        } else if i % 3 == 0 {
            Outcome::Ok(OpOutput::Done)
        } else {
            Outcome::Ok(OpOutput::Value(String::new()))
        };
        h.complete(id, outcome, ms(i * 10 + 2 + i % 7));
    }
    let mut messages = BTreeMap::new();
    messages.insert(
        "Append".to_string(),
        MsgCounts {
            sent: 600,
            delivered: 590,
            dropped: 10,
            duplicated: 0,
            bytes: 60_000,
        },
    );
    messages.insert(
        "AppendReply".to_string(),
        MsgCounts {
            sent: 590,
            delivered: 590,
            dropped: 0,
            duplicated: 0,
            bytes: 20_000,
        },
    );
    let node = NodeCounts {
        sent: 400,
        received: 390,
        bytes_sent: 0,
        bytes_received: 0,
    };
    let mut trace = Vec::new();
    for i in 0..40u64 {
        let (kind, msg) = if i % 2 == 0 {
            (TraceKind::Deliver, "Append")
        } else {
            (TraceKind::Deliver, "AppendReply")
        };
        trace.push(TraceEvent {
            index: i,
            time: ms(500 + i),
            kind: if i == 7 { TraceKind::Drop } else { kind },
            node: Some(NodeId((i % 3) as u32)),
            from: Some(NodeId(((i + 1) % 3) as u32)),
            msg: Some(msg.to_string()),
            summary: format!("{msg} <&> {i}"),
            // Half the records carry their send time, half (as older traces) do not.
            sent: (i % 2 == 0).then(|| ms(499 + i)),
        });
    }
    RunData {
        scenario: "test/<sample> & co".into(),
        protocol: "raft".into(),
        nodes: 3,
        seed: 7,
        fingerprint: "00000000deadbeef".into(),
        end_reason: "work_done".into(),
        end: "all client operations finished".into(),
        end_time: ms(2_100),
        events: 5_000,
        verdict: "pass".into(),
        as_expected: true,
        checks: vec![CheckRow {
            name: "linearizability".into(),
            status: "pass".into(),
            detail: "199 ops in 4 keys".into(),
        }],
        history: h,
        metrics: MetricsSummary {
            messages,
            nodes: vec![node; 3],
            ..Default::default()
        },
        faults: vec![
            AppliedFault {
                at: ms(510),
                kind: "crash".into(),
                nodes: vec![NodeId(1)],
                description: "crash Leader -> [1]".into(),
            },
            AppliedFault {
                at: ms(900),
                kind: "restart".into(),
                nodes: vec![NodeId(1)],
                description: "restart All -> [1]".into(),
            },
        ],
        trace,
        ..Default::default()
    }
}

/// Every text node of an SVG file, after checking it parses as XML with an `svg` root.
fn svg_texts(path: &Path) -> Vec<String> {
    let s = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&s).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

fn has(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

/// Every `src` and `href` of the page that is not an anchor names an existing file.
fn assert_links_exist(dir: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let target = part.split('"').next().unwrap().to_string();
            assert!(
                !target.starts_with("http"),
                "the page reaches the network: {target}"
            );
            assert!(dir.join(&target).is_file(), "{target} is missing");
            refs.push(target);
        }
    }
    assert!(!html.contains("<script"), "the page needs no script");
    refs
}

#[test]
fn run_report_writes_every_figure_with_its_labels() {
    let dir = out_dir("run");
    let run = sample_run();
    let files = reports::write_run_report(&run, &dir).unwrap();
    assert!(files.iter().all(|f| f.is_file()));
    let expect: &[(&str, &[&str])] = &[
        (
            "latency-cdf",
            &[
                "Client latency CDF",
                "latency (ms",
                "get (133 ops)",
                "put (66 ops)",
            ],
        ),
        (
            "latency-histogram",
            &[
                "Client latency histogram",
                "completed operations",
                "199 operations",
            ],
        ),
        (
            "latency-over-time",
            &[
                "invocation time (s, virtual)",
                "node down",
                "outcome unknown (1 ops)",
            ],
        ),
        (
            "throughput",
            &[
                "Throughput over virtual time",
                "operations per second",
                "node down",
            ],
        ),
        (
            "messages-by-kind",
            &["Messages by kind", "AppendReply", "dropped", "600", "10"],
        ),
        ("messages-by-node", &["node 0", "node 2", "received", "400"]),
        // 1190 messages over 199 completed operations.
        (
            "messages-per-op",
            &[
                "Messages per committed operation (199 ops)",
                "all kinds",
                "5.98",
            ],
        ),
        ("bytes-by-kind", &["kB sent", "60"]),
        (
            "spacetime",
            &[
                "Space-time diagram",
                "clients",
                "node 1",
                "Append",
                "crash [1]",
            ],
        ),
    ];
    for (name, labels) in expect {
        let texts = svg_texts(&dir.join(format!("{name}.svg")));
        for l in *labels {
            assert!(has(&texts, l), "{name}.svg lacks {l:?}: {texts:?}");
        }
    }
    let refs = assert_links_exist(&dir);
    for (name, _) in expect {
        assert!(
            refs.contains(&format!("{name}.svg")),
            "the page does not show {name}"
        );
        assert!(refs.contains(&format!("{name}.png")));
    }
    assert!(refs.contains(&"trace-window.jsonl".to_string()));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("test/&lt;sample&gt; &amp; co"),
        "text is escaped"
    );
    assert!(!html.contains("<sample>"));
    assert!(html.contains("00000000deadbeef"));
    assert!(
        html.contains("crash Leader -&gt; [1]"),
        "the fault schedule is listed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pngs_decode_at_their_stated_size() {
    let dir = out_dir("png");
    let run = sample_run();
    reports::write_run_report(&run, &dir).unwrap();
    for name in ["latency-cdf", "throughput", "spacetime", "messages-by-kind"] {
        let (w, h) = png_size(&dir.join(format!("{name}.png")));
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
        assert!(
            svg.contains(&format!("width=\"{w}\"")) && svg.contains(&format!("height=\"{h}\""))
        );
        assert!(w >= 800 && h >= 300, "{name}: {w}x{h}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_run_still_gives_a_page() {
    let dir = out_dir("empty");
    let run = RunData {
        scenario: "empty".into(),
        ..Default::default()
    };
    reports::write_run_report(&run, &dir).unwrap();
    assert!(has(
        &svg_texts(&dir.join("latency-cdf.svg")),
        "no completed client operations"
    ));
    assert_links_exist(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn saved_run_data_reads_back() {
    let run = sample_run();
    let json = serde_json::to_string(&run).unwrap();
    let back: RunData = serde_json::from_str(&json).unwrap();
    assert_eq!(back, run);
}

#[test]
fn fuzz_report_counts_seeds_by_verdict() {
    let dir = out_dir("fuzz");
    let lines: Vec<FuzzLine> = (0..30)
        .map(|s| FuzzLine {
            scenario: "raft/x".into(),
            seed: s,
            verdict: if s % 10 == 3 { "violation" } else { "pass" }.into(),
            violation: (s % 10 == 3).then(|| "linearizability".into()),
            events: 1000 + s * 10,
            end_reason: if s % 2 == 0 { "horizon" } else { "work_done" }.into(),
            ..Default::default()
        })
        .collect();
    reports::write_fuzz_report(&lines, &dir).unwrap();
    let v = svg_texts(&dir.join("fuzz-verdicts.svg"));
    assert!(
        has(&v, "pass") && has(&v, "linearizability") && has(&v, "27"),
        "{v:?}"
    );
    let e = svg_texts(&dir.join("fuzz-end-reasons.svg"));
    assert!(has(&e, "horizon") && has(&e, "work_done") && has(&e, "15"));
    assert!(has(
        &svg_texts(&dir.join("fuzz-events.svg")),
        "linearizability (3)"
    ));
    assert_links_exist(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Undecided seeds are neither passes nor failures, and a seed that shows the violation
/// its scenario expects is a pass, marked as expected.
#[test]
fn fuzz_report_separates_expected_missed_and_undecided() {
    let dir = out_dir("fuzz-expect");
    let verdict = |s: u64| ["expected", "missed", "undecided", "expected"][s as usize % 4];
    let lines: Vec<FuzzLine> = (0..20)
        .map(|s| FuzzLine {
            scenario: "3pc/x".into(),
            seed: s,
            verdict: verdict(s).into(),
            violation: (verdict(s) != "undecided").then(|| "atomicity".into()),
            undecided: if verdict(s) == "undecided" {
                vec!["linearizability".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        })
        .collect();
    reports::write_fuzz_report(&lines, &dir).unwrap();
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("<td>10 (10 showed the violation their scenario expects)</td>"),
        "{html}"
    );
    assert!(
        html.contains("error)</th><td>5</td>"),
        "5 missed seeds failed: {html}"
    );
    assert!(html.contains("could not decide)</th><td>5</td>"), "{html}");
    let v = svg_texts(&dir.join("fuzz-verdicts.svg"));
    assert!(
        has(&v, "atomicity (expected)") && has(&v, "atomicity missed") && has(&v, "undecided"),
        "{v:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_report_marks_each_protocols_expected_messages() {
    let dir = out_dir("compare");
    let mut runs: Vec<CompareRun> = [3u32, 5, 7]
        .iter()
        .map(|&n| {
            let mut r = CompareRun::from_run(format!("calm nodes={n}"), &sample_run());
            r.nodes = n;
            r.expected = Some((2.0 * (f64::from(n) - 1.0), "2(N−1)".into()));
            r
        })
        .collect();
    // A run whose protocol has no closed form gets no mark and a dash in the table.
    let mut other = CompareRun::from_run("gossip nodes=4", &sample_run());
    other.nodes = 4;
    runs.push(other);
    reports::write_compare_report(&runs, &dir).unwrap();
    let t = svg_texts(&dir.join("compare-messages-per-op.svg"));
    assert!(
        has(&t, "calm nodes=7") && has(&t, "2(N−1)") && has(&t, "5.98"),
        "{t:?}"
    );
    let l = svg_texts(&dir.join("compare-latency.svg"));
    assert!(has(&l, "p50") && has(&l, "p99"));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("<td>12 = 2(N−1)</td>"),
        "2(N−1) for 7 nodes is listed: {html}"
    );
    assert!(
        html.contains("<td>–</td>"),
        "no closed form, no number: {html}"
    );
    assert_links_exist(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Figures a family adds are drawn from their data alone: lanes of spans with the labels
/// that fit, and lines with their legend.
#[test]
fn added_figures_draw_spans_and_lines() {
    use reports::extra::{ExtraFigure, ExtraPlot, Line, Span};
    let dir = out_dir("extra");
    let span = |lane: usize, start_ms: f64, end_ms: f64, label: &str| Span {
        lane,
        start_ms,
        end_ms,
        open: false,
        label: label.into(),
        group: "leading".into(),
    };
    let run = RunData {
        extra_figures: vec![
            ExtraFigure {
                name: "leaders".into(),
                title: "Leaders over time".into(),
                caption: "who led".into(),
                plot: ExtraPlot::Spans {
                    lanes: vec!["alpha".into(), "beta".into()],
                    spans: vec![
                        span(0, 0.0, 500.0, "term 1"),
                        // Too short to hold its label, which is left out.
                        span(1, 500.0, 501.0, "term 2"),
                        span(1, 600.0, 1000.0, "term 3"),
                    ],
                    end_ms: 1000.0,
                },
            },
            ExtraFigure {
                name: "coverage".into(),
                title: "Coverage by round".into(),
                caption: "how far".into(),
                plot: ExtraPlot::Lines {
                    x_desc: "rounds".into(),
                    y_desc: "nodes (%)".into(),
                    series: vec![Line {
                        label: "mean over updates".into(),
                        points: vec![(0.0, 10.0), (1.0, 60.0), (2.0, 100.0)],
                    }],
                },
            },
        ],
        ..sample_run()
    };
    reports::write_run_report(&run, &dir).unwrap();
    let t = svg_texts(&dir.join("leaders.svg"));
    assert!(
        has(&t, "term 1") && has(&t, "term 3") && has(&t, "alpha") && has(&t, "beta"),
        "{t:?}"
    );
    assert!(
        !has(&t, "term 2"),
        "a label that does not fit is left out: {t:?}"
    );
    let l = svg_texts(&dir.join("coverage.svg"));
    assert!(has(&l, "mean over updates") && has(&l, "rounds"), "{l:?}");
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("who led") && html.contains("how far"));
    assert_links_exist(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}
