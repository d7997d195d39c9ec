//! PBFT's own Byzantine behaviours (the generic ones, `Silent` and `Replay`, are in
//! [`crate::byzantine`]). Each rewrites what its replica's honest code sends; it signs
//! only as its own replica, so whatever it makes up carries its own signature.

use std::collections::BTreeMap;

use rand::Rng;
use sim_core::byzantine::{AdvCtx, Adversary, Forged};
use sim_core::history::OpOutput;
use sim_core::{ClientRequest, NodeId, Reply, RequestId, SimDuration};

use super::messages::{NULL_DIGEST, PbftMsg, PrePrepare, PreparedCert, ViewChange, Vote};
use super::{Pbft, PbftConfig};
use crate::byzantine::Behaviour;

/// PBFT's behaviours.
pub(super) const BEHAVIOURS: &[Behaviour] = &[
    Behaviour {
        name: "Equivocate",
        description: "as primary, proposes different requests (or the null request) for one sequence number to different backups, and sometimes both to one; as backup, votes for different digests to different peers",
    },
    Behaviour {
        name: "WrongDigest",
        description: "its proposals, prepares and commits name digests of no request, and its answers to clients are wrong",
    },
    Behaviour {
        name: "LyingViewChange",
        description: "its view changes leave out its prepared certificates, or claim an older one for the same sequence number where it had one",
    },
    Behaviour {
        name: "SlowPrimary",
        description: "as primary, holds every proposal for 80 % of the view-change timeout: each request executes just before a backup would give up on it, so no view change happens while clients wait most of a timeout per operation (the Aardvark attack)",
    },
];

/// The adversary of behaviour `name`.
pub(super) fn adversary(name: &str, config: &PbftConfig) -> Option<Box<dyn Adversary<Pbft>>> {
    Some(match name {
        "Equivocate" => Box::new(Equivocate::default()),
        "WrongDigest" => Box::new(WrongDigest),
        "LyingViewChange" => Box::new(LyingViewChange::default()),
        "SlowPrimary" => Box::new(SlowPrimary {
            gap: SimDuration(config.view_change_timeout.as_nanos() / 10 * 8),
        }),
        _ => return None,
    })
}

fn pass(out: &mut Vec<Forged<PbftMsg>>, to: NodeId, msg: PbftMsg) {
    out.push(Forged {
        to,
        msg,
        delay: SimDuration::ZERO,
    });
}

/// A digest that names no request (nor the null one).
fn junk(ctx: &mut AdvCtx<'_>) -> u64 {
    ctx.rng().random::<u64>() | 1
}

/// Tells different peers different things.
#[derive(Default, Clone, Hash)]
pub struct Equivocate {
    /// Requests this replica proposed before: a conflicting proposal names one of them.
    seen: Vec<ClientRequest>,
}

impl Adversary<Pbft> for Equivocate {
    fn intercept(
        &mut self,
        ctx: &mut AdvCtx<'_>,
        to: NodeId,
        msg: PbftMsg,
        out: &mut Vec<Forged<PbftMsg>>,
    ) {
        match msg {
            PbftMsg::PrePrepare(pp, request) => {
                let p = *pp.value();
                // Another proposal for the same number: an older request, or the null one.
                let other = self
                    .seen
                    .iter()
                    .rev()
                    .find(|r| Some(r.id) != request.as_ref().map(|q| q.id))
                    .cloned();
                let fake_digest = other.as_ref().map_or(NULL_DIGEST, ClientRequest::digest);
                let fake = PbftMsg::PrePrepare(
                    ctx.sign(PrePrepare {
                        digest: fake_digest,
                        ..p
                    }),
                    other,
                );
                if let Some(r) = &request
                    && !self.seen.iter().any(|s| s.id == r.id)
                {
                    self.seen.push(r.clone());
                    if self.seen.len() > 32 {
                        self.seen.remove(0);
                    }
                }
                let real = PbftMsg::PrePrepare(pp, request);
                let (first, second) = if (to.0 as u64 + p.seq) % 2 == 0 {
                    (real, fake)
                } else {
                    (fake, real)
                };
                pass(out, to, first);
                if ctx.rng().random_bool(0.5) {
                    out.push(Forged {
                        to,
                        msg: second,
                        delay: SimDuration::from_micros(200),
                    });
                }
            }
            PbftMsg::Prepare(v) | PbftMsg::Commit(v) if (to.0 as u64 + v.value().seq) % 2 == 1 => {
                let vote = Vote {
                    digest: junk(ctx),
                    ..*v.value()
                };
                let signed = ctx.sign(vote);
                let m = match vote.phase {
                    super::Phase::Prepare => PbftMsg::Prepare(signed),
                    super::Phase::Commit => PbftMsg::Commit(signed),
                };
                pass(out, to, m);
            }
            other => pass(out, to, other),
        }
    }
}

/// Names digests of nothing, and lies to clients.
pub struct WrongDigest;

impl Adversary<Pbft> for WrongDigest {
    fn intercept(
        &mut self,
        ctx: &mut AdvCtx<'_>,
        to: NodeId,
        msg: PbftMsg,
        out: &mut Vec<Forged<PbftMsg>>,
    ) {
        let m = match msg {
            PbftMsg::PrePrepare(pp, request) => {
                let p = PrePrepare {
                    digest: junk(ctx),
                    ..*pp.value()
                };
                PbftMsg::PrePrepare(ctx.sign(p), request)
            }
            PbftMsg::Prepare(v) => {
                let digest = junk(ctx);
                PbftMsg::Prepare(ctx.sign(Vote {
                    digest,
                    ..*v.value()
                }))
            }
            PbftMsg::Commit(v) => {
                let digest = junk(ctx);
                PbftMsg::Commit(ctx.sign(Vote {
                    digest,
                    ..*v.value()
                }))
            }
            other => other,
        };
        pass(out, to, m);
    }

    fn reply(&mut self, _ctx: &mut AdvCtx<'_>, _id: RequestId, reply: Reply) -> Option<Reply> {
        Some(match reply {
            Reply::Ok(OpOutput::Value(v)) => Reply::Ok(OpOutput::Value(format!("{v}~forged"))),
            Reply::Ok(OpOutput::Cas(hit)) => Reply::Ok(OpOutput::Cas(!hit)),
            other => other,
        })
    }
}

/// Hides what prepared at its replica when the view changes.
#[derive(Default, Clone, Hash)]
pub struct LyingViewChange {
    /// The oldest certificate it ever held for each sequence number, to claim instead.
    oldest: BTreeMap<u64, PreparedCert>,
}

impl Adversary<Pbft> for LyingViewChange {
    fn intercept(
        &mut self,
        ctx: &mut AdvCtx<'_>,
        to: NodeId,
        msg: PbftMsg,
        out: &mut Vec<Forged<PbftMsg>>,
    ) {
        let PbftMsg::ViewChange(vc) = msg else {
            return pass(out, to, msg);
        };
        let mut v: ViewChange = vc.value().clone();
        for c in &v.prepared {
            self.oldest
                .entry(c.pre_prepare.value().seq)
                .or_insert_with(|| c.clone());
        }
        // A certificate from an earlier view for the same number stands in for the
        // latest one; where there is none, the certificate goes.
        let latest = std::mem::take(&mut v.prepared);
        v.prepared = latest
            .iter()
            .filter_map(|c| {
                let old = self.oldest.get(&c.pre_prepare.value().seq)?;
                (old.pre_prepare.value().view < c.pre_prepare.value().view).then(|| old.clone())
            })
            .collect();
        pass(out, to, PbftMsg::ViewChange(Box::new(ctx.sign(v))));
    }
}

/// Holds every proposal for `gap`, just under the backups' patience: each request
/// executes before any backup's timer for it fires, so no view change ever comes, and
/// closed-loop clients wait most of a timeout for every operation.
pub struct SlowPrimary {
    gap: SimDuration,
}

impl Adversary<Pbft> for SlowPrimary {
    fn intercept(
        &mut self,
        _ctx: &mut AdvCtx<'_>,
        to: NodeId,
        msg: PbftMsg,
        out: &mut Vec<Forged<PbftMsg>>,
    ) {
        let delay = match &msg {
            PbftMsg::PrePrepare(..) => self.gap,
            _ => SimDuration::ZERO,
        };
        out.push(Forged { to, msg, delay });
    }
}
