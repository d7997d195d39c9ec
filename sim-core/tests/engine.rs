//! Engine tests: each would fail if the engine got the property wrong.

mod support;

use std::process::Command;

use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, OpMix, Retry};
use sim_core::network::{Ordering, SenderCrash};
use sim_core::rng::Delay;
use sim_core::{Fault, NodeId, RunResult, SimConfig, SimDuration, SimTime, Simulation, Target};
use support::*;

/// A run that touches most of the engine: random latencies, loss, duplication, clients
/// with retries and redirects, a crash and restart, a partition and heal.
fn busy_run(seed: u64) -> RunResult {
    let mut c = config(seed, 5, SimDuration::from_secs(3));
    c.network.default_link.loss = 0.05;
    c.network.default_link.duplicate = 0.05;
    c.clients = Some(ClientConfig {
        count: 4,
        timeout: ms(100),
        retry: Retry::SameId { max_attempts: 3 },
        ..ClientConfig::default()
    });
    let workload = KvWorkload::new(5, OpMix::default(), KeyDistribution::Uniform, 50).unwrap();
    let chatter_config = SimConfig {
        clients: None,
        ..c.clone()
    };
    let mut chatter = Simulation::<Chatter>::builder(chatter_config)
        .protocol_config(ChatterConfig {
            period: Some(ms(20)),
            burst: 0,
        })
        .fault(ms(500), Fault::Partition(vec![vec![NodeId(0), NodeId(1)]]))
        .fault(ms(900), Fault::Heal)
        .fault(ms(1000), Fault::Crash(Target::Random))
        .fault(ms(1500), Fault::Restart(Target::All))
        .build()
        .unwrap()
        .run();
    let kv = Simulation::<SoloKv>::builder(c)
        .workload(workload)
        .fault(ms(200), Fault::Crash(Target::Node(NodeId(0))))
        .fault(ms(400), Fault::Restart(Target::Node(NodeId(0))))
        .build()
        .unwrap()
        .run();
    // Fold both runs into one result so one fingerprint covers both.
    chatter.fingerprint ^= kv.fingerprint.rotate_left(17);
    chatter.history = kv.history;
    chatter
}

#[test]
fn same_seed_same_run_and_different_seeds_differ() {
    let a = busy_run(7);
    let b = busy_run(7);
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.events, b.events);
    assert_eq!(a.history, b.history);
    assert!(a.history.len() > 100, "the workload ran");
    let fps: Vec<u64> = (0..8).map(|s| busy_run(s).fingerprint).collect();
    for i in 0..fps.len() {
        for j in i + 1..fps.len() {
            assert_ne!(
                fps[i], fps[j],
                "seeds {i} and {j} gave the same fingerprint"
            );
        }
    }
}

const CHILD_ENV: &str = "FAULTLINE_FINGERPRINT_CHILD";

/// In a child process, prints the fingerprint of seed 11; otherwise does nothing.
#[test]
fn child_prints_fingerprint() {
    if std::env::var_os(CHILD_ENV).is_some() {
        println!("FINGERPRINT={}", busy_run(11).fingerprint);
    }
}

#[test]
fn same_seed_same_fingerprint_across_processes() {
    let exe = std::env::current_exe().unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "child_prints_fingerprint",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let fp: u64 = text
            .lines()
            .find_map(|l| l.split("FINGERPRINT=").nth(1))
            .unwrap_or_else(|| panic!("child printed no fingerprint: {text}"))
            .trim()
            .parse()
            .unwrap();
        seen.push(fp);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], busy_run(11).fingerprint, "child and parent agree");
}

#[test]
fn equal_delivery_times_keep_send_order() {
    let mut c = config(1, 2, ms(100));
    c.network.default_link.latency = Delay::Constant(ms(5));
    let (_, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: None,
            burst: 1000,
        })
        .build()
        .unwrap()
        .run_with_final_states();
    let log = &states[1].as_ref().unwrap().log;
    assert_eq!(log.len(), 1000);
    assert!(log.iter().all(|e| e.3 == SimTime::ZERO + ms(5)));
    let seqs: Vec<u64> = log.iter().map(|e| e.1).collect();
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
}

#[test]
fn fifo_links_never_reorder() {
    let mut c = config(3, 2, ms(1000));
    c.network.default_link.latency = Delay::Uniform(ms(1), ms(50));
    c.network.default_link.ordering = Ordering::Fifo;
    let (_, states) = Simulation::<Chatter>::builder(c.clone())
        .protocol_config(ChatterConfig {
            period: None,
            burst: 500,
        })
        .build()
        .unwrap()
        .run_with_final_states();
    let seqs: Vec<u64> = states[1]
        .as_ref()
        .unwrap()
        .log
        .iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(seqs, (1..=500).collect::<Vec<_>>());
    // And without FIFO the same latencies do reorder (the test above is not vacuous).
    c.network.default_link.ordering = Ordering::Unordered;
    let (_, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: None,
            burst: 500,
        })
        .build()
        .unwrap()
        .run_with_final_states();
    let seqs: Vec<u64> = states[1]
        .as_ref()
        .unwrap()
        .log
        .iter()
        .map(|e| e.1)
        .collect();
    assert_ne!(seqs, (1..=500).collect::<Vec<_>>());
}

/// Delivered counts of a burst of `n` messages over a link with `loss` and `duplicate`.
fn burst_counts(seed: u64, n: u64, loss: f64, duplicate: f64) -> (u64, RunResult) {
    let mut c = config(seed, 2, SimDuration::from_secs(1));
    c.network.default_link.loss = loss;
    c.network.default_link.duplicate = duplicate;
    let (r, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: None,
            burst: n,
        })
        .build()
        .unwrap()
        .run_with_final_states();
    (states[1].as_ref().unwrap().log.len() as u64, r)
}

/// |observed − expected| within 5 standard deviations of a binomial(n, p) count.
fn assert_binomial(observed: u64, n: u64, p: f64, what: &str) {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (observed as f64 - mean).abs() <= 5.0 * sd,
        "{what}: {observed} vs expected {mean:.0} ± {:.0}",
        5.0 * sd
    );
}

#[test]
fn loss_and_duplication_match_their_settings() {
    let n = 20_000;
    let (delivered, r) = burst_counts(5, n, 0.3, 0.0);
    assert_binomial(delivered, n, 0.7, "delivered under 30% loss");
    assert_eq!(r.metrics.drops["loss"], n - delivered);

    let (delivered, r) = burst_counts(6, n, 0.0, 0.2);
    assert_binomial(delivered - n, n, 0.2, "duplicates at 20%");
    assert_eq!(r.metrics.messages["Tick"].duplicated, delivered - n);

    let (delivered, _) = burst_counts(7, n, 0.0, 0.0);
    assert_eq!(delivered, n, "a reliable link loses nothing");
}

#[test]
fn partition_blocks_exactly_the_cut_directions_and_heal_restores() {
    let c = config(2, 4, ms(1000));
    // 0→1 cut one way from 100 to 300 ms; {0,1} | {2,3} from 400 to 600 ms.
    let (_, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: Some(ms(10)),
            burst: 0,
        })
        .fault(
            ms(100),
            Fault::CutOneWay {
                from: vec![NodeId(0)],
                to: vec![NodeId(1)],
            },
        )
        .fault(ms(300), Fault::Heal)
        .fault(
            ms(400),
            Fault::Partition(vec![vec![NodeId(0), NodeId(1)], vec![NodeId(2), NodeId(3)]]),
        )
        .fault(ms(600), Fault::Heal)
        .build()
        .unwrap()
        .run_with_final_states();
    let log = |to: u32, from: u32| -> Vec<SimTime> {
        states[to as usize]
            .as_ref()
            .unwrap()
            .log
            .iter()
            .filter(|e| e.0 == NodeId(from))
            .map(|e| e.3)
            .collect()
    };
    // Latency is at most 10 ms, so a window [a+10ms, b] of a fault is clean.
    let within = |ts: &[SimTime], a: u64, b: u64| {
        ts.iter()
            .filter(|t| **t >= SimTime::ZERO + ms(a) && **t <= SimTime::ZERO + ms(b))
            .count()
    };
    assert_eq!(within(&log(1, 0), 110, 300), 0, "0→1 is cut");
    assert!(within(&log(0, 1), 110, 300) > 15, "1→0 still flows");
    assert!(within(&log(1, 0), 320, 400) > 5, "heal restores 0→1");
    for (a, b) in [(0, 2), (2, 0), (1, 3), (3, 1), (0, 3), (2, 1)] {
        assert_eq!(
            within(&log(b, a), 410, 600),
            0,
            "{a}→{b} crosses the partition"
        );
    }
    for (a, b) in [(0, 1), (1, 0), (2, 3), (3, 2)] {
        assert!(
            within(&log(b, a), 410, 600) > 15,
            "{a}→{b} is inside one side"
        );
    }
    for (a, b) in [(0, 2), (3, 1)] {
        assert!(within(&log(b, a), 620, 1000) > 30, "heal restores {a}→{b}");
    }
}

/// Messages on the wire when their sender crashes arrive by default; under
/// `SenderCrash::Drop` they are lost with the sender, and counted so.
#[test]
fn a_crashed_senders_messages_in_flight_follow_the_sender_crash_rule() {
    for rule in [SenderCrash::Deliver, SenderCrash::Drop] {
        let mut c = config(4, 2, ms(1000));
        c.network.default_link.latency = Delay::Constant(ms(50));
        c.network.sender_crash = rule;
        let (r, states) = Simulation::<Chatter>::builder(c)
            .protocol_config(ChatterConfig {
                period: Some(ms(10)),
                burst: 0,
            })
            .fault(ms(500), Fault::Crash(Target::Node(NodeId(0))))
            .build()
            .unwrap()
            .run_with_final_states();
        let from_0 = |lo: u64, hi: u64| {
            states[1]
                .as_ref()
                .unwrap()
                .log
                .iter()
                .filter(|e| e.0 == NodeId(0))
                .filter(|e| e.3 > SimTime::ZERO + ms(lo) && e.3 <= SimTime::ZERO + ms(hi))
                .count()
        };
        let dropped = r.metrics.drops.get("sender_crashed").copied().unwrap_or(0);
        assert!(
            from_0(100, 500) >= 30,
            "{rule:?}: 0 talks to 1 before the crash: {}",
            from_0(100, 500)
        );
        match rule {
            SenderCrash::Deliver => {
                assert!(
                    from_0(500, 550) >= 4,
                    "sent before the crash, delivered after"
                );
                assert_eq!(dropped, 0);
            }
            SenderCrash::Drop => {
                assert_eq!(
                    from_0(500, 1000),
                    0,
                    "nothing arrives from a crashed sender"
                );
                assert!(dropped >= 4, "{dropped} dropped");
            }
        }
    }
}

#[test]
fn crash_loses_unsynced_writes_and_keeps_synced_ones() {
    let c = config(1, 1, ms(1000));
    let (r, states) = Simulation::<DiskProbe>::builder(c)
        .fault(ms(5), Fault::Crash(Target::Node(NodeId(0))))
        .fault(ms(10), Fault::Restart(Target::Node(NodeId(0))))
        .build()
        .unwrap()
        .run_with_final_states();
    let p = states[0].as_ref().unwrap();
    assert!(p.restarted);
    assert_eq!(p.found_synced, Some(7));
    assert_eq!(p.found_unsynced, None);
    assert_eq!(r.faults.len(), 2);
}

#[test]
fn timers_of_a_dead_incarnation_never_fire() {
    let c = config(1, 1, ms(1000));
    let (_, states) = Simulation::<DiskProbe>::builder(c)
        .fault(ms(5), Fault::Crash(Target::Node(NodeId(0))))
        .fault(ms(10), Fault::Restart(Target::Node(NodeId(0))))
        .build()
        .unwrap()
        .run_with_final_states();
    // The first incarnation armed LONG for 100 ms; the second arms it for 510 ms.
    let fired = &states[0].as_ref().unwrap().fired;
    assert_eq!(fired, &[(LONG, SimTime::ZERO + ms(510))]);
    // Without the crash the first incarnation's timer does fire at 100 ms.
    let (_, states) = Simulation::<DiskProbe>::builder(config(1, 1, ms(1000)))
        .build()
        .unwrap()
        .run_with_final_states();
    assert!(
        states[0]
            .as_ref()
            .unwrap()
            .fired
            .contains(&(LONG, SimTime::ZERO + ms(100)))
    );
}

#[test]
fn paused_node_gets_its_queued_messages_on_resume() {
    let mut c = config(4, 3, ms(300));
    c.network.default_link.latency = Delay::Constant(ms(1));
    let (_, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: Some(ms(10)),
            burst: 0,
        })
        .fault(ms(55), Fault::Pause(Target::Node(NodeId(1))))
        .fault(ms(155), Fault::Resume(Target::Node(NodeId(1))))
        .build()
        .unwrap()
        .run_with_final_states();
    let node1 = states[1].as_ref().unwrap();
    let t = |x: u64| SimTime::ZERO + ms(x);
    assert!(
        node1.log.iter().all(|e| e.3 <= t(55) || e.3 >= t(155)),
        "nothing delivered while paused"
    );
    // Others tick at 60, 70, …, 150 ms: 10 ticks each, delivered at 61…151 ms.
    let at_resume: Vec<_> = node1.log.iter().filter(|e| e.3 == t(155)).collect();
    assert_eq!(
        at_resume.len(),
        20,
        "10 ticks from each of 2 peers, held then delivered"
    );
    for from in [NodeId(0), NodeId(2)] {
        let seqs: Vec<u64> = at_resume
            .iter()
            .filter(|e| e.0 == from)
            .map(|e| e.1)
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "held in arrival order: {seqs:?}"
        );
    }
    // Its own timer did not fire while paused: one late firing at resume, none between.
    assert!(node1.fires.iter().all(|f| *f <= t(55) || *f >= t(155)));
    assert!(node1.fires.contains(&t(155)));
}

#[test]
fn clock_drift_changes_when_timers_fire_but_not_the_global_order() {
    let c = config(9, 2, SimDuration::from_secs(1));
    let (r, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: Some(ms(10)),
            burst: 0,
        })
        .fault(
            SimDuration::ZERO,
            Fault::ClockDrift {
                target: Target::Node(NodeId(0)),
                ppm: 250_000, // 25 % fast
            },
        )
        .fault(
            SimDuration::ZERO,
            Fault::ClockSkew {
                target: Target::Node(NodeId(1)),
                offset_ns: 3_600_000_000_000, // an hour ahead: shifts readings, not timers
            },
        )
        .trace(SharedTrace)
        .build()
        .unwrap()
        .run_with_final_states();
    let fast = states[0].as_ref().unwrap().fires.len() as i64;
    let skewed = states[1].as_ref().unwrap();
    // 1 s of virtual time: a 25 % fast clock fires its 10 ms timer ~125 times, a
    // correct (merely offset) one 100 times.
    assert!((fast - 125).abs() <= 1, "fast clock fired {fast} times");
    assert_eq!(skewed.fires.len(), 100);
    assert!(
        skewed.fires[0] >= SimTime(3_600_000_000_000),
        "reads its skewed clock"
    );
    assert!(r.events > 0);
    let times = SHARED.with(|s| s.borrow().iter().map(|e| e.time).collect::<Vec<_>>());
    assert!(times.len() > 400);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "global order stays by virtual time"
    );
}

#[test]
fn byzantine_node_cannot_send_with_another_identity() {
    let c = config(3, 3, ms(500));
    let (_, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: Some(ms(10)),
            burst: 0,
        })
        .adversary(NodeId(0), Impostor)
        .build()
        .unwrap()
        .run_with_final_states();
    let honest_sent_by_2 = states[2].as_ref().unwrap().seq;
    let log1 = &states[1].as_ref().unwrap().log;
    let from0 = log1.iter().filter(|e| e.0 == NodeId(0)).count();
    assert!(from0 > 0, "the adversary's messages arrive");
    assert!(
        log1.iter().filter(|e| e.0 == NodeId(0)).all(|e| e.2 == 2),
        "they claim node 2"
    );
    assert!(
        log1.iter().any(|e| e.0 == NodeId(0) && e.1 > 1_000_000),
        "equivocated copies arrive"
    );
    // Everything the network attributes to node 2 is node 2's own.
    let from2: Vec<u64> = log1
        .iter()
        .filter(|e| e.0 == NodeId(2))
        .map(|e| e.1)
        .collect();
    assert!(from2.iter().all(|s| *s <= honest_sent_by_2));
    assert!(from2.len() as u64 <= honest_sent_by_2);
}

/// A signed value names the node that signed it: every node signs its id, and each
/// receiver finds the sender's identity in the signature.
#[test]
fn a_signature_names_the_node_that_signed() {
    let c = config(1, 4, SimDuration::from_secs(1));
    let (_, states) = Simulation::<Signers>::builder(c)
        .build()
        .unwrap()
        .run_with_final_states();
    for (i, s) in states.iter().enumerate() {
        let heard = &s.as_ref().unwrap().heard;
        assert_eq!(heard.len(), 3, "node {i}");
        for (from, signer, value) in heard {
            assert_eq!(*signer, sim_core::auth::Principal::Node(*from));
            assert_eq!(*value, from.0);
        }
    }
}

/// Twins: identity 1 runs in slots 1 and 4. Each instance is node 1 to itself and signs
/// as node 1; what either sends reaches the others from node 1; what others send to node
/// 1 reaches both; the cluster the protocol sees still has four nodes.
#[test]
fn a_twinned_identity_runs_in_two_slots_as_one_node() {
    let c = config(1, 4, SimDuration::from_secs(1));
    let (_, states) = Simulation::<Signers>::builder(c)
        .twin(NodeId(1))
        .build()
        .unwrap()
        .run_with_final_states();
    assert_eq!(states.len(), 5);
    for (slot, s) in states.iter().enumerate() {
        let heard = &s.as_ref().unwrap().heard;
        for (from, signer, value) in heard {
            assert_eq!(*signer, sim_core::auth::Principal::Node(*from));
            assert_eq!(*value, from.0);
            assert!(from.0 < 4, "slot {slot} heard from slot-only id {from}");
        }
        let from_one = heard.iter().filter(|(f, _, _)| f.0 == 1).count();
        match slot {
            // Both instances of node 1 broadcast: everyone else hears node 1 twice.
            0 | 2 | 3 => assert_eq!((heard.len(), from_one), (4, 2), "slot {slot}"),
            // Each instance hears the three others, not itself or its twin (a node does
            // not send to itself).
            1 | 4 => assert_eq!((heard.len(), from_one), (3, 0), "slot {slot}"),
            _ => unreachable!(),
        }
    }
    let bad = Simulation::<Signers>::builder(config(1, 4, SimDuration::from_secs(1)))
        .twin(NodeId(4))
        .build();
    assert!(bad.is_err());
}
