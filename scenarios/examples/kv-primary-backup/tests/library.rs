//! The library route: load this crate's scenarios through its registry and fuzz them from
//! `cargo test`, as a protocol's own test suite would.

use std::path::PathBuf;

use scenarios::fuzz::Campaign;
use scenarios::runner::{RunOptions, run};

fn scenario(name: &str) -> (String, scenarios::format::Scenario) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let s = kv_primary_backup::registry()
        .load(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    (path.display().to_string(), s)
}

#[test]
fn the_crash_scenario_passes_every_check_and_is_deterministic() {
    let (_, s) = scenario("crashes.ron");
    let a = run(&s, RunOptions::default()).unwrap();
    assert!(a.summary.as_expected, "{}", a.summary.render());
    assert!(a.summary.ops.ok > 1000, "{}", a.summary.render());
    assert_eq!(a.summary.faults.len(), 6, "{}", a.summary.render());
    let b = run(&s, RunOptions::default()).unwrap();
    assert_eq!(a.summary.fingerprint, b.summary.fingerprint);
}

#[test]
fn the_correct_protocol_survives_the_nemesis() {
    let (file, s) = scenario("nemesis.ron");
    let (results, failures) = Campaign::seeds(0..100).run(&file, &s);
    assert_eq!(results.len(), 100);
    assert!(
        failures.is_empty(),
        "seeds {:?} failed",
        failures
            .iter()
            .map(|f| (f.seed, &f.violation))
            .collect::<Vec<_>>()
    );
    assert!(results.iter().all(|r| r.verdict == "pass"));
}

#[test]
fn fuzzing_finds_reads_from_backups_and_shrinks_a_reproducer() {
    let (file, s) = scenario("nemesis.ron");
    let (_, failures) = Campaign::seeds(0..100)
        .with_bug("read_from_backup")
        .run(&file, &s);
    assert!(
        !failures.is_empty(),
        "no seed of 100 caught read_from_backup"
    );
    let first = &failures[0];
    assert_eq!(first.violation, "linearizability");
    let rep = first.reproducer(&file, Some(100));
    assert!(rep.after.ops <= rep.before.ops && rep.after.duration_ns <= rep.before.duration_ns);
    let again = run(&rep.scenario, RunOptions::default()).unwrap();
    assert!(again.summary.as_expected, "{}", again.summary.render());
    let out = std::env::temp_dir().join(format!("pb-reproducer-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let saved = rep.save(&out).unwrap();
    let back = kv_primary_backup::registry().load(&saved.path).unwrap();
    assert_eq!(
        back.fingerprint.as_deref(),
        Some(again.summary.fingerprint.as_str())
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn faultlines_own_registry_does_not_know_the_protocol() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/crashes.ron");
    let e = scenarios::Registry::builtin().load(&path).unwrap_err();
    assert_eq!(e.path, "protocol", "{e}");
    assert!(e.message.contains("unknown name `PrimaryBackup`"), "{e}");
}

#[test]
fn explore_searches_an_outside_protocol_too() {
    let (_, s) = scenario("crashes.ron");
    let e = scenarios::registry::explore(
        &s,
        scenarios::explore::ExploreOptions {
            spec: scenarios::explore::ExploreSpec {
                crashes: 1,
                max_states: Some(2000),
                ..Default::default()
            },
            strategy: scenarios::sim_core::explore::Strategy::BreadthFirst,
            bugs: Vec::new(),
            keep_going: Box::new(|_| true),
            jobs: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.report.distinct, 2000);
    assert!(
        e.checked.iter().any(|c| c == "prefix_agreement"),
        "{:?}",
        e.checked
    );
    assert!(e.report.found.is_none(), "{:?}", e.report.found);
}
