//! Small protocols that exercise one engine feature each, for the engine's tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use sim_core::SimConfig;
use sim_core::byzantine::{AdvCtx, Adversary, Forged};
use sim_core::client::{ClientConfig, Load, Retry};
use sim_core::history::OpOutput;
use sim_core::rng::Delay;
use sim_core::{
    ClientRequest, Ctx, Message, NodeId, Operation, Protocol, Reply, SimDuration, SimTime, TimerId,
};

/// A chatty node: it broadcasts a numbered `Tick` every `period` of its local time, can
/// send a burst to one node at start, and logs everything it receives.
#[derive(Debug, Default)]
pub struct Chatter {
    pub seq: u64,
    /// (true sender, seq, sender it claims, local receive time, global receive time).
    pub log: Vec<(NodeId, u64, u32, SimTime)>,
    /// Local times at which the periodic timer fired.
    pub fires: Vec<SimTime>,
    period: Option<SimDuration>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tick {
    pub seq: u64,
    /// Who the message says sent it; the network's `from` is what counts.
    pub claimed: u32,
}

impl Message for Tick {
    fn kind(&self) -> &'static str {
        "Tick"
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ChatterConfig {
    /// Broadcast period; `None`: no periodic broadcast.
    pub period: Option<SimDuration>,
    /// At start, node 0 sends this many ticks to node 1.
    pub burst: u64,
}

pub const TICK: TimerId = TimerId(1);

impl Protocol for Chatter {
    type Msg = Tick;
    type Config = ChatterConfig;

    fn start(ctx: &mut Ctx<'_, Tick>, config: &ChatterConfig) -> Self {
        if let Some(p) = config.period {
            ctx.set_timer(TICK, p);
        }
        let mut me = Chatter {
            period: config.period,
            ..Default::default()
        };
        if ctx.id() == NodeId(0) {
            for _ in 0..config.burst {
                let t = me.next_tick(ctx.id());
                ctx.send(NodeId(1), t);
            }
        }
        me
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Tick>, from: NodeId, msg: Tick) {
        self.log.push((from, msg.seq, msg.claimed, ctx.now()));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Tick>, timer: TimerId) {
        assert_eq!(timer, TICK);
        self.fires.push(ctx.now());
        let t = self.next_tick(ctx.id());
        ctx.broadcast(t);
        if let Some(p) = self.period {
            ctx.set_timer(TICK, p);
        }
    }
}

impl Chatter {
    fn next_tick(&mut self, me: NodeId) -> Tick {
        self.seq += 1;
        Tick {
            seq: self.seq,
            claimed: me.0,
        }
    }
}

/// A disk exerciser: on its first incarnation it writes a synced and an unsynced value
/// at 1 ms and arms a long timer; after a restart it reports what it found.
#[derive(Debug, Default)]
pub struct DiskProbe {
    pub restarted: bool,
    pub found_synced: Option<u64>,
    pub found_unsynced: Option<u64>,
    pub fired: Vec<(TimerId, SimTime)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoMsg;
impl Message for NoMsg {
    fn kind(&self) -> &'static str {
        "NoMsg"
    }
}

pub const WRITE: TimerId = TimerId(1);
pub const LONG: TimerId = TimerId(2);

impl Protocol for DiskProbe {
    type Msg = NoMsg;
    type Config = ();

    fn start(ctx: &mut Ctx<'_, NoMsg>, _: &()) -> Self {
        let restarted = ctx.disk().get::<bool>("started", 0).is_some();
        let found_synced = ctx.disk().get::<u64>("synced", 0).copied();
        let found_unsynced = ctx.disk().get::<u64>("unsynced", 0).copied();
        ctx.disk().put("started", 0, true);
        ctx.disk().sync();
        if restarted {
            // Same timer id as the first incarnation's, set much later.
            ctx.set_timer(LONG, SimDuration::from_millis(500));
        } else {
            ctx.set_timer(WRITE, SimDuration::from_millis(1));
            ctx.set_timer(LONG, SimDuration::from_millis(100));
        }
        DiskProbe {
            restarted,
            found_synced,
            found_unsynced,
            fired: Vec::new(),
        }
    }

    fn on_message(&mut self, _: &mut Ctx<'_, NoMsg>, _: NodeId, _: NoMsg) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, NoMsg>, timer: TimerId) {
        self.fired.push((timer, ctx.now()));
        if timer == WRITE {
            ctx.disk().put("synced", 0, 7u64);
            ctx.disk().sync();
            ctx.disk().put("unsynced", 0, 8u64);
        }
    }
}

/// A key-value store served by node 0 alone; every other node redirects to it. Not a
/// replicated protocol: a fixture for the client layer.
#[derive(Debug, Default)]
pub struct SoloKv {
    pub data: BTreeMap<u64, String>,
    /// Requests seen (a retry with the same id counts again).
    pub requests: u64,
    /// Requests applied (retries with a known id are answered from the cache).
    pub applied: BTreeMap<(u32, u64), Reply>,
    cfg: SoloKvConfig,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SoloKvConfig {
    /// Redirect without a hint (clients must find the server themselves).
    pub no_hint: bool,
    /// Answer nothing at all (clients time out).
    pub mute: bool,
}

impl Protocol for SoloKv {
    type Msg = NoMsg;
    type Config = SoloKvConfig;

    fn start(_: &mut Ctx<'_, NoMsg>, cfg: &SoloKvConfig) -> Self {
        SoloKv {
            cfg: cfg.clone(),
            ..Default::default()
        }
    }
    fn on_message(&mut self, _: &mut Ctx<'_, NoMsg>, _: NodeId, _: NoMsg) {}
    fn on_timer(&mut self, _: &mut Ctx<'_, NoMsg>, _: TimerId) {}

    fn on_request(&mut self, ctx: &mut Ctx<'_, NoMsg>, req: ClientRequest) {
        self.requests += 1;
        if self.cfg.mute {
            return;
        }
        if ctx.id() != NodeId(0) {
            let hint = if self.cfg.no_hint {
                None
            } else {
                Some(NodeId(0))
            };
            ctx.reply(req.id, Reply::Redirect(hint));
            return;
        }
        if let Some(r) = self.applied.get(&(req.id.client, req.id.seq)) {
            ctx.reply(req.id, r.clone());
            return;
        }
        let cur = self.data.get(&req.op.key()).cloned().unwrap_or_default();
        let out = match req.op {
            Operation::Get { .. } => OpOutput::Value(cur),
            Operation::Put { key, value } => {
                self.data.insert(key, value);
                OpOutput::Done
            }
            Operation::Append { key, value } => {
                self.data.insert(key, cur + &value);
                OpOutput::Done
            }
            Operation::Cas { key, expected, new } => {
                let ok = cur == expected;
                if ok {
                    self.data.insert(key, new);
                }
                OpOutput::Cas(ok)
            }
            _ => {
                ctx.reply(req.id, Reply::Fail("unsupported".into()));
                return;
            }
        };
        let reply = Reply::Ok(out);
        self.applied
            .insert((req.id.client, req.id.seq), reply.clone());
        ctx.reply(req.id, reply);
    }

    fn is_leader(&self) -> bool {
        true
    }
}

/// Milliseconds.
pub fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

/// A run configuration with nothing but the seed, cluster size and horizon set.
pub fn config(seed: u64, nodes: u32, horizon: SimDuration) -> SimConfig {
    SimConfig {
        seed,
        nodes,
        horizon,
        ..SimConfig::default()
    }
}

thread_local! {
    /// What [`SharedTrace`] recorded on this thread.
    pub static SHARED: std::cell::RefCell<Vec<sim_core::trace::TraceEvent>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A trace sink the test can read after the simulation consumed it.
#[derive(Default)]
pub struct SharedTrace;
impl sim_core::trace::TraceSink for SharedTrace {
    fn record(&mut self, e: &sim_core::trace::TraceEvent) -> std::io::Result<()> {
        SHARED.with(|s| s.borrow_mut().push(e.clone()));
        Ok(())
    }
}

/// Node 0's adversary: claims every message came from node 2, and equivocates by also
/// sending a doctored copy to node 1.
pub struct Impostor;
impl Adversary<Chatter> for Impostor {
    fn intercept(
        &mut self,
        _ctx: &mut AdvCtx<'_>,
        to: NodeId,
        mut msg: Tick,
        out: &mut Vec<Forged<Tick>>,
    ) {
        msg.claimed = 2;
        out.push(Forged {
            to,
            msg: msg.clone(),
            delay: SimDuration::ZERO,
        });
        msg.seq += 1_000_000;
        out.push(Forged {
            to: NodeId(1),
            msg,
            delay: ms(1),
        });
    }
}

/// Closed-loop key-value clients with a 50 ms timeout.
pub fn kv_clients(count: u32, retry: Retry) -> ClientConfig {
    ClientConfig {
        count,
        timeout: ms(50),
        retry,
        load: Load::Closed {
            think: Delay::Constant(ms(1)),
        },
        ..ClientConfig::default()
    }
}

/// Replicas that all answer every request, for reply quorums: the node a client asks
/// forwards the request to the others, and every node answers the client itself. Liars
/// answer a wrong value, failers refuse, silent nodes neither answer nor forward.
#[derive(Debug, Default)]
pub struct Voters {
    /// Requests this node got from a client directly.
    pub direct: u64,
    seen: Vec<(u32, u64)>,
    cfg: VotersConfig,
}

/// Which voters misbehave, by node id.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct VotersConfig {
    /// Answer a wrong value.
    pub liars: Vec<u32>,
    /// Refuse every request.
    pub failers: Vec<u32>,
    /// Neither answer nor forward.
    pub silent: Vec<u32>,
}

/// A client request passed on between voters.
#[derive(Clone, Debug, Hash)]
pub struct Forward(pub ClientRequest);

impl Message for Forward {
    fn kind(&self) -> &'static str {
        "Forward"
    }
}

impl Voters {
    fn answer(&mut self, ctx: &mut Ctx<'_, Forward>, req: ClientRequest, forward: bool) {
        let me = ctx.id().0;
        if self.cfg.silent.contains(&me) || self.seen.contains(&(req.id.client, req.id.seq)) {
            return;
        }
        self.seen.push((req.id.client, req.id.seq));
        if forward {
            ctx.broadcast(Forward(req.clone()));
        }
        let reply = if self.cfg.liars.contains(&me) {
            Reply::Ok(OpOutput::Value("lie".into()))
        } else if self.cfg.failers.contains(&me) {
            Reply::Fail("no".into())
        } else {
            Reply::Ok(OpOutput::Value(format!("k{}", req.op.key())))
        };
        ctx.reply(req.id, reply);
    }
}

impl Protocol for Voters {
    type Msg = Forward;
    type Config = VotersConfig;

    fn start(_: &mut Ctx<'_, Forward>, cfg: &VotersConfig) -> Self {
        Voters {
            cfg: cfg.clone(),
            ..Default::default()
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Forward>, _: NodeId, msg: Forward) {
        self.answer(ctx, msg.0, false);
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Forward>, _: TimerId) {}
    fn on_request(&mut self, ctx: &mut Ctx<'_, Forward>, req: ClientRequest) {
        self.direct += 1;
        self.answer(ctx, req, true);
    }
}

/// Each node signs its id and sends it to every other node at start; receivers keep who
/// sent each message and who signed it.
#[derive(Debug, Default)]
pub struct Signers {
    pub heard: Vec<(NodeId, sim_core::auth::Principal, u32)>,
}

/// A node's signed id.
#[derive(Clone, Debug, Hash)]
pub struct SignedId(pub sim_core::auth::Signed<u32>);

impl Message for SignedId {
    fn kind(&self) -> &'static str {
        "SignedId"
    }
}

impl Protocol for Signers {
    type Msg = SignedId;
    type Config = ();

    fn start(ctx: &mut Ctx<'_, Self::Msg>, _: &()) -> Self {
        let signed = ctx.sign(ctx.id().0);
        ctx.broadcast(SignedId(signed));
        Signers::default()
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Self::Msg>, from: NodeId, msg: Self::Msg) {
        self.heard.push((from, msg.0.signer(), *msg.0.value()));
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Self::Msg>, _: TimerId) {}
}
