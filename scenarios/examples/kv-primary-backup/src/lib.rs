//! Primary-backup replication of a key-value store: a protocol that lives in its own crate,
//! outside faultline, and gets faultline's whole command line and library from one
//! registration (see [`registry`] and `src/main.rs`).
//!
//! Node 0 is the primary; every other node is a backup. The primary orders client
//! commands in its log, makes each durable, applies it and sends it to every backup; it
//! answers a command once every backup has acknowledged it, so an answered write is held
//! by every node. Backups apply the log in order, make it durable before acknowledging,
//! and send clients to the primary. Lost messages are made good by the primary resending
//! everything a backup has not acknowledged, every `resend_interval`; a node that restarts
//! rebuilds its store from its disk. Exactly-once: the store remembers each client's recent
//! answers, so a retried command takes effect once.
//!
//! There is no fail-over: while the primary is down, nothing is answered (a view service
//! that picks a new primary is the classic next step). Safety never depends on timing.

use std::collections::BTreeMap;

use scenarios::protocols::kv::{KvError, KvStore};
use scenarios::sim_core::history::{OpOutput, Operation};
use scenarios::sim_core::invariant::{Invariant, World};
use scenarios::sim_core::{
    ClientRequest, Ctx, Message, NodeId, Protocol, Reply, RequestId, SimDuration, TimerId,
};
use scenarios::{BugSet, Family, ProtocolSpec, Registry};
use serde::{Deserialize, Serialize};

/// faultline's built-in protocols and this one: what `src/main.rs` hands to
/// [`scenarios::faultline_main`], and what tests load scenario files with.
pub fn registry() -> Registry {
    Registry::builtin().with::<PrimaryBackup>()
}

/// The primary's id.
const PRIMARY: NodeId = NodeId(0);
/// The disk namespace of the log: command `i` at index `i` (from 1).
const LOG: &str = "pb.log";
/// The primary's resend timer.
const RESEND: TimerId = TimerId(1);

scenarios::bug_switches! {
    /// The protocol's deliberate mistakes; all off by default.
    pub struct PrimaryBackupBugs {
        /// Backups answer reads from their own copy, which may lag behind writes the
        /// primary has already made visible.
        read_from_backup => "linearizability",
    }
}

/// Settings, the same on every node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrimaryBackupConfig {
    /// How often the primary resends what backups have not acknowledged.
    pub resend_interval: SimDuration,
    /// Most commands in one `Replicate` message.
    pub batch: usize,
    /// Deliberate mistakes.
    pub bugs: PrimaryBackupBugs,
}

impl Default for PrimaryBackupConfig {
    fn default() -> Self {
        PrimaryBackupConfig {
            resend_interval: SimDuration::from_millis(20),
            batch: 64,
            bugs: PrimaryBackupBugs::default(),
        }
    }
}

/// One logged client command.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Command {
    /// Who asked, for exactly-once.
    pub id: RequestId,
    /// What.
    pub op: Operation,
}

/// What nodes say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PbMsg {
    /// Primary → backup: the commands from log index `from` on.
    Replicate {
        /// The index of the first command carried.
        from: u64,
        /// The commands.
        commands: Vec<Command>,
    },
    /// Backup → primary: my log is durable up to `index`.
    Ack {
        /// The length of the backup's durable log.
        index: u64,
    },
}

impl Message for PbMsg {
    fn kind(&self) -> &'static str {
        match self {
            PbMsg::Replicate { .. } => "Replicate",
            PbMsg::Ack { .. } => "Ack",
        }
    }
    fn size(&self) -> usize {
        match self {
            PbMsg::Replicate { commands, .. } => 16 + 48 * commands.len(),
            PbMsg::Ack { .. } => 16,
        }
    }
}

/// One node, primary or backup.
#[derive(Clone, Debug, Hash)]
pub struct PrimaryBackup {
    config: PrimaryBackupConfig,
    /// Whether this node is the primary.
    primary: bool,
    /// Every command this node holds durably, in order (index = position + 1).
    log: Vec<Command>,
    /// The state after applying the whole log.
    store: KvStore,
    /// Primary: how far each node's log is acknowledged (its own: the whole log).
    acked: Vec<u64>,
    /// Primary: where each client command is in the log.
    index_of: BTreeMap<RequestId, u64>,
    /// Primary: requests to answer once their index is on every node.
    waiting: BTreeMap<u64, Vec<(RequestId, OpOutput)>>,
}

impl PrimaryBackup {
    /// Every command this node holds, in order: what the invariant compares.
    pub fn log(&self) -> &[Command] {
        &self.log
    }

    /// The highest index every node holds.
    fn replicated(&self) -> u64 {
        self.acked.iter().copied().min().unwrap_or(0)
    }

    /// Applies `command` and logs it durably; a command the store refuses (an operation
    /// it does not know, a request older than its client's session) is neither.
    fn append(&mut self, ctx: &mut Ctx<'_, PbMsg>, command: Command) -> Result<OpOutput, KvError> {
        let out = self.store.apply(command.id, &command.op)?;
        self.log.push(command.clone());
        let index = self.log.len() as u64;
        // Durable before anything that depends on it leaves the node: the engine holds
        // this node's messages and replies until the sync is done.
        ctx.disk().put(LOG, index, command);
        ctx.disk().sync();
        Ok(out)
    }

    /// Sends every backup what it has not acknowledged, a batch at a time.
    fn replicate(&self, ctx: &mut Ctx<'_, PbMsg>) {
        for b in 1..ctx.cluster_size() {
            self.replicate_to(ctx, NodeId(b));
        }
    }

    fn replicate_to(&self, ctx: &mut Ctx<'_, PbMsg>, to: NodeId) {
        let from = self.acked[to.index()] as usize;
        if from < self.log.len() {
            let end = (from + self.config.batch.max(1)).min(self.log.len());
            ctx.send(
                to,
                PbMsg::Replicate {
                    from: from as u64 + 1,
                    commands: self.log[from..end].to_vec(),
                },
            );
        }
    }

    /// Answers every request whose command every node now holds.
    fn answer_replicated(&mut self, ctx: &mut Ctx<'_, PbMsg>) {
        let done = self.replicated();
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() > done {
                break;
            }
            for (id, out) in entry.remove() {
                ctx.reply(id, Reply::Ok(out));
            }
        }
    }
}

impl Protocol for PrimaryBackup {
    type Msg = PbMsg;
    type Config = PrimaryBackupConfig;

    fn start(ctx: &mut Ctx<'_, PbMsg>, config: &PrimaryBackupConfig) -> Self {
        let mut node = PrimaryBackup {
            config: config.clone(),
            primary: ctx.id() == PRIMARY,
            log: Vec::new(),
            store: KvStore::new(),
            acked: vec![0; ctx.cluster_size() as usize],
            index_of: BTreeMap::new(),
            waiting: BTreeMap::new(),
        };
        // Commands are written contiguously from 1; stop at a gap (a torn write).
        let durable: Vec<Command> = ctx
            .disk()
            .range::<Command>(LOG)
            .enumerate()
            .take_while(|(i, (index, _))| *index == *i as u64 + 1)
            .map(|(_, (_, c))| c.clone())
            .collect();
        for c in durable {
            let _ = node.store.apply(c.id, &c.op);
            node.index_of.insert(c.id, node.log.len() as u64 + 1);
            node.log.push(c);
        }
        if node.primary {
            node.acked[PRIMARY.index()] = node.log.len() as u64;
            node.replicate(ctx);
            ctx.set_timer(RESEND, config.resend_interval);
        }
        node
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PbMsg>, from: NodeId, msg: PbMsg) {
        match msg {
            PbMsg::Replicate {
                from: first,
                commands,
            } => {
                let have = self.log.len() as u64;
                if first <= have + 1 {
                    let skip = (have + 1 - first) as usize;
                    for c in commands.into_iter().skip(skip) {
                        // The primary logged only what its store took, and this store
                        // holds the same prefix: it takes it too.
                        let _ = self.append(ctx, c);
                    }
                }
                // Also when nothing was new, or after a gap: says where to resend from.
                ctx.send(
                    from,
                    PbMsg::Ack {
                        index: self.log.len() as u64,
                    },
                );
            }
            PbMsg::Ack { index } => {
                if !self.primary {
                    return;
                }
                let a = &mut self.acked[from.index()];
                let advanced = index > *a;
                *a = (*a).max(index).min(self.log.len() as u64);
                self.answer_replicated(ctx);
                if advanced {
                    self.replicate_to(ctx, from);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbMsg>, timer: TimerId) {
        if timer == RESEND {
            self.replicate(ctx);
            ctx.set_timer(RESEND, self.config.resend_interval);
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, PbMsg>, request: ClientRequest) {
        let ClientRequest { id, op, .. } = request;
        if !self.primary {
            if self.config.bugs.read_from_backup
                && let Ok(out) = self.store.read(&op)
            {
                ctx.reply(id, Reply::Ok(out));
                return;
            }
            ctx.reply(id, Reply::Redirect(Some(PRIMARY)));
            return;
        }
        if let Operation::Get { .. } = op {
            // The primary's store is the order every node follows, and a command in it is
            // already durable here: reading it is linearizable.
            match self.store.read(&op) {
                Ok(out) => ctx.reply(id, Reply::Ok(out)),
                Err(e) => ctx.reply(id, Reply::Fail(format!("{e:?}"))),
            }
            return;
        }
        let index = match self.index_of.get(&id) {
            // A retry of a command already logged: its first answer, once replicated.
            // If the session no longer remembers it, say nothing: the client's outcome
            // stays unknown, which is the truth.
            Some(&index) => match self.store.answered(id) {
                Some(out) => {
                    let out = out.clone();
                    self.waiting.entry(index).or_default().push((id, out));
                    index
                }
                None => return,
            },
            None => match self.append(ctx, Command { id, op }) {
                Ok(out) => {
                    let index = self.log.len() as u64;
                    self.index_of.insert(id, index);
                    self.acked[PRIMARY.index()] = index;
                    self.waiting.entry(index).or_default().push((id, out));
                    self.replicate(ctx);
                    index
                }
                // Neither applied nor logged: definitely not done.
                Err(e) => {
                    ctx.reply(id, Reply::Fail(format!("{e:?}")));
                    return;
                }
            },
        };
        if index <= self.replicated() {
            self.answer_replicated(ctx);
        }
    }

    fn is_leader(&self) -> bool {
        self.primary
    }
}

/// Every node's log is a prefix of the primary's: nobody holds a command the primary did
/// not order, or holds it at another place. Judged against the primary's log, or its disk
/// while it is down; each node's entries are checked once (logs only grow, except by the
/// unsynced tail a crash takes, after which the check resumes from what is left).
#[derive(Clone, Default, Hash)]
struct PrefixAgreement {
    /// How far each node's log has been checked.
    checked: Vec<usize>,
}

impl Invariant<PrimaryBackup> for PrefixAgreement {
    // `faultline explore` forks the checker with the run; this writes `fork` and `memory`.
    scenarios::sim_core::forkable!(PrimaryBackup);
    fn name(&self) -> &str {
        "prefix_agreement"
    }

    fn check(&mut self, world: &World<'_, PrimaryBackup>) -> Result<(), String> {
        let primary = world.node(PRIMARY);
        let disk = world.disk(PRIMARY);
        let ordered = |index: usize| match primary {
            Some(p) => p.log.get(index - 1).cloned(),
            None => disk.get::<Command>(LOG, index as u64).cloned(),
        };
        self.checked.resize(world.len(), 0);
        for (id, node) in world.nodes() {
            let Some(node) = node else { continue };
            let done = &mut self.checked[id.index()];
            *done = (*done).min(node.log.len());
            for index in *done + 1..=node.log.len() {
                let held = &node.log[index - 1];
                let want = ordered(index);
                if want.as_ref() != Some(held) {
                    return Err(format!(
                        "{id} holds {:?} at index {index}, the primary {:?}",
                        held.id,
                        want.map(|c| c.id)
                    ));
                }
            }
            *done = node.log.len();
        }
        Ok(())
    }
}

impl ProtocolSpec for PrimaryBackup {
    const NAME: &'static str = "PrimaryBackup";
    const FAMILY: Family = Family::KeyValue;
    type Bugs = PrimaryBackupBugs;

    fn enable_bug(config: &mut PrimaryBackupConfig, name: &str) -> bool {
        config.bugs.enable(name)
    }

    fn invariants(_config: &PrimaryBackupConfig) -> Vec<Box<dyn Invariant<Self>>> {
        vec![Box::new(PrefixAgreement::default())]
    }
}
