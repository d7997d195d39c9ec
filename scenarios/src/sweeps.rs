//! Measurement sweeps behind figures that no single scenario draws: EPaxos's fast-path
//! share against the conflict rate (`cargo run --release -p scenarios --example
//! epaxos_conflicts`), also checked by the tests.

use crate::runner::{RunOptions, run};

/// The conflict rates (percent of commands on one hot key) the sweep measures.
pub const CONFLICT_RATES: &[f64] = &[0.0, 2.0, 10.0, 25.0, 50.0, 100.0];

/// Commands committed on EPaxos's fast path and on its slow path in a run of `nodes`
/// replicas, two clients per replica each sending 200 commands back to back, a
/// `conflict` percent of them on one hot key (the rest on a key of the client's own),
/// with PreAccept to every replica or, `thrifty`, to the fast quorum only.
pub fn epaxos_fast_and_slow(
    nodes: u32,
    conflict: f64,
    thrifty: bool,
) -> Result<(u64, u64), String> {
    let text = format!(
        r#"(
        name: "sweep/epaxos-conflicts",
        seed: 1,
        duration: "30s",
        nodes: {nodes},
        protocol: EPaxos((thrifty: {thrifty})),
        network: (latency: Uniform("1ms", "5ms")),
        workload: KeyValue((clients: {clients}, ops: 200, distribution: Conflict({conflict}), think: Constant("0ms"), timeout: "1s", retry: SameId(max_attempts: 20))),
        checks: [Invariants, Linearizable, Liveness(within: "5s")],
    )"#,
        clients = 2 * nodes
    );
    let s = crate::load::parse(&text, "sweep/epaxos-conflicts.ron").map_err(|e| e.to_string())?;
    let r = run(&s, RunOptions::default()).map_err(|e| e.to_string())?;
    if !r.summary.as_expected {
        return Err(r.summary.render());
    }
    let count = |k: &str| r.result.metrics.counters.get(k).copied().unwrap_or(0);
    Ok((count("epaxos.fast_commits"), count("epaxos.slow_commits")))
}
