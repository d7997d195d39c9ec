//! Gossip: the replicated data types' merge laws, the Merkle tree's diffs, rumor
//! coverage and anti-entropy convergence through the engine, and the bug switches caught.

use protocols::ProtocolSpec;
use protocols::gossip::crdt::{GCounter, Lww, OrSet, Stamp};
use protocols::gossip::merkle::MerkleTree;
use protocols::gossip::store::{Store, entry_hash};
use protocols::gossip::{
    AntiEntropyConfig, Digest, Gossip, GossipConfig, Mode, RumorConfig, StopRule,
};
use rand::Rng;
use sim_core::client::{ClientConfig, Load, Workload};
use sim_core::history::{OpOutput, Operation, Outcome};
use sim_core::invariant::{Invariant, World};
use sim_core::replica_workload::{BroadcastWorkload, ReplicaKvWorkload, ReplicaMix};
use sim_core::rng::{Delay, RunSeed, SimRng, Stream};
use sim_core::{EndReason, RunResult, SimConfig, SimDuration, Simulation};

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

fn rng(seed: u64) -> SimRng {
    RunSeed(seed).stream(Stream::Named("test"))
}

fn lww(r: &mut SimRng) -> Lww {
    Lww {
        stamp: Stamp {
            time: r.random_range(0..4),
            node: r.random_range(0..3),
        },
        value: if r.random_bool(0.3) {
            None
        } else {
            Some(format!("v{}", r.random_range(0..3)))
        },
    }
}

#[test]
fn lww_merge_is_commutative_associative_idempotent_and_tombstones_win_when_later() {
    let mut r = rng(1);
    for _ in 0..2000 {
        let (a, b, c) = (lww(&mut r), lww(&mut r), lww(&mut r));
        assert_eq!(a.merge(&b), b.merge(&a));
        assert_eq!(a.merge(&b).merge(&c), a.merge(&b.merge(&c)));
        assert_eq!(a.merge(&a), a);
    }
    let put = Lww {
        stamp: Stamp { time: 5, node: 1 },
        value: Some("x".into()),
    };
    let del = Lww {
        stamp: Stamp { time: 6, node: 0 },
        value: None,
    };
    assert_eq!(put.merge(&del), del);
    assert_eq!(del.merge(&put), del);
}

fn counter(r: &mut SimRng) -> GCounter {
    let mut c = GCounter::default();
    for _ in 0..r.random_range(0..5) {
        c.increment(r.random_range(0..3), r.random_range(1..4));
    }
    c
}

#[test]
fn g_counter_merge_laws_and_value() {
    let mut r = rng(2);
    for _ in 0..1000 {
        let (a, b, c) = (counter(&mut r), counter(&mut r), counter(&mut r));
        let ab = {
            let mut x = a.clone();
            x.merge(&b);
            x
        };
        let ba = {
            let mut x = b.clone();
            x.merge(&a);
            x
        };
        assert_eq!(ab, ba);
        let mut ab_c = ab.clone();
        ab_c.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut a_bc = a.clone();
        a_bc.merge(&bc);
        assert_eq!(ab_c, a_bc);
        let mut aa = a.clone();
        aa.merge(&a);
        assert_eq!(aa, a);
        assert!(ab.value() >= a.value().max(b.value()));
    }
    let (mut x, mut y) = (GCounter::default(), GCounter::default());
    x.increment(0, 2);
    y.increment(1, 3);
    x.merge(&y);
    assert_eq!(x.value(), 5, "increments at different nodes add up");
}

fn or_set(r: &mut SimRng, node: u32) -> OrSet<u8> {
    let mut s = OrSet::new();
    for seq in 0..r.random_range(0..6) {
        let e = r.random_range(0..4);
        if r.random_bool(0.7) {
            s.add(e, (node, seq));
        } else {
            s.remove(&e);
        }
    }
    s
}

#[test]
fn or_set_merge_laws_and_add_wins_over_concurrent_remove() {
    let mut r = rng(3);
    let merged = |a: &OrSet<u8>, b: &OrSet<u8>| {
        let mut x = a.clone();
        x.merge(b);
        x
    };
    for _ in 0..1000 {
        let (a, b, c) = (or_set(&mut r, 0), or_set(&mut r, 1), or_set(&mut r, 2));
        assert_eq!(merged(&a, &b), merged(&b, &a));
        assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        assert_eq!(merged(&a, &a), a);
    }
    let mut a = OrSet::new();
    a.add(7u8, (0, 0));
    let mut b = a.clone();
    b.remove(&7);
    a.add(7, (0, 1)); // concurrent with b's remove
    let m = merged(&a, &b);
    assert!(m.contains(&7), "an add the remove did not see survives");
    let mut c = m.clone();
    c.remove(&7);
    assert!(!merged(&m, &c).contains(&7), "an observed remove wins");
    assert_eq!(merged(&m, &c).elements(), Vec::<u8>::new());
}

#[test]
fn merkle_tree_depends_on_contents_only_and_pins_the_differing_leaf() {
    let mut r = rng(4);
    let entries: Vec<(u64, Lww)> = (0..200).map(|k| (k, lww(&mut r))).collect();
    let mut a = Store::new(5);
    let mut b = Store::new(5);
    for (k, e) in &entries {
        a.apply(*k, e.clone());
    }
    for (k, e) in entries.iter().rev() {
        b.apply(*k, e.clone());
    }
    assert_eq!(a.digest(), b.digest(), "insertion order does not matter");
    // Change one key in b: exactly the leaf holding it, and its ancestors, differ.
    let key = 77;
    let newer = Lww {
        stamp: Stamp { time: 99, node: 0 },
        value: Some("new".into()),
    };
    assert!(b.apply(key, newer.clone()));
    assert!(
        !b.apply(key, entries[key as usize].1.clone()),
        "older loses"
    );
    assert_ne!(a.digest(), b.digest());
    let (ta, tb) = (a.tree(), b.tree());
    let leaf = ta.leaf_index(ta.bucket(key));
    for i in 1..(2u32 << ta.depth()) {
        let mut j = leaf;
        let mut on_path = false;
        while j >= 1 {
            on_path |= j == i;
            j /= 2;
        }
        assert_eq!(ta.hash(i) != tb.hash(i), on_path, "node {i}");
    }
    // Forgetting an entry takes exactly its hash out again.
    let mut t = MerkleTree::new(3);
    let h = entry_hash(5, &newer);
    t.toggle(t.bucket(5), h);
    assert_ne!(t.root(), 0);
    t.toggle(t.bucket(5), h);
    assert_eq!(t.root(), 0);
    assert_eq!(t.buckets_under(1), 0..8);
    assert_eq!(t.buckets_under(3), 4..8);
    assert_eq!(t.buckets_under(t.leaf_index(6)), 6..7);
}

/// Lets the boxed invariants of `ProtocolSpec::invariants` go to the builder.
struct Boxed(Box<dyn Invariant<Gossip>>);

impl Invariant<Gossip> for Boxed {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn check(&mut self, world: &World<'_, Gossip>) -> Result<(), String> {
        self.0.check(world)
    }
}

fn run_broadcast(
    seed: u64,
    nodes: u32,
    cfg: GossipConfig,
    loss: f64,
) -> (RunResult, Vec<Option<Gossip>>) {
    let mut sim = SimConfig {
        seed,
        nodes,
        horizon: SimDuration::from_secs(3),
        stop_when_done: false,
        clients: Some(ClientConfig {
            count: nodes,
            load: Load::Open {
                interval: Delay::Exponential {
                    mean: ms(100 * u64::from(nodes)),
                },
            },
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    };
    sim.network.default_link.latency = Delay::Uniform(ms(2), ms(4));
    sim.network.default_link.loss = loss;
    let mut b = Simulation::<Gossip>::builder(sim)
        .protocol_config(cfg.clone())
        .workload(BroadcastWorkload::new(5));
    for inv in Gossip::invariants(&cfg) {
        b = b.invariant(Boxed(inv));
    }
    b.build().unwrap().run_with_final_states()
}

fn rumor(mode: Mode, stop: StopRule) -> GossipConfig {
    GossipConfig {
        rumor: Some(RumorConfig {
            mode,
            fanout: 1,
            period: ms(100),
            jitter: ms(1),
            stop,
        }),
        anti_entropy: None,
        ..GossipConfig::default()
    }
}

#[test]
fn every_mode_spreads_updates_to_everyone_when_rumors_never_die() {
    for mode in [Mode::Push, Mode::Pull, Mode::PushPull] {
        let (r, states) = run_broadcast(7, 30, rumor(mode, StopRule::Never), 0.0);
        assert_eq!(r.end, EndReason::Horizon, "{mode:?}");
        let injected: Vec<u64> = r
            .observations
            .iter()
            .filter(|o| o.obs.kind == "inject")
            .map(|o| o.obs.key)
            .collect();
        assert!(injected.len() >= 3, "{mode:?}: {injected:?}");
        for s in states.iter().map(|s| s.as_ref().unwrap()) {
            for id in &injected {
                assert!(s.has_update(*id), "{mode:?}: update {id} missing");
            }
        }
    }
}

#[test]
fn rumors_with_a_counter_die_out_and_leave_a_residue_that_anti_entropy_repairs() {
    let k1 = StopRule::Counter {
        k: 1,
        feedback: true,
    };
    let (_, states) = run_broadcast(3, 200, rumor(Mode::Push, k1), 0.0);
    let states: Vec<&Gossip> = states.iter().map(|s| s.as_ref().unwrap()).collect();
    assert!(
        states.iter().all(|s| s.hot_rumors().next().is_none()),
        "all rumors died"
    );
    let missing = states.iter().filter(|s| !s.has_update(0)).count();
    assert!(
        (5..120).contains(&missing),
        "k = 1 leaves roughly a fifth uninformed, got {missing} of 200"
    );
    let mut combined = rumor(Mode::Push, k1);
    combined.anti_entropy = Some(AntiEntropyConfig {
        period: ms(200),
        jitter: ms(100),
        digest: Digest::Merkle { depth: 4 },
    });
    let (_, states) = run_broadcast(3, 200, combined.clone(), 0.05);
    assert!(states.iter().all(|s| s.as_ref().unwrap().has_update(0)));
    // The same with the bug switch: anti-entropy off, residue back.
    combined.enable_bug("rumor_only");
    let (_, states) = run_broadcast(3, 200, combined, 0.05);
    assert!(states.iter().any(|s| !s.as_ref().unwrap().has_update(0)));
}

fn run_replicated(seed: u64, cfg: GossipConfig) -> (RunResult, Vec<Option<Gossip>>) {
    let mut sim = SimConfig {
        seed,
        nodes: 5,
        horizon: SimDuration::from_secs(4),
        stop_when_done: false,
        clients: Some(ClientConfig {
            count: 5,
            load: Load::Closed {
                think: Delay::Uniform(ms(20), ms(80)),
            },
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    };
    sim.network.default_link.latency = Delay::Uniform(ms(1), ms(5));
    let mix = ReplicaMix {
        get: 10,
        put: 50,
        delete: 40,
    };
    let mut b = Simulation::<Gossip>::builder(sim)
        .protocol_config(cfg.clone())
        .workload(ReplicaKvWorkload::new(3, mix, 30).unwrap());
    for inv in Gossip::invariants(&cfg) {
        b = b.invariant(Boxed(inv));
    }
    b.build().unwrap().run_with_final_states()
}

fn anti_entropy(digest: Digest) -> GossipConfig {
    GossipConfig {
        rumor: None,
        anti_entropy: Some(AntiEntropyConfig {
            period: ms(100),
            jitter: ms(50),
            digest,
        }),
        ..GossipConfig::default()
    }
}

#[test]
fn anti_entropy_converges_with_merkle_trees_and_full_state_alike() {
    let mut digests = Vec::new();
    for digest in [Digest::Merkle { depth: 3 }, Digest::Full] {
        let (r, states) = run_replicated(5, anti_entropy(digest));
        assert_eq!(r.end, EndReason::Horizon, "{digest:?}: {}", r.end);
        let states: Vec<&Gossip> = states.iter().map(|s| s.as_ref().unwrap()).collect();
        let d0 = states[0].store().digest();
        assert!(
            states.iter().all(|s| s.store().digest() == d0),
            "{digest:?}"
        );
        assert!(!states[0].store().is_empty());
        // Same writes, same stamps: both ways of comparing reach the same values.
        digests.push(
            (0..3)
                .map(|k| states[0].value(k).map(str::to_string))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(digests[0], digests[1]);
}

#[test]
fn no_tombstones_is_caught_by_the_resurrection_invariant_within_a_few_seeds() {
    let mut cfg = anti_entropy(Digest::Merkle { depth: 3 });
    for seed in 0..3 {
        let (r, _) = run_replicated(seed, cfg.clone());
        assert_eq!(
            r.end,
            EndReason::Horizon,
            "correct run, seed {seed}: {}",
            r.end
        );
    }
    cfg.enable_bug("no_tombstones");
    let caught = (0..5).find(|seed| {
        let (r, _) = run_replicated(*seed, cfg.clone());
        matches!(&r.end, EndReason::InvariantViolated { invariant, .. } if invariant == "no_resurrection")
    });
    assert!(caught.is_some(), "no seed of 5 caught no_tombstones");
}

/// Asks one node for things a gossip replica cannot do.
struct Odd(Vec<Operation>);

impl Workload for Odd {
    fn next_op(&mut self, _client: u32, _rng: &mut SimRng) -> Option<Operation> {
        self.0.pop()
    }
}

#[test]
fn bad_requests_fail_cleanly_and_unknown_bugs_are_refused() {
    let sim = SimConfig {
        seed: 1,
        nodes: 2,
        clients: Some(ClientConfig {
            count: 1,
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    };
    let ops = vec![
        Operation::Cas {
            key: 1,
            expected: String::new(),
            new: "x".into(),
        },
        Operation::Put {
            key: 1 << 63,
            value: "x".into(),
        },
        Operation::Get { key: 1 },
    ];
    let r = Simulation::<Gossip>::builder(sim)
        .workload(Odd(ops))
        .build()
        .unwrap()
        .run();
    let outcomes: Vec<&Outcome> = r.history.ops().iter().map(|h| &h.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            &Outcome::Ok(OpOutput::Value(String::new())),
            &Outcome::Failed,
            &Outcome::Failed
        ]
    );
    let mut cfg = GossipConfig::default();
    assert!(!cfg.enable_bug("no_such_bug"));
    assert!(cfg.enable_bug("no_tombstones") && cfg.enable_bug("rumor_only"));
    assert!(cfg.active_anti_entropy().is_none());
    assert_eq!(Gossip::BUGS.len(), 2);
}
