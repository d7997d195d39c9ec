//! PBFT's invariants (`protocols::pbft::invariants`), each on toy nodes that must pass
//! and that must fail: a node that reports executing exactly what its clients sent, in
//! order, passes all three; one that reports a digest nobody sent breaks validity; two
//! nodes reporting different digests for one sequence number break agreement; a node
//! that skips a number breaks in-order execution. What a Byzantine node reports is not
//! held against the others.

use protocols::pbft::invariants::{Agreement, InOrder, Validity};
use sim_core::byzantine::{AdvCtx, Adversary, Forged};
use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, OpMix};
use sim_core::history::OpOutput;
use sim_core::invariant::Invariant;
use sim_core::{
    ClientRequest, Ctx, EndReason, Message, NodeId, Protocol, Reply, SimConfig, SimDuration,
    Simulation, TimerId,
};

/// How a toy node misreports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
enum Mistake {
    /// It reports what it executed, in order.
    #[default]
    None,
    /// Node 0 reports a digest of its own making.
    Forge,
    /// Node 1 reports a different digest than node 0 for the same number (both reports
    /// are of requests some client sent).
    Disagree,
    /// Node 0 skips every third number (node 1, following it, waits for the gap).
    Skip,
}

/// Node 0 executes each request at once, numbering them in arrival order, and tells
/// node 1 the number and digest, which it executes too.
#[derive(Debug)]
struct Toy {
    mistake: Mistake,
    next: u64,
    last_digest: u64,
    pending: std::collections::BTreeMap<u64, u64>,
}

#[derive(Clone, Debug, Hash)]
struct Executed(u64, u64);

impl Message for Executed {
    fn kind(&self) -> &'static str {
        "Executed"
    }
}

impl Toy {
    fn report(&mut self, ctx: &mut Ctx<'_, Executed>, seq: u64, digest: u64) {
        let reported = match self.mistake {
            Mistake::Forge if ctx.id() == NodeId(0) => digest ^ 2,
            Mistake::Disagree if ctx.id() == NodeId(1) && self.last_digest != 0 => self.last_digest,
            _ => digest,
        };
        self.last_digest = digest;
        ctx.observe("execute", seq, reported);
    }
}

impl Protocol for Toy {
    type Msg = Executed;
    type Config = Mistake;

    fn start(_: &mut Ctx<'_, Executed>, mistake: &Mistake) -> Self {
        Toy {
            mistake: *mistake,
            next: 0,
            last_digest: 0,
            pending: Default::default(),
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Executed>, _: NodeId, msg: Executed) {
        // Node 1 executes what node 0 did; a late or reordered copy is executed when it
        // comes next, as a replica executes in order.
        self.pending.insert(msg.0, msg.1);
        while let Some(d) = self.pending.remove(&(self.next + 1)) {
            self.next += 1;
            self.report(ctx, self.next, d);
        }
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Executed>, _: TimerId) {}
    fn on_request(&mut self, ctx: &mut Ctx<'_, Executed>, request: ClientRequest) {
        self.next += 1;
        if self.mistake == Mistake::Skip && self.next % 3 == 0 {
            self.next += 1;
        }
        self.report(ctx, self.next, request.digest());
        ctx.broadcast(Executed(self.next, request.digest()));
        ctx.reply(request.id, Reply::Ok(OpOutput::Done));
    }
}

/// An adversary that lets everything through: its node behaves exactly as without it,
/// but counts as Byzantine.
struct PassThrough;

impl Adversary<Toy> for PassThrough {
    fn intercept(
        &mut self,
        _: &mut AdvCtx<'_>,
        to: NodeId,
        msg: Executed,
        out: &mut Vec<Forged<Executed>>,
    ) {
        out.push(Forged {
            to,
            msg,
            delay: SimDuration::ZERO,
        });
    }
}

/// Runs two toy nodes (one client, to node 0) under `invariant`; `byzantine` makes the
/// node that misreports (node 0, or node 1 for `Disagree`) Byzantine, changing nothing
/// else.
fn run(mistake: Mistake, byzantine: bool, invariant: impl Invariant<Toy> + 'static) -> EndReason {
    let config = SimConfig {
        nodes: 2,
        horizon: SimDuration::from_secs(1),
        clients: Some(ClientConfig {
            count: 1,
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    };
    let w = KvWorkload::new(1, OpMix::default(), KeyDistribution::Uniform, 10).unwrap();
    let mut b = Simulation::<Toy>::builder(config)
        .protocol_config(mistake)
        .workload(w)
        .invariant(invariant);
    if byzantine {
        let liar = if mistake == Mistake::Disagree { 1 } else { 0 };
        b = b.adversary(NodeId(liar), PassThrough);
    }
    b.build().unwrap().run().end
}

fn violated(end: EndReason) -> Option<String> {
    match end {
        EndReason::InvariantViolated { invariant, .. } => Some(invariant),
        _ => None,
    }
}

#[test]
fn honest_reports_pass_every_check() {
    assert_eq!(
        violated(run(Mistake::None, false, Validity::new("execute"))),
        None
    );
    assert_eq!(
        violated(run(Mistake::None, false, Agreement::default())),
        None
    );
    assert_eq!(
        violated(run(Mistake::None, false, InOrder::default())),
        None
    );
}

#[test]
fn executing_what_no_client_sent_is_a_validity_violation() {
    let end = run(Mistake::Forge, false, Validity::new("execute"));
    assert_eq!(violated(end).as_deref(), Some("validity"));
}

#[test]
fn two_digests_for_one_number_is_an_agreement_violation() {
    let end = run(Mistake::Disagree, false, Agreement::default());
    assert_eq!(violated(end).as_deref(), Some("agreement"));
}

#[test]
fn a_skipped_number_is_an_in_order_violation() {
    let end = run(Mistake::Skip, false, InOrder::default());
    assert_eq!(violated(end).as_deref(), Some("in_order"));
}

/// The same runs that fail above pass when the node that misreports is Byzantine.
#[test]
fn a_byzantine_node_is_not_held_to_them() {
    assert_eq!(
        violated(run(Mistake::Forge, true, Validity::new("execute"))),
        None
    );
    assert_eq!(
        violated(run(Mistake::Disagree, true, Agreement::default())),
        None
    );
    assert_eq!(violated(run(Mistake::Skip, true, InOrder::default())), None);
}
