//! The scenario loader: every class of bad input is an error naming file, line, column,
//! field and what was expected — and nothing makes it panic.

use rand::{Rng, SeedableRng};
use scenarios::format::FaultSpec;
use scenarios::load::{LoadError, parse};

const GOOD: &str = r#"(
    name: "t",
    duration: "2s",
    nodes: 3,
    protocol: Echo(()),
    faults: [
        At("1s", Crash(Node(2))),
    ],
)"#;

fn err(text: &str) -> LoadError {
    match parse(text, "t.ron") {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn a_good_file_loads_with_defaults() {
    let s = parse(GOOD, "t.ron").unwrap();
    assert_eq!(s.nodes, 3);
    assert_eq!(s.seed, 0);
    assert_eq!(s.faults.len(), 1);
    assert_eq!(s.expect, scenarios::format::Expect::Pass);
}

#[test]
fn unknown_field_names_line_column_and_suggests() {
    let e = err(&GOOD.replace("nodes: 3", "nodse: 3"));
    assert_eq!((e.file.as_str(), e.line, e.col), ("t.ron", 4, 5), "{e}");
    assert!(e.message.contains("unknown field `nodse`"), "{e}");
    assert!(e.message.contains("did you mean `nodes`?"), "{e}");
}

#[test]
fn unknown_protocol_suggests_the_closest() {
    let e = err(&GOOD.replace("Echo(())", "Ehco(())"));
    assert_eq!(e.line, 5, "{e}");
    assert_eq!(e.path, "protocol", "{e}");
    assert!(e.message.contains("did you mean `Echo`?"), "{e}");
}

#[test]
fn mistakes_in_a_protocols_settings_name_the_setting_and_suggest() {
    let e = err(&GOOD.replace("Echo(())", "Raft((red_mode: Lease))"));
    assert_eq!(
        (e.line, e.col, e.path.as_str()),
        (5, 21, "protocol.Raft.red_mode"),
        "{e}"
    );
    assert!(
        e.message
            .starts_with("unknown field `red_mode`; expected one of "),
        "{e}"
    );
    assert!(e.message.contains("did you mean `read_mode`?"), "{e}");
    let e = err(&GOOD.replace("Echo(())", "Raft((read_mode: Leese))"));
    assert_eq!(e.path, "protocol.Raft.read_mode", "{e}");
    assert!(
        e.message.contains(
            "unknown name `Leese`; expected one of ReadIndex, Log, Lease; did you mean `Lease`?"
        ),
        "{e}"
    );
    let e = err(&GOOD.replace("Echo(())", "Raft((snapshot_every: \"x\"))"));
    assert_eq!(e.path, "protocol.Raft.snapshot_every", "{e}");
    assert_eq!(e.message, "expected integer", "{e}");
    let e = err(&GOOD.replace("Echo(())", "Raft((snapshot_every: 1, snapshot_every: 2))"));
    assert_eq!(e.message, "field `snapshot_every` is given twice", "{e}");
    let e = err(&GOOD.replace("Echo(())", "Raft((snapshot_every: 99999999999999999999))"));
    assert!(e.message.starts_with(char::is_lowercase), "{e}");
}

#[test]
fn unknown_fault_kind_has_its_path() {
    let e = err(&GOOD.replace("Crash(Node(2))", "Crsh(Node(2))"));
    assert_eq!(e.line, 7, "{e}");
    assert!(e.path.starts_with("faults[0]"), "{e}");
    assert!(e.message.contains("did you mean `Crash`?"), "{e}");
}

#[test]
fn node_ids_out_of_range() {
    let e = err(&GOOD.replace("Node(2)", "Node(3)"));
    assert_eq!(e.line, 7, "{e}");
    assert!(e.message.contains("node 3 does not exist"), "{e}");
    assert!(e.message.contains("numbered 0 to 2"), "{e}");
    let e = err(&GOOD.replace(
        "At(\"1s\", Crash(Node(2)))",
        "At(\"1s\", Partition([[0], [5]]))",
    ));
    assert!(e.message.contains("node 5 does not exist"), "{e}");
}

#[test]
fn zero_negative_and_malformed_durations() {
    let e = err(&GOOD.replace("\"2s\"", "\"0s\""));
    assert_eq!((e.line, e.path.as_str()), (3, "duration"), "{e}");
    assert!(e.message.contains("longer than zero"), "{e}");
    let e = err(&GOOD.replace("\"2s\"", "\"-2s\""));
    assert!(e.message.contains("invalid duration"), "{e}");
    let e = err(&GOOD.replace("\"2s\"", "\"2 parsecs\""));
    assert!(e.message.contains("unknown unit"), "{e}");
}

#[test]
fn probabilities_outside_zero_one() {
    let e = err(&GOOD.replace("nodes: 3,", "nodes: 3, network: (loss: 1.5),"));
    assert_eq!(e.path, "network.loss", "{e}");
    assert!(
        e.message.contains("expected a probability between 0 and 1"),
        "{e}"
    );
}

#[test]
fn unknown_bug_switch() {
    let e = err(&GOOD.replace("nodes: 3,", "nodes: 3, bugs: [\"forget_votes\"],"));
    assert!(e.path.starts_with("bugs"), "{e}");
    assert!(
        e.message
            .contains("Echo has no bug switch \"forget_votes\""),
        "{e}"
    );
}

#[test]
fn workload_the_protocol_does_not_serve() {
    let e = err(&GOOD.replace("nodes: 3,", "nodes: 3, workload: KeyValue((clients: 2)),"));
    assert_eq!(e.path, "workload.KeyValue", "{e}");
    assert!(
        e.message.contains("Echo serves no key-value clients"),
        "{e}"
    );
}

#[test]
fn checks_that_do_not_fit_the_protocols_family_are_rejected_where_they_stand() {
    let e = err(&GOOD.replace(
        "nodes: 3,",
        "nodes: 3, checks: [Invariants, Liveness(within: \"1s\")],",
    ));
    assert_eq!((e.line, e.path.as_str()), (4, "checks"), "{e}");
    assert!(
        e.message.starts_with("Liveness does not apply to Echo"),
        "{e}"
    );
    let raft = GOOD.replace("Echo(())", "Raft(())").replace(
        "nodes: 3,",
        "nodes: 3,\n    checks: [Coverage(fraction: 1.0)],",
    );
    let e = err(&raft);
    assert_eq!(e.line, 5, "{e}");
    assert!(
        e.message
            .contains("its checks are Invariants, Linearizable, Liveness"),
        "{e}"
    );
    let commit = GOOD
        .replace("Echo(())", "TwoPhaseCommit(())")
        .replace("nodes: 3,", "nodes: 3, checks: [Linearizable],");
    assert!(
        err(&commit)
            .message
            .starts_with("Linearizable does not apply to TwoPhaseCommit")
    );
    // The fitting ones load.
    let ok = GOOD.replace("Echo(())", "Raft(())").replace(
        "nodes: 3,",
        "nodes: 3, checks: [Invariants, Linearizable, Liveness(within: \"1s\")],",
    );
    parse(&ok, "t.ron").unwrap();
}

#[test]
fn an_expected_violation_must_be_one_a_check_can_report() {
    let raft = GOOD
        .replace("Echo(())", "Raft(())")
        .replace("nodes: 3,", "nodes: 3, checks: [Invariants, Linearizable],");
    let e = err(&raft.replace(
        "    faults:",
        "    expect: Violation(\"linearizabilty\"),\n    faults:",
    ));
    assert_eq!((e.line, e.path.as_str()), (6, "expect"), "{e}");
    assert!(
        e.message.contains("did you mean \"linearizability\"?"),
        "{e}"
    );
    assert!(
        e.message.contains("vote_once"),
        "the invariants are named: {e}"
    );
    // An invariant of the protocol, and a check of the scenario, are fine.
    for ok in ["vote_once", "linearizability", "invariants"] {
        let text = raft.replace(
            "    faults:",
            &format!("    expect: Violation(\"{ok}\"),\n    faults:"),
        );
        parse(&text, "t.ron").unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    // A check the scenario does not run cannot report one.
    let e = err(&raft.replace(
        "    faults:",
        "    expect: Violation(\"liveness\"),\n    faults:",
    ));
    assert!(e.message.contains("no check of this scenario"), "{e}");
}

#[test]
fn settings_that_cannot_work_are_errors_at_their_place() {
    let e = err(&GOOD.replace(
        "Echo(())",
        "Raft((election_timeout_min: \"400ms\", election_timeout_max: \"300ms\"))",
    ));
    assert_eq!((e.line, e.col), (5, 21), "{e}");
    assert_eq!(e.path, "protocol.Raft.election_timeout_min", "{e}");
    assert!(e.message.contains("above election_timeout_max"), "{e}");
    let e = err(&GOOD.replace("Echo(())", "Raft((heartbeat_interval: \"200ms\"))"));
    assert_eq!(e.path, "protocol.Raft.heartbeat_interval", "{e}");
    let e = err(&GOOD.replace("Echo(())", "Raft((initial_members: [0, 1, 5]))"));
    assert!(e.message.contains("node 5 does not exist"), "{e}");
    let e = err(&GOOD.replace("Echo(())", "TwoPhaseCommit((coordinator: 3))"));
    assert_eq!(e.path, "protocol.TwoPhaseCommit.coordinator", "{e}");
    let e = err(&GOOD.replace("Echo(())", "ThreePhaseCommit((tick: \"0ms\"))"));
    assert_eq!(e.path, "protocol.ThreePhaseCommit.tick", "{e}");
    let e = err(&GOOD.replace(
        "Crash(Node(2))",
        "ClockDrift(target: Node(1), ppm: -2000000)",
    ));
    assert_eq!(e.line, 7, "{e}");
    assert!(e.message.contains("-2000000 ppm"), "{e}");
    // The defaults, and sensible values, load.
    for ok in [
        "Raft(())",
        "TwoPhaseCommit(())",
        "ThreePhaseCommit(())",
        "Gossip(())",
    ] {
        parse(&GOOD.replace("Echo(())", ok), "t.ron").unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn faults_outside_the_model_say_why() {
    let crash_stop = GOOD
        .replace("nodes: 3,", "nodes: 3, model: (nodes: CrashStop),")
        .replace("Crash(Node(2))", "Restart(Node(2))");
    let e = err(&crash_stop);
    assert!(
        e.message
            .contains("Restart restarts nodes, impossible under the CrashStop"),
        "{e}"
    );
    let reliable = GOOD
        .replace("nodes: 3,", "nodes: 3, model: (network: Reliable),")
        .replace("Crash(Node(2))", "Partition([[0], [1, 2]])");
    assert!(
        err(&reliable)
            .message
            .contains("Reliable network never does")
    );
    let gst = GOOD
        .replace(
            "nodes: 3,",
            "nodes: 3, model: (timing: PartiallySynchronous(\"500ms\")),",
        )
        .replace("Crash(Node(2))", "Pause(Node(2))");
    assert!(
        err(&gst)
            .message
            .contains("after the global stabilisation time")
    );
    let late = GOOD.replace("At(\"1s\"", "At(\"3s\"");
    assert!(err(&late).message.contains("after the end of the run"));
}

#[test]
fn membership_changes_name_existing_nodes() {
    let s = parse(&GOOD.replace("Crash(Node(2))", "AddNode(2)"), "t.ron").unwrap();
    assert_eq!(s.faults[0].fault().kind(), "AddNode");
    let e = err(&GOOD.replace("Crash(Node(2))", "RemoveNode(3)"));
    assert!(e.message.contains("node 3 does not exist"), "{e}");
}

#[test]
fn next_leaders_loads_with_defaults_and_respects_the_model() {
    let watch = "NextLeaders(after: Uniform(\"0ms\", \"20ms\"), down: \"50ms\", action: Crash)";
    let s = parse(&GOOD.replace("Crash(Node(2))", watch), "t.ron").unwrap();
    let FaultSpec::NextLeaders {
        times,
        within,
        at_once,
        ..
    } = s.faults[0].fault()
    else {
        panic!("{:?}", s.faults);
    };
    assert_eq!((*times, *within, *at_once), (1, None, 1));
    let crash_stop = GOOD
        .replace("nodes: 3,", "nodes: 3, model: (nodes: CrashStop),")
        .replace("Crash(Node(2))", watch);
    assert!(
        err(&crash_stop)
            .message
            .contains("NextLeaders restarts nodes, impossible under the CrashStop"),
        "{}",
        err(&crash_stop)
    );
    let typo = GOOD.replace("Crash(Node(2))", &watch.replace("down:", "dwn:"));
    let e = err(&typo);
    assert!(e.message.contains("dwn"), "{e}");
}

#[test]
fn syntax_errors_and_trailing_text() {
    let e = err(&GOOD.replace("nodes: 3,", "nodes: 3"));
    assert!(e.line >= 4, "{e}");
    let e = err(&format!("{GOOD} ()"));
    assert!(
        e.message.contains("unexpected text after the scenario"),
        "{e}"
    );
    let e = err("");
    assert_eq!(e.file, "t.ron");
}

#[test]
fn a_missing_file_is_an_error() {
    let e = scenarios::load::load(std::path::Path::new("/no/such/file.ron")).unwrap_err();
    assert!(e.message.contains("cannot read the file"), "{e}");
}

/// Random bytes and random mutations of real files never panic the loader.
#[test]
fn random_and_mutated_inputs_never_panic() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    let mut corpus: Vec<String> = vec![GOOD.to_string()];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/echo");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        corpus.push(std::fs::read_to_string(e.path()).unwrap());
    }
    let tokens = [
        "(", ")", "[", "]", ",", ":", "\"", "1e400", "-1", "Some(", "At(", "\"0s\"", "Node(99)",
        "\u{0}", "é", "r#\"",
    ];
    let mut parsed = 0;
    for i in 0..3000 {
        let mut text: Vec<u8> = if i % 10 == 0 {
            (0..rng.random_range(0..200))
                .map(|_| rng.random())
                .collect()
        } else {
            corpus[rng.random_range(0..corpus.len())]
                .clone()
                .into_bytes()
        };
        for _ in 0..rng.random_range(1..4) {
            if text.is_empty() {
                break;
            }
            let at = rng.random_range(0..text.len());
            match rng.random_range(0..3) {
                0 => {
                    text.remove(at);
                }
                1 => text[at] = rng.random(),
                _ => {
                    let t = tokens[rng.random_range(0..tokens.len())];
                    text.splice(at..at, t.bytes());
                }
            }
        }
        let s = String::from_utf8_lossy(&text);
        if parse(&s, "fuzz.ron").is_ok() {
            parsed += 1;
        }
    }
    // Some mutations are harmless (inside comments or descriptions), most are not.
    assert!(parsed < 3000);
}

/// The Byzantine example in FORMAT.md loads too.
#[test]
fn the_format_byzantine_example_loads() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/FORMAT.md")).unwrap();
    let section = &doc[doc
        .find("## Byzantine nodes and Twins")
        .expect("the section")..];
    let start = section.find("```ron\n").expect("an example") + "```ron\n".len();
    let end = start + section[start..].find("```").expect("its end");
    let s = parse(&section[start..end], "FORMAT.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.byzantine.len(), 1);
    assert_eq!(s.twins.as_ref().map(|t| t.rounds), Some(6));
    // The named one and one drawn per seed (the twin is the third).
    let drawn = scenarios::byzantine::byzantine_for(&s, 5);
    assert_eq!(drawn.len(), 2, "{drawn:?}");
    assert!(
        s.nemesis
            .as_ref()
            .and_then(|n| n.byzantine.as_ref())
            .is_some()
    );
}

/// The annotated example in FORMAT.md is a scenario that loads, so the reference cannot
/// drift from the format.
#[test]
fn the_format_reference_example_loads() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/FORMAT.md")).unwrap();
    let start = doc.find("```ron\n").expect("an example") + "```ron\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    let s = parse(&doc[start..end], "FORMAT.md").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        s.faults.len() > 10 && s.nemesis.is_some(),
        "the whole example"
    );
    assert_eq!(s.explore.as_ref().and_then(|e| e.timers), Some(6));
    assert_eq!(
        s.schedule.as_ref().map(Vec::len),
        Some(12),
        "every kind of step"
    );
}

const NAMED: &str = r#"(
    name: "t",
    duration: "2s",
    nodes: 5,
    names: ["ams", "ber", "cdg", "dub", "fra"],
    protocol: Echo(()),
    network: (regions: (nodes: [0, 0, 1, 1, 1], names: ["west", "east"],
        latency: [[Constant("1ms"), Constant("30ms")], [Constant("30ms"), Constant("1ms")]])),
    faults: [
        At("1s", GROUPS),
    ],
)"#;

fn groups_of(fault: &str) -> Result<FaultSpec, LoadError> {
    parse(&NAMED.replace("GROUPS", fault), "t.ron").map(|s| s.faults[0].fault().clone())
}

/// Partitions and cuts take ids, ranges, node and region names (resolved to ids when
/// read) and the targets crashes take (chosen when the fault happens).
#[test]
fn partition_and_cut_groups_take_ranges_names_regions_and_targets() {
    use scenarios::groups::{Chosen, GroupSpec};
    let ids =
        |v: &[u32]| GroupSpec::Nodes(v.iter().map(|&i| scenarios::checked::NodeRef(i)).collect());
    assert_eq!(
        groups_of(r#"Partition([["ams", "2..=3"], ["fra"]])"#).unwrap(),
        FaultSpec::Partition(vec![ids(&[0, 2, 3]), ids(&[4])])
    );
    assert_eq!(
        groups_of(r#"Partition(["east"])"#).unwrap(),
        FaultSpec::Partition(vec![ids(&[2, 3, 4])])
    );
    assert_eq!(
        groups_of(r#"Partition(["0..2", [4]])"#).unwrap(),
        FaultSpec::Partition(vec![ids(&[0, 1]), ids(&[4])])
    );
    assert_eq!(
        groups_of("Partition([Leader, RandomMinority])").unwrap(),
        FaultSpec::Partition(vec![
            GroupSpec::Chosen(Chosen::Leader),
            GroupSpec::Chosen(Chosen::RandomMinority)
        ])
    );
    assert_eq!(
        groups_of(r#"Cut(from: Leader, to: "west")"#).unwrap(),
        FaultSpec::Cut {
            from: GroupSpec::Chosen(Chosen::Leader),
            to: ids(&[0, 1])
        }
    );
    // The old form reads as it always did.
    assert_eq!(
        groups_of("Cut(from: [0], to: [1, 2])").unwrap(),
        FaultSpec::Cut {
            from: ids(&[0]),
            to: ids(&[1, 2])
        }
    );
}

#[test]
fn bad_groups_and_names_are_positioned_errors() {
    let e = groups_of(r#"Partition([["amz"]])"#).unwrap_err();
    assert_eq!(e.line, 10, "{e}");
    assert!(
        e.message
            .contains("no node or region is named \"amz\"; did you mean \"ams\"?"),
        "{e}"
    );
    let e = groups_of(r#"Partition(["3..9"])"#).unwrap_err();
    assert!(e.message.contains("node 5 does not exist"), "{e}");
    let e = groups_of(r#"Partition(["3..x"])"#).unwrap_err();
    assert!(e.message.contains("is not a range of node ids"), "{e}");
    let e = groups_of(r#"Partition([Leaderr])"#).unwrap_err();
    assert_eq!(e.line, 10, "{e}");
    assert!(e.message.contains("did you mean Leader?"), "{e}");
    let e = groups_of("Partition([[1.5]])").unwrap_err();
    assert!(e.message.starts_with("expected a group of nodes"), "{e}");

    let e = groups_of(r#"Partition([["ams", "2..=3"], "east"])"#).unwrap_err();
    assert_eq!((e.line, e.path.as_str()), (10, "faults[0]"), "{e}");
    assert!(
        e.message.contains("node 2 is in group 0 and in group 1"),
        "{e}"
    );
    let regions = |names: &str| {
        NAMED
            .replace("GROUPS", "Heal")
            .replace("\"west\", \"east\"", names)
    };
    let e = err(&regions("\"west\", \"Leader\""));
    assert!(e.message.contains("region 1's name \"Leader\""), "{e}");
    let e = err(&regions("\"west\", \"west\""));
    assert!(
        e.message.contains("region name \"west\" is given twice"),
        "{e}"
    );
    let e = err(&NAMED
        .replace("GROUPS", "Heal")
        .replace("\"fra\"]", "\"ams\"]"));
    assert_eq!((e.line, e.path.as_str()), (5, "names"), "{e}");
    assert!(e.message.contains("\"ams\" is given twice"), "{e}");
    let e = err(&NAMED.replace("GROUPS", "Heal").replace(", \"fra\"]", "]"));
    assert!(e.message.contains("4 names given for 5 nodes"), "{e}");
    let e = err(&NAMED.replace("GROUPS", "Heal").replace("\"dub\"", "\"3\""));
    assert!(
        e.message.contains("reads as an id, a range or a target"),
        "{e}"
    );
    let e = err(&NAMED
        .replace("GROUPS", "Heal")
        .replace("[\"west\", \"east\"]", "[\"west\"]"));
    assert_eq!(e.path, "network.regions.names", "{e}");
}

/// Groups chosen when the fault happens hit the nodes they name: the leader alone, a
/// minority beside it; a written-out scenario reads back the same.
#[test]
fn chosen_groups_resolve_when_the_fault_happens() {
    let text = r#"(
        name: "t", duration: "2s", nodes: 5, names: ["a", "b", "c", "d", "e"],
        protocol: Raft(()),
        faults: [
            At("1s", Partition([Leader, RandomMinority])),
            At("1500ms", Heal),
            At("1600ms", Cut(from: Leader, to: All)),
        ],
        checks: [Invariants],
    )"#;
    let s = parse(text, "t.ron").unwrap();
    let run = scenarios::runner::run(&s, Default::default()).unwrap();
    let faults = &run.summary.faults;
    assert_eq!(
        faults[0].nodes.len(),
        3,
        "the leader and a minority of 2: {faults:?}"
    );
    assert_eq!(faults[2].nodes.len(), 1, "the leader: {faults:?}");
    assert!(
        faults[0].description.contains("= [[") && !faults[0].description.contains(" n"),
        "the nodes are given their names: {faults:?}"
    );
    let dir = std::env::temp_dir().join(format!("faultline-groups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.ron");
    scenarios::fuzz::write_scenario(&path, &s).unwrap();
    assert_eq!(scenarios::load::load(&path).unwrap(), s);
    let again = scenarios::runner::run(&s, Default::default()).unwrap();
    assert_eq!(again.summary.fingerprint, run.summary.fingerprint);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clients_at_home_need_regions_and_a_conflict_rate_is_a_percent() {
    let kv = r#"(
        name: "t",
        duration: "1s",
        nodes: 3,
        protocol: EPaxos(()),
        workload: KeyValue((clients: 3, ops: 10, client_placement: Home)),
        checks: [Invariants],
    )"#;
    let e = err(kv);
    assert_eq!(e.path, "workload.client_placement", "{e}");
    assert!(e.message.contains("need regions"), "{e}");
    let with_regions = kv.replace(
        "nodes: 3,",
        r#"nodes: 3, network: (regions: (nodes: [0, 1, 1], latency: [[Constant("1ms"), Constant("9ms")], [Constant("9ms"), Constant("1ms")]])),"#,
    );
    assert!(parse(&with_regions, "t.ron").is_ok());
    let e = err(&kv.replace("client_placement: Home", "distribution: Conflict(120)"));
    assert_eq!(e.path, "workload.distribution", "{e}");
    assert!(e.message.contains("percent from 0 to 100"), "{e}");
}
