//! A Byzantine replica asking for state without end gets an answer at most once per
//! half `fetch_retry`: it cannot make an honest replica ship its stable state once per
//! message. The honest cluster serves its clients all the while.

use protocols::pbft::{Pbft, PbftConfig, PbftMsg};
use sim_core::byzantine::{AdvCtx, Adversary, Forged};
use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, OpMix, Retry};
use sim_core::{EndReason, NodeId, SimConfig, SimDuration, Simulation};

/// Sends what its replica sends, and with each message ten requests for node 0's state.
struct Flood;

impl Adversary<Pbft> for Flood {
    fn intercept(
        &mut self,
        _: &mut AdvCtx<'_>,
        to: NodeId,
        msg: PbftMsg,
        out: &mut Vec<Forged<PbftMsg>>,
    ) {
        out.push(Forged {
            to,
            msg,
            delay: SimDuration::ZERO,
        });
        for _ in 0..10 {
            out.push(Forged {
                to: NodeId(0),
                msg: PbftMsg::FetchState { seq: 1 },
                delay: SimDuration::ZERO,
            });
        }
    }
}

#[test]
fn a_flood_of_state_requests_gets_rate_limited_answers() {
    let horizon = SimDuration::from_secs(2);
    let config = SimConfig {
        nodes: 4,
        horizon,
        clients: Some(ClientConfig {
            count: 3,
            reply_quorum: 2,
            retry_to_all: true,
            timeout: SimDuration::from_millis(500),
            retry: Retry::SameId { max_attempts: 20 },
            ..ClientConfig::default()
        }),
        stop_when_done: false,
        ..SimConfig::default()
    };
    let pbft = PbftConfig {
        checkpoint_interval: 4,
        watermark_window: 16,
        ..PbftConfig::default()
    };
    let retry = pbft.fetch_retry;
    let w = KvWorkload::new(3, OpMix::default(), KeyDistribution::Uniform, 100).unwrap();
    let r = Simulation::<Pbft>::builder(config)
        .protocol_config(pbft)
        .workload(w)
        .adversary(NodeId(3), Flood)
        .build()
        .unwrap()
        .run();
    assert!(
        !matches!(r.end, EndReason::InvariantViolated { .. }),
        "{:?}",
        r.end
    );
    let sent = |k: &str| r.metrics.messages.get(k).map_or(0, |c| c.sent);
    let asked = sent("FetchState");
    let answered = sent("State");
    let refused = r
        .metrics
        .counters
        .get("pbft.fetches_refused")
        .copied()
        .unwrap_or(0);
    assert!(asked > 1000, "the flood asked {asked} times");
    // Node 0 answers node 3 at most once per half fetch_retry over the run.
    let bound = horizon.as_nanos() / (retry.as_nanos() / 2) + 1;
    assert!(
        answered <= bound,
        "{answered} answers to {asked} requests (bound {bound})"
    );
    assert!(
        answered > 0 && refused > 0,
        "{answered} answered, {refused} refused"
    );
    assert!(
        r.history
            .ops()
            .iter()
            .filter(|o| o.completed.is_some())
            .count()
            > 100,
        "the honest replicas served the clients"
    );
}
