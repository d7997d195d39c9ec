//! EPaxos's invariants (`protocols::epaxos::invariants`), each on toy replicas that must
//! pass and that must fail. Node 0 executes each client request at once as its next
//! instance and tells node 1, which executes it too, reporting commits and executions as
//! EPaxos does. Honest reports pass both checks; a replica that commits an instance with
//! other attributes breaks stability; one that swaps two interfering commands breaks
//! execution consistency; swapping two reads of a key breaks it only when reads do not
//! commute; one that executes an instance before committing it, or twice, breaks it too;
//! and a replica that restarts and executes everything again in the same order passes.

use protocols::epaxos::invariants::{ExecutionConsistency, Stability};
use protocols::epaxos::{InstanceId, obs};
use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, OpMix};
use sim_core::history::{OpOutput, Operation};
use sim_core::invariant::Invariant;
use sim_core::{
    ClientRequest, Ctx, EndReason, Message, NodeId, Protocol, Reply, SimConfig, SimDuration,
    Simulation, TimerId,
};

/// How node 1 misreports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
enum Mistake {
    /// It reports what node 0 did, in the same order.
    #[default]
    None,
    /// It commits every instance with other attributes.
    Recommit,
    /// It executes each pair of consecutive commands swapped.
    Swap,
    /// It reports the first ten executions, then a restart, then all of them again.
    Restart,
    /// It executes each instance twice.
    Twice,
    /// It executes each instance before committing it.
    Early,
}

/// What node 0 tells node 1: an instance, its command's key, whether it writes, and the
/// digest of its attributes.
#[derive(Clone, Debug, Hash)]
struct Executed(u64, u64, bool, u64);

impl Message for Executed {
    fn kind(&self) -> &'static str {
        "Executed"
    }
}

#[derive(Debug)]
struct Toy {
    mistake: Mistake,
    next: u64,
    held: Option<Executed>,
    log: Vec<Executed>,
    /// Node 1: what arrived ahead of its turn (the network may reorder).
    early: std::collections::BTreeMap<u64, Executed>,
}

fn execute(ctx: &mut Ctx<'_, Executed>, e: &Executed) {
    ctx.observe(obs::EXECUTE, e.0, e.3);
    ctx.observe(obs::EXECUTE_ACCESS, e.1, u64::from(e.2));
}

impl Protocol for Toy {
    type Msg = Executed;
    type Config = Mistake;

    fn start(_: &mut Ctx<'_, Executed>, mistake: &Mistake) -> Self {
        Toy {
            mistake: *mistake,
            next: 0,
            held: None,
            log: Vec::new(),
            early: Default::default(),
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Executed>, _: NodeId, msg: Executed) {
        self.early.insert(msg.0, msg);
        while let Some(next) = self
            .early
            .remove(&InstanceId::new(NodeId(0), self.next + 1).encode())
        {
            self.next += 1;
            self.replay(ctx, next);
        }
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Executed>, _: TimerId) {}
    fn on_request(&mut self, ctx: &mut Ctx<'_, Executed>, request: ClientRequest) {
        self.next += 1;
        let inst = InstanceId::new(NodeId(0), self.next).encode();
        let write = !matches!(request.op, Operation::Get { .. });
        let e = Executed(inst, request.op.key(), write, request.digest());
        ctx.observe(obs::COMMIT, e.0, e.3);
        execute(ctx, &e);
        ctx.broadcast(e);
        ctx.reply(request.id, Reply::Ok(OpOutput::Done));
    }
}

impl Toy {
    /// Node 1 executes node 0's next instance, misreporting as told.
    fn replay(&mut self, ctx: &mut Ctx<'_, Executed>, msg: Executed) {
        let digest = if self.mistake == Mistake::Recommit {
            msg.3 ^ 1
        } else {
            msg.3
        };
        if self.mistake == Mistake::Early {
            execute(ctx, &msg);
        }
        ctx.observe(obs::COMMIT, msg.0, digest);
        match self.mistake {
            Mistake::Early => {}
            Mistake::Twice => {
                execute(ctx, &msg);
                execute(ctx, &msg);
            }
            Mistake::Swap => match self.held.take() {
                None => self.held = Some(msg),
                Some(first) => {
                    execute(ctx, &msg);
                    execute(ctx, &first);
                }
            },
            Mistake::Restart => {
                execute(ctx, &msg);
                self.log.push(msg);
                if self.log.len() == 10 {
                    ctx.observe(obs::RESTORE, 0, 0);
                    for e in &self.log {
                        execute(ctx, e);
                    }
                }
            }
            _ => execute(ctx, &msg),
        }
    }
}

/// Runs two toy replicas (one client, to node 0, 40 operations on one key, of the given
/// mix) under `invariant`.
fn run(mistake: Mistake, mix: OpMix, invariant: impl Invariant<Toy> + 'static) -> EndReason {
    let config = SimConfig {
        nodes: 2,
        horizon: SimDuration::from_secs(1),
        clients: Some(ClientConfig {
            count: 1,
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    };
    let w = KvWorkload::new(1, mix, KeyDistribution::Uniform, 40).unwrap();
    Simulation::<Toy>::builder(config)
        .protocol_config(mistake)
        .workload(w)
        .invariant(invariant)
        .build()
        .unwrap()
        .run()
        .end
}

fn violated(end: EndReason) -> Option<String> {
    match end {
        EndReason::InvariantViolated { invariant, .. } => Some(invariant),
        _ => None,
    }
}

const MIXED: OpMix = OpMix {
    get: 50,
    put: 30,
    cas: 10,
    append: 10,
};
const READS: OpMix = OpMix {
    get: 1,
    put: 0,
    cas: 0,
    append: 0,
};

#[test]
fn honest_reports_and_a_replayed_restart_pass_both_checks() {
    for mistake in [Mistake::None, Mistake::Restart] {
        assert_eq!(violated(run(mistake, MIXED, Stability::default())), None);
        for commute in [false, true] {
            let check = ExecutionConsistency::new(commute);
            assert_eq!(violated(run(mistake, MIXED, check)), None, "{mistake:?}");
        }
    }
}

#[test]
fn committing_an_instance_with_other_attributes_breaks_stability() {
    let end = run(Mistake::Recommit, MIXED, Stability::default());
    assert_eq!(violated(end).as_deref(), Some("stability"));
}

#[test]
fn swapping_interfering_commands_breaks_execution_consistency() {
    let end = run(Mistake::Swap, MIXED, ExecutionConsistency::new(false));
    assert_eq!(violated(end).as_deref(), Some("execution_consistency"));
    let end = run(Mistake::Swap, MIXED, ExecutionConsistency::new(true));
    assert_eq!(violated(end).as_deref(), Some("execution_consistency"));
}

#[test]
fn executing_before_committing_or_twice_breaks_execution_consistency() {
    for mistake in [Mistake::Early, Mistake::Twice] {
        let end = run(mistake, MIXED, ExecutionConsistency::new(false));
        assert_eq!(
            violated(end).as_deref(),
            Some("execution_consistency"),
            "{mistake:?}"
        );
    }
}

#[test]
fn swapped_reads_break_it_only_when_reads_do_not_commute() {
    let end = run(Mistake::Swap, READS, ExecutionConsistency::new(false));
    assert_eq!(violated(end).as_deref(), Some("execution_consistency"));
    let end = run(Mistake::Swap, READS, ExecutionConsistency::new(true));
    assert_eq!(violated(end), None);
}
