//! PBFT (Castro & Liskov, "Practical Byzantine Fault Tolerance", OSDI '99, and
//! "Practical Byzantine Fault Tolerance and Proactive Recovery", TOCS 2002) as a
//! replicated key-value store that tolerates f Byzantine replicas out of N ≥ 3f + 1.
//!
//! The primary of view v (replica v mod N) gives each client request a sequence number
//! within the watermarks and sends it to the backups (PRE-PREPARE). A backup that accepts
//! it (in its view, within [h, h + L], the first digest for that view and number) sends
//! PREPARE to all; with the pre-prepare and a quorum less one matching prepares from
//! distinct backups a replica is *prepared* and sends COMMIT; with a quorum of matching
//! commits it is *committed-local*, and executes in sequence-number order and answers
//! the client, who waits for f + 1 matching answers. Every K sequence numbers replicas
//! exchange checkpoint votes; a quorum makes a checkpoint stable, moves the watermarks and
//! discards the log below it; a replica that fell behind fetches the stable state.
//! A backup that waits too long for a request to execute moves to the next view: its
//! VIEW-CHANGE carries its stable checkpoint's proof and its prepared certificates; the
//! new primary, with a quorum of them, sends NEW-VIEW with the proposals that follow
//! from them, which every backup recomputes before it enters the view.
//!
//! Quorums are ⌈(N + f + 1)/2⌉ (2f + 1 at N = 3f + 1). Signatures are modelled
//! ([`sim_core::auth`]): a replica cannot sign for another, so certificates are checked
//! by their signers; client requests carry their client's signature.
//!
//! The handlers live in `normal.rs` (requests, the three phases, execution),
//! `checkpoint.rs` (checkpoints and state transfer) and `view_change.rs`; the checks in
//! `invariants.rs`.

mod byzantine;
mod catch_up;
mod checkpoint;
mod config;
pub mod invariants;
mod log;
mod messages;
mod normal;
mod persist;
mod view_change;

use std::collections::{BTreeMap, VecDeque};

use sim_core::auth::Signed;
use sim_core::client::ClientConfig;
use sim_core::invariant::Invariant;
use sim_core::{ClientRequest, Ctx, NodeId, Protocol, RequestId, SimTime, TimerId};

pub use config::{PbftBugs, PbftConfig};
pub use log::{Entry, Quorums};
pub use messages::{
    Carried, CheckpointVote, NULL_DIGEST, NewView, PbftMsg, Phase, PrePrepare, PreparedCert,
    StableState, ViewChange, Vote,
};

use crate::kv::KvStore;
use crate::{Family, ProtocolSpec};

/// Fires when a backup waited too long for a request (in a view), or, during a view
/// change, to send the view change again or move on to the next view.
const VIEW_TIMER: TimerId = TimerId(1);
/// Fires to ask again for state or a NEW-VIEW not yet received.
const FETCH_TIMER: TimerId = TimerId(2);

/// Observation kinds, shared by the protocol and its checkers.
pub mod obs {
    /// A replica became committed-local; key: the sequence number, value: the digest.
    pub const COMMIT: &str = "commit";
    /// A replica executed a sequence number; key: it, value: the digest.
    pub const EXECUTE: &str = "execute";
    /// A replica's state now starts after this sequence number (key): at start, or on
    /// installing a stable checkpoint it fetched; value 0.
    pub const RESTORE: &str = "restore";
    /// A replica entered a view (key) whose primary (value) it is or follows.
    pub const VIEW: &str = "view";
}

/// One PBFT replica.
#[derive(Debug, Clone, Hash)]
pub struct Pbft {
    id: NodeId,
    qs: Quorums,
    config: PbftConfig,
    /// The current view (durable).
    view: u64,
    /// Whether the view started here (false while changing to it).
    active: bool,
    /// The log above the stable checkpoint, by sequence number (durable).
    log: BTreeMap<u64, Entry>,
    /// The stable checkpoint: the low watermark, its state and its proof (durable).
    stable: StableState,
    /// Every sequence number up to this one is executed.
    last_exec: u64,
    kv: KvStore,
    /// This replica's own checkpoints above the stable one.
    own_checkpoints: BTreeMap<u64, KvStore>,
    /// Checkpoint votes heard above the stable checkpoint, by sequence number.
    checkpoint_votes: BTreeMap<u64, Vec<Signed<CheckpointVote>>>,
    /// A stable checkpoint this replica lacks the state of, and when it last asked.
    fetching: Option<(u64, SimTime)>,
    /// The primary's last assigned sequence number in this view.
    next_seq: u64,
    /// Requests the primary holds until the watermarks leave room.
    queue: VecDeque<ClientRequest>,
    /// Requests known here and not yet executed, with when each arrived: a backup
    /// watches them.
    waiting: BTreeMap<RequestId, (ClientRequest, SimTime)>,
    /// The request a backup's view-change timer runs for (the paper's timer belongs to
    /// one request: executing others does not restart it, so none can be held back).
    timed: Option<RequestId>,
    /// View changes in a row that did not complete (the timeout doubles with each).
    backoff: u32,
    /// A quorum of view changes to the current view was heard: its timer runs.
    vc_quorum: bool,
    /// View changes heard, by the view they move to and their signer.
    view_changes: BTreeMap<u64, BTreeMap<NodeId, Signed<ViewChange>>>,
    /// The NEW-VIEW that started the current view, for replicas that missed it.
    new_view: Option<Box<Signed<NewView>>>,
    /// The highest view each replica was seen in (to notice this one fell behind).
    seen_view: BTreeMap<NodeId, u64>,
    /// When this replica last answered each replica's request of each kind.
    answered: BTreeMap<(NodeId, catch_up::Fetch), SimTime>,
    /// When this replica last asked for commit certificates.
    asked_committed: Option<SimTime>,
    /// When this replica last asked each replica for a NEW-VIEW.
    asked_new_view: BTreeMap<NodeId, SimTime>,
}

impl Pbft {
    /// The current view.
    pub fn view(&self) -> u64 {
        self.view
    }
    /// Whether the current view has started here.
    pub fn active(&self) -> bool {
        self.active
    }
    /// Every sequence number up to this one is executed here.
    pub fn last_executed(&self) -> u64 {
        self.last_exec
    }
    /// The stable checkpoint (the low watermark).
    pub fn stable_checkpoint(&self) -> u64 {
        self.stable.seq
    }
    /// The key-value state machine.
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }
    /// The log entry of `seq`, if it is above the stable checkpoint and known.
    pub fn entry(&self, seq: u64) -> Option<&Entry> {
        self.log.get(&seq)
    }

    /// The primary of the current view.
    fn primary(&self) -> NodeId {
        self.qs.primary(self.view)
    }

    fn is_primary(&self) -> bool {
        self.primary() == self.id
    }

    /// Whether `seq` lies within the watermarks (h, h + L].
    fn in_window(&self, seq: u64) -> bool {
        seq > self.stable.seq && seq <= self.stable.seq + self.config.watermark_window
    }

    fn duplicates_count(&self) -> bool {
        self.config.bugs.count_duplicate_votes
    }

    /// Sends after making every durable write so far durable.
    fn send(&self, ctx: &mut Ctx<'_, PbftMsg>, to: NodeId, msg: PbftMsg) {
        ctx.disk().sync();
        ctx.send(to, msg);
    }

    /// Sends to every other replica, after a sync.
    fn broadcast(&self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        ctx.disk().sync();
        ctx.broadcast(msg);
    }

    fn save_entry(&self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64) {
        if let Some(e) = self.log.get(&seq) {
            persist::save_entry(ctx.disk(), seq, e);
        }
    }

    /// The view-change timeout after `backoff` failed view changes in a row.
    fn view_timeout(&self) -> sim_core::SimDuration {
        let base = self.config.view_change_timeout.as_nanos();
        sim_core::SimDuration(base.saturating_mul(1u64 << self.backoff.min(16)))
    }
}

impl Protocol for Pbft {
    type Msg = PbftMsg;
    type Config = PbftConfig;

    fn start(ctx: &mut Ctx<'_, PbftMsg>, config: &PbftConfig) -> Self {
        let durable = persist::load(ctx.disk());
        let qs = Quorums::new(ctx.cluster_size());
        let (view, active) = durable.view;
        let stable_seq = durable.stable.seq;
        let id = ctx.id();
        let next_seq = durable
            .log
            .iter()
            .filter(|(_, e)| {
                e.pre_prepare
                    .as_ref()
                    .is_some_and(|p| p.value().view == view)
            })
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(stable_seq);
        let mut node = Pbft {
            id,
            qs,
            config: config.clone(),
            view,
            active,
            log: durable.log,
            kv: durable.stable.kv.clone(),
            last_exec: stable_seq,
            stable: durable.stable,
            own_checkpoints: BTreeMap::new(),
            checkpoint_votes: BTreeMap::new(),
            fetching: None,
            next_seq,
            queue: VecDeque::new(),
            waiting: BTreeMap::new(),
            timed: None,
            backoff: 0,
            vc_quorum: false,
            view_changes: BTreeMap::new(),
            new_view: durable.new_view,
            seen_view: BTreeMap::new(),
            asked_new_view: BTreeMap::new(),
            asked_committed: None,
            answered: BTreeMap::new(),
        };
        ctx.observe(obs::RESTORE, stable_seq, 0);
        node.execute(ctx);
        node.resume_view(ctx);
        if !node.active {
            // It crashed while changing views: it says so again.
            node.send_view_change(ctx);
        }
        node
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, msg: PbftMsg) {
        match msg {
            PbftMsg::Request(r) => self.on_relayed_request(ctx, from, r),
            PbftMsg::PrePrepare(pp, r) => self.on_pre_prepare(ctx, pp, r),
            PbftMsg::Prepare(v) => self.on_prepare(ctx, v),
            PbftMsg::Commit(v) => self.on_commit(ctx, v),
            PbftMsg::Checkpoint(v) => self.on_checkpoint(ctx, v),
            PbftMsg::ViewChange(v) => self.on_view_change(ctx, from, *v),
            PbftMsg::NewView(nv) => self.on_new_view(ctx, *nv),
            PbftMsg::FetchNewView => self.on_fetch_new_view(ctx, from),
            PbftMsg::FetchState { seq } => self.on_fetch_state(ctx, from, seq),
            PbftMsg::State(s) => self.on_state(ctx, *s),
            PbftMsg::FetchCommitted { from: seq } => self.on_fetch_committed(ctx, from, seq),
            PbftMsg::Committed(c) => self.on_committed(ctx, *c),
        }
        // Durable before the handler's outputs apply, even with nothing sent (answers
        // to clients depend on the log too).
        ctx.disk().sync();
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbftMsg>, timer: TimerId) {
        match timer {
            VIEW_TIMER => self.on_view_timer(ctx),
            FETCH_TIMER => self.on_fetch_timer(ctx),
            _ => {}
        }
        ctx.disk().sync();
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, PbftMsg>, request: ClientRequest) {
        self.on_client_request(ctx, request);
        ctx.disk().sync();
    }

    fn is_leader(&self) -> bool {
        self.active && self.is_primary()
    }

    fn leader_term(&self) -> Option<u64> {
        self.is_leader().then_some(self.view)
    }
}

impl ProtocolSpec for Pbft {
    const NAME: &'static str = "Pbft";
    const FAMILY: Family = Family::KeyValue;
    type Bugs = PbftBugs;

    fn byzantine_tolerance(nodes: u32) -> Option<u32> {
        Some(Quorums::new(nodes).f)
    }

    fn messages_per_op(_config: &PbftConfig, nodes: u32) -> Option<(f64, &'static str)> {
        let n = f64::from(nodes);
        Some((2.0 * n * (n - 1.0), "2N(N−1)"))
    }

    fn enable_bug(config: &mut PbftConfig, name: &str) -> bool {
        crate::BugSet::enable(&mut config.bugs, name)
    }

    fn invariants(_config: &PbftConfig) -> Vec<Box<dyn Invariant<Self>>> {
        invariants::all()
    }

    fn validate(config: &PbftConfig, nodes: u32) -> Result<(), crate::BadSetting> {
        config.validate(nodes)
    }

    const BEHAVIOURS: &'static [crate::byzantine::Behaviour] = byzantine::BEHAVIOURS;

    fn adversary(
        name: &str,
        config: &PbftConfig,
        _nodes: u32,
    ) -> Option<Box<dyn sim_core::byzantine::Adversary<Self>>> {
        byzantine::adversary(name, config)
    }

    fn client_rules(config: &PbftConfig, nodes: u32, clients: &mut ClientConfig) {
        clients.reply_quorum = if config.bugs.client_accepts_first_reply {
            1
        } else {
            Quorums::new(nodes).f + 1
        };
        clients.retry_to_all = true;
    }
}
