//! `faultline run --report` and `faultline report` end to end.

use std::path::PathBuf;

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "faultline-cli-report-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn faultline(args: &[&str]) -> std::process::ExitCode {
    let mut all = vec!["faultline"];
    all.extend_from_slice(args);
    scenarios::cli::main_with_args(all)
}

#[test]
fn run_with_report_writes_a_page_and_report_rereads_saved_results() {
    let dir = out_dir("run");
    let saved = dir.with_extension("json");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/echo/ping-storm.ron");
    let code = faultline(&[
        "run",
        scenario,
        "--report",
        dir.to_str().unwrap(),
        "--save-results",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for name in ["latency-cdf", "throughput", "messages-by-kind", "spacetime"] {
        assert!(
            html.contains(&format!("src=\"{name}.svg\"")),
            "{name} missing from the page"
        );
        assert!(dir.join(format!("{name}.svg")).is_file());
        assert!(dir.join(format!("{name}.png")).is_file());
    }
    // The trace window was recorded: the diagram has arrows to draw.
    let window = std::fs::read_to_string(dir.join("trace-window.jsonl")).unwrap();
    assert!(
        window.lines().count() > 10,
        "trace window: {} lines",
        window.lines().count()
    );

    let again = out_dir("again");
    let code = faultline(&[
        "report",
        saved.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let html2 = std::fs::read_to_string(again.join("index.html")).unwrap();
    assert_eq!(html, html2, "a saved run reports the same page");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&again);
    let _ = std::fs::remove_file(&saved);
}

#[test]
fn report_rejects_a_file_that_is_not_results() {
    let bad = out_dir("bad").with_extension("json");
    std::fs::write(&bad, "not json").unwrap();
    let code = faultline(&[
        "report",
        bad.to_str().unwrap(),
        "--out",
        "/nonexistent-never-written",
    ]);
    assert_eq!(code, std::process::ExitCode::from(2));
    let _ = std::fs::remove_file(&bad);
}

/// The comparison people draw when choosing a cluster size: in a calm Raft run without
/// batching, every operation costs one round from the leader to each follower and back.
#[test]
fn raft_messages_per_operation_at_3_5_and_7_nodes_is_2_n_minus_1() {
    let file = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/raft/steady-state.ron"
    ));
    let compared = scenarios::cli::compare::compare_runs(&[file], &[3, 5, 7], None).unwrap();
    assert_eq!(compared.status, 0, "every run passes");
    let runs = compared.runs;
    assert_eq!(runs.len(), 3);
    for r in &runs {
        let expected = 2.0 * (f64::from(r.nodes) - 1.0);
        let got = r.messages_per_op();
        assert!(
            r.ok_ops > 1000,
            "{}: only {} operations completed",
            r.label,
            r.ok_ops
        );
        // Elections and the odd heartbeat are the only other messages: within 2 %.
        assert!(
            (got - expected).abs() <= 0.02 * expected,
            "{}: {got:.3} messages per operation, expected about {expected}",
            r.label
        );
    }
}

#[test]
fn the_report_shows_what_the_protocols_family_adds() {
    let dir = out_dir("family");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/2pc/coordinator-crash.ron");
    let code = faultline(&["run", scenario, "--report", dir.to_str().unwrap()]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("<tr><th>uncertainty</th><td>") && html.contains("never resolved"),
        "no uncertainty row in the 2PC report"
    );
    let echo = out_dir("family-echo");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/echo/ping-storm.ron");
    faultline(&["run", scenario, "--report", echo.to_str().unwrap()]);
    let html = std::fs::read_to_string(echo.join("index.html")).unwrap();
    assert!(!html.contains("uncertainty"), "Echo's family adds nothing");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&echo);
}

#[test]
fn the_summary_and_the_report_give_the_same_latency_percentiles() {
    use scenarios::runner::RunOptions;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/raft/leader-crash.ron");
    let s = scenarios::load::load(std::path::Path::new(path)).unwrap();
    let (run, window) = scenarios::report_data::run_with_window(&s, RunOptions::default()).unwrap();
    let data = scenarios::report_data::run_data(&s, &run, window, None);
    let page = reports::data::Percentiles::of_sorted(&data.sorted_latencies());
    let summary = run.summary.latency.expect("completed operations");
    assert!(data.sorted_latencies().len() > 100);
    assert_eq!(summary.p50 as f64 / 1e6, page.p50);
    assert_eq!(summary.p99 as f64 / 1e6, page.p99);
    assert_eq!(summary.max as f64 / 1e6, page.max);
}

#[test]
fn the_message_table_accounts_for_every_copy() {
    use scenarios::runner::{RunOptions, run};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/echo/ping-storm.ron");
    let s = scenarios::load::load(std::path::Path::new(path)).unwrap();
    let r = run(&s, RunOptions::default()).unwrap();
    let text = r.summary.render();
    let mut duplicated = 0;
    for (kind, c) in &r.summary.messages {
        // Every copy the network made is delivered, dropped or still on the wire.
        assert!(
            c.sent + c.duplicated >= c.delivered + c.dropped,
            "{kind}: {c:?}"
        );
        assert!(
            text.contains(&format!("{:>7} duplicated", c.duplicated)),
            "{text}"
        );
        duplicated += c.duplicated;
    }
    assert!(duplicated > 0, "ping-storm duplicates messages: {text}");
}

fn data_of(file: &str) -> (scenarios::format::Scenario, reports::RunData) {
    use scenarios::runner::RunOptions;
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let s = scenarios::load::load(std::path::Path::new(&path)).unwrap();
    let (run, window) = scenarios::report_data::run_with_window(&s, RunOptions::default()).unwrap();
    let data = scenarios::report_data::run_data(&s, &run, window, None);
    (s, data)
}

fn extra<'a>(data: &'a reports::RunData, name: &str) -> Option<&'a reports::extra::ExtraFigure> {
    data.extra_figures.iter().find(|f| f.name == name)
}

/// A leader-based run's report shows who led when: one span per node and term, the
/// crashed leader's span ending at its crash, and never two leaders in one term.
#[test]
fn the_leader_timeline_follows_elections_and_crashes() {
    use reports::extra::ExtraPlot;
    let (_, data) = data_of("raft/leader-crash.ron");
    let fig = extra(&data, "leaders").expect("Raft's report has a leader timeline");
    let ExtraPlot::Spans { lanes, spans, .. } = &fig.plot else {
        panic!("spans")
    };
    assert_eq!(lanes.len(), 5);
    assert!(
        spans.len() >= 2,
        "a leader before the crash and one after: {spans:?}"
    );
    let mut terms: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
    terms.sort_unstable();
    let before = terms.len();
    terms.dedup();
    assert_eq!(terms.len(), before, "one leader per term: {spans:?}");
    let crash = data
        .faults
        .iter()
        .find(|f| f.kind == "crash")
        .expect("the scenario crashes the leader");
    let crashed = crash.nodes[0].index();
    let at = crash.at.as_nanos() as f64 / 1e6;
    assert!(
        spans
            .iter()
            .any(|s| s.lane == crashed && (s.end_ms - at).abs() < 1e-9 && !s.open),
        "the crashed leader's span ends at the crash ({at} ms): {spans:?}"
    );
    let (_, echo) = data_of("echo/ping-storm.ron");
    assert!(extra(&echo, "leaders").is_none(), "Echo has no leaders");
}

/// Each family's own figure: 2PC's blocking (with the participants left uncertain by the
/// coordinator's crash) and gossip's coverage by round, reaching every node.
#[test]
fn family_figures_show_blocking_and_coverage() {
    use reports::extra::ExtraPlot;
    let (_, data) = data_of("2pc/coordinator-crash.ron");
    let fig = extra(&data, "blocking").expect("2PC's report shows blocking");
    let ExtraPlot::Spans { spans, .. } = &fig.plot else {
        panic!("spans")
    };
    let longest = spans
        .iter()
        .map(|s| s.end_ms - s.start_ms)
        .fold(0.0, f64::max);
    assert!(
        longest > 500.0,
        "the coordinator's crash blocks someone for long: {longest} ms"
    );
    // 2PC's coordinator leads without terms.
    let leaders = extra(&data, "leaders").expect("the coordinator leads");
    let ExtraPlot::Spans { spans, .. } = &leaders.plot else {
        panic!("spans")
    };
    assert!(
        !spans.is_empty() && spans.iter().all(|s| s.label == "leading"),
        "{spans:?}"
    );

    let (_, gossip) = data_of("gossip/push-pull-10.ron");
    let fig = extra(&gossip, "coverage").expect("gossip's report shows coverage");
    let ExtraPlot::Lines { series, .. } = &fig.plot else {
        panic!("lines")
    };
    let mean = &series[0].points;
    assert!(
        mean.windows(2).all(|w| w[1].1 >= w[0].1),
        "coverage never falls: {mean:?}"
    );
    assert_eq!(mean.last().map(|p| p.1), Some(100.0), "{mean:?}");

    let dir = out_dir("extra");
    reports::write_run_report(&gossip, &dir).unwrap();
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("id=\"coverage\""),
        "the page shows the figure"
    );
    assert!(dir.join("coverage.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
