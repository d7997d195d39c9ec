//! What EPaxos replicas say to each other.

use sim_core::Message;

use super::instance::{Attrs, InstanceId, Status, Vote};
use crate::paxos::Ballot;

/// An EPaxos message. Every message about an instance names it and, except `Commit`, the
/// ballot it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EpMsg {
    /// Measures the round trip to a peer, so that thrifty leaders pick the closest.
    Probe,
    /// The answer to a probe.
    ProbeReply,
    /// Phase 1: the leader's attributes for a command.
    PreAccept {
        /// The instance.
        inst: InstanceId,
        /// The ballot.
        ballot: Ballot,
        /// The command and the leader's attributes.
        attrs: Attrs,
    },
    /// A replica's attributes for the command, widened by what it knows.
    PreAcceptOk {
        /// The instance.
        inst: InstanceId,
        /// The ballot.
        ballot: Ballot,
        /// The replica's sequence number.
        seq: u64,
        /// The replica's dependencies.
        deps: Vec<u64>,
        /// Every interfering instance these dependencies name is committed at this
        /// replica (the optimized fast path needs that somewhere).
        deps_committed: bool,
    },
    /// Phase 2 (Paxos accept) of final attributes.
    Accept {
        /// The instance.
        inst: InstanceId,
        /// The ballot.
        ballot: Ballot,
        /// The attributes.
        attrs: Attrs,
    },
    /// An acceptance.
    AcceptOk {
        /// The instance.
        inst: InstanceId,
        /// The ballot.
        ballot: Ballot,
    },
    /// The attributes are final.
    Commit {
        /// The instance.
        inst: InstanceId,
        /// The final attributes.
        attrs: Attrs,
    },
    /// A refusal: the replica joined a higher ballot for the instance.
    Nack {
        /// The instance.
        inst: InstanceId,
        /// The ballot refused.
        ballot: Ballot,
        /// The replica's promise.
        promised: Ballot,
    },
    /// Recovery, phase 1: join `ballot` for the instance and report your vote.
    Prepare {
        /// The instance.
        inst: InstanceId,
        /// The recoverer's ballot.
        ballot: Ballot,
    },
    /// A replica joined the ballot: its vote, if it has one.
    PrepareOk {
        /// The instance.
        inst: InstanceId,
        /// The ballot joined.
        ballot: Ballot,
        /// Its latest vote and the ballot it was cast in.
        vote: Option<Vote>,
    },
    /// Recovery: pre-accept these attributes unless they conflict with what you know.
    TryPreAccept {
        /// The instance.
        inst: InstanceId,
        /// The recoverer's ballot.
        ballot: Ballot,
        /// The attributes.
        attrs: Attrs,
        /// They are the leader's own (see [`Vote::eq`]).
        eq: bool,
    },
    /// The answer to a TryPreAccept.
    TryPreAcceptReply {
        /// The instance.
        inst: InstanceId,
        /// The ballot.
        ballot: Ballot,
        /// Pre-accepted as asked.
        ok: bool,
        /// If not: the conflicting instance (or the instance itself, voted otherwise), its
        /// status here, and whether the attributes leave it out of the dependencies.
        conflict: Option<(InstanceId, Status, bool)>,
    },
}

/// Bytes of a message header (kind, instance, ballot, framing).
const HEADER: usize = 32;

impl Attrs {
    /// Approximate size on the wire.
    pub fn size(&self) -> usize {
        8 + 8 * self.deps.len() + self.command.size()
    }
}

impl Message for EpMsg {
    fn kind(&self) -> &'static str {
        match self {
            EpMsg::Probe => "Probe",
            EpMsg::ProbeReply => "ProbeReply",
            EpMsg::PreAccept { .. } => "PreAccept",
            EpMsg::PreAcceptOk { .. } => "PreAcceptOk",
            EpMsg::Accept { .. } => "Accept",
            EpMsg::AcceptOk { .. } => "AcceptOk",
            EpMsg::Commit { .. } => "Commit",
            EpMsg::Nack { .. } => "Nack",
            EpMsg::Prepare { .. } => "Prepare",
            EpMsg::PrepareOk { .. } => "PrepareOk",
            EpMsg::TryPreAccept { .. } => "TryPreAccept",
            EpMsg::TryPreAcceptReply { .. } => "TryPreAcceptReply",
        }
    }

    fn size(&self) -> usize {
        HEADER
            + match self {
                EpMsg::Probe | EpMsg::ProbeReply => 0,
                EpMsg::PreAccept { attrs, .. }
                | EpMsg::Accept { attrs, .. }
                | EpMsg::Commit { attrs, .. }
                | EpMsg::TryPreAccept { attrs, .. } => attrs.size(),
                EpMsg::PreAcceptOk { deps, .. } => 9 + 8 * deps.len(),
                EpMsg::AcceptOk { .. } | EpMsg::Prepare { .. } => 0,
                EpMsg::Nack { .. } => 16,
                EpMsg::PrepareOk { vote, .. } => vote.as_ref().map_or(1, |v| 17 + v.attrs.size()),
                EpMsg::TryPreAcceptReply { .. } => 24,
            }
    }
}
