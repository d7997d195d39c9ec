//! A fuzz campaign as JUnit XML, the format CI dashboards read: per scenario file, one
//! test case for the campaign as a whole and one per seed that failed or stayed
//! undecided (passing seeds would only bury them).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::FuzzLine;

/// How undecided seeds are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undecided {
    /// As errors: the campaign did not show what it was meant to.
    Error,
    /// As skipped (`--allow-undecided`).
    Skipped,
}

/// The JUnit XML of `lines`.
pub fn junit(lines: &[FuzzLine], undecided: Undecided) -> String {
    let mut by_file: BTreeMap<&str, Vec<&FuzzLine>> = BTreeMap::new();
    for l in lines {
        by_file.entry(l.file.as_str()).or_default().push(l);
    }
    let count =
        |ls: &[&FuzzLine], f: &dyn Fn(&FuzzLine) -> bool| ls.iter().filter(|l| f(l)).count();
    let all: Vec<&FuzzLine> = lines.iter().collect();
    let undecided_as_error = undecided == Undecided::Error;
    let totals = Counts::of(&all, undecided_as_error);
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"faultline fuzz\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        totals.cases, totals.failures, totals.errors, totals.skipped
    );
    for (file, ls) in &by_file {
        let c = Counts::of(ls, undecided_as_error);
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml(file),
            c.cases,
            c.failures,
            c.errors,
            c.skipped,
            ls.iter().map(|l| l.wall_ms).sum::<f64>() / 1e3
        );
        let class = format!("faultline.fuzz.{}", ls[0].scenario);
        let failed = count(ls, &|l| l.failed());
        let open = count(ls, &|l| !l.passed() && !l.failed());
        let _ = write!(
            o,
            "    <testcase classname=\"{}\" name=\"campaign: {} seeds\">",
            xml(&class),
            ls.len()
        );
        if failed > 0 {
            let _ = write!(
                o,
                "<failure message=\"{failed} of {} seeds failed\" type=\"campaign\"/>",
                ls.len()
            );
        } else if open > 0 && undecided_as_error {
            let _ = write!(
                o,
                "<error message=\"{open} of {} seeds undecided\" type=\"undecided\"/>",
                ls.len()
            );
        }
        o.push_str("</testcase>\n");
        for l in ls.iter().filter(|l| !l.passed()) {
            let _ = write!(
                o,
                "    <testcase classname=\"{}\" name=\"seed {}\" time=\"{:.3}\">",
                xml(&class),
                l.seed,
                l.wall_ms / 1e3
            );
            let what = l.violation.as_deref().unwrap_or("");
            let detail = format!(
                "{} seed {}: {}{}; fingerprint {}, {} events, ended: {}",
                l.file,
                l.seed,
                l.verdict,
                if what.is_empty() {
                    String::new()
                } else {
                    format!(" ({what})")
                },
                l.fingerprint,
                l.events,
                l.end_reason
            );
            match l.verdict.as_str() {
                "error" => {
                    let _ = write!(
                        o,
                        "<error message=\"{}\" type=\"error\">{}</error>",
                        xml(what),
                        xml(&detail)
                    );
                }
                "violation" | "missed" => {
                    let _ = write!(
                        o,
                        "<failure message=\"{} {}\" type=\"{}\">{}</failure>",
                        l.verdict,
                        xml(what),
                        l.verdict,
                        xml(&detail)
                    );
                }
                _ => {
                    let message = format!("undecided: {}", l.undecided.join(", "));
                    if undecided_as_error {
                        let _ = write!(
                            o,
                            "<error message=\"{}\" type=\"undecided\">{}</error>",
                            xml(&message),
                            xml(&detail)
                        );
                    } else {
                        let _ = write!(o, "<skipped message=\"{}\"/>", xml(&message));
                    }
                }
            }
            o.push_str("</testcase>\n");
        }
        o.push_str("  </testsuite>\n");
    }
    o.push_str("</testsuites>\n");
    o
}

/// Test cases by outcome, as JUnit counts them.
struct Counts {
    cases: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(ls: &[&FuzzLine], undecided_as_error: bool) -> Self {
        let n = |f: &dyn Fn(&FuzzLine) -> bool| ls.iter().filter(|l| f(l)).count();
        let failed = n(&|l| matches!(l.verdict.as_str(), "violation" | "missed"));
        let errors = n(&|l| l.verdict == "error");
        let undecided = n(&|l| !l.passed() && !l.failed());
        let files = ls
            .iter()
            .map(|l| l.file.as_str())
            .collect::<std::collections::BTreeSet<_>>();
        // Each file's summary case fails with any failed seed, or errs with an undecided
        // one when those count.
        let summary_failures = files
            .iter()
            .filter(|f| ls.iter().any(|l| l.file == **f && l.failed()))
            .count();
        let summary_errors = files
            .iter()
            .filter(|f| {
                undecided_as_error
                    && !ls.iter().any(|l| l.file == **f && l.failed())
                    && ls
                        .iter()
                        .any(|l| l.file == **f && !l.passed() && !l.failed())
            })
            .count();
        Counts {
            cases: files.len() + failed + errors + undecided,
            failures: failed + summary_failures,
            errors: errors + summary_errors + if undecided_as_error { undecided } else { 0 },
            skipped: if undecided_as_error { 0 } else { undecided },
        }
    }
}

/// `s` escaped for XML text and attributes.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(file: &str, seed: u64, verdict: &str, violation: Option<&str>) -> FuzzLine {
        FuzzLine {
            file: file.into(),
            scenario: "raft/nemesis".into(),
            seed,
            verdict: verdict.into(),
            violation: violation.map(str::to_string),
            undecided: if verdict == "undecided" {
                vec!["linearizability".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        }
    }

    #[test]
    fn failing_and_undecided_seeds_are_cases_and_passes_are_not() {
        let lines = vec![
            line("a.ron", 0, "pass", None),
            line("a.ron", 1, "violation", Some("election_safety & <x>")),
            line("a.ron", 2, "undecided", None),
            line("b.ron", 0, "expected", Some("atomicity")),
            line("b.ron", 1, "missed", Some("atomicity")),
        ];
        let x = junit(&lines, Undecided::Error);
        assert!(x.starts_with("<?xml"), "{x}");
        // a: summary + 2 seeds; b: summary + 1 seed.
        assert!(
            x.contains("<testsuites name=\"faultline fuzz\" tests=\"5\" failures=\"4\" errors=\"1\" skipped=\"0\">"),
            "{x}"
        );
        assert!(x.contains("name=\"seed 1\""), "{x}");
        assert!(
            x.contains("election_safety &amp; &lt;x&gt;"),
            "escaped: {x}"
        );
        assert!(x.contains("type=\"missed\""), "{x}");
        assert!(
            !x.contains("name=\"seed 0\""),
            "passing seeds are not cases: {x}"
        );
        assert_eq!(
            x.matches("<testcase").count(),
            x.matches("</testcase>").count()
        );
        let y = junit(&lines, Undecided::Skipped);
        assert!(
            y.contains("<skipped message=\"undecided: linearizability\"/>"),
            "{y}"
        );
        assert!(y.contains("errors=\"0\" skipped=\"1\""), "{y}");
    }

    #[test]
    fn an_all_passing_campaign_is_one_passing_case_per_file() {
        let lines: Vec<FuzzLine> = (0..10).map(|s| line("a.ron", s, "pass", None)).collect();
        let x = junit(&lines, Undecided::Error);
        assert!(x.contains("tests=\"1\" failures=\"0\" errors=\"0\""), "{x}");
        assert!(x.contains("name=\"campaign: 10 seeds\"></testcase>"), "{x}");
    }
}
