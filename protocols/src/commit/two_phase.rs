//! Two-phase commit with presumed abort.
//!
//! The coordinator sends PREPARE; each participant locks its keys, logs PREPARED (synced)
//! and votes yes, or votes no (by chance, or when its locks do not come free in time) and
//! aborts on its own. All yes: the coordinator logs COMMIT (synced) — the commit point —
//! sends it, answers the client, and resends it until every participant acknowledges;
//! then it logs END lazily. A no vote or a missing vote aborts; nothing is logged for an
//! abort, and a coordinator asked about a transaction it has no record of answers ABORT
//! (presumed abort). A prepared participant that hears nothing must wait: it asks the
//! coordinator again every `decision_timeout` and, with `cooperative_termination`, asks
//! the other participants too (one that has not voted aborts and says so). A restarted
//! coordinator resends every logged COMMIT without an END; a restarted participant
//! retakes the locks of its prepared transactions and asks for their outcome.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::invariant::Invariant;
use sim_core::{Ctx, Message, NodeId, Protocol, RequestId, SimDuration, SimTime};

use super::node::{self, CommitNode, CoordTxn, Phase, Roles, TICK, Tally};
use super::obs;
use super::txn::{
    Layout, PartState, Participant, TxnBody, TxnId, Vote, VoteOut, answer, vote_request_size,
};
use crate::{BugSet, Family, ProtocolSpec};

crate::bug_switches! {
    /// 2PC's deliberate mistakes; all off by default.
    pub struct TwoPhaseBugs {
        /// Votes yes before the PREPARED record is durable, so a crash forgets the vote
        /// and the writes.
        vote_before_log => "atomicity",
        /// A prepared participant that hears nothing decides commit instead of waiting.
        commit_on_timeout => "atomicity",
    }
}

node::commit_config! {
    /// 2PC's settings, the same on every node.
    pub struct TwoPhaseConfig {
        /// How long a prepared participant waits before asking for the outcome (again).
        pub decision_timeout: SimDuration = SimDuration::from_millis(100),
        /// How often the coordinator resends an unacknowledged COMMIT.
        pub resend_interval: SimDuration = SimDuration::from_millis(50),
        /// A prepared participant that asks for the outcome asks the other participants
        /// too.
        pub cooperative_termination: bool = false,
        /// Deliberate mistakes.
        pub bugs: TwoPhaseBugs = TwoPhaseBugs::default(),
    }
}

/// What 2PC nodes say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TwoPhaseMsg {
    /// Coordinator → participant: vote on your share of this transaction.
    Prepare {
        /// The transaction.
        txn: TxnId,
        /// The participant's share.
        body: TxnBody,
        /// All its participants (for cooperative termination).
        participants: Vec<NodeId>,
    },
    /// Participant → coordinator: the vote.
    Vote {
        /// The transaction.
        txn: TxnId,
        /// Yes with the values read, or no.
        vote: Vote,
    },
    /// The outcome (from the coordinator, or from a participant that knows it).
    Decision {
        /// The transaction.
        txn: TxnId,
        /// Commit or abort.
        commit: bool,
    },
    /// Participant → coordinator: the COMMIT is applied.
    Ack {
        /// The transaction.
        txn: TxnId,
    },
    /// A prepared participant asks for the outcome.
    Query {
        /// The transaction.
        txn: TxnId,
    },
}

impl Message for TwoPhaseMsg {
    fn kind(&self) -> &'static str {
        match self {
            TwoPhaseMsg::Prepare { .. } => "Prepare",
            TwoPhaseMsg::Vote { .. } => "Vote",
            TwoPhaseMsg::Decision { commit: true, .. } => "Commit",
            TwoPhaseMsg::Decision { commit: false, .. } => "Abort",
            TwoPhaseMsg::Ack { .. } => "Ack",
            TwoPhaseMsg::Query { .. } => "Query",
        }
    }
    fn size(&self) -> usize {
        match self {
            TwoPhaseMsg::Prepare {
                body, participants, ..
            } => vote_request_size(body, participants),
            TwoPhaseMsg::Vote { vote, .. } => vote.message_size(),
            _ => 16,
        }
    }
}

/// The coordinator's durable COMMIT record (the values read are kept to answer a retry).
#[derive(Clone, Debug, Hash)]
struct CommitRecord {
    participants: Vec<NodeId>,
    reads: Vec<(u64, String)>,
}

const COMMIT_LOG: &str = "2pc.commit";
const END_LOG: &str = "2pc.end";

/// One 2PC node: the coordinator, or a participant.
#[derive(Debug, Clone, Hash)]
pub struct TwoPhaseCommit {
    roles: Roles,
    config: sim_core::Fixed<TwoPhaseConfig>,
    coord: BTreeMap<TxnId, CoordTxn>,
    part: Participant,
}

impl TwoPhaseCommit {
    /// Whether this node coordinates.
    pub fn is_coordinator(&self) -> bool {
        self.coordinates()
    }
    /// The participant state (store, locks, transactions).
    pub fn participant(&self) -> &Participant {
        &self.part
    }

    fn sync_votes(&self) -> bool {
        !self.config.bugs.vote_before_log
    }

    // ---- coordinator ----

    fn on_vote(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, from: NodeId, txn: TxnId, vote: Vote) {
        let Some(t) = self.coord.get_mut(&txn) else {
            // Finished, or forgotten by a restart (then presumed aborted): a late yes
            // learns the outcome.
            if matches!(vote, Vote::Yes(_)) {
                let commit = ctx.disk().get::<CommitRecord>(COMMIT_LOG, txn).is_some();
                ctx.send(from, TwoPhaseMsg::Decision { txn, commit });
            }
            return;
        };
        match t.tally(from, vote) {
            Tally::No => self.decide_abort(ctx, txn, false),
            Tally::AllYes => self.decide_commit(ctx, txn),
            Tally::Ignored | Tally::Waiting => {}
        }
    }

    fn decide_commit(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, txn: TxnId) {
        let Some(t) = self.coord.get_mut(&txn) else {
            return;
        };
        t.reads.sort();
        ctx.disk().put(
            COMMIT_LOG,
            txn,
            CommitRecord {
                participants: t.participants.clone(),
                reads: t.reads.clone(),
            },
        );
        // The commit point: nothing leaves before the record is durable.
        ctx.disk().sync();
        let resend_at = ctx.now() + self.config.resend_interval;
        t.commit(
            ctx,
            txn,
            TwoPhaseMsg::Decision { txn, commit: true },
            resend_at,
        );
    }

    fn decide_abort(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, txn: TxnId, timeout: bool) {
        if let Some(t) = self.coord.get_mut(&txn) {
            t.abort(
                ctx,
                txn,
                timeout,
                TwoPhaseMsg::Decision { txn, commit: false },
            );
        }
    }

    fn on_ack(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, from: NodeId, txn: TxnId) {
        let Some(t) = self.coord.get_mut(&txn) else {
            return;
        };
        if t.acknowledged(from) {
            // Lazily: a lost END only means resending COMMIT after a restart.
            ctx.disk().put(END_LOG, txn, ());
        }
    }

    fn on_query_at_coordinator(
        &mut self,
        ctx: &mut Ctx<'_, TwoPhaseMsg>,
        from: NodeId,
        txn: TxnId,
    ) {
        let commit = match self.coord.get(&txn).map(|t| &t.phase) {
            Some(Phase::Voting(_) | Phase::PreCommitting(_)) => return,
            Some(Phase::Committing(_) | Phase::Done(true)) => true,
            Some(Phase::Done(false)) => false,
            None => ctx.disk().get::<CommitRecord>(COMMIT_LOG, txn).is_some(),
        };
        ctx.send(from, TwoPhaseMsg::Decision { txn, commit });
    }

    // ---- participant ----

    fn on_prepare(
        &mut self,
        ctx: &mut Ctx<'_, TwoPhaseMsg>,
        from: NodeId,
        txn: TxnId,
        body: TxnBody,
        participants: Vec<NodeId>,
    ) {
        if let Some(PartState::Prepared) = self.part.state(txn) {
            // A duplicate: say yes again.
            let reads = body
                .reads
                .iter()
                .map(|&k| (k, self.part.value(k).0.to_string()))
                .collect();
            ctx.send(
                from,
                TwoPhaseMsg::Vote {
                    txn,
                    vote: Vote::Yes(reads),
                },
            );
            return;
        }
        node::vote_requested(self, ctx, (from, txn), body, participants);
    }

    fn set_decision_deadline(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, txn: TxnId) {
        self.part
            .wait_until(txn, ctx.now() + self.config.decision_timeout);
    }

    fn on_decision(
        &mut self,
        ctx: &mut Ctx<'_, TwoPhaseMsg>,
        from: NodeId,
        txn: TxnId,
        commit: bool,
    ) {
        let sync = self.sync_votes();
        let votes = if commit {
            let was = self.part.state(txn);
            let v = self.part.commit(ctx, txn, sync);
            if from == self.roles.layout.coordinator || was != Some(PartState::Committed) {
                ctx.send(self.roles.layout.coordinator, TwoPhaseMsg::Ack { txn });
            }
            v
        } else {
            if self.part.state(txn) == Some(PartState::Committed) {
                return;
            }
            self.part.abort_and_grant(ctx, txn, sync)
        };
        self.after_votes(ctx, votes);
    }

    fn after_votes(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, votes: Vec<VoteOut>) {
        node::send_votes(self, ctx, votes, true);
    }

    /// Cooperative termination, the answering side.
    fn on_query_at_participant(
        &mut self,
        ctx: &mut Ctx<'_, TwoPhaseMsg>,
        from: NodeId,
        txn: TxnId,
    ) {
        let commit = match self.part.state(txn) {
            Some(PartState::Committed) => true,
            Some(PartState::Aborted) => false,
            Some(PartState::Prepared | PartState::PreCommitted) => return,
            Some(PartState::Locking) | None => {
                // Not voted yet: free to abort, and then the outcome is known.
                ctx.observe(obs::TIMEOUT, txn, 0);
                let sync = self.sync_votes();
                let votes = self.part.abort_and_grant(ctx, txn, sync);
                self.after_votes(ctx, votes);
                false
            }
        };
        ctx.send(from, TwoPhaseMsg::Decision { txn, commit });
    }
}

impl Protocol for TwoPhaseCommit {
    type Msg = TwoPhaseMsg;
    type Config = TwoPhaseConfig;

    fn start(ctx: &mut Ctx<'_, TwoPhaseMsg>, config: &TwoPhaseConfig) -> Self {
        let layout = Layout::new(ctx.cluster_size(), config.coordinator);
        let now = ctx.now();
        let part = Participant::load(ctx.disk(), layout.coordinator, now);
        let mut coord = BTreeMap::new();
        if ctx.id() == layout.coordinator {
            // Recovery: every COMMIT without an END is resent at the first tick.
            let ended: BTreeSet<u64> = ctx.disk().range::<()>(END_LOG).map(|(i, _)| i).collect();
            for (txn, r) in ctx.disk().range::<CommitRecord>(COMMIT_LOG) {
                if ended.contains(&txn) {
                    continue;
                }
                coord.insert(
                    txn,
                    CoordTxn {
                        reads: r.reads.clone(),
                        ..CoordTxn::new(
                            r.participants.clone(),
                            Phase::Committing(BTreeSet::new()),
                            now,
                        )
                    },
                );
            }
        }
        ctx.set_timer(TICK, config.tick);
        TwoPhaseCommit {
            roles: Roles {
                id: ctx.id(),
                layout,
                tick: config.tick,
            },
            config: sim_core::Fixed(config.clone()),
            coord,
            part,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, from: NodeId, msg: TwoPhaseMsg) {
        let coordinator = self.is_coordinator();
        match msg {
            TwoPhaseMsg::Prepare {
                txn,
                body,
                participants,
            } if !coordinator => self.on_prepare(ctx, from, txn, body, participants),
            TwoPhaseMsg::Vote { txn, vote } if coordinator => self.on_vote(ctx, from, txn, vote),
            TwoPhaseMsg::Decision { txn, commit } if !coordinator => {
                self.on_decision(ctx, from, txn, commit)
            }
            TwoPhaseMsg::Ack { txn } if coordinator => self.on_ack(ctx, from, txn),
            TwoPhaseMsg::Query { txn } if coordinator => {
                self.on_query_at_coordinator(ctx, from, txn)
            }
            TwoPhaseMsg::Query { txn } => self.on_query_at_participant(ctx, from, txn),
            _ => {}
        }
    }

    node::commit_node_handlers!(TwoPhaseMsg);
}

impl CommitNode for TwoPhaseCommit {
    const SHORT_NAME: &'static str = "2PC";

    node::commit_node_state!();

    fn decision_wait(&self) -> SimDuration {
        self.config.decision_timeout
    }

    fn vote_message(txn: TxnId, vote: Vote) -> TwoPhaseMsg {
        TwoPhaseMsg::Vote { txn, vote }
    }

    fn vote_request(txn: TxnId, body: TxnBody, participants: Vec<NodeId>) -> TwoPhaseMsg {
        TwoPhaseMsg::Prepare {
            txn,
            body,
            participants,
        }
    }

    fn answer_from_log(
        &mut self,
        ctx: &mut Ctx<'_, TwoPhaseMsg>,
        id: RequestId,
        txn: TxnId,
    ) -> bool {
        let Some(r) = ctx.disk().get::<CommitRecord>(COMMIT_LOG, txn) else {
            return false;
        };
        let reads = r.reads.clone();
        answer(ctx, &[id], true, &reads);
        true
    }

    fn coordinator_tick(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, now: SimTime) {
        let due: Vec<TxnId> = self
            .coord
            .iter()
            .filter(|(_, t)| t.deadline <= now && !matches!(t.phase, Phase::Done(_)))
            .map(|(id, _)| *id)
            .collect();
        for txn in due {
            let Some(t) = self.coord.get_mut(&txn) else {
                continue;
            };
            if let Phase::Voting(_) = t.phase {
                self.decide_abort(ctx, txn, true);
            } else {
                let commit = TwoPhaseMsg::Decision { txn, commit: true };
                t.resend_commit(ctx, commit, now + self.config.resend_interval);
            }
        }
        // Finished transactions need no state beyond their log records.
        self.coord.retain(|_, t| !matches!(t.phase, Phase::Done(_)));
    }

    fn participant_tick(&mut self, ctx: &mut Ctx<'_, TwoPhaseMsg>, now: SimTime) {
        let votes = self.part.expire_lock_waits(ctx, now);
        // Votes of lock waits that ended here keep the deadlines they had.
        node::send_votes(self, ctx, votes, false);
        for txn in self.part.overdue(now) {
            ctx.observe(obs::TIMEOUT, txn, 0);
            if self.config.bugs.commit_on_timeout {
                let sync = self.sync_votes();
                let votes = self.part.commit(ctx, txn, sync);
                ctx.send(self.roles.layout.coordinator, TwoPhaseMsg::Ack { txn });
                self.after_votes(ctx, votes);
                continue;
            }
            ctx.send(self.roles.layout.coordinator, TwoPhaseMsg::Query { txn });
            if self.config.cooperative_termination {
                for p in self.part.others(txn, self.roles.id) {
                    ctx.send(p, TwoPhaseMsg::Query { txn });
                }
            }
            self.set_decision_deadline(ctx, txn);
        }
    }
}

impl ProtocolSpec for TwoPhaseCommit {
    const NAME: &'static str = "TwoPhaseCommit";
    const FAMILY: Family = Family::AtomicCommit;
    type Bugs = TwoPhaseBugs;

    fn validate(config: &TwoPhaseConfig, nodes: u32) -> Result<(), crate::BadSetting> {
        config.validate_common(nodes)
    }

    fn enable_bug(config: &mut TwoPhaseConfig, name: &str) -> bool {
        config.bugs.enable(name)
    }

    fn invariants(_config: &TwoPhaseConfig) -> Vec<Box<dyn Invariant<Self>>> {
        super::invariants::all()
    }
}
