//! The validity check PBFT runs (`protocols::pbft::invariants::Validity`), on a toy node
//! that answers every request and reports an execution: reporting the digest of the
//! request the client sent passes; reporting a digest no client sent is a violation,
//! unless the node is Byzantine.

use sim_core::byzantine::Silent;
use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, OpMix};
use sim_core::history::OpOutput;
use sim_core::{
    ClientRequest, Ctx, EndReason, Message, NodeId, Protocol, Reply, SimConfig, SimDuration,
    Simulation, TimerId,
};

/// Executes each request at once; `forge` reports a digest of its own making.
#[derive(Debug)]
struct Toy {
    forge: bool,
    next: u64,
}

#[derive(Clone, Debug, Hash)]
struct Nothing;

impl Message for Nothing {
    fn kind(&self) -> &'static str {
        "Nothing"
    }
}

impl Protocol for Toy {
    type Msg = Nothing;
    type Config = bool;

    fn start(_: &mut Ctx<'_, Nothing>, forge: &bool) -> Self {
        Toy {
            forge: *forge,
            next: 0,
        }
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Nothing>, _: NodeId, _: Nothing) {}
    fn on_timer(&mut self, _: &mut Ctx<'_, Nothing>, _: TimerId) {}
    fn on_request(&mut self, ctx: &mut Ctx<'_, Nothing>, request: ClientRequest) {
        self.next += 1;
        let digest = if self.forge {
            request.digest() ^ 1
        } else {
            request.digest()
        };
        ctx.observe("execute", self.next, digest);
        ctx.reply(request.id, Reply::Ok(OpOutput::Done));
    }
}

fn run(forge: bool, byzantine: bool) -> EndReason {
    let config = SimConfig {
        nodes: 1,
        horizon: SimDuration::from_secs(1),
        clients: Some(ClientConfig {
            count: 1,
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    };
    let w = KvWorkload::new(1, OpMix::default(), KeyDistribution::Uniform, 5).unwrap();
    let mut b = Simulation::<Toy>::builder(config)
        .protocol_config(forge)
        .workload(w)
        .invariant(protocols::pbft::invariants::Validity::new("execute"));
    if byzantine {
        b = b.adversary(NodeId(0), Silent);
    }
    b.build().unwrap().run().end
}

#[test]
fn executing_what_a_client_sent_passes() {
    let end = run(false, false);
    assert!(
        !matches!(end, EndReason::InvariantViolated { .. }),
        "{end:?}"
    );
}

#[test]
fn executing_what_no_client_sent_is_a_validity_violation() {
    match run(true, false) {
        EndReason::InvariantViolated { invariant, .. } => assert_eq!(invariant, "validity"),
        other => panic!("expected a validity violation, got {other:?}"),
    }
}

#[test]
fn a_byzantine_node_is_not_held_to_it() {
    let end = run(true, true);
    assert!(
        !matches!(end, EndReason::InvariantViolated { .. }),
        "{end:?}"
    );
}
