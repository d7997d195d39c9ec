//! What PBFT replicas say to each other. Every vote and certificate is signed
//! ([`sim_core::auth`]), so a replica can pass on what others said (a prepared
//! certificate inside a view change, a view change inside a new view) and the receiver
//! can check who said it; client requests carry their client's signature.

use sim_core::auth::{SIGNATURE_BYTES, Signed};
use sim_core::history::Operation;
use sim_core::{ClientRequest, Message};

use crate::kv::KvStore;

/// The digest of the null request a new primary puts in a sequence number nobody
/// reported prepared: it executes as nothing.
pub const NULL_DIGEST: u64 = 0;

/// The primary's proposal: request `digest` gets sequence number `seq` in `view`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrePrepare {
    /// The view it is proposed in.
    pub view: u64,
    /// The sequence number.
    pub seq: u64,
    /// The request's digest ([`NULL_DIGEST`] for the null request).
    pub digest: u64,
}

impl PrePrepare {
    /// The vote of `phase` that agrees with this proposal.
    pub fn vote(&self, phase: Phase) -> Vote {
        Vote {
            phase,
            view: self.view,
            seq: self.seq,
            digest: self.digest,
        }
    }
}

/// Which of the two voting phases a vote belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// A backup agrees to the primary's proposal.
    Prepare,
    /// A replica has a prepared certificate for the proposal.
    Commit,
}

/// A prepare or commit vote for a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vote {
    /// Prepare or commit: one phase's votes never count for the other.
    pub phase: Phase,
    /// The view of the proposal.
    pub view: u64,
    /// Its sequence number.
    pub seq: u64,
    /// Its request's digest.
    pub digest: u64,
}

/// A replica's claim that its state after executing `seq` has digest `state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckpointVote {
    /// The last sequence number the state includes.
    pub seq: u64,
    /// The digest of the state.
    pub state: u64,
}

/// Proof that a request prepared in a view: the primary's signed proposal and the
/// matching prepares of a quorum less one distinct backups, with the request itself so
/// that a new primary can propose it again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreparedCert {
    /// The proposal, signed by the primary of its view.
    pub pre_prepare: Signed<PrePrepare>,
    /// Matching prepares from distinct backups.
    pub prepares: Vec<Signed<Vote>>,
    /// The request (none for the null request).
    pub request: Option<ClientRequest>,
}

/// Proof that a request committed at a sequence number: the proposal and a quorum of
/// matching commits, with the request. It holds in any later view, so a replica that
/// missed the votes can execute from it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommitCert {
    /// The proposal, signed by the primary of its view.
    pub pre_prepare: Signed<PrePrepare>,
    /// The request (none for the null request).
    pub request: Option<ClientRequest>,
    /// Matching commits from a quorum of distinct replicas.
    pub commits: Vec<Signed<Vote>>,
}

/// A replica's move to `view`: its stable checkpoint with the proof, and a prepared
/// certificate for every sequence number above it that prepared here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ViewChange {
    /// The view the replica moves to.
    pub view: u64,
    /// Its stable checkpoint.
    pub stable: u64,
    /// The checkpoint votes that make it stable (empty at 0).
    pub proof: Vec<Signed<CheckpointVote>>,
    /// One prepared certificate per sequence number above it, the highest-view one.
    pub prepared: Vec<PreparedCert>,
}

/// A proposal carried into a new view, with its request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Carried {
    /// The new primary's proposal in the new view.
    pub pre_prepare: Signed<PrePrepare>,
    /// The request (none for the null request).
    pub request: Option<ClientRequest>,
}

/// The new primary's start of `view`: the quorum of view changes it heard (V), and the
/// proposals that follow from them (O), which every backup recomputes to check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NewView {
    /// The view that starts.
    pub view: u64,
    /// A quorum of view changes to it, from distinct replicas.
    pub view_changes: Vec<Signed<ViewChange>>,
    /// The proposals for every sequence number between the highest stable checkpoint and
    /// the highest prepared one in `view_changes`.
    pub carried: Vec<Carried>,
}

/// A stable checkpoint: the state after `seq` and the quorum of votes proving it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StableState {
    /// The last sequence number the state includes.
    pub seq: u64,
    /// The key-value store and its client sessions.
    pub kv: KvStore,
    /// A quorum of matching checkpoint votes, from distinct replicas (empty at 0).
    pub proof: Vec<Signed<CheckpointVote>>,
}

/// A PBFT message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PbftMsg {
    /// A client request a backup passes on to the primary.
    Request(ClientRequest),
    /// The primary's proposal, with the request.
    PrePrepare(Signed<PrePrepare>, Option<ClientRequest>),
    /// A backup's prepare.
    Prepare(Signed<Vote>),
    /// A replica's commit.
    Commit(Signed<Vote>),
    /// A replica's checkpoint vote.
    Checkpoint(Signed<CheckpointVote>),
    /// A replica moves to a new view.
    ViewChange(Box<Signed<ViewChange>>),
    /// A new view starts.
    NewView(Box<Signed<NewView>>),
    /// Asks for the NEW-VIEW of the view the receiver is in.
    FetchNewView,
    /// Asks for a stable checkpoint at or beyond `seq` (state transfer).
    FetchState {
        /// The lowest sequence number wanted.
        seq: u64,
    },
    /// A stable checkpoint, answering [`PbftMsg::FetchState`].
    State(Box<StableState>),
    /// Asks for the commit certificates of the sequence numbers from `from` on.
    FetchCommitted {
        /// The first sequence number wanted.
        from: u64,
    },
    /// A commit certificate, answering [`PbftMsg::FetchCommitted`].
    Committed(Box<CommitCert>),
}

/// Approximate size of a request on the wire.
pub fn request_size(r: Option<&ClientRequest>) -> usize {
    r.map_or(0, |r| {
        24 + SIGNATURE_BYTES
            + match &r.op {
                Operation::Put { value, .. } | Operation::Append { value, .. } => value.len(),
                Operation::Cas { expected, new, .. } => expected.len() + new.len(),
                _ => 8,
            }
    })
}

const HEADER: usize = 16;
const SIGNED_VOTE: usize = 32 + SIGNATURE_BYTES;

fn proof_size(p: &[Signed<CheckpointVote>]) -> usize {
    p.len() * SIGNED_VOTE
}

fn cert_size(c: &PreparedCert) -> usize {
    SIGNED_VOTE * (1 + c.prepares.len()) + request_size(c.request.as_ref())
}

fn view_change_size(v: &ViewChange) -> usize {
    HEADER
        + SIGNATURE_BYTES
        + proof_size(&v.proof)
        + v.prepared.iter().map(cert_size).sum::<usize>()
}

impl Message for PbftMsg {
    fn kind(&self) -> &'static str {
        match self {
            PbftMsg::Request(_) => "Request",
            PbftMsg::PrePrepare(..) => "PrePrepare",
            PbftMsg::Prepare(_) => "Prepare",
            PbftMsg::Commit(_) => "Commit",
            PbftMsg::Checkpoint(_) => "Checkpoint",
            PbftMsg::ViewChange(_) => "ViewChange",
            PbftMsg::NewView(_) => "NewView",
            PbftMsg::FetchNewView => "FetchNewView",
            PbftMsg::FetchState { .. } => "FetchState",
            PbftMsg::State(_) => "State",
            PbftMsg::FetchCommitted { .. } => "FetchCommitted",
            PbftMsg::Committed(_) => "Committed",
        }
    }

    fn size(&self) -> usize {
        HEADER
            + match self {
                PbftMsg::Request(r) => request_size(Some(r)),
                PbftMsg::PrePrepare(_, r) => SIGNED_VOTE + request_size(r.as_ref()),
                PbftMsg::Prepare(_) | PbftMsg::Commit(_) | PbftMsg::Checkpoint(_) => SIGNED_VOTE,
                PbftMsg::ViewChange(v) => view_change_size(v.value()),
                PbftMsg::NewView(nv) => {
                    let nv = nv.value();
                    SIGNATURE_BYTES
                        + nv.view_changes
                            .iter()
                            .map(|v| view_change_size(v.value()))
                            .sum::<usize>()
                        + nv.carried
                            .iter()
                            .map(|c| SIGNED_VOTE + request_size(c.request.as_ref()))
                            .sum::<usize>()
                }
                PbftMsg::FetchNewView
                | PbftMsg::FetchState { .. }
                | PbftMsg::FetchCommitted { .. } => 8,
                PbftMsg::Committed(c) => {
                    SIGNED_VOTE * (1 + c.commits.len()) + request_size(c.request.as_ref())
                }
                PbftMsg::State(s) => 8 + s.kv.size() + proof_size(&s.proof),
            }
    }
}
