//! The HTML pages: one self-contained file that embeds the figures by relative link,
//! with no script and nothing fetched from the network. All text is escaped.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use sim_core::history::Outcome;

use crate::data::Percentiles;
use crate::figure::Figure;
use crate::{CompareRun, FuzzLine, ReportError, RunData, io_err};

/// The trace window's file name in a run report folder.
pub const TRACE_WINDOW: &str = "trace-window.jsonl";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1150px;color:#222;line-height:1.4}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.pass{color:#080;font-weight:bold}.fail{color:#c00;font-weight:bold}.unknown{color:#a60;font-weight:bold}\
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{color:#555;font-size:.92em}\
pre{white-space:pre-wrap;font-size:.85em;margin:0}";

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    )
}

fn row(o: &mut String, key: &str, value: &str) {
    let _ = writeln!(
        o,
        "<tr><th>{}</th><td>{}</td></tr>",
        escape(key),
        escape(value)
    );
}

fn status_class(s: &str) -> &'static str {
    match s {
        "pass" => "pass",
        "fail" | "violation" | "error" => "fail",
        _ => "unknown",
    }
}

fn figures_html(o: &mut String, figures: &[Figure]) {
    for f in figures {
        let _ = writeln!(
            o,
            "<figure id=\"{name}\">\n<h3>{title}</h3>\n<img src=\"{name}.svg\" alt=\"{title}\" width=\"{w}\" height=\"{h}\">\n<figcaption>{caption} <a href=\"{name}.png\">PNG</a> · <a href=\"{name}.svg\">SVG</a></figcaption>\n</figure>",
            name = escape(&f.name),
            title = escape(&f.title),
            caption = escape(&f.caption),
            w = f.size.0,
            h = f.size.1,
        );
    }
}

fn write(dir: &Path, html: &str) -> Result<PathBuf, ReportError> {
    let path = dir.join("index.html");
    std::fs::write(&path, html).map_err(io_err(&path))?;
    Ok(path)
}

/// `target` relative to the folder `from`, when both can be resolved.
fn relative(target: &Path, from: &Path) -> Option<String> {
    let t = std::fs::canonicalize(target).ok()?;
    let f = std::fs::canonicalize(from).ok()?;
    let tc: Vec<Component> = t.components().collect();
    let fc: Vec<Component> = f.components().collect();
    let common = tc.iter().zip(&fc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); fc.len() - common];
    parts.extend(
        tc[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(parts.join("/"))
}

fn fmt_ms(v: f64) -> String {
    format!("{v:.3} ms")
}

/// Writes `dir/index.html` for one run and the trace window beside it; returns both.
pub fn write_run_page(
    run: &RunData,
    figures: &[Figure],
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let trace_path = dir.join(TRACE_WINDOW);
    let mut lines = String::new();
    for e in &run.trace {
        let s = serde_json::to_string(e).map_err(|e| ReportError::Input(e.to_string()))?;
        lines.push_str(&s);
        lines.push('\n');
    }
    std::fs::write(&trace_path, lines).map_err(io_err(&trace_path))?;

    let mut o = head(&format!("faultline report: {}", run.scenario));
    o.push_str("<h2>Summary</h2>\n<table>\n");
    row(&mut o, "scenario", &run.scenario);
    row(&mut o, "protocol", &run.protocol);
    row(&mut o, "nodes", &run.nodes.to_string());
    row(&mut o, "seed", &run.seed.to_string());
    if !run.bugs.is_empty() {
        row(&mut o, "bug switches", &run.bugs.join(", "));
    }
    row(&mut o, "fingerprint", &run.fingerprint);
    row(
        &mut o,
        "end reason",
        &format!("{} ({})", run.end_reason, run.end),
    );
    row(&mut o, "virtual time at the end", &run.end_time.to_string());
    row(&mut o, "events", &run.events.to_string());
    for (label, text) in &run.facts {
        row(&mut o, label, text);
    }
    let ops = run.history.ops();
    let count = |f: fn(&Outcome) -> bool| ops.iter().filter(|op| f(&op.outcome)).count();
    row(
        &mut o,
        "client operations",
        &format!(
            "{} invoked: {} ok, {} failed, {} outcome unknown",
            ops.len(),
            count(|o| matches!(o, Outcome::Ok(_))),
            count(|o| matches!(o, Outcome::Failed)),
            count(|o| matches!(o, Outcome::Indeterminate | Outcome::Pending)),
        ),
    );
    let p = Percentiles::of_sorted(&run.sorted_latencies());
    row(
        &mut o,
        "latency",
        &format!(
            "p50 {}, p90 {}, p99 {}, max {}",
            fmt_ms(p.p50),
            fmt_ms(p.p90),
            fmt_ms(p.p99),
            fmt_ms(p.max)
        ),
    );
    let total = run.metrics.total();
    row(
        &mut o,
        "messages",
        &format!(
            "{} sent, {} duplicated by the network, {} delivered, {} dropped, {} bytes",
            total.sent, total.duplicated, total.delivered, total.dropped, total.bytes
        ),
    );
    let _ = writeln!(
        o,
        "<tr><th>verdict</th><td class=\"{}\">{}{}</td></tr>",
        status_class(&run.verdict),
        escape(&run.verdict),
        if run.as_expected {
            " (as expected)"
        } else {
            " (NOT as expected)"
        }
    );
    o.push_str("</table>\n<h2>Checks</h2>\n<table>\n<tr><th>check</th><th>status</th><th>detail</th></tr>\n");
    for c in &run.checks {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td><pre>{}</pre></td></tr>",
            escape(&c.name),
            status_class(&c.status),
            escape(&c.status),
            escape(&c.detail)
        );
    }
    o.push_str("</table>\n");
    if let Some(cx) = &run.counterexample {
        counterexample_html(&mut o, run, cx);
    }
    o.push_str("<h2>Figures</h2>\n");
    figures_html(&mut o, figures);
    o.push_str("<h2>Fault schedule</h2>\n");
    if run.faults.is_empty() {
        o.push_str("<p>No faults were applied.</p>\n");
    } else {
        o.push_str("<table>\n<tr><th>time (virtual)</th><th>fault</th><th>nodes</th><th>description</th></tr>\n");
        for f in &run.faults {
            let nodes: Vec<String> = f.nodes.iter().map(|n| n.0.to_string()).collect();
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&f.at.to_string()),
                escape(&f.kind),
                escape(&nodes.join(", ")),
                escape(&f.description)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("<h2>Trace</h2>\n<ul>\n");
    let _ = writeln!(
        o,
        "<li><a href=\"{TRACE_WINDOW}\">{TRACE_WINDOW}</a>: the {} trace records the space-time diagram draws (JSON lines)</li>",
        run.trace.len()
    );
    if let Some(t) = &run.trace_file {
        match relative(Path::new(t), dir) {
            Some(rel) => {
                let _ = writeln!(
                    o,
                    "<li><a href=\"{}\">{}</a>: the full trace of the run (JSON lines)</li>",
                    escape(&rel),
                    escape(t)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "<li>full trace: {} (not found when the report was written)</li>",
                    escape(t)
                );
            }
        }
    } else {
        o.push_str("<li>The full trace was not recorded: rerun with <code>--trace FILE.jsonl</code>.</li>\n");
    }
    o.push_str("</ul>\n</body>\n</html>\n");
    Ok(vec![write(dir, &o)?, trace_path])
}

/// Writes `dir/index.html` for a fuzz campaign.
pub fn write_fuzz_page(
    lines: &[FuzzLine],
    figures: &[Figure],
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut o = head("faultline fuzz report");
    let failed = lines.iter().filter(|l| l.failed()).count();
    let passed = lines.iter().filter(|l| l.passed()).count();
    let expected = lines.iter().filter(|l| l.verdict == "expected").count();
    o.push_str("<h2>Summary</h2>\n<table>\n");
    row(&mut o, "seeds", &lines.len().to_string());
    row(
        &mut o,
        "passed",
        &if expected > 0 {
            format!("{passed} ({expected} showed the violation their scenario expects)")
        } else {
            passed.to_string()
        },
    );
    row(
        &mut o,
        "failed (unexpected violation, expected violation missed, error)",
        &failed.to_string(),
    );
    row(
        &mut o,
        "undecided (no violation, a check could not decide)",
        &(lines.len() - passed - failed).to_string(),
    );
    let mut scenarios: Vec<&str> = lines.iter().map(|l| l.scenario.as_str()).collect();
    scenarios.sort_unstable();
    scenarios.dedup();
    row(&mut o, "scenarios", &scenarios.join(", "));
    o.push_str("</table>\n<h2>Figures</h2>\n");
    figures_html(&mut o, figures);
    let shown: Vec<&FuzzLine> = lines.iter().filter(|l| !l.passed()).collect();
    if !shown.is_empty() {
        o.push_str("<h2>Seeds that failed or stayed undecided</h2>\n<table>\n<tr><th>scenario</th><th>seed</th><th>verdict</th><th>check</th><th>end reason</th><th>fingerprint</th></tr>\n");
        for l in shown.iter().take(200) {
            let check = match (&l.violation, l.undecided.is_empty()) {
                (Some(v), _) => v.clone(),
                (None, false) => l.undecided.join(", "),
                (None, true) => String::new(),
            };
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&l.scenario),
                l.seed,
                if l.failed() { "fail" } else { "unknown" },
                escape(&l.verdict),
                escape(&check),
                escape(&l.end_reason),
                escape(&l.fingerprint)
            );
        }
        if shown.len() > 200 {
            let _ = writeln!(
                o,
                "<tr><td colspan=\"6\">… and {} more in the results file</td></tr>",
                shown.len() - 200
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body>\n</html>\n");
    Ok(vec![write(dir, &o)?])
}

/// Writes `dir/index.html` for a comparison of runs.
pub fn write_compare_page(
    runs: &[CompareRun],
    figures: &[Figure],
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut o = head("faultline comparison");
    o.push_str("<h2>Runs</h2>\n<table>\n<tr><th>run</th><th>nodes</th><th>seed</th><th>verdict</th><th>ok ops</th><th>p50</th><th>p99</th><th>messages</th><th>messages / op</th><th>expected</th></tr>\n");
    for r in runs {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
            escape(&r.label),
            r.nodes,
            r.seed,
            status_class(&r.verdict),
            escape(&r.verdict),
            r.ok_ops,
            fmt_ms(r.latency.p50),
            fmt_ms(r.latency.p99),
            r.messages,
            r.messages_per_op(),
            r.expected
                .as_ref()
                .map_or("–".to_string(), |(v, f)| format!(
                    "{v:.0} = {}",
                    escape(f)
                ))
        );
    }
    o.push_str("</table>\n<h2>Figures</h2>\n");
    figures_html(&mut o, figures);
    o.push_str("</body>\n</html>\n");
    Ok(vec![write(dir, &o)?])
}

/// The operations of the key that cannot be linearized, the unplaceable ones marked.
fn counterexample_html(o: &mut String, run: &RunData, cx: &crate::CounterexampleData) {
    let _ = writeln!(
        o,
        "<h2>Linearizability counterexample (key {})</h2>\n<p>State after the longest linearizable prefix: <code>{}</code></p>\n<table>\n<tr><th>op</th><th>client</th><th>operation</th><th>invoked</th><th>completed</th><th>outcome</th><th>role</th></tr>",
        cx.key,
        escape(&cx.state)
    );
    let tail = cx.linearized.len().saturating_sub(20);
    let ids = cx.linearized[tail..].iter().chain(&cx.unplaceable);
    for id in ids {
        let Some(op) = run.history.ops().get(*id as usize) else {
            continue;
        };
        let bad = cx.unplaceable.contains(id);
        let _ = writeln!(
            o,
            "<tr{}><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if bad { " class=\"fail\"" } else { "" },
            id,
            op.client,
            escape(&format!("{:?}", op.op)),
            op.invoked,
            op.completed
                .map_or_else(|| "-".to_string(), |c| c.to_string()),
            escape(&format!("{:?}", op.outcome)),
            if bad {
                "cannot be placed"
            } else {
                "linearized"
            }
        );
    }
    o.push_str("</table>\n");
}
