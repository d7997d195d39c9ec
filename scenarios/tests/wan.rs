//! The wide-area figures of `scenarios/epaxos/wan.ron` and its Multi-Paxos and Raft
//! twins, computed from the scenario's own latency matrix and checked against what runs
//! measure: with no conflicts, an EPaxos client's median latency is the round trip to its
//! replica plus that replica's round trip to the closest fast quorum (the analytic figure
//! of fantoch, Enes et al.); a leader-based protocol's is the client's round trip to the
//! leader plus the leader's round trip to its closest majority. Each within 10 %.

use std::path::PathBuf;

use scenarios::format::{Scenario, WorkloadSpec};
use scenarios::runner::{RunOptions, run};
use sim_core::rng::Delay;

fn load(name: &str) -> Scenario {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    scenarios::load::load(&file).unwrap_or_else(|e| panic!("{e}"))
}

/// One-way latency in ms between nodes `a` and `b` (one node per region, constant).
fn one_way(s: &Scenario, a: usize, b: usize) -> f64 {
    let r = s.network.regions.as_ref().expect("regions");
    let (ra, rb) = (r.nodes[a] as usize, r.nodes[b] as usize);
    match &r.latency[ra][rb].0 {
        Delay::Constant(d) => d.as_nanos() as f64 / 1e6,
        other => panic!("the WAN scenario's latencies are constant, found {other:?}"),
    }
}

/// The client's own one-way latency in ms.
fn client_ms(s: &Scenario) -> f64 {
    let WorkloadSpec::KeyValue(kv) = &s.workload else {
        panic!("key-value clients")
    };
    match &kv.client_latency.0 {
        Delay::Constant(d) => d.as_nanos() as f64 / 1e6,
        other => panic!("constant client latency, found {other:?}"),
    }
}

/// Round trip in ms from node `from` to the closest `k` other nodes (the slowest of them).
fn closest_round_trip(s: &Scenario, from: usize, k: usize) -> f64 {
    let mut d: Vec<f64> = (0..s.nodes as usize)
        .filter(|n| *n != from)
        .map(|n| one_way(s, from, n))
        .collect();
    d.sort_by(f64::total_cmp);
    2.0 * d[k - 1]
}

/// Runs `s` and returns the measured median (ms) of the clients of each node's region,
/// in node order, and the node that answered most operations.
fn measure(s: &Scenario) -> (Vec<f64>, usize) {
    let r = run(s, RunOptions::default()).unwrap();
    assert!(r.summary.as_expected, "{}", r.summary.render());
    let by_region = scenarios::regions::median_latency_by_region(s, &r.result.history);
    assert_eq!(
        by_region.len(),
        s.nodes as usize,
        "one region per node: {by_region:?}"
    );
    let regions = s.network.regions.as_ref().expect("regions");
    let medians: Vec<(String, f64)> = (0..s.nodes as usize)
        .map(|n| {
            let name = &regions.names[regions.nodes[n] as usize];
            by_region
                .iter()
                .find(|(r, _)| r == name)
                .cloned()
                .unwrap_or_else(|| panic!("no clients measured in {name}: {by_region:?}"))
        })
        .collect();
    let mut served = vec![0u32; s.nodes as usize];
    for op in r.result.history.ops() {
        if let Some(n) = op.served_by {
            served[n.index()] += 1;
        }
    }
    let leader = (0..served.len()).max_by_key(|n| served[*n]).unwrap();
    (medians.into_iter().map(|(_, m)| m).collect(), leader)
}

fn within_10_percent(what: &str, measured: &[f64], analytic: &[f64]) {
    for (i, (m, a)) in measured.iter().zip(analytic).enumerate() {
        assert!(
            (m - a).abs() <= 0.1 * a,
            "{what}, clients of node {i}: measured median {m:.1} ms, analytic {a:.1} ms (all: {measured:?} against {analytic:?})"
        );
    }
}

#[test]
fn epaxos_median_latency_per_region_is_the_round_trip_to_the_closest_fast_quorum() {
    let s = load("epaxos/wan.ron");
    let fq = protocols::epaxos::fast_quorum(s.nodes, false);
    let analytic: Vec<f64> = (0..s.nodes as usize)
        .map(|i| 2.0 * (client_ms(&s) + one_way(&s, i, i)) + closest_round_trip(&s, i, fq - 1))
        .collect();
    let (measured, _) = measure(&s);
    within_10_percent("EPaxos", &measured, &analytic);
}

#[test]
fn leader_based_median_latency_per_region_is_the_trip_to_the_leader_and_its_majority() {
    for file in ["multipaxos/wan.ron", "raft/wan.ron"] {
        let s = load(file);
        let majority = s.nodes as usize / 2 + 1;
        let (measured, leader) = measure(&s);
        let analytic: Vec<f64> = (0..s.nodes as usize)
            .map(|i| {
                2.0 * (client_ms(&s) + one_way(&s, i, leader))
                    + closest_round_trip(&s, leader, majority - 1)
            })
            .collect();
        within_10_percent(file, &measured, &analytic);
    }
}
