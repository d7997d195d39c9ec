//! What 2PC and 3PC nodes share. As coordinator: opening a transaction (split into
//! shares, reported, sent), answering retries, counting votes and acknowledgements,
//! announcing an abort or a commit, resending it. As participant: answering a vote
//! request and sending votes. And the node itself, coordinator or participant by its
//! place in the layout, driven by one timer.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::history::Operation;
use sim_core::{
    ClientRequest, Ctx, Message, NodeId, Protocol, Reply, RequestId, SimDuration, SimTime, TimerId,
};

use super::obs;
use super::txn::{
    Layout, PartState, Participant, TxnBody, TxnId, Vote, VoteOut, VotePolicy, answer, mask, txn_id,
};

/// Where a transaction stands at the coordinator. 2PC goes from voting straight to
/// committing; 3PC pre-commits in between.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Phase {
    /// Waiting for votes; those received so far.
    Voting(BTreeSet<NodeId>),
    /// 3PC: PreCommit sent; acknowledged by these.
    PreCommitting(BTreeSet<NodeId>),
    /// Commit decided and sent; acknowledged by these.
    Committing(BTreeSet<NodeId>),
    /// Done: committed and acknowledged by all, or aborted.
    Done(bool),
}

/// The coordinator's view of one transaction.
#[derive(Clone, Debug, Hash)]
pub(crate) struct CoordTxn {
    /// Its participants, in id order.
    pub participants: Vec<NodeId>,
    pub phase: Phase,
    /// The values read, gathered from the yes votes.
    pub reads: Vec<(u64, String)>,
    /// The requests to answer when it is decided.
    pub clients: Vec<RequestId>,
    /// When the coordinator acts on it next (vote timeout, resend).
    pub deadline: SimTime,
}

/// What a vote means for the coordinator.
pub(crate) enum Tally {
    /// Not counted (not voting any more, or not a participant).
    Ignored,
    /// A no: abort.
    No,
    /// Counted; every participant has now voted yes.
    AllYes,
    /// Counted; votes are still missing.
    Waiting,
}

impl CoordTxn {
    /// A transaction in phase `phase`, acted on next at `deadline`.
    pub fn new(participants: Vec<NodeId>, phase: Phase, deadline: SimTime) -> Self {
        CoordTxn {
            participants,
            phase,
            reads: Vec::new(),
            clients: Vec::new(),
            deadline,
        }
    }

    /// Counts `from`'s vote.
    pub fn tally(&mut self, from: NodeId, vote: Vote) -> Tally {
        let Phase::Voting(voted) = &mut self.phase else {
            return Tally::Ignored;
        };
        if !self.participants.contains(&from) {
            return Tally::Ignored;
        }
        match vote {
            Vote::No => Tally::No,
            Vote::Yes(reads) => {
                if voted.insert(from) {
                    self.reads.extend(reads);
                }
                if voted.len() == self.participants.len() {
                    Tally::AllYes
                } else {
                    Tally::Waiting
                }
            }
        }
    }

    /// Counts `from`'s acknowledgement of phase `Committing`; whether all have now
    /// acknowledged (the transaction is then done).
    pub fn acknowledged(&mut self, from: NodeId) -> bool {
        let Phase::Committing(acked) = &mut self.phase else {
            return false;
        };
        if self.participants.contains(&from) {
            acked.insert(from);
        }
        let all = acked.len() == self.participants.len();
        if all {
            self.phase = Phase::Done(true);
        }
        all
    }

    /// Aborts: reports it (and the timeout that caused it), sends `abort` to every
    /// participant and answers the clients.
    pub fn abort<M: Message>(&mut self, ctx: &mut Ctx<'_, M>, txn: TxnId, timeout: bool, abort: M) {
        if timeout {
            ctx.observe(obs::TIMEOUT, txn, 0);
        }
        ctx.observe(obs::COORD_DECIDE, txn, 0);
        for &p in &self.participants {
            ctx.send(p, abort.clone());
        }
        self.phase = Phase::Done(false);
        let clients = std::mem::take(&mut self.clients);
        answer(ctx, &clients, false, &[]);
    }

    /// Commits (once whatever makes the decision durable is done): reports it, sends
    /// `commit` to every participant, waits for their acknowledgements until
    /// `resend_at`, and answers the clients.
    pub fn commit<M: Message>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        txn: TxnId,
        commit: M,
        resend_at: SimTime,
    ) {
        ctx.observe(obs::COORD_DECIDE, txn, 1);
        for &p in &self.participants {
            ctx.send(p, commit.clone());
        }
        self.phase = Phase::Committing(BTreeSet::new());
        self.deadline = resend_at;
        let clients = std::mem::take(&mut self.clients);
        answer(ctx, &clients, true, &self.reads);
    }

    /// Sends `commit` again to the participants that have not acknowledged it, and waits
    /// until `resend_at`.
    pub fn resend_commit<M: Message>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        commit: M,
        resend_at: SimTime,
    ) {
        if let Phase::Committing(acked) = &self.phase {
            for p in self.participants.iter().filter(|p| !acked.contains(p)) {
                ctx.send(*p, commit.clone());
            }
            self.deadline = resend_at;
        }
    }
}

/// The transaction a client asks for, or `None` once a request that is not a transaction
/// has been failed (`protocol` names who refuses it).
pub(crate) fn requested<M: Message>(
    ctx: &mut Ctx<'_, M>,
    req: ClientRequest,
    protocol: &str,
) -> Option<(RequestId, TxnId, TxnBody)> {
    let Operation::Txn { reads, writes } = req.op else {
        ctx.reply(
            req.id,
            Reply::Fail(format!("{protocol} serves transactions only")),
        );
        return None;
    };
    Some((req.id, txn_id(req.id), TxnBody { reads, writes }))
}

/// Opens transaction `txn` of request `id`: splits it into shares by participant,
/// reports it, and sends each participant its share in the message `prepare` makes. The
/// coordinator's record of it, voting until `deadline`; `None` once the request is failed
/// because no participant holds its keys.
pub(crate) fn open<M: Message>(
    ctx: &mut Ctx<'_, M>,
    layout: &Layout,
    (id, txn, body): (RequestId, TxnId, TxnBody),
    deadline: SimDuration,
    prepare: impl Fn(TxnBody, Vec<NodeId>) -> M,
) -> Option<CoordTxn> {
    let shares: BTreeMap<NodeId, TxnBody> = layout.split(&body);
    if shares.is_empty() {
        ctx.reply(id, Reply::Fail("no participant holds these keys".into()));
        return None;
    }
    let participants: Vec<NodeId> = shares.keys().copied().collect();
    ctx.observe(obs::BEGIN, txn, mask(&participants));
    for (p, share) in shares {
        ctx.send(p, prepare(share, participants.clone()));
    }
    let mut t = CoordTxn::new(
        participants,
        Phase::Voting(BTreeSet::new()),
        ctx.now() + deadline,
    );
    t.clients.push(id);
    Some(t)
}

/// Where a node stands in an atomic-commit cluster.
#[derive(Clone, Debug, Hash)]
pub(crate) struct Roles {
    /// This node.
    pub id: NodeId,
    /// The cluster's roles.
    pub layout: Layout,
    /// The period of the node's timer.
    pub tick: SimDuration,
}

/// A node of an atomic-commit protocol: the coordinator or a participant by its place in
/// the layout, driven by one periodic timer.
pub(crate) trait CommitNode: Protocol {
    /// The protocol's short name, for messages ("2PC").
    const SHORT_NAME: &'static str;
    /// Where it stands.
    fn roles(&self) -> &Roles;
    /// The coordinator's transactions under way.
    fn transactions(&mut self) -> &mut BTreeMap<TxnId, CoordTxn>;
    /// How long the coordinator waits for votes.
    fn vote_timeout(&self) -> SimDuration;
    /// The message asking a participant to vote on its share of `txn`.
    fn vote_request(txn: TxnId, share: TxnBody, participants: Vec<NodeId>) -> Self::Msg;
    /// The participant state.
    fn participant_mut(&mut self) -> &mut Participant;
    /// How this node votes on a new transaction.
    fn vote_policy(&self) -> VotePolicy;
    /// How long a participant that voted yes waits for the next word before it acts.
    fn decision_wait(&self) -> SimDuration;
    /// The message carrying `vote` on `txn`.
    fn vote_message(txn: TxnId, vote: Vote) -> Self::Msg;
    /// Answers a retried request for a transaction no longer under way from what the
    /// coordinator logged; whether it could.
    fn answer_from_log(
        &mut self,
        _ctx: &mut Ctx<'_, Self::Msg>,
        _id: RequestId,
        _txn: TxnId,
    ) -> bool {
        false
    }
    /// The coordinator's periodic work.
    fn coordinator_tick(&mut self, ctx: &mut Ctx<'_, Self::Msg>, now: SimTime);
    /// A participant's periodic work.
    fn participant_tick(&mut self, ctx: &mut Ctx<'_, Self::Msg>, now: SimTime);

    /// Whether this node coordinates.
    fn coordinates(&self) -> bool {
        self.roles().id == self.roles().layout.coordinator
    }
}

/// The `Protocol` handlers every [`CommitNode`] has alike (timer, client requests, who
/// leads), written once: `commit_node_handlers!(TwoPhaseMsg);` inside `impl Protocol`.
macro_rules! commit_node_handlers {
    ($msg:ty) => {
        fn on_timer(&mut self, ctx: &mut sim_core::Ctx<'_, $msg>, timer: sim_core::TimerId) {
            super::node::on_timer(self, ctx, timer);
        }

        fn on_request(
            &mut self,
            ctx: &mut sim_core::Ctx<'_, $msg>,
            request: sim_core::ClientRequest,
        ) {
            super::node::on_request(self, ctx, request);
        }

        fn is_leader(&self) -> bool {
            super::node::CommitNode::coordinates(self)
        }
    };
}
pub(crate) use commit_node_handlers;

/// The [`CommitNode`] accessors of a node whose fields are named alike (`roles`, `coord`,
/// `part`, and a `config` with `vote_timeout`, `vote_no_probability`, `lock_timeout`),
/// written once: `commit_node_state!();` inside `impl CommitNode`.
macro_rules! commit_node_state {
    () => {
        fn roles(&self) -> &super::node::Roles {
            &self.roles
        }

        fn transactions(
            &mut self,
        ) -> &mut std::collections::BTreeMap<super::txn::TxnId, super::node::CoordTxn> {
            &mut self.coord
        }

        fn vote_timeout(&self) -> sim_core::SimDuration {
            self.config.vote_timeout
        }

        fn participant_mut(&mut self) -> &mut super::txn::Participant {
            &mut self.part
        }

        fn vote_policy(&self) -> super::txn::VotePolicy {
            super::txn::VotePolicy {
                no_probability: self.config.vote_no_probability,
                lock_timeout: self.config.lock_timeout,
                sync: self.sync_votes(),
            }
        }
    };
}
pub(crate) use commit_node_state;

/// A client's transaction, at the coordinator: a retry is answered (or waits) by what
/// the coordinator knows of it; a new one is opened.
pub(crate) fn begin<N: CommitNode>(node: &mut N, ctx: &mut Ctx<'_, N::Msg>, req: ClientRequest) {
    let Some((id, txn, body)) = requested(ctx, req, N::SHORT_NAME) else {
        return;
    };
    if let Some(t) = node.transactions().get_mut(&txn) {
        match t.phase {
            Phase::Voting(_) | Phase::PreCommitting(_) => t.clients.push(id),
            Phase::Committing(_) => answer(ctx, &[id], true, &t.reads),
            Phase::Done(committed) => answer(ctx, &[id], committed, &t.reads),
        }
        return;
    }
    if node.answer_from_log(ctx, id, txn) {
        return;
    }
    let prepare = |share, participants| N::vote_request(txn, share, participants);
    let (layout, timeout) = (node.roles().layout.clone(), node.vote_timeout());
    if let Some(t) = open(ctx, &layout, (id, txn, body), timeout, prepare) {
        node.transactions().insert(txn, t);
    }
}

/// Sends a participant's votes; with `wait`, the transaction of a yes vote waits
/// [`CommitNode::decision_wait`] for the next word.
pub(crate) fn send_votes<N: CommitNode>(
    node: &mut N,
    ctx: &mut Ctx<'_, N::Msg>,
    votes: Vec<VoteOut>,
    wait: bool,
) {
    if wait {
        let until = ctx.now() + node.decision_wait();
        for (txn, _, vote) in &votes {
            if matches!(vote, Vote::Yes(_)) {
                node.participant_mut().wait_until(*txn, until);
            }
        }
    }
    for (txn, to, vote) in votes {
        ctx.send(to, N::vote_message(txn, vote));
    }
}

/// A participant asked to vote on transaction `txn` by `from`: no again if it aborted
/// it already, nothing if it is under way, else a vote by the node's policy, sent now if
/// decided (a yes then waits for the outcome).
pub(crate) fn vote_requested<N: CommitNode>(
    node: &mut N,
    ctx: &mut Ctx<'_, N::Msg>,
    (from, txn): (NodeId, TxnId),
    body: TxnBody,
    participants: Vec<NodeId>,
) {
    match node.participant_mut().state(txn) {
        Some(PartState::Aborted) => {
            ctx.send(from, N::vote_message(txn, Vote::No));
            return;
        }
        Some(_) => return,
        None => {}
    }
    let policy = node.vote_policy();
    let vote = node
        .participant_mut()
        .vote_on(ctx, (txn, from), body, participants, &policy);
    if let Some(vote) = vote {
        send_votes(node, ctx, vec![(txn, from, vote)], true);
    }
}

/// The timer of [`CommitNode`]s.
pub(crate) const TICK: TimerId = TimerId(1);

/// `Protocol::on_timer` of a [`CommitNode`]: the role's periodic work, then the next tick.
pub(crate) fn on_timer<N: CommitNode>(node: &mut N, ctx: &mut Ctx<'_, N::Msg>, timer: TimerId) {
    if timer != TICK {
        return;
    }
    let now = ctx.now();
    if node.coordinates() {
        node.coordinator_tick(ctx, now);
    } else {
        node.participant_tick(ctx, now);
    }
    ctx.set_timer(TICK, node.roles().tick);
}

/// `Protocol::on_request` of a [`CommitNode`]: the coordinator runs it, the others send
/// the client there.
pub(crate) fn on_request<N: CommitNode>(
    node: &mut N,
    ctx: &mut Ctx<'_, N::Msg>,
    request: ClientRequest,
) {
    if node.coordinates() {
        begin(node, ctx, request);
    } else {
        ctx.reply(
            request.id,
            Reply::Redirect(Some(node.roles().layout.coordinator)),
        );
    }
}

/// Declares an atomic-commit protocol's settings: the ones every such protocol has
/// (coordinator, voting, locking, the timer), then its own, each with its default.
macro_rules! commit_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:expr])* pub $field:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            /// The coordinating node; every other node is a participant.
            pub coordinator: u32,
            /// Probability that a participant votes no on its own.
            pub vote_no_probability: f64,
            /// How long the coordinator waits for the votes before it aborts (in 3PC,
            /// also for PreCommit acknowledgements, after which it commits: the silent
            /// participants have crashed).
            pub vote_timeout: sim_core::SimDuration,
            /// How long a participant waits for its locks before it votes no.
            pub lock_timeout: sim_core::SimDuration,
            /// The period of the node's timer, which drives every timeout.
            pub tick: sim_core::SimDuration,
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $name {
            /// Checks the settings every atomic-commit protocol has against a cluster of
            /// `nodes`.
            pub fn validate_common(&self, nodes: u32) -> Result<(), crate::BadSetting> {
                use crate::BadSetting as Bad;
                if nodes < 2 {
                    return Err(Bad::new(
                        "coordinator",
                        "a coordinator and at least one participant are needed: give at least 2 nodes",
                    ));
                }
                if self.coordinator >= nodes {
                    return Err(Bad::new(
                        "coordinator",
                        format!(
                            "node {} does not exist: the scenario has {nodes} nodes, numbered 0 to {}",
                            self.coordinator,
                            nodes - 1
                        ),
                    ));
                }
                if !(0.0..=1.0).contains(&self.vote_no_probability) {
                    return Err(Bad::new(
                        "vote_no_probability",
                        format!("found {}, expected a probability between 0 and 1", self.vote_no_probability),
                    ));
                }
                for (setting, value) in [
                    ("vote_timeout", self.vote_timeout),
                    ("lock_timeout", self.lock_timeout),
                    ("tick", self.tick),
                ] {
                    if value == sim_core::SimDuration::ZERO {
                        return Err(Bad::new(setting, "found 0, expected a duration above zero"));
                    }
                }
                Ok(())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    coordinator: 0,
                    vote_no_probability: 0.0,
                    vote_timeout: sim_core::SimDuration::from_millis(100),
                    lock_timeout: sim_core::SimDuration::from_millis(50),
                    tick: sim_core::SimDuration::from_millis(5),
                    $($field: $default,)*
                }
            }
        }
    };
}
pub(crate) use commit_config;
