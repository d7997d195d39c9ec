//! What both commit protocols' participants share: the layout of keys over nodes, the
//! versioned store, strict two-phase locks, and the durable record of each transaction.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use sim_core::disk::Disk;
use sim_core::history::OpOutput;
use sim_core::{Ctx, Message, NodeId, Reply, RequestId, SimDuration, SimTime};

use super::obs;

/// A transaction's id: its client and the client's request number, so that a retry of the
/// same request is the same transaction. 0 stands for "no transaction" (initial values).
pub type TxnId = u64;

/// The transaction id of client request `id`.
pub fn txn_id(id: RequestId) -> TxnId {
    ((u64::from(id.client) + 1) << 32) | (id.seq & 0xffff_ffff)
}

/// What a transaction reads and writes (all of it at a coordinator, one participant's
/// share at a participant).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TxnBody {
    /// Keys read.
    pub reads: Vec<u64>,
    /// Keys written with their new values.
    pub writes: Vec<(u64, String)>,
}

impl TxnBody {
    /// Every key touched.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.reads
            .iter()
            .copied()
            .chain(self.writes.iter().map(|w| w.0))
    }

    /// Approximate size on the wire.
    pub fn size(&self) -> usize {
        8 * self.reads.len() + self.writes.iter().map(|w| 8 + w.1.len()).sum::<usize>()
    }
}

/// Which node coordinates and which hold which keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// The coordinator.
    pub coordinator: NodeId,
    /// The participants, in rank order.
    pub participants: Vec<NodeId>,
}

impl Layout {
    /// Every node but the coordinator is a participant. A coordinator id outside the
    /// cluster falls back to node 0.
    pub fn new(cluster: u32, coordinator: u32) -> Self {
        let coordinator = NodeId(if coordinator < cluster {
            coordinator
        } else {
            0
        });
        let participants = (0..cluster)
            .map(NodeId)
            .filter(|n| *n != coordinator)
            .collect();
        Layout {
            coordinator,
            participants,
        }
    }

    /// The participant holding `key`.
    pub fn holder(&self, key: u64) -> Option<NodeId> {
        let n = self.participants.len() as u64;
        (n > 0).then(|| self.participants[(key % n) as usize])
    }

    /// Each participant of a transaction with its share, in node order.
    pub fn split(&self, body: &TxnBody) -> BTreeMap<NodeId, TxnBody> {
        let mut out: BTreeMap<NodeId, TxnBody> = BTreeMap::new();
        for &k in &body.reads {
            if let Some(h) = self.holder(k) {
                out.entry(h).or_default().reads.push(k);
            }
        }
        for w in &body.writes {
            if let Some(h) = self.holder(w.0) {
                out.entry(h).or_default().writes.push(w.clone());
            }
        }
        out
    }
}

/// The size of a message asking to vote on `body`, sent to each of `participants`.
pub fn vote_request_size(body: &TxnBody, participants: &[NodeId]) -> usize {
    16 + body.size() + 4 * participants.len()
}

impl Vote {
    /// The size of a message carrying this vote (a yes carries the values read).
    pub fn message_size(&self) -> usize {
        match self {
            Vote::Yes(r) => 16 + r.iter().map(|(_, v)| 8 + v.len()).sum::<usize>(),
            Vote::No => 16,
        }
    }
}

/// A bit mask of nodes (for the `begin` observation; nodes beyond 63 share bit 63).
pub fn mask(nodes: &[NodeId]) -> u64 {
    nodes.iter().fold(0, |m, n| m | 1u64 << n.0.min(63))
}

/// Answers the clients waiting on a transaction: committed with the values it read, or
/// aborted with none.
pub fn answer<M: Message>(
    ctx: &mut Ctx<'_, M>,
    clients: &[RequestId],
    committed: bool,
    reads: &[(u64, String)],
) {
    for &id in clients {
        let reads = if committed {
            reads.to_vec()
        } else {
            Vec::new()
        };
        ctx.reply(id, Reply::Ok(OpOutput::Txn { committed, reads }));
    }
}

/// How a participant votes on a new transaction.
#[derive(Clone, Copy, Debug)]
pub struct VotePolicy {
    /// Probability of a no vote on its own.
    pub no_probability: f64,
    /// How long it waits for its locks before it votes no.
    pub lock_timeout: SimDuration,
    /// Whether the prepared record is durable before the vote leaves.
    pub sync: bool,
}

/// A participant's state for one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartState {
    /// Received, waiting for its locks (volatile: a crash forgets it).
    Locking,
    /// Voted yes and uncertain (2PC "prepared", 3PC "wait").
    Prepared,
    /// 3PC: knows everyone voted yes ("pre-committed", committable).
    PreCommitted,
    /// Committed.
    Committed,
    /// Aborted.
    Aborted,
}

impl PartState {
    /// Whether the outcome is known here.
    pub fn decided(self) -> bool {
        matches!(self, PartState::Committed | PartState::Aborted)
    }
}

/// The durable record of a transaction at a participant.
#[derive(Clone, Debug, Hash)]
struct Record {
    state: PartState,
    body: TxnBody,
    participants: Vec<NodeId>,
}

/// A participant's view of one transaction.
#[derive(Clone, Debug, Hash)]
pub struct PartTxn {
    /// Where it stands.
    pub state: PartState,
    /// This participant's share.
    pub body: TxnBody,
    /// Every participant of the transaction.
    pub participants: Vec<NodeId>,
    /// Who to answer (the coordinator, or the backup coordinator of 3PC's termination).
    pub coordinator: NodeId,
    /// When the current wait (for locks, or for the outcome) times out (local time).
    pub deadline: SimTime,
}

const RECORD: &str = "commit.txn";
const DATA: &str = "commit.data";

/// A key's value with the transaction that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Version {
    value: String,
    writer: TxnId,
}

/// What a vote carries back: yes with the values read, or no.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Vote {
    /// Yes, with (key, value) for each key read.
    Yes(Vec<(u64, String)>),
    /// No.
    No,
}

/// The participant half of a node: store, locks and transactions.
#[derive(Debug, Default, Clone, Hash)]
pub struct Participant {
    data: BTreeMap<u64, Version>,
    locks: BTreeMap<u64, TxnId>,
    /// Every transaction this participant has heard of (decided ones kept, to answer
    /// late questions).
    pub txns: BTreeMap<TxnId, PartTxn>,
    /// Transactions waiting for locks, in arrival order.
    queue: Vec<TxnId>,
}

/// Where a vote must go, and what it is.
pub type VoteOut = (TxnId, NodeId, Vote);

impl Participant {
    /// Rebuilds from disk: undecided transactions retake their locks; decided ones are
    /// remembered. `deadline` is when the undecided ones next time out.
    pub fn load(disk: &Disk, coordinator: NodeId, deadline: SimTime) -> Self {
        let mut p = Participant::default();
        for (k, v) in disk.range::<Version>(DATA) {
            p.data.insert(k, v.clone());
        }
        for (id, r) in disk.range::<Record>(RECORD) {
            if !r.state.decided() {
                for k in r.body.keys() {
                    p.locks.insert(k, id);
                }
            }
            p.txns.insert(
                id,
                PartTxn {
                    state: r.state,
                    body: r.body.clone(),
                    participants: r.participants.clone(),
                    coordinator,
                    deadline,
                },
            );
        }
        p
    }

    /// The state of `txn` here, if known.
    pub fn state(&self, txn: TxnId) -> Option<PartState> {
        self.txns.get(&txn).map(|t| t.state)
    }

    /// The value of `key` and the transaction that wrote it ("" and 0 initially).
    pub fn value(&self, key: u64) -> (&str, TxnId) {
        self.data
            .get(&key)
            .map_or(("", 0), |v| (v.value.as_str(), v.writer))
    }

    /// The transaction holding the lock on `key`, if any.
    pub fn lock_holder(&self, key: u64) -> Option<TxnId> {
        self.locks.get(&key).copied()
    }

    fn save<M: Message>(&self, ctx: &mut Ctx<'_, M>, txn: TxnId) {
        if let Some(t) = self.txns.get(&txn) {
            ctx.disk().put(
                RECORD,
                txn,
                Record {
                    state: t.state,
                    body: t.body.clone(),
                    participants: t.participants.clone(),
                },
            );
        }
    }

    /// The participants of `txn` other than `me` (none if it is unknown here).
    pub fn others(&self, txn: TxnId, me: NodeId) -> Vec<NodeId> {
        self.txns.get(&txn).map_or(Vec::new(), |t| {
            t.participants
                .iter()
                .copied()
                .filter(|p| *p != me)
                .collect()
        })
    }

    /// Waits for the next word on `txn` until `deadline` (then it is overdue).
    pub fn wait_until(&mut self, txn: TxnId, deadline: SimTime) {
        if let Some(t) = self.txns.get_mut(&txn) {
            t.deadline = deadline;
        }
    }

    /// A request to vote on a new transaction, decided by `policy`: a no by chance (with
    /// probability `no_probability`), else prepared if its locks are free, or queued for
    /// them until `lock_timeout` has passed. Returns the vote if it is decided now. With
    /// `policy.sync` the prepared record is durable before the vote leaves (off only under
    /// the `vote_before_log` bug).
    pub fn vote_on<M: Message>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        (txn, from): (TxnId, NodeId),
        body: TxnBody,
        participants: Vec<NodeId>,
        policy: &VotePolicy,
    ) -> Option<Vote> {
        let no =
            policy.no_probability > 0.0 && ctx.rng().random_bool(policy.no_probability.min(1.0));
        let (lock_deadline, sync) = (ctx.now() + policy.lock_timeout, policy.sync);
        self.txns.insert(
            txn,
            PartTxn {
                state: PartState::Locking,
                body,
                participants,
                coordinator: from,
                deadline: lock_deadline,
            },
        );
        if no {
            return Some(self.vote_no(ctx, txn, false));
        }
        if self.lockable(txn) {
            return Some(self.prepare(ctx, txn, sync));
        }
        self.queue.push(txn);
        None
    }

    fn lockable(&self, txn: TxnId) -> bool {
        self.txns.get(&txn).is_some_and(|t| {
            t.body
                .keys()
                .all(|k| self.locks.get(&k).is_none_or(|h| *h == txn))
        })
    }

    /// Takes the locks, records the transaction as prepared and returns the yes vote.
    fn prepare<M: Message>(&mut self, ctx: &mut Ctx<'_, M>, txn: TxnId, sync: bool) -> Vote {
        let Some(t) = self.txns.get_mut(&txn) else {
            return Vote::No;
        };
        t.state = PartState::Prepared;
        let keys: Vec<u64> = t.body.keys().collect();
        let reads: Vec<u64> = t.body.reads.clone();
        for k in keys {
            self.locks.insert(k, txn);
        }
        self.save(ctx, txn);
        if sync {
            ctx.disk().sync();
        }
        ctx.observe(obs::VOTE, txn, 1);
        ctx.observe(obs::PREPARED, txn, 0);
        Vote::Yes(
            reads
                .into_iter()
                .map(|k| (k, self.value(k).0.to_string()))
                .collect(),
        )
    }

    /// Votes no and aborts here (a participant that votes no may abort unilaterally).
    fn vote_no<M: Message>(&mut self, ctx: &mut Ctx<'_, M>, txn: TxnId, timeout: bool) -> Vote {
        if timeout {
            ctx.observe(obs::TIMEOUT, txn, 0);
        }
        ctx.observe(obs::VOTE, txn, 0);
        self.abort(ctx, txn);
        Vote::No
    }

    /// Lock waits past their deadline turn into no votes.
    pub fn expire_lock_waits<M: Message>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        now: SimTime,
    ) -> Vec<VoteOut> {
        let expired: Vec<TxnId> = self
            .queue
            .iter()
            .copied()
            .filter(|t| self.txns.get(t).is_none_or(|t| t.deadline <= now))
            .collect();
        let mut out = Vec::new();
        for txn in expired {
            self.queue.retain(|t| *t != txn);
            if let Some(to) = self.txns.get(&txn).map(|t| t.coordinator) {
                let v = self.vote_no(ctx, txn, true);
                out.push((txn, to, v));
            }
        }
        out
    }

    /// Prepares queued transactions whose locks came free, in arrival order.
    fn grant<M: Message>(&mut self, ctx: &mut Ctx<'_, M>, sync: bool) -> Vec<VoteOut> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            let txn = self.queue[i];
            if self.lockable(txn) {
                self.queue.remove(i);
                let to = self.txns.get(&txn).map_or(NodeId(0), |t| t.coordinator);
                let v = self.prepare(ctx, txn, sync);
                out.push((txn, to, v));
            } else {
                i += 1;
            }
        }
        out
    }

    fn release(&mut self, txn: TxnId) {
        self.locks.retain(|_, h| *h != txn);
        self.queue.retain(|t| *t != txn);
    }

    /// Moves a voted transaction to pre-committed (3PC), durably.
    pub fn precommit<M: Message>(&mut self, ctx: &mut Ctx<'_, M>, txn: TxnId) {
        if let Some(t) = self.txns.get_mut(&txn)
            && t.state == PartState::Prepared
        {
            t.state = PartState::PreCommitted;
            self.save(ctx, txn);
            ctx.disk().sync();
        }
    }

    /// Commits `txn`: applies its writes, records the outcome durably, releases its locks.
    /// A transaction this participant has no prepared record of cannot commit here (its
    /// writes are unknown): it stays aborted, which the atomicity check reports. Returns
    /// votes of queued transactions that got their locks.
    pub fn commit<M: Message>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        txn: TxnId,
        sync_votes: bool,
    ) -> Vec<VoteOut> {
        let state = self.state(txn);
        match state {
            Some(PartState::Prepared | PartState::PreCommitted) => {}
            Some(PartState::Committed | PartState::Aborted) => return Vec::new(),
            Some(PartState::Locking) | None => {
                // Never voted yes here (or forgot it): the writes are not here to apply.
                self.abort(ctx, txn);
                return self.grant(ctx, sync_votes);
            }
        }
        let Some(t) = self.txns.get_mut(&txn) else {
            return Vec::new();
        };
        t.state = PartState::Committed;
        let body = t.body.clone();
        for &k in &body.reads {
            let writer = self.value(k).1;
            ctx.observe(obs::READ, txn, k);
            ctx.observe(obs::READ_FROM, txn, writer);
        }
        for (k, v) in &body.writes {
            let version = Version {
                value: v.clone(),
                writer: txn,
            };
            ctx.disk().put(DATA, *k, version.clone());
            self.data.insert(*k, version);
            ctx.observe(obs::WRITE, txn, *k);
        }
        self.save(ctx, txn);
        ctx.disk().sync();
        ctx.observe(obs::DECIDE, txn, 1);
        self.release(txn);
        self.grant(ctx, sync_votes)
    }

    /// Aborts `txn` here (known or not: an unknown one is remembered as aborted, so a
    /// late vote request for it gets a no).
    pub fn abort<M: Message>(&mut self, ctx: &mut Ctx<'_, M>, txn: TxnId) {
        let known = self.txns.contains_key(&txn);
        let t = self.txns.entry(txn).or_insert_with(|| PartTxn {
            state: PartState::Locking,
            body: TxnBody::default(),
            participants: Vec::new(),
            coordinator: NodeId(0),
            deadline: SimTime::ZERO,
        });
        let was = t.state;
        t.state = PartState::Aborted;
        self.save(ctx, txn);
        // Nothing waits on an abort record: presumed abort needs no sync, and a lost one
        // reads as "unknown", which is answered as aborted too.
        if !known || was != PartState::Aborted {
            ctx.observe(obs::DECIDE, txn, 0);
        }
        self.release(txn);
    }

    /// Aborts `txn` and grants the locks it held; returns the resulting votes.
    pub fn abort_and_grant<M: Message>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        txn: TxnId,
        sync_votes: bool,
    ) -> Vec<VoteOut> {
        self.abort(ctx, txn);
        self.grant(ctx, sync_votes)
    }

    /// Undecided transactions whose wait for the outcome has timed out.
    pub fn overdue(&self, now: SimTime) -> Vec<TxnId> {
        self.txns
            .iter()
            .filter(|(_, t)| {
                matches!(t.state, PartState::Prepared | PartState::PreCommitted)
                    && t.deadline <= now
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Keys locked by transactions that are not undecided-voted or queued: must be none.
    pub fn stray_locks(&self) -> BTreeSet<u64> {
        self.locks
            .iter()
            .filter(|(_, t)| {
                self.txns
                    .get(t)
                    .is_none_or(|t| t.state.decided() || t.state == PartState::Locking)
            })
            .map(|(k, _)| *k)
            .collect()
    }
}
