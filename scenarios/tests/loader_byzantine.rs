//! The loader on Byzantine nodes and Twins: a misspelt behaviour is named with the
//! closest one, and more Byzantine nodes than the model allows, a model without them, a
//! node named twice or a twin that does not exist are errors at their field.

use scenarios::load::{LoadError, parse};

const GOOD: &str = r#"(
    name: "t",
    duration: "2s",
    nodes: 4,
    protocol: Pbft(()),
    model: (nodes: Byzantine(f: 1)),
    byzantine: [(node: 3, behaviour: Silent)],
)"#;

fn err(text: &str) -> LoadError {
    match parse(text, "t.ron") {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn named_byzantine_nodes_and_twins_load() {
    let s = parse(GOOD, "t.ron").unwrap();
    assert_eq!(s.byzantine.len(), 1);
    assert_eq!(s.byzantine[0].behaviour.0, "Silent");
    let twins = GOOD.replace(
        "byzantine: [(node: 3, behaviour: Silent)],",
        r#"twins: (nodes: [0], rounds: 3, round: "100ms"),
    faults: [At("1s", Crash(Node(4)))],"#,
    );
    let s = parse(&twins, "t.ron").unwrap();
    assert_eq!(s.twins.as_ref().unwrap().nodes, vec![0]);
    // The twin's slot, node 4, may be named by faults.
    assert_eq!(s.faults.len(), 1);
}

#[test]
fn a_misspelt_behaviour_is_named_with_the_closest_one() {
    let e = err(&GOOD.replace("Silent", "Silnet"));
    assert_eq!(
        (e.line, e.path.as_str()),
        (7, "byzantine[0].behaviour"),
        "{e}"
    );
    assert!(
        e.message
            .contains("Pbft has no Byzantine behaviour \"Silnet\""),
        "{e}"
    );
    assert!(e.message.contains("did you mean \"Silent\"?"), "{e}");
    assert!(
        e.message.contains("Equivocate"),
        "the protocol's own are listed: {e}"
    );
}

#[test]
fn more_byzantine_nodes_than_the_model_allows_is_an_error() {
    let e = err(&GOOD.replace(
        "[(node: 3, behaviour: Silent)]",
        "[(node: 3, behaviour: Silent), (node: 2, behaviour: Replay)]",
    ));
    assert_eq!(e.path, "byzantine", "{e}");
    assert!(e.message.contains("more than the model's f = 1"), "{e}");
    let e = err(&GOOD.replace("model: (nodes: Byzantine(f: 1)),", ""));
    assert!(
        e.message.contains("the model's nodes are not Byzantine"),
        "{e}"
    );
    let e = err(&GOOD.replace(
        "[(node: 3, behaviour: Silent)]",
        "[(node: 3, behaviour: Silent), (node: 3, behaviour: Replay)]",
    ));
    assert!(e.message.contains("node 3 is named twice"), "{e}");
    // Twins count among the Byzantine.
    let e = err(&GOOD.replace(
        "byzantine: [(node: 3, behaviour: Silent)],",
        "byzantine: [(node: 3, behaviour: Silent)], twins: (nodes: [0]),",
    ));
    assert!(e.message.contains("more than the model's f = 1"), "{e}");
    // So do the nemesis's draws.
    let e = err(&GOOD.replace(
        "byzantine: [(node: 3, behaviour: Silent)],",
        "byzantine: [(node: 3, behaviour: Silent)], nemesis: (byzantine: Some((count: 1, behaviours: [Silent]))),",
    ));
    assert!(e.message.contains("(named and drawn)"), "{e}");
}

#[test]
fn twins_must_exist_and_heal_before_the_end() {
    let base = GOOD.replace("byzantine: [(node: 3, behaviour: Silent)],", "TWINS");
    let e = err(&base.replace("TWINS", "twins: (nodes: [4]),"));
    assert_eq!(e.path, "twins.nodes", "{e}");
    assert!(e.message.contains("node 4 does not exist"), "{e}");
    let e = err(&base.replace(
        "TWINS",
        r#"twins: (nodes: [0], rounds: 20, round: "100ms"),"#,
    ));
    assert_eq!(e.path, "twins.rounds", "{e}");
    assert!(e.message.contains("must heal before it"), "{e}");
    // A fault may not name a slot beyond the twins'.
    let e = err(&base.replace(
        "TWINS",
        r#"twins: (nodes: [0]), faults: [At("1s", Crash(Node(5)))],"#,
    ));
    assert!(e.message.contains("node 5 does not exist"), "{e}");
}

#[test]
fn byzantine_nodes_are_cluster_nodes_and_counts_cannot_wrap() {
    let twins = GOOD.replace(
        "byzantine: [(node: 3, behaviour: Silent)],",
        "twins: (nodes: [0]), byzantine: [(node: NODE, behaviour: Silent)],",
    );
    let model = |f: u32| format!("model: (nodes: Byzantine(f: {f})),");
    let twins = twins.replace(&model(1), &model(2));
    let e = err(&twins.replace("NODE", "4"));
    assert!(e.message.contains("a twin's second instance"), "{e}");
    let e = err(&twins.replace("NODE", "0"));
    assert!(
        e.message.contains("twinned, which makes it Byzantine"),
        "{e}"
    );
    // A count near u32::MAX must not wrap round to a small total.
    let e = err(&GOOD.replace(
        "byzantine: [(node: 3, behaviour: Silent)],",
        "byzantine: [(node: 3, behaviour: Silent)], nemesis: (byzantine: Some((count: 4294967295, behaviours: [Replay]))),",
    ));
    assert_eq!(e.path, "nemesis.byzantine.count", "{e}");
}

#[test]
fn more_byzantine_nodes_than_the_protocol_tolerates_must_expect_a_violation() {
    let two = GOOD.replace("Byzantine(f: 1)", "Byzantine(f: 2)").replace(
        "[(node: 3, behaviour: Silent)]",
        "[(node: 3, behaviour: Silent), (node: 2, behaviour: Silent)]",
    );
    let e = err(&two);
    assert!(
        e.message
            .contains("more than the 1 Pbft tolerates with 4 nodes"),
        "{e}"
    );
    let expecting = two.replace(
        "byzantine: [",
        "checks: [Invariants, Linearizable], expect: Violation(\"agreement\"), byzantine: [",
    );
    assert!(parse(&expecting, "t.ron").is_ok());
}

#[test]
fn twins_partitions_stay_inside_the_model_and_the_mesh() {
    let base = GOOD.replace(
        "byzantine: [(node: 3, behaviour: Silent)],",
        r#"twins: (nodes: [0], rounds: 4, round: "250ms"),"#,
    );
    let e = err(&base.replace(
        "model: (nodes: Byzantine(f: 1)),",
        r#"model: (nodes: Byzantine(f: 1), timing: PartiallySynchronous("500ms")),"#,
    ));
    assert_eq!(e.path, "twins.rounds", "{e}");
    assert!(e.message.contains("round 2"), "{e}");
    let e = err(&base.replace(
        "model: (nodes: Byzantine(f: 1)),",
        "model: (nodes: Byzantine(f: 1)), network: (links: [(0, 1), (1, 0)]),",
    ));
    assert!(e.message.contains("not supported"), "{e}");
}

#[test]
fn a_scenario_with_twins_cannot_change_size() {
    let dir = std::env::temp_dir().join(format!("faultline-twins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.ron");
    let text = GOOD.replace(
        "byzantine: [(node: 3, behaviour: Silent)],",
        "twins: (nodes: [0]),",
    );
    std::fs::write(&file, &text).unwrap();
    assert!(scenarios::load::load_with_nodes(&file, 4).is_ok());
    let e = scenarios::load::load_with_nodes(&file, 7).unwrap_err();
    assert!(e.message.contains("cannot be run at another size"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
