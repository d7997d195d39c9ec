//! The message log of one sequence number, the quorum sizes, and the checks of the
//! certificates replicas pass to each other (prepared certificates, checkpoint proofs).

use sim_core::ClientRequest;
use sim_core::NodeId;
use sim_core::auth::{Principal, Signed};

use super::messages::{
    CheckpointVote, CommitCert, NULL_DIGEST, Phase, PrePrepare, PreparedCert, Vote,
};

/// The sizes that make PBFT safe in a cluster of `n` replicas with `f = ⌊(n−1)/3⌋`
/// Byzantine ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quorums {
    /// Replicas.
    pub n: u32,
    /// Byzantine replicas tolerated.
    pub f: u32,
    /// A quorum: any two share at least f + 1 replicas, so at least one honest one.
    /// 2f + 1 when n = 3f + 1; ⌈(n + f + 1)/2⌉ in general.
    pub q: usize,
}

impl Quorums {
    /// The sizes for `n` replicas.
    pub fn new(n: u32) -> Self {
        let f = n.saturating_sub(1) / 3;
        Quorums {
            n,
            f,
            q: (n + f + 2) as usize / 2,
        }
    }
    /// The primary of `view`.
    pub fn primary(&self, view: u64) -> NodeId {
        NodeId((view % u64::from(self.n.max(1))) as u32)
    }
}

/// The node that signed a value, if a node did.
pub(crate) fn node_signer<T>(s: &Signed<T>) -> Option<NodeId> {
    match s.signer() {
        Principal::Node(n) => Some(n),
        Principal::Client(_) => None,
    }
}

/// Votes for exactly `vote` from signers other than `exclude`: distinct signers, or every
/// copy when `duplicates` count (a bug switch).
pub(crate) fn count_votes(
    votes: &[Signed<Vote>],
    vote: &Vote,
    exclude: Option<NodeId>,
    duplicates: bool,
) -> usize {
    let mut signers: Vec<NodeId> = votes
        .iter()
        .filter(|v| v.value() == vote)
        .filter_map(node_signer)
        .filter(|n| Some(*n) != exclude)
        .collect();
    if !duplicates {
        signers.sort_unstable();
        signers.dedup();
    }
    signers.len()
}

/// Most votes kept from one signer for one sequence number and view: an honest replica
/// casts one (two only under the bug switch that accepts conflicting proposals), so a
/// Byzantine one cannot fill memory with votes for made-up digests.
const VOTES_PER_SIGNER: usize = 2;

/// Adds `vote` to `votes` unless the same signer already cast it (a repeat is kept and
/// counts again only under the bug switch) or cast its share for that view already;
/// returns whether it was added.
pub(crate) fn add_vote(
    votes: &mut Vec<Signed<Vote>>,
    vote: Signed<Vote>,
    duplicates: bool,
) -> bool {
    if !duplicates {
        let v = vote.value();
        let mut cast = 0;
        for x in votes.iter().filter(|x| {
            x.signer() == vote.signer() && x.value().view == v.view && x.value().seq == v.seq
        }) {
            if x == &vote {
                return false;
            }
            cast += 1;
        }
        if cast >= VOTES_PER_SIGNER {
            return false;
        }
    }
    votes.push(vote);
    true
}

/// Whether `request` is the one `digest` names: authentic with that digest, or absent
/// for the null request.
pub(crate) fn request_matches(request: Option<&ClientRequest>, digest: u64) -> bool {
    match request {
        Some(r) => digest != NULL_DIGEST && r.authentic() && r.digest() == digest,
        None => digest == NULL_DIGEST,
    }
}

/// What a replica holds for one sequence number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The proposal accepted in the latest view one was.
    pub pre_prepare: Option<Signed<PrePrepare>>,
    /// Its request.
    pub request: Option<ClientRequest>,
    /// Prepares heard, of any view not yet left behind.
    pub prepares: Vec<Signed<Vote>>,
    /// Commits heard, likewise.
    pub commits: Vec<Signed<Vote>>,
    /// The highest-view prepared certificate this replica gathered, kept across views
    /// for the view change.
    pub prepared: Option<PreparedCert>,
    /// The view this replica sent its commit in.
    pub commit_sent: Option<u64>,
    /// The digest committed here, once committed-local.
    pub committed: Option<u64>,
    /// The proof it committed, kept across views for replicas that missed it.
    pub commit_cert: Option<CommitCert>,
}

impl Entry {
    /// The digest prepared here in `view`: the pre-prepare of that view and `q − 1`
    /// matching prepares from distinct backups.
    pub fn prepared_in(&self, view: u64, qs: &Quorums, duplicates: bool) -> Option<u64> {
        let pp = *self.pre_prepare.as_ref()?.value();
        if pp.view != view {
            return None;
        }
        let vote = pp.vote(Phase::Prepare);
        let n = count_votes(&self.prepares, &vote, Some(qs.primary(view)), duplicates);
        (n + 1 >= qs.q).then_some(pp.digest)
    }

    /// The prepared certificate of `view` (call when [`Entry::prepared_in`] holds).
    pub fn certificate(&self, view: u64) -> Option<PreparedCert> {
        let pp = self.pre_prepare.clone()?;
        let vote = Vote {
            view,
            ..pp.value().vote(Phase::Prepare)
        };
        Some(PreparedCert {
            prepares: self
                .prepares
                .iter()
                .filter(|v| *v.value() == vote)
                .cloned()
                .collect(),
            pre_prepare: pp,
            request: self.request.clone(),
        })
    }

    /// Whether `needed` matching commits of `view` for `digest` were heard.
    pub fn commits_for(&self, view: u64, seq: u64, digest: u64, duplicates: bool) -> usize {
        let vote = Vote {
            phase: Phase::Commit,
            view,
            seq,
            digest,
        };
        count_votes(&self.commits, &vote, None, duplicates)
    }

    /// Forgets the votes of views before `view`: they can no longer make a certificate.
    pub fn drop_votes_before(&mut self, view: u64) {
        self.prepares.retain(|v| v.value().view >= view);
        self.commits.retain(|v| v.value().view >= view);
    }
}

/// The vote of `phase` that agrees with `pp`, if `pp` is signed by its view's primary and
/// `request` is the one it names: what a certificate's votes must match.
fn certified_vote(
    pp: &Signed<PrePrepare>,
    request: Option<&ClientRequest>,
    qs: &Quorums,
    phase: Phase,
) -> Option<Vote> {
    let p = pp.value();
    (pp.signed_by(qs.primary(p.view)) && request_matches(request, p.digest)).then(|| p.vote(phase))
}

/// Whether `cert` proves its request prepared: the proposal signed by its view's
/// primary, the request it names, and `q − 1` matching prepares from distinct backups.
pub fn valid_certificate(cert: &PreparedCert, qs: &Quorums, duplicates: bool) -> bool {
    let primary = qs.primary(cert.pre_prepare.value().view);
    certified_vote(&cert.pre_prepare, cert.request.as_ref(), qs, Phase::Prepare).is_some_and(
        |vote| count_votes(&cert.prepares, &vote, Some(primary), duplicates) + 1 >= qs.q,
    )
}

/// Whether `cert` proves its request committed: the proposal signed by its view's
/// primary, the request it names, and `needed` matching commits from distinct replicas.
pub fn valid_commit_cert(cert: &CommitCert, qs: &Quorums, needed: usize, duplicates: bool) -> bool {
    certified_vote(&cert.pre_prepare, cert.request.as_ref(), qs, Phase::Commit)
        .is_some_and(|vote| count_votes(&cert.commits, &vote, None, duplicates) >= needed)
}

/// The state digest a quorum of distinct replicas voted for at `seq`, if any.
pub fn proven_state(proof: &[Signed<CheckpointVote>], seq: u64, qs: &Quorums) -> Option<u64> {
    let mut votes: Vec<(u64, NodeId)> = proof
        .iter()
        .filter(|v| v.value().seq == seq)
        .filter_map(|v| Some((v.value().state, node_signer(v)?)))
        .collect();
    votes.sort_unstable();
    votes.dedup();
    let mut i = 0;
    while i < votes.len() {
        let state = votes[i].0;
        let n = votes[i..].iter().take_while(|(s, _)| *s == state).count();
        if n >= qs.q {
            return Some(state);
        }
        i += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_intersect_in_an_honest_replica() {
        for n in 4..40u32 {
            let qs = Quorums::new(n);
            assert!(n > 3 * qs.f);
            // Two quorums share at least f + 1 replicas, and a quorum of honest ones exists.
            assert!(2 * qs.q as u32 > n + qs.f, "n = {n}");
            assert!(qs.q as u32 <= n - qs.f, "n = {n}");
        }
        assert_eq!(Quorums::new(4).q, 3);
        assert_eq!(Quorums::new(7).q, 5);
        assert_eq!(Quorums::new(10).q, 7);
        assert_eq!(Quorums::new(4).primary(5), NodeId(1));
    }
}
