//! Three-phase commit (Skeen 1981) with its termination protocol.
//!
//! CanCommit → votes → PreCommit → acknowledgements → DoCommit → acknowledgements (the
//! coordinator resends DoCommit until each participant has answered). Participants log their
//! vote and their pre-commit (synced) before answering. The extra round buys
//! non-blocking termination under crash failures with bounded delays: a participant that
//! hears nothing for `timeout` suspects whoever should speak (first the coordinator) and
//! turns to the lowest-ranked participant it does not suspect as the backup coordinator.
//! The backup asks the others for their states and decides: anyone committed → commit;
//! anyone aborted → abort; nobody pre-committed → abort; otherwise it pre-commits the
//! uncertain ones, waits for their acknowledgements, and commits. Alone, this gives the
//! textbook timeout rules (waiting → abort, pre-committed → commit). A participant that
//! restarts with an undecided transaction does not decide: it asks the others until one
//! knows. Under a network partition the two sides decide on their own and can disagree —
//! the textbook weakness the scenarios show.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::invariant::Invariant;
use sim_core::{Ctx, Message, NodeId, Protocol, SimDuration, SimTime};

use super::node::{self, CommitNode, CoordTxn, Phase, Roles, TICK, Tally};
use super::obs;
use super::txn::{
    Layout, PartState, Participant, TxnBody, TxnId, Vote, VoteOut, vote_request_size,
};
use crate::{BugSet, Family, ProtocolSpec};

crate::bug_switches! {
    /// 3PC's deliberate mistakes; all off by default.
    pub struct ThreePhaseBugs {
        /// The coordinator sends DoCommit without waiting for every PreCommit
        /// acknowledgement, so a participant can commit while another is still uncertain.
        skip_precommit_ack => "commit_rule",
    }
}

node::commit_config! {
    /// 3PC's settings, the same on every node.
    pub struct ThreePhaseConfig {
        /// How long a participant waits for the next message of the protocol before it
        /// suspects the sender, and how long a backup collects states.
        pub timeout: SimDuration = SimDuration::from_millis(100),
        /// Check 3PC's commit rule as an invariant (`commit_rule`): nobody commits while
        /// a live participant is still uncertain. The rule is what makes termination
        /// safe, and it holds only under the model 3PC is meant for (no partitions); turn
        /// the check off to watch what a partition does to atomicity itself.
        pub check_commit_rule: bool = true,
        /// Deliberate mistakes.
        pub bugs: ThreePhaseBugs = ThreePhaseBugs::default(),
    }
}

/// What 3PC nodes say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ThreePhaseMsg {
    /// Coordinator → participant: can you commit your share?
    CanCommit {
        /// The transaction.
        txn: TxnId,
        /// The participant's share.
        body: TxnBody,
        /// All its participants (for termination).
        participants: Vec<NodeId>,
    },
    /// Participant → coordinator: the vote.
    Vote {
        /// The transaction.
        txn: TxnId,
        /// Yes with the values read, or no.
        vote: Vote,
    },
    /// Everyone voted yes: prepare to commit.
    PreCommit {
        /// The transaction.
        txn: TxnId,
    },
    /// The PreCommit is logged.
    PreAck {
        /// The transaction.
        txn: TxnId,
    },
    /// Commit.
    DoCommit {
        /// The transaction.
        txn: TxnId,
    },
    /// Participant → coordinator: the commit is applied, so the coordinator may stop
    /// resending DoCommit and forget the transaction (Skeen's final acknowledgement).
    Ack {
        /// The transaction.
        txn: TxnId,
    },
    /// Abort.
    Abort {
        /// The transaction.
        txn: TxnId,
    },
    /// A backup coordinator asks for the participant's state.
    StateReq {
        /// The transaction.
        txn: TxnId,
    },
    /// The answer.
    StateReport {
        /// The transaction.
        txn: TxnId,
        /// The participant's state.
        state: PartState,
    },
    /// A recovered participant asks for the outcome.
    Query {
        /// The transaction.
        txn: TxnId,
    },
}

impl Message for ThreePhaseMsg {
    fn kind(&self) -> &'static str {
        match self {
            ThreePhaseMsg::CanCommit { .. } => "CanCommit",
            ThreePhaseMsg::Vote { .. } => "Vote",
            ThreePhaseMsg::PreCommit { .. } => "PreCommit",
            ThreePhaseMsg::PreAck { .. } => "PreAck",
            ThreePhaseMsg::DoCommit { .. } => "DoCommit",
            ThreePhaseMsg::Ack { .. } => "Ack",
            ThreePhaseMsg::Abort { .. } => "Abort",
            ThreePhaseMsg::StateReq { .. } => "StateReq",
            ThreePhaseMsg::StateReport { .. } => "StateReport",
            ThreePhaseMsg::Query { .. } => "Query",
        }
    }
    fn size(&self) -> usize {
        match self {
            ThreePhaseMsg::CanCommit {
                body, participants, ..
            } => vote_request_size(body, participants),
            ThreePhaseMsg::Vote { vote, .. } => vote.message_size(),
            _ => 16,
        }
    }
}

/// A backup coordinator's progress.
#[derive(Clone, Debug, Hash)]
enum Backup {
    /// Collecting the states of the participants it does not suspect.
    Collect(BTreeMap<NodeId, PartState>),
    /// Pre-committing these uncertain participants before it commits.
    PreCommit(BTreeSet<NodeId>),
}

/// A participant's termination protocol for one transaction.
#[derive(Clone, Debug, Default, Hash)]
struct Termination {
    suspected: BTreeSet<NodeId>,
    backup: Option<Backup>,
}

/// One 3PC node: the coordinator, or a participant.
#[derive(Debug, Clone, Hash)]
pub struct ThreePhaseCommit {
    roles: Roles,
    config: sim_core::Fixed<ThreePhaseConfig>,
    coord: BTreeMap<TxnId, CoordTxn>,
    part: Participant,
    terms: BTreeMap<TxnId, Termination>,
    /// Undecided transactions found on disk at a restart: asked about, never decided here.
    recovering: BTreeSet<TxnId>,
}

impl ThreePhaseCommit {
    /// Whether this node coordinates.
    pub fn is_coordinator(&self) -> bool {
        self.coordinates()
    }
    /// The participant state (store, locks, transactions).
    pub fn participant(&self) -> &Participant {
        &self.part
    }
    /// Whether this node restarted with `txn` undecided and is asking about it.
    pub fn is_recovering(&self, txn: TxnId) -> bool {
        self.recovering.contains(&txn)
    }

    fn sync_votes(&self) -> bool {
        true
    }

    // ---- coordinator ----

    fn on_vote(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, from: NodeId, txn: TxnId, vote: Vote) {
        let Some(t) = self.coord.get_mut(&txn) else {
            return;
        };
        match t.tally(from, vote) {
            Tally::No => self.coord_abort(ctx, txn, false),
            Tally::AllYes => {
                t.reads.sort();
                for &p in &t.participants {
                    ctx.send(p, ThreePhaseMsg::PreCommit { txn });
                }
                t.phase = Phase::PreCommitting(BTreeSet::new());
                t.deadline = ctx.now() + self.config.vote_timeout;
                if self.config.bugs.skip_precommit_ack {
                    self.coord_commit(ctx, txn);
                }
            }
            Tally::Ignored | Tally::Waiting => {}
        }
    }

    fn on_preack_at_coordinator(
        &mut self,
        ctx: &mut Ctx<'_, ThreePhaseMsg>,
        from: NodeId,
        txn: TxnId,
    ) {
        let Some(t) = self.coord.get_mut(&txn) else {
            return;
        };
        let Phase::PreCommitting(acked) = &mut t.phase else {
            return;
        };
        acked.insert(from);
        if acked.len() == t.participants.len() {
            self.coord_commit(ctx, txn);
        }
    }

    fn coord_commit(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, txn: TxnId) {
        let resend_at = ctx.now() + self.config.vote_timeout;
        if let Some(t) = self.coord.get_mut(&txn) {
            t.commit(ctx, txn, ThreePhaseMsg::DoCommit { txn }, resend_at);
        }
    }

    fn on_ack(&mut self, from: NodeId, txn: TxnId) {
        if let Some(t) = self.coord.get_mut(&txn) {
            t.acknowledged(from);
        }
    }

    fn coord_abort(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, txn: TxnId, timeout: bool) {
        if let Some(t) = self.coord.get_mut(&txn) {
            t.abort(ctx, txn, timeout, ThreePhaseMsg::Abort { txn });
        }
    }

    // ---- participant ----

    fn send_votes(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, votes: Vec<VoteOut>) {
        node::send_votes(self, ctx, votes, true);
    }

    /// Restarts the wait for the next protocol message about `txn`.
    fn wait(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, txn: TxnId) {
        self.part.wait_until(txn, ctx.now() + self.config.timeout);
    }

    fn on_can_commit(
        &mut self,
        ctx: &mut Ctx<'_, ThreePhaseMsg>,
        from: NodeId,
        txn: TxnId,
        body: TxnBody,
        participants: Vec<NodeId>,
    ) {
        node::vote_requested(self, ctx, (from, txn), body, participants);
    }

    fn on_precommit(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, from: NodeId, txn: TxnId) {
        match self.part.state(txn) {
            Some(PartState::Prepared) => self.part.precommit(ctx, txn),
            Some(PartState::PreCommitted | PartState::Committed) => {}
            _ => return,
        }
        self.recovering.remove(&txn);
        if let Some(t) = self.part.txns.get_mut(&txn) {
            t.coordinator = from;
        }
        self.wait(ctx, txn);
        ctx.send(from, ThreePhaseMsg::PreAck { txn });
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, txn: TxnId, commit: bool) {
        let sync = self.sync_votes();
        let votes = if commit {
            self.part.commit(ctx, txn, sync)
        } else {
            if self.part.state(txn) == Some(PartState::Committed) {
                return;
            }
            self.part.abort_and_grant(ctx, txn, sync)
        };
        self.terms.remove(&txn);
        self.recovering.remove(&txn);
        self.send_votes(ctx, votes);
    }

    fn on_state_req(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, from: NodeId, txn: TxnId) {
        let state = match self.part.state(txn) {
            Some(s @ (PartState::Prepared | PartState::PreCommitted)) => {
                // Follow this backup: it outranks everyone it suspects.
                let term = self.terms.entry(txn).or_default();
                if from > self.roles.id && term.backup.is_some() {
                    // A lower-ranked node is alive (this one): it stays the backup.
                    return;
                }
                term.backup = None;
                term.suspected.insert(self.roles.layout.coordinator);
                for p in self.roles.layout.participants.iter().filter(|p| **p < from) {
                    term.suspected.insert(*p);
                }
                if let Some(t) = self.part.txns.get_mut(&txn) {
                    t.coordinator = from;
                }
                self.recovering.remove(&txn);
                self.wait(ctx, txn);
                s
            }
            Some(s @ (PartState::Committed | PartState::Aborted)) => s,
            Some(PartState::Locking) | None => {
                // Not voted yes: free to abort.
                ctx.observe(obs::TIMEOUT, txn, 0);
                let sync = self.sync_votes();
                let votes = self.part.abort_and_grant(ctx, txn, sync);
                self.send_votes(ctx, votes);
                PartState::Aborted
            }
        };
        ctx.send(from, ThreePhaseMsg::StateReport { txn, state });
    }

    fn on_state_report(
        &mut self,
        ctx: &mut Ctx<'_, ThreePhaseMsg>,
        from: NodeId,
        txn: TxnId,
        state: PartState,
    ) {
        let Some(term) = self.terms.get_mut(&txn) else {
            return;
        };
        let Some(Backup::Collect(states)) = &mut term.backup else {
            return;
        };
        states.insert(from, state);
        let everyone = self.part.txns.get(&txn).is_some_and(|t| {
            t.participants
                .iter()
                .all(|p| term.suspected.contains(p) || states.contains_key(p))
        });
        if everyone || state.decided() {
            self.backup_decide(ctx, txn);
        }
    }

    fn on_preack_at_backup(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, from: NodeId, txn: TxnId) {
        let Some(Termination {
            backup: Some(Backup::PreCommit(waiting)),
            ..
        }) = self.terms.get_mut(&txn)
        else {
            return;
        };
        waiting.remove(&from);
        if waiting.is_empty() {
            self.backup_finish(ctx, txn, true);
        }
    }

    /// The backup's decision rule, from the states collected.
    fn backup_decide(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, txn: TxnId) {
        let Some(Termination {
            backup: Some(Backup::Collect(states)),
            ..
        }) = self.terms.get(&txn)
        else {
            return;
        };
        let mut states = states.clone();
        if let Some(s) = self.part.state(txn) {
            states.insert(self.roles.id, s);
        }
        let any = |s: PartState| states.values().any(|x| *x == s);
        if any(PartState::Committed) {
            self.backup_finish(ctx, txn, true);
        } else if any(PartState::Aborted) || !any(PartState::PreCommitted) {
            self.backup_finish(ctx, txn, false);
        } else {
            self.part.precommit(ctx, txn);
            let uncertain: BTreeSet<NodeId> = states
                .iter()
                .filter(|(p, s)| **s == PartState::Prepared && **p != self.roles.id)
                .map(|(p, _)| *p)
                .collect();
            for &p in &uncertain {
                ctx.send(p, ThreePhaseMsg::PreCommit { txn });
            }
            if uncertain.is_empty() || self.config.bugs.skip_precommit_ack {
                self.backup_finish(ctx, txn, true);
            } else {
                if let Some(term) = self.terms.get_mut(&txn) {
                    term.backup = Some(Backup::PreCommit(uncertain));
                }
                self.wait(ctx, txn);
            }
        }
    }

    fn backup_finish(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, txn: TxnId, commit: bool) {
        ctx.observe(obs::COORD_DECIDE, txn, u64::from(commit));
        for p in self.part.others(txn, self.roles.id) {
            let msg = if commit {
                ThreePhaseMsg::DoCommit { txn }
            } else {
                ThreePhaseMsg::Abort { txn }
            };
            ctx.send(p, msg);
        }
        self.apply(ctx, txn, commit);
    }

    /// A timeout on an undecided transaction: the next step of termination.
    fn on_overdue(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, txn: TxnId) {
        let Some(t) = self.part.txns.get(&txn) else {
            return;
        };
        let participants = t.participants.clone();
        let expected = t.coordinator;
        if self.recovering.contains(&txn) {
            for p in participants.iter().filter(|p| **p != self.roles.id) {
                ctx.send(*p, ThreePhaseMsg::Query { txn });
            }
            self.wait(ctx, txn);
            return;
        }
        ctx.observe(obs::TIMEOUT, txn, 0);
        let term = self.terms.entry(txn).or_default();
        match term.backup {
            Some(Backup::Collect(_)) => return self.backup_decide(ctx, txn),
            // The silent ones have crashed: everyone alive is pre-committed.
            Some(Backup::PreCommit(_)) => return self.backup_finish(ctx, txn, true),
            None => {}
        }
        term.suspected.insert(self.roles.layout.coordinator);
        if expected != self.roles.id {
            term.suspected.insert(expected);
        }
        let backup = participants
            .iter()
            .copied()
            .find(|p| !term.suspected.contains(p))
            .unwrap_or(self.roles.id);
        if backup == self.roles.id {
            term.backup = Some(Backup::Collect(BTreeMap::new()));
            let suspected = term.suspected.clone();
            for p in participants
                .iter()
                .filter(|p| **p != self.roles.id && !suspected.contains(p))
            {
                ctx.send(*p, ThreePhaseMsg::StateReq { txn });
            }
        }
        if let Some(t) = self.part.txns.get_mut(&txn) {
            t.coordinator = backup;
        }
        self.wait(ctx, txn);
        let alone = participants.iter().all(|p| {
            *p == self.roles.id
                || self
                    .terms
                    .get(&txn)
                    .is_some_and(|t| t.suspected.contains(p))
        });
        if backup == self.roles.id && alone {
            self.backup_decide(ctx, txn);
        }
    }

    fn on_query(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, from: NodeId, txn: TxnId) {
        let decided = if self.is_coordinator() {
            match self.coord.get(&txn).map(|t| &t.phase) {
                Some(Phase::Done(c)) => Some(*c),
                Some(Phase::Committing(_)) => Some(true),
                _ => None,
            }
        } else {
            match self.part.state(txn) {
                Some(PartState::Committed) => Some(true),
                Some(PartState::Aborted) => Some(false),
                _ => None,
            }
        };
        match decided {
            Some(true) => ctx.send(from, ThreePhaseMsg::DoCommit { txn }),
            Some(false) => ctx.send(from, ThreePhaseMsg::Abort { txn }),
            None => {}
        }
    }
}

impl Protocol for ThreePhaseCommit {
    type Msg = ThreePhaseMsg;
    type Config = ThreePhaseConfig;

    fn start(ctx: &mut Ctx<'_, ThreePhaseMsg>, config: &ThreePhaseConfig) -> Self {
        let layout = Layout::new(ctx.cluster_size(), config.coordinator);
        let now = ctx.now();
        let part = Participant::load(ctx.disk(), layout.coordinator, now);
        let recovering = part
            .txns
            .iter()
            .filter(|(_, t)| !t.state.decided())
            .map(|(id, _)| *id)
            .collect();
        ctx.set_timer(TICK, config.tick);
        ThreePhaseCommit {
            roles: Roles {
                id: ctx.id(),
                layout,
                tick: config.tick,
            },
            config: sim_core::Fixed(config.clone()),
            coord: BTreeMap::new(),
            part,
            terms: BTreeMap::new(),
            recovering,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, from: NodeId, msg: ThreePhaseMsg) {
        let coordinator = self.is_coordinator();
        match msg {
            ThreePhaseMsg::CanCommit {
                txn,
                body,
                participants,
            } if !coordinator => self.on_can_commit(ctx, from, txn, body, participants),
            ThreePhaseMsg::Vote { txn, vote } if coordinator => self.on_vote(ctx, from, txn, vote),
            ThreePhaseMsg::PreCommit { txn } if !coordinator => self.on_precommit(ctx, from, txn),
            ThreePhaseMsg::PreAck { txn } if coordinator => {
                self.on_preack_at_coordinator(ctx, from, txn)
            }
            ThreePhaseMsg::PreAck { txn } => self.on_preack_at_backup(ctx, from, txn),
            ThreePhaseMsg::DoCommit { txn } if !coordinator => {
                self.apply(ctx, txn, true);
                if self.part.state(txn) == Some(PartState::Committed) {
                    ctx.send(from, ThreePhaseMsg::Ack { txn });
                }
            }
            ThreePhaseMsg::Ack { txn } if coordinator => self.on_ack(from, txn),
            ThreePhaseMsg::Abort { txn } if !coordinator => self.apply(ctx, txn, false),
            ThreePhaseMsg::StateReq { txn } if !coordinator => self.on_state_req(ctx, from, txn),
            ThreePhaseMsg::StateReport { txn, state } if !coordinator => {
                self.on_state_report(ctx, from, txn, state)
            }
            ThreePhaseMsg::Query { txn } => self.on_query(ctx, from, txn),
            _ => {}
        }
    }

    node::commit_node_handlers!(ThreePhaseMsg);
}

impl CommitNode for ThreePhaseCommit {
    const SHORT_NAME: &'static str = "3PC";

    node::commit_node_state!();

    fn decision_wait(&self) -> SimDuration {
        self.config.timeout
    }

    fn vote_message(txn: TxnId, vote: Vote) -> ThreePhaseMsg {
        ThreePhaseMsg::Vote { txn, vote }
    }

    fn vote_request(txn: TxnId, body: TxnBody, participants: Vec<NodeId>) -> ThreePhaseMsg {
        ThreePhaseMsg::CanCommit {
            txn,
            body,
            participants,
        }
    }

    fn coordinator_tick(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, now: SimTime) {
        // A lost DoCommit is sent again until acknowledged; the participant would
        // otherwise commit only through the termination protocol, much later.
        let resend_at = now + self.config.vote_timeout;
        for (&txn, t) in self.coord.iter_mut().filter(|(_, t)| t.deadline <= now) {
            t.resend_commit(ctx, ThreePhaseMsg::DoCommit { txn }, resend_at);
        }
        let due: Vec<(TxnId, bool)> = self
            .coord
            .iter()
            .filter(|(_, t)| t.deadline <= now)
            .filter_map(|(id, t)| match t.phase {
                Phase::Voting(_) => Some((*id, false)),
                Phase::PreCommitting(_) => Some((*id, true)),
                Phase::Committing(_) | Phase::Done(_) => None,
            })
            .collect();
        for (txn, precommitting) in due {
            if precommitting {
                // The participants that did not acknowledge have crashed (crash failures,
                // bounded delays): everyone alive is pre-committed.
                ctx.observe(obs::TIMEOUT, txn, 0);
                self.coord_commit(ctx, txn);
            } else {
                self.coord_abort(ctx, txn, true);
            }
        }
    }

    fn participant_tick(&mut self, ctx: &mut Ctx<'_, ThreePhaseMsg>, now: SimTime) {
        let votes = self.part.expire_lock_waits(ctx, now);
        self.send_votes(ctx, votes);
        for txn in self.part.overdue(now) {
            self.on_overdue(ctx, txn);
        }
    }
}

impl ProtocolSpec for ThreePhaseCommit {
    const NAME: &'static str = "ThreePhaseCommit";
    const FAMILY: Family = Family::AtomicCommit;
    type Bugs = ThreePhaseBugs;

    fn validate(config: &ThreePhaseConfig, nodes: u32) -> Result<(), crate::BadSetting> {
        config.validate_common(nodes)
    }

    fn enable_bug(config: &mut ThreePhaseConfig, name: &str) -> bool {
        config.bugs.enable(name)
    }

    fn invariants(config: &ThreePhaseConfig) -> Vec<Box<dyn Invariant<Self>>> {
        let mut all = super::invariants::all();
        if config.check_commit_rule {
            all.push(Box::new(CommitRule::default()));
        }
        all
    }
}

/// 3PC's commit rule (Skeen): when anyone commits a transaction, no live participant of
/// it is still uncertain (voted yes, not pre-committed). Termination relies on it: a
/// backup that finds only uncertain participants aborts, which is safe only if nobody
/// can have committed. Participants that restarted and are asking are exempt (they never
/// decide on their own).
#[derive(Default, Clone, Hash)]
pub struct CommitRule {
    participants: BTreeMap<TxnId, u64>,
}

impl Invariant<ThreePhaseCommit> for CommitRule {
    sim_core::forkable!(ThreePhaseCommit);
    fn name(&self) -> &str {
        "commit_rule"
    }
    fn check(
        &mut self,
        world: &sim_core::invariant::World<'_, ThreePhaseCommit>,
    ) -> Result<(), String> {
        for o in world.observations {
            let txn = o.obs.key;
            match o.obs.kind {
                obs::BEGIN => {
                    self.participants.insert(txn, o.obs.value);
                }
                obs::DECIDE | obs::COORD_DECIDE if o.obs.value == 1 => {
                    let mask = self.participants.get(&txn).copied().unwrap_or(0);
                    for (n, node) in world.nodes() {
                        let Some(node) = node else { continue };
                        if n.0 >= 64 || mask & (1 << n.0) == 0 || node.is_recovering(txn) {
                            continue;
                        }
                        if world.status(n) != sim_core::invariant::NodeStatus::Up {
                            continue;
                        }
                        if let Some(s @ (PartState::Prepared | PartState::Locking)) =
                            node.participant().state(txn)
                        {
                            return Err(format!(
                                "{} committed transaction {txn:#x} while {n} was still \
                                 uncertain ({s:?})",
                                o.node
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
