//! Two- and three-phase commit run through the engine: outcomes, blocking under a
//! coordinator crash, the 3PC partition failure, each check rejecting a bad run, and each
//! bug switch caught.

use protocols::ProtocolSpec;
use protocols::commit::blocking::{Uncertainty, uncertainty};
use protocols::commit::invariants;
use protocols::commit::{ThreePhaseCommit, ThreePhaseConfig, TwoPhaseCommit, TwoPhaseConfig, obs};
use serde::Deserialize;
use sim_core::client::{ClientConfig, Load};
use sim_core::history::{OpOutput, Outcome};
use sim_core::rng::Delay;
use sim_core::txn_workload::{TxnShape, TxnWorkload};
use sim_core::{
    Ctx, EndReason, Fault, Message, NodeId, Protocol, RunResult, SimConfig, SimDuration,
    Simulation, Target, TimerId,
};

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

fn config(seed: u64, nodes: u32, clients: u32, horizon_ms: u64) -> SimConfig {
    let mut c = SimConfig {
        seed,
        nodes,
        horizon: ms(horizon_ms),
        clients: Some(ClientConfig {
            count: clients,
            timeout: SimDuration::from_secs(2),
            load: Load::Closed {
                think: Delay::Constant(ms(1)),
            },
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    };
    c.network.default_link.latency = Delay::Uniform(ms(1), ms(5));
    c
}

fn workload(txns: u64) -> TxnWorkload {
    let shape = TxnShape {
        keys: 12,
        min_keys: 1,
        max_keys: 3,
        read_ratio: 0.3,
    };
    TxnWorkload::new(shape, txns).unwrap()
}

fn run<P: ProtocolSpec>(
    sim: SimConfig,
    cfg: P::Config,
    txns: u64,
    faults: &[(u64, Fault)],
) -> RunResult {
    let mut b = Simulation::<P>::builder(sim)
        .protocol_config(cfg.clone())
        .workload(workload(txns))
        .invariants(P::invariants(&cfg));
    for (at, f) in faults {
        b = b.fault(ms(*at), f.clone());
    }
    b.build().expect("valid simulation").run()
}

fn violation(r: &RunResult) -> Option<&str> {
    match &r.end {
        EndReason::InvariantViolated { invariant, .. } => Some(invariant),
        _ => None,
    }
}

fn blocking(r: &RunResult) -> Uncertainty {
    uncertainty(&r.observations, &r.faults, r.end_time)
}

fn outcomes(r: &RunResult) -> (usize, usize) {
    let mut committed = 0;
    let mut aborted = 0;
    for op in r.history.ops() {
        if let Outcome::Ok(OpOutput::Txn { committed: c, .. }) = &op.outcome {
            if *c {
                committed += 1;
            } else {
                aborted += 1;
            }
        }
    }
    (committed, aborted)
}

#[test]
fn two_phase_commits_calm_transactions_and_aborts_on_no_votes() {
    let r = run::<TwoPhaseCommit>(config(1, 4, 3, 5000), TwoPhaseConfig::default(), 60, &[]);
    assert_eq!(violation(&r), None, "{:?}", r.end);
    let (c, a) = outcomes(&r);
    assert_eq!(c + a, 180, "every transaction answered");
    assert!(
        c >= 150,
        "most transactions commit without faults ({c} of 180)"
    );
    // Committed reads return values some transaction wrote, or the initial empty value.
    for op in r.history.ops() {
        if let Outcome::Ok(OpOutput::Txn { reads, .. }) = &op.outcome {
            for (_, v) in reads {
                assert!(v.is_empty() || v.starts_with('c'), "{v:?}");
            }
        }
    }
    let no = TwoPhaseConfig {
        vote_no_probability: 1.0,
        ..TwoPhaseConfig::default()
    };
    let r = run::<TwoPhaseCommit>(config(2, 4, 3, 5000), no, 20, &[]);
    assert_eq!(violation(&r), None, "{:?}", r.end);
    assert_eq!(outcomes(&r), (0, 60), "a no vote aborts");
}

/// A calm run with one client has no lock contention, so every transaction commits and
/// costs exactly one message of each kind per participant: 4P for 2PC (prepare, vote,
/// decision, acknowledgement) and 6P for 3PC (the extra PreCommit round), P counted from
/// the participants each transaction began with.
#[test]
fn calm_transactions_cost_4p_messages_in_2pc_and_6p_in_3pc() {
    fn check<P: ProtocolSpec>(cfg: P::Config, kinds: &[&str]) {
        let txns = 100;
        // Run on past the last answer, so the last transaction's acknowledgements count.
        let sim = SimConfig {
            stop_when_done: false,
            ..config(3, 5, 1, 20_000)
        };
        let r = run::<P>(sim, cfg, txns, &[]);
        assert_eq!(violation(&r), None, "{}: {:?}", P::NAME, r.end);
        assert_eq!(outcomes(&r), (txns as usize, 0), "{}: all commit", P::NAME);
        let p: u64 = r
            .observations
            .iter()
            .filter(|o| o.obs.kind == obs::BEGIN)
            .map(|o| u64::from(o.obs.value.count_ones()))
            .sum();
        assert!(p > txns, "{}: some transactions span participants", P::NAME);
        for kind in kinds {
            let sent = r.metrics.messages.get(*kind).map_or(0, |c| c.sent);
            assert_eq!(sent, p, "{}: {kind} messages for {p} participants", P::NAME);
        }
        let total = r.metrics.total().sent;
        assert_eq!(
            total,
            kinds.len() as u64 * p,
            "{}: {total} messages for {p} participants: {:?}",
            P::NAME,
            r.metrics.messages
        );
    }
    check::<TwoPhaseCommit>(
        TwoPhaseConfig::default(),
        &["Prepare", "Vote", "Commit", "Ack"],
    );
    check::<ThreePhaseCommit>(
        ThreePhaseConfig::default(),
        &[
            "CanCommit",
            "Vote",
            "PreCommit",
            "PreAck",
            "DoCommit",
            "Ack",
        ],
    );
}

#[test]
fn two_phase_blocks_while_the_coordinator_is_down_and_stays_atomic() {
    let faults = [
        (500, Fault::Crash(Target::Node(NodeId(0)))),
        (1500, Fault::Restart(Target::Node(NodeId(0)))),
    ];
    let r = run::<TwoPhaseCommit>(
        config(4, 4, 3, 4000),
        TwoPhaseConfig::default(),
        200,
        &faults,
    );
    assert_eq!(violation(&r), None, "{:?}", r.end);
    let u = blocking(&r);
    assert!(
        u.max_ns >= ms(800).as_nanos(),
        "prepared participants wait for the coordinator: {u:?}"
    );
    // Without the crash, nobody is uncertain for long.
    let calm = run::<TwoPhaseCommit>(config(4, 4, 3, 4000), TwoPhaseConfig::default(), 200, &[]);
    assert!(
        blocking(&calm).max_ns < ms(200).as_nanos(),
        "{:?}",
        blocking(&calm)
    );
}

#[test]
fn three_phase_terminates_without_the_coordinator() {
    let faults = [(500, Fault::Crash(Target::Node(NodeId(0))))];
    for seed in 0..3 {
        let r = run::<ThreePhaseCommit>(
            config(seed, 4, 3, 3000),
            ThreePhaseConfig::default(),
            200,
            &faults,
        );
        assert_eq!(violation(&r), None, "seed {seed}: {:?}", r.end);
        let u = blocking(&r);
        assert_eq!(
            u.unresolved, 0,
            "seed {seed}: every live participant learns the outcome: {u:?}"
        );
        assert!(
            u.max_ns < ms(400).as_nanos(),
            "seed {seed}: no blocking: {u:?}"
        );
    }
}

#[test]
fn three_phase_breaks_atomicity_under_a_partition() {
    let cfg = ThreePhaseConfig {
        check_commit_rule: false,
        ..ThreePhaseConfig::default()
    };
    let mut faults = Vec::new();
    for i in 0..8u64 {
        let t = 300 + 450 * i;
        let groups = if i % 2 == 0 {
            vec![vec![NodeId(0), NodeId(1)], vec![NodeId(2), NodeId(3)]]
        } else {
            vec![vec![NodeId(0), NodeId(2)], vec![NodeId(1), NodeId(3)]]
        };
        faults.push((t, Fault::Partition(groups)));
        faults.push((t + 250, Fault::Heal));
    }
    let mut sim = config(1, 4, 8, 4000);
    sim.network.default_link.latency = Delay::Uniform(ms(1), ms(15));
    let r = run::<ThreePhaseCommit>(sim, cfg, 300, &faults);
    assert_eq!(violation(&r), Some("atomicity"), "{:?}", r.end);
}

/// Runs `bug` on seeds from 0 and returns the first seed whose run violates `check`.
fn first_failing<P: ProtocolSpec>(
    bug: &str,
    check: &str,
    make: impl Fn(u64) -> (SimConfig, Vec<(u64, Fault)>),
    base: P::Config,
    seeds: u64,
) -> Option<u64> {
    let mut cfg = base;
    assert!(P::enable_bug(&mut cfg, bug));
    (0..seeds).find(|&seed| {
        let (sim, faults) = make(seed);
        let r = run::<P>(sim, cfg.clone(), 300, &faults);
        violation(&r) == Some(check)
    })
}

#[test]
fn vote_before_log_is_caught_when_a_participant_crashes() {
    let make = |seed: u64| {
        let faults = vec![
            (
                400,
                Fault::Crash(Target::Node(NodeId(1 + (seed % 3) as u32))),
            ),
            (700, Fault::Restart(Target::All)),
            (
                1200,
                Fault::Crash(Target::Node(NodeId(1 + ((seed + 1) % 3) as u32))),
            ),
            (1500, Fault::Restart(Target::All)),
        ];
        (config(seed, 4, 8, 3000), faults)
    };
    let found = first_failing::<TwoPhaseCommit>(
        "vote_before_log",
        "atomicity",
        make,
        TwoPhaseConfig::default(),
        10,
    );
    assert!(found.is_some(), "not caught in 10 seeds");
    // The same runs without the bug are fine.
    let (sim, faults) = make(found.unwrap_or(0));
    let r = run::<TwoPhaseCommit>(sim, TwoPhaseConfig::default(), 300, &faults);
    assert_eq!(violation(&r), None, "{:?}", r.end);
}

#[test]
fn commit_on_timeout_is_caught_when_the_coordinator_crashes() {
    let make = |seed: u64| {
        let faults = vec![
            (400, Fault::Crash(Target::Node(NodeId(0)))),
            (900, Fault::Restart(Target::Node(NodeId(0)))),
        ];
        (config(seed, 4, 4, 3000), faults)
    };
    let base = TwoPhaseConfig {
        vote_no_probability: 0.2,
        ..TwoPhaseConfig::default()
    };
    let found =
        first_failing::<TwoPhaseCommit>("commit_on_timeout", "atomicity", make, base.clone(), 10);
    assert!(found.is_some(), "not caught in 10 seeds");
    let (sim, faults) = make(found.unwrap_or(0));
    let r = run::<TwoPhaseCommit>(sim, base, 300, &faults);
    assert_eq!(violation(&r), None, "{:?}", r.end);
}

#[test]
fn skip_precommit_ack_is_caught_by_the_commit_rule() {
    let make = |seed: u64| (config(seed, 4, 3, 2000), Vec::new());
    let found = first_failing::<ThreePhaseCommit>(
        "skip_precommit_ack",
        "commit_rule",
        make,
        ThreePhaseConfig::default(),
        5,
    );
    assert!(found.is_some(), "not caught in 5 seeds");
    let r = run::<ThreePhaseCommit>(make(0).0, ThreePhaseConfig::default(), 300, &[]);
    assert_eq!(violation(&r), None, "{:?}", r.end);
}

// ---- the checks on hand-made runs ----

/// Observation kinds a script can use, by index (a script is data from the config).
const KINDS: [&str; 8] = [
    obs::BEGIN,
    obs::VOTE,
    obs::DECIDE,
    obs::COORD_DECIDE,
    obs::TIMEOUT,
    obs::WRITE,
    obs::READ,
    obs::READ_FROM,
];

/// A script of facts: (node, time in ms, kind index, key, value).
#[derive(Clone, Debug, Default, Deserialize)]
struct Script(Vec<(u32, u64, usize, u64, u64)>);

#[derive(Clone, Debug, Hash)]
struct Nothing;

impl Message for Nothing {
    fn kind(&self) -> &'static str {
        "Nothing"
    }
}

/// A node that reports its part of a script, each fact when its timer fires.
#[derive(Debug)]
struct Scripted(Script);

impl Protocol for Scripted {
    type Msg = Nothing;
    type Config = Script;
    fn start(ctx: &mut Ctx<'_, Nothing>, script: &Script) -> Self {
        for (i, (node, at, ..)) in script.0.iter().enumerate() {
            if *node == ctx.id().0 {
                ctx.set_timer(TimerId(i as u64), ms(*at));
            }
        }
        Scripted(script.clone())
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Nothing>, _: NodeId, _: Nothing) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Nothing>, timer: TimerId) {
        if let Some(&(_, _, kind, key, value)) = self.0.0.get(timer.0 as usize) {
            ctx.observe(KINDS[kind], key, value);
        }
    }
}

/// Runs a script against the shared checks; the name of the first violated one.
fn judge(script: Vec<(u32, u64, usize, u64, u64)>) -> Option<String> {
    let sim = SimConfig {
        nodes: 3,
        horizon: SimDuration::from_secs(1),
        ..SimConfig::default()
    };
    let r = Simulation::<Scripted>::builder(sim)
        .protocol_config(Script(script))
        .invariants(invariants::all())
        .build()
        .unwrap()
        .run();
    violation(&r).map(str::to_string)
}

const BEGIN: usize = 0;
const VOTE: usize = 1;
const DECIDE: usize = 2;
const COORD: usize = 3;
const TIMEOUT: usize = 4;
const WRITE: usize = 5;
const READ: usize = 6;
const READ_FROM: usize = 7;

#[test]
fn atomicity_rejects_a_split_outcome_and_accepts_agreement() {
    let agree = vec![
        (0, 1, BEGIN, 7, 0b110),
        (1, 2, VOTE, 7, 1),
        (2, 2, VOTE, 7, 1),
        (0, 3, COORD, 7, 1),
        (1, 4, DECIDE, 7, 1),
        (2, 5, DECIDE, 7, 1),
    ];
    assert_eq!(judge(agree.clone()), None);
    let mut split = agree;
    split[5] = (2, 5, DECIDE, 7, 0);
    assert_eq!(judge(split).as_deref(), Some("atomicity"));
}

#[test]
fn validity_rejects_commits_without_votes_and_groundless_aborts() {
    let missing_vote = vec![
        (0, 1, BEGIN, 7, 0b110),
        (1, 2, VOTE, 7, 1),
        (0, 3, COORD, 7, 1),
    ];
    assert_eq!(judge(missing_vote).as_deref(), Some("validity"));
    let groundless = vec![
        (0, 1, BEGIN, 7, 0b110),
        (1, 2, VOTE, 7, 1),
        (2, 2, VOTE, 7, 1),
        (0, 3, COORD, 7, 0),
    ];
    assert_eq!(judge(groundless).as_deref(), Some("validity"));
    let timed_out = vec![
        (0, 1, BEGIN, 7, 0b110),
        (1, 2, VOTE, 7, 1),
        (0, 3, TIMEOUT, 7, 0),
        (0, 4, COORD, 7, 0),
        (1, 5, DECIDE, 7, 0),
    ];
    assert_eq!(judge(timed_out), None);
}

#[test]
fn serializability_rejects_a_dependency_cycle() {
    // T1 reads key 1 (initial) and writes key 2; T2 reads key 2 (initial) and writes
    // key 1: each missed the other's write, a write skew no serial order explains.
    let skew = vec![
        (1, 1, READ, 1, 1),
        (1, 1, READ_FROM, 1, 0),
        (1, 1, WRITE, 1, 2),
        (2, 2, READ, 2, 2),
        (2, 2, READ_FROM, 2, 0),
        (2, 2, WRITE, 2, 1),
    ];
    assert_eq!(judge(skew).as_deref(), Some("serializability"));
    let serial = vec![
        (1, 1, READ, 1, 1),
        (1, 1, READ_FROM, 1, 0),
        (1, 1, WRITE, 1, 2),
        (2, 2, READ, 2, 2),
        (2, 2, READ_FROM, 2, 1),
        (2, 2, WRITE, 2, 1),
    ];
    assert_eq!(judge(serial), None);
}

/// The blocking figure: uncertainty under a coordinator crash, 2PC (the coordinator
/// restarts after 200–1200 ms) against 3PC (it never does), over 1000 seeds each, the
/// crash time drawn from the seed. Run with
/// `cargo test -p protocols --test commit -- --ignored --nocapture blocking_table`.
#[test]
#[ignore = "a 2000-run measurement; prints the table"]
fn blocking_table() {
    use rand::Rng;
    use sim_core::rng::{RunSeed, Stream};
    let seeds = 1000u64;
    println!(
        "| protocol | runs | prepared pairs | mean uncertainty | max uncertainty | mean of per-run max | unresolved pairs |"
    );
    println!("|---|---|---|---|---|---|---|");
    for three in [false, true] {
        let (mut pairs, mut total, mut max, mut sum_max, mut unresolved) =
            (0u64, 0u128, 0u64, 0u128, 0u64);
        for seed in 0..seeds {
            let mut rng = RunSeed(seed).stream(Stream::Named("blocking-table"));
            let at = rng.random_range(300..1000u64);
            let down = rng.random_range(200..1200u64);
            let sim = config(seed, 4, 3, 3000);
            let r = if three {
                let f = [(at, Fault::Crash(Target::Node(NodeId(0))))];
                run::<ThreePhaseCommit>(sim, ThreePhaseConfig::default(), 300, &f)
            } else {
                let f = [
                    (at, Fault::Crash(Target::Node(NodeId(0)))),
                    (at + down, Fault::Restart(Target::Node(NodeId(0)))),
                ];
                run::<TwoPhaseCommit>(sim, TwoPhaseConfig::default(), 300, &f)
            };
            assert_eq!(violation(&r), None, "seed {seed}: {:?}", r.end);
            let u = blocking(&r);
            pairs += u.prepared;
            total += u128::from(u.mean_ns) * u128::from(u.prepared);
            max = max.max(u.max_ns);
            sum_max += u128::from(u.max_ns);
            unresolved += u.unresolved;
        }
        let msf = |ns: u128| ns as f64 / 1e6;
        println!(
            "| {} | {seeds} | {pairs} | {:.2} ms | {:.1} ms | {:.1} ms | {unresolved} |",
            if three { "3PC" } else { "2PC" },
            msf(total / u128::from(pairs.max(1))),
            msf(u128::from(max)),
            msf(sum_max / u128::from(seeds)),
        );
    }
}
