//! The engine with clients: redirects, timeouts and retries, end reasons, link changes,
//! the trace, and configurations it refuses.

mod support;

use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, OpMix, Retry};
use sim_core::echo::{Echo, EchoConfig};
use sim_core::history::{OpOutput, Outcome};
use sim_core::invariant::invariant_fn;
use sim_core::network::{LinkChange, LinkConfig, LinkScope};
use sim_core::rng::Delay;
use sim_core::trace::TraceKind;
use sim_core::{EndReason, Fault, NodeId, SimConfig, SimDuration, SimTime, Simulation, Target};
use support::*;

#[test]
fn clients_follow_redirects_and_record_a_full_history() {
    let mut c = config(5, 3, SimDuration::from_secs(10));
    c.clients = Some(kv_clients(3, Retry::None));
    let w = KvWorkload::new(3, OpMix::default(), KeyDistribution::Uniform, 40).unwrap();
    let (r, states) = Simulation::<SoloKv>::builder(c)
        .workload(w)
        .build()
        .unwrap()
        .run_with_final_states();
    assert_eq!(r.end, EndReason::WorkDone);
    assert_eq!(r.history.len(), 120);
    assert!(
        r.history
            .ops()
            .iter()
            .all(|o| matches!(o.outcome, Outcome::Ok(_)) && o.completed.unwrap() > o.invoked)
    );
    // Clients 1 and 2 start at nodes 1 and 2 and must have been redirected.
    assert!(states[1].as_ref().unwrap().requests >= 1);
    assert!(states[2].as_ref().unwrap().requests >= 1);
    assert_eq!(states[0].as_ref().unwrap().applied.len(), 120);
    // Reads see the server's writes: the last append-visible read is a prefix chain.
    let appended = r
        .history
        .ops()
        .iter()
        .any(|o| matches!(o.outcome, Outcome::Ok(OpOutput::Done)));
    assert!(appended);
}

#[test]
fn hintless_redirects_reach_the_server_too() {
    let mut c = config(5, 4, SimDuration::from_secs(10));
    c.clients = Some(kv_clients(4, Retry::None));
    let w = KvWorkload::new(3, OpMix::default(), KeyDistribution::Uniform, 10).unwrap();
    let r = Simulation::<SoloKv>::builder(c)
        .protocol_config(SoloKvConfig {
            no_hint: true,
            mute: false,
        })
        .workload(w)
        .build()
        .unwrap()
        .run();
    assert_eq!(r.end, EndReason::WorkDone);
    assert!(
        r.history
            .ops()
            .iter()
            .all(|o| matches!(o.outcome, Outcome::Ok(_)))
    );
}

#[test]
fn timeouts_are_indeterminate_and_retries_follow_the_policy() {
    let run = |retry: Retry| {
        let mut c = config(5, 1, SimDuration::from_secs(10));
        c.clients = Some(kv_clients(1, retry));
        let w = KvWorkload::new(1, OpMix::default(), KeyDistribution::Uniform, 3).unwrap();
        let (r, states) = Simulation::<SoloKv>::builder(c)
            .protocol_config(SoloKvConfig {
                no_hint: false,
                mute: true,
            })
            .workload(w)
            .build()
            .unwrap()
            .run_with_final_states();
        (r, states[0].as_ref().unwrap().requests)
    };
    let (r, requests) = run(Retry::None);
    assert_eq!(r.history.len(), 3);
    assert!(
        r.history
            .ops()
            .iter()
            .all(|o| o.outcome == Outcome::Indeterminate && o.completed.is_none())
    );
    assert_eq!(requests, 3);

    let (r, requests) = run(Retry::SameId { max_attempts: 4 });
    assert_eq!(r.history.len(), 3, "same-id retries stay one operation");
    assert_eq!(requests, 12);

    let (r, requests) = run(Retry::NewId { max_attempts: 2 });
    assert_eq!(r.history.len(), 6, "new-id retries are new operations");
    assert_eq!(requests, 6);
    assert!(
        r.history
            .ops()
            .iter()
            .all(|o| o.outcome == Outcome::Indeterminate)
    );
}

#[test]
fn crashed_server_means_indeterminate_then_no_progress() {
    let mut c = config(5, 1, SimDuration::from_secs(100));
    c.clients = Some(kv_clients(2, Retry::SameId { max_attempts: 1000 }));
    c.no_progress = Some(SimDuration::from_secs(2));
    let w = KvWorkload::new(2, OpMix::default(), KeyDistribution::Uniform, 1000).unwrap();
    let r = Simulation::<SoloKv>::builder(c)
        .workload(w)
        .fault(ms(300), Fault::Crash(Target::Leader))
        .build()
        .unwrap()
        .run();
    match r.end {
        EndReason::NoProgress {
            since,
            window,
            outstanding,
        } => {
            assert!(since <= SimTime::ZERO + ms(300));
            assert_eq!(window, SimDuration::from_secs(2));
            assert_eq!(outstanding, 2);
        }
        other => panic!("expected no progress, got {other}"),
    }
    assert!(r.end_time < SimTime::ZERO + SimDuration::from_secs(3));
    assert_eq!(
        r.faults[0].nodes,
        vec![NodeId(0)],
        "Leader resolved to the server"
    );
}

#[test]
fn end_reasons_are_reported() {
    let echo = |c: SimConfig, cfg: EchoConfig| {
        Simulation::<Echo>::builder(c)
            .protocol_config(cfg)
            .build()
            .unwrap()
    };
    // Event limit.
    let mut c = config(1, 3, SimDuration::from_secs(100));
    c.max_events = Some(1000);
    let r = echo(c, EchoConfig::default()).run();
    assert_eq!(r.end, EndReason::EventLimit { limit: 1000 });
    assert_eq!(r.events, 1000);
    // Quiescence: bounded hops, then nothing left.
    let r = echo(
        config(1, 3, SimDuration::from_secs(100)),
        EchoConfig { max_hops: Some(4) },
    )
    .run();
    assert_eq!(r.end, EndReason::Quiescent);
    // 3 nodes × 2 peers start a chain each; every chain has hops 0..=4 delivered.
    assert_eq!(r.metrics.total().delivered, 6 * 5);
    // Horizon.
    let r = echo(config(1, 3, ms(50)), EchoConfig::default()).run();
    assert_eq!(r.end, EndReason::Horizon);
    assert_eq!(r.end_time, SimTime::ZERO + ms(50));
    // Invariant violated at a known event.
    let r = Simulation::<Echo>::builder(config(1, 3, SimDuration::from_secs(100)))
        .invariant(invariant_fn(
            "bounded_hops",
            |w: &sim_core::invariant::World<'_, Echo>| match w
                .nodes()
                .filter_map(|(_, p)| p)
                .map(|p| p.max_seen)
                .max()
            {
                Some(m) if m >= 10 => Err(format!("hop {m} seen")),
                _ => Ok(()),
            },
        ))
        .build()
        .unwrap()
        .run();
    match &r.end {
        EndReason::InvariantViolated {
            invariant,
            event,
            message,
        } => {
            assert_eq!(invariant, "bounded_hops");
            assert_eq!(message, "hop 10 seen");
            assert_eq!(*event + 1, r.events, "stopped at the violating event");
        }
        other => panic!("expected a violation, got {other}"),
    }
}

#[test]
fn link_changes_apply_from_their_time() {
    let mut c = config(8, 2, ms(1000));
    c.network.default_link.latency = Delay::Constant(ms(1));
    let (_, states) = Simulation::<Chatter>::builder(c)
        .protocol_config(ChatterConfig {
            period: Some(ms(10)),
            burst: 0,
        })
        .fault(
            ms(500),
            Fault::Links {
                scope: LinkScope::Between(NodeId(0), NodeId(1)),
                change: LinkChange {
                    loss: Some(1.0),
                    ..Default::default()
                },
            },
        )
        .build()
        .unwrap()
        .run_with_final_states();
    let log = &states[1].as_ref().unwrap().log;
    assert!(log.iter().any(|e| e.3 < SimTime::ZERO + ms(500)));
    assert!(
        log.iter().all(|e| e.3 <= SimTime::ZERO + ms(501)),
        "total loss after 500 ms"
    );
}

#[test]
fn trace_records_every_processed_event() {
    let mut c = config(2, 3, ms(30));
    c.network.default_link = LinkConfig::default();
    let r = Simulation::<Echo>::builder(c.clone())
        .trace(SharedTrace)
        .build()
        .unwrap()
        .run();
    let recs = SHARED.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let processed = recs.iter().filter(|e| e.kind != TraceKind::Drop).count() as u64;
    assert_eq!(processed, r.events);
    assert!(
        recs.iter()
            .any(|e| e.kind == TraceKind::Deliver && e.msg.as_deref() == Some("Ping"))
    );
    // Tracing does not change the run.
    let untraced = Simulation::<Echo>::builder(c).build().unwrap().run();
    assert_eq!(untraced.fingerprint, r.fingerprint);
}

#[test]
fn traced_messages_carry_their_send_time() {
    let mut c = config(4, 3, ms(40));
    c.network.default_link = LinkConfig {
        latency: Delay::Constant(ms(3)),
        ..LinkConfig::default()
    };
    let _ = Simulation::<Echo>::builder(c)
        .trace(SharedTrace)
        .build()
        .unwrap()
        .run();
    let recs = SHARED.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let delivered: Vec<_> = recs
        .iter()
        .filter(|e| e.kind == TraceKind::Deliver)
        .collect();
    assert!(delivered.len() > 20, "{} deliveries", delivered.len());
    for e in delivered {
        assert_eq!(
            e.sent.map(|s| e.time.saturating_since(s)),
            Some(ms(3)),
            "{e:?}"
        );
    }
    assert!(
        recs.iter()
            .filter(|e| e.kind != TraceKind::Deliver && e.kind != TraceKind::Drop)
            .all(|e| e.sent.is_none())
    );
}

#[test]
fn bad_configuration_is_an_error_not_a_panic() {
    let mut c = config(1, 3, ms(10));
    c.network.default_link.loss = 2.0;
    assert!(Simulation::<Echo>::builder(c).build().is_err());
    let mut c = config(1, 3, ms(10));
    c.clients = Some(ClientConfig::default());
    let err = Simulation::<Echo>::builder(c).build().err().unwrap();
    assert!(err.to_string().contains("no workload"), "{err}");
    let err = Simulation::<Chatter>::builder(config(1, 3, ms(10)))
        .adversary(NodeId(7), Impostor)
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("n7"), "{err}");
    for quorum in [0, 4] {
        let mut c = config(1, 3, ms(10));
        c.clients = Some(ClientConfig {
            reply_quorum: quorum,
            ..kv_clients(1, Retry::None)
        });
        let w = KvWorkload::new(1, OpMix::default(), KeyDistribution::Uniform, 1).unwrap();
        let err = Simulation::<SoloKv>::builder(c)
            .workload(w)
            .build()
            .err()
            .unwrap();
        assert!(err.to_string().contains("reply_quorum"), "{err}");
    }
}

fn voters(cfg: VotersConfig, clients: ClientConfig, seed: u64) -> (sim_core::RunResult, Vec<u64>) {
    voters_with(cfg, clients, seed, &[], &[])
}

/// An adversary that rewrites every answer of its node into a lie.
struct LyingAnswers;
impl sim_core::byzantine::Adversary<Voters> for LyingAnswers {
    fn intercept(
        &mut self,
        _ctx: &mut sim_core::byzantine::AdvCtx<'_>,
        to: NodeId,
        msg: <Voters as sim_core::Protocol>::Msg,
        out: &mut Vec<sim_core::byzantine::Forged<<Voters as sim_core::Protocol>::Msg>>,
    ) {
        out.push(sim_core::byzantine::Forged {
            to,
            msg,
            delay: SimDuration::ZERO,
        });
    }
    fn reply(
        &mut self,
        _ctx: &mut sim_core::byzantine::AdvCtx<'_>,
        _id: sim_core::RequestId,
        _reply: sim_core::Reply,
    ) -> Option<sim_core::Reply> {
        Some(sim_core::Reply::Ok(OpOutput::Value("forged".into())))
    }
}

/// Four voters, some slots lying through an adversary, some identities twinned.
fn voters_with(
    cfg: VotersConfig,
    clients: ClientConfig,
    seed: u64,
    liars: &[NodeId],
    twins: &[NodeId],
) -> (sim_core::RunResult, Vec<u64>) {
    let mut c = config(seed, 4, SimDuration::from_secs(5));
    c.clients = Some(clients);
    let mix = OpMix {
        get: 1,
        put: 0,
        cas: 0,
        append: 0,
    };
    let w = KvWorkload::new(3, mix, KeyDistribution::Uniform, 30).unwrap();
    let mut b = Simulation::<Voters>::builder(c)
        .protocol_config(cfg)
        .workload(w);
    for t in twins {
        b = b.twin(*t);
    }
    for n in liars {
        b = b.adversary(*n, LyingAnswers);
    }
    let (r, states) = b.build().unwrap().run_with_final_states();
    let direct = states
        .iter()
        .map(|s| s.as_ref().map_or(0, |v| v.direct))
        .collect();
    (r, direct)
}

fn answers(r: &sim_core::RunResult) -> Vec<String> {
    r.history
        .ops()
        .iter()
        .map(|o| match &o.outcome {
            Outcome::Ok(OpOutput::Value(v)) => v.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// With f + 1 = 2 matching answers required, one lying node never decides what a client
/// hears; trusting the first answer, it sometimes does.
#[test]
fn a_reply_quorum_outvotes_a_lying_node_that_the_first_reply_lets_through() {
    let liar = VotersConfig {
        liars: vec![0],
        ..Default::default()
    };
    let quorum = ClientConfig {
        reply_quorum: 2,
        ..kv_clients(4, Retry::None)
    };
    let (r, _) = voters(liar.clone(), quorum, 1);
    assert_eq!(r.history.len(), 120);
    let got = answers(&r);
    assert!(
        got.iter().all(|v| v.starts_with('k')),
        "a lie got through: {got:?}"
    );
    let (r, _) = voters(liar, kv_clients(4, Retry::None), 1);
    let lies = answers(&r).iter().filter(|v| *v == "lie").count();
    assert!(lies > 0, "client 0 asks the liar first and trusts it");
}

/// A Byzantine node's adversary rewrites its answers to clients: under a quorum of 2 the
/// forgery never decides an operation; trusting the first answer, it does.
#[test]
fn an_adversary_rewrites_answers_and_a_reply_quorum_outvotes_it() {
    let quorum = ClientConfig {
        reply_quorum: 2,
        ..kv_clients(4, Retry::None)
    };
    let (r, _) = voters_with(VotersConfig::default(), quorum, 1, &[NodeId(0)], &[]);
    assert_eq!(r.history.len(), 120);
    assert!(
        answers(&r).iter().all(|v| v.starts_with('k')),
        "{:?}",
        answers(&r)
    );
    let (r, _) = voters_with(
        VotersConfig::default(),
        kv_clients(4, Retry::None),
        1,
        &[NodeId(0)],
        &[],
    );
    assert!(answers(&r).iter().any(|v| v == "forged"));
}

/// One node refusing is not the system refusing: with a quorum of 2 a lone failure does
/// not fail the operation.
#[test]
fn a_lone_failure_does_not_fail_an_operation_under_a_reply_quorum() {
    let failer = VotersConfig {
        failers: vec![1],
        ..Default::default()
    };
    let quorum = ClientConfig {
        reply_quorum: 2,
        ..kv_clients(4, Retry::None)
    };
    let (r, _) = voters(failer.clone(), quorum, 2);
    assert!(
        r.history
            .ops()
            .iter()
            .all(|o| matches!(o.outcome, Outcome::Ok(_))),
        "{:?}",
        answers(&r)
    );
    let (r, _) = voters(failer, kv_clients(4, Retry::None), 2);
    assert!(
        r.history
            .ops()
            .iter()
            .any(|o| matches!(o.outcome, Outcome::Failed))
    );
}

/// A client whose node is silent retries to every node at once, not to the next one.
#[test]
fn a_retry_to_all_reaches_every_node() {
    let silent = VotersConfig {
        silent: vec![0],
        ..Default::default()
    };
    let retry = Retry::SameId { max_attempts: 3 };
    let to_all = ClientConfig {
        reply_quorum: 2,
        retry_to_all: true,
        ..kv_clients(1, retry)
    };
    let (r, direct) = voters(silent.clone(), to_all, 3);
    assert!(
        r.history
            .ops()
            .iter()
            .all(|o| matches!(o.outcome, Outcome::Ok(_)))
    );
    // Client 0 starts at the silent node 0: its first operation times out there and
    // then reaches all four nodes; the next ones go to node 1, its next target.
    assert_eq!(direct, vec![2, 30, 1, 1]);
    let next = ClientConfig {
        reply_quorum: 2,
        ..kv_clients(1, retry)
    };
    let (_, direct) = voters(silent, next, 3);
    assert!(direct[2] == 0 && direct[3] == 0, "{direct:?}");
}

/// Twins answer as one node: node 0 runs in slots 0 and 4, both lying alike. Under a
/// quorum of 2 their two forged answers are one vote, so the lie never completes an
/// operation; the request to node 0 reaches both slots, and both answer.
#[test]
fn twins_count_once_toward_a_reply_quorum() {
    let quorum = ClientConfig {
        reply_quorum: 2,
        ..kv_clients(4, Retry::None)
    };
    let (r, direct) = voters_with(
        VotersConfig::default(),
        quorum,
        1,
        &[NodeId(0), NodeId(4)],
        &[NodeId(0)],
    );
    assert_eq!(r.history.len(), 120);
    let got = answers(&r);
    assert!(
        got.iter().all(|v| v.starts_with('k')),
        "a lie got through: {got:?}"
    );
    // Client 0 asks node 0 first: both of its slots heard it directly.
    assert!(direct[0] > 0 && direct[4] > 0, "{direct:?}");
    assert_eq!(direct[0], direct[4], "{direct:?}");
}
