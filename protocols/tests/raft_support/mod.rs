//! What the Raft tests share: a run builder, workloads, fault schedules and verdicts.

#![allow(dead_code)]

use protocols::ProtocolSpec;
use protocols::raft::{Raft, RaftConfig};
use rand::Rng;
use sim_core::check::{CheckOptions, Verdict, check_history};
use sim_core::client::{ClientConfig, KeyDistribution, KvWorkload, Load, OpMix, Workload};
use sim_core::history::{ClientId, Operation, Outcome};
use sim_core::invariant::{Invariant, World};
use sim_core::rng::{Delay, RunSeed, SimRng, Stream};
use sim_core::{EndReason, Fault, RunResult, SimConfig, SimDuration, Simulation, Target};

pub fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

/// Lets the boxed invariants of `ProtocolSpec::invariants` go to the builder.
pub struct Boxed(pub Box<dyn Invariant<Raft>>);

impl Invariant<Raft> for Boxed {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn check(&mut self, world: &World<'_, Raft>) -> Result<(), String> {
        self.0.check(world)
    }
}

pub fn sim_config(seed: u64, nodes: u32, clients: u32, horizon: SimDuration) -> SimConfig {
    SimConfig {
        seed,
        nodes,
        horizon,
        no_progress: Some(SimDuration::from_secs(5)),
        clients: Some(ClientConfig {
            count: clients,
            timeout: ms(400),
            // While no leader is known, followers answer with hintless redirects; clients
            // keep looking for the length of an election or two.
            max_redirects: 1000,
            load: Load::Closed {
                think: Delay::Constant(ms(2)),
            },
            ..ClientConfig::default()
        }),
        ..SimConfig::default()
    }
}

pub struct Run {
    pub sim: SimConfig,
    pub raft: RaftConfig,
    pub faults: Vec<(SimDuration, Fault)>,
    pub workload: Box<dyn Workload>,
}

impl Run {
    pub fn new(seed: u64, nodes: u32, clients: u32, ops: u64) -> Self {
        Run {
            sim: sim_config(seed, nodes, clients, SimDuration::from_secs(20)),
            raft: RaftConfig::default(),
            faults: Vec::new(),
            workload: Box::new(kv(ops, OpMix::default())),
        }
    }

    pub fn go(self) -> (RunResult, Vec<Option<Raft>>) {
        let mut b = Simulation::<Raft>::builder(self.sim)
            .protocol_config(self.raft.clone())
            .workload(BoxedWorkload(self.workload));
        for inv in Raft::invariants(&self.raft) {
            b = b.invariant(Boxed(inv));
        }
        for (at, f) in self.faults {
            b = b.fault(at, f);
        }
        b.build().expect("valid simulation").run_with_final_states()
    }
}

pub struct BoxedWorkload(pub Box<dyn Workload>);

impl Workload for BoxedWorkload {
    fn next_op(&mut self, client: ClientId, rng: &mut SimRng) -> Option<Operation> {
        self.0.next_op(client, rng)
    }
}

pub fn kv(ops: u64, mix: OpMix) -> KvWorkload {
    KvWorkload::new(3, mix, KeyDistribution::Uniform, ops).expect("valid workload")
}

/// A random fault schedule drawn from the seed: crashes and restarts of the leader or of
/// random nodes, leader isolation and random partitions, each healed or restarted a
/// little later, so that a majority is usually back within a second.
pub fn nemesis(seed: u64, until: SimDuration) -> Vec<(SimDuration, Fault)> {
    let mut rng = RunSeed(seed).stream(Stream::Named("raft-test-nemesis"));
    let mut faults = Vec::new();
    let mut t = 300;
    while t < until.as_nanos() / 1_000_000 {
        let recover = t + rng.random_range(50..400);
        match rng.random_range(0..5) {
            0 => faults.push((ms(t), Fault::Crash(Target::Leader))),
            1 => faults.push((ms(t), Fault::Crash(Target::Random))),
            2 => faults.push((ms(t), Fault::Isolate(Target::Leader))),
            3 => faults.push((ms(t), Fault::Isolate(Target::RandomMinority))),
            _ => faults.push((ms(t), Fault::Crash(Target::RandomMinority))),
        }
        faults.push((ms(recover), Fault::Heal));
        faults.push((ms(recover), Fault::Restart(Target::All)));
        t = recover + rng.random_range(100..500);
    }
    faults
}

pub fn violation(r: &RunResult) -> Option<(String, String)> {
    match &r.end {
        EndReason::InvariantViolated {
            invariant, message, ..
        } => Some((invariant.clone(), message.clone())),
        _ => None,
    }
}

pub fn linearizable(r: &RunResult) -> bool {
    match check(r) {
        Some(ok) => ok,
        None => panic!("seed {}: the checker gave up", r.seed),
    }
}

/// The linearizability verdict, `None` if the checker ran out of steps.
pub fn check(r: &RunResult) -> Option<bool> {
    let opts = CheckOptions {
        max_steps: Some(2_000_000),
        parallel: false,
        ..CheckOptions::default()
    };
    match check_history(&r.history, &opts).verdict {
        Verdict::Linearizable => Some(true),
        Verdict::NotLinearizable { counterexample } => {
            eprintln!("seed {}: {}", r.seed, counterexample.render());
            Some(false)
        }
        Verdict::Unknown { .. } => None,
    }
}

pub fn ok_count(r: &RunResult) -> usize {
    r.history
        .ops()
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Ok(_)))
        .count()
}
