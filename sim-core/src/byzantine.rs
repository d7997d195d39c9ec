//! The Byzantine hook: an adversary that controls what a named node sends.
//!
//! The adversary sees every message its node's protocol emits and decides what actually
//! leaves: the same message, a rewritten one, copies to other destinations, nothing
//! (withholding), different messages to different peers (equivocation), or an old one
//! again (replay). It can choose destinations and contents, never the sender: the
//! network stamps the true sender on every message, so a Byzantine node cannot
//! impersonate another.

use crate::protocol::{NodeId, Protocol};
use crate::rng::SimRng;
use crate::time::SimDuration;

/// One message the adversary lets out.
#[derive(Clone, Debug)]
pub struct Forged<M> {
    /// Destination.
    pub to: NodeId,
    /// Contents (any, including claims about who sent it: receivers still learn the
    /// true sender from the network).
    pub msg: M,
    /// Extra delay before it leaves (to replay or to reorder on purpose).
    pub delay: SimDuration,
}

/// A per-protocol Byzantine behaviour for one node.
pub trait Adversary<P: Protocol> {
    /// Called for each message `node`'s protocol sends to `to`; pushes what really leaves.
    fn intercept(
        &mut self,
        node: NodeId,
        to: NodeId,
        msg: P::Msg,
        rng: &mut SimRng,
        out: &mut Vec<Forged<P::Msg>>,
    );
}

/// The adversary that stays silent: it withholds everything its node sends.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl<P: Protocol> Adversary<P> for Silent {
    fn intercept(
        &mut self,
        _node: NodeId,
        _to: NodeId,
        _msg: P::Msg,
        _rng: &mut SimRng,
        _out: &mut Vec<Forged<P::Msg>>,
    ) {
    }
}
