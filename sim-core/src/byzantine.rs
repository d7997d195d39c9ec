//! The Byzantine hook: an adversary that controls what a named node sends.
//!
//! The adversary sees every message its node's protocol emits and decides what actually
//! leaves: the same message, a rewritten one, copies to other destinations, nothing
//! (withholding), different messages to different peers (equivocation), or an old one
//! again (replay). It also sees the node's answers to clients and may change or withhold
//! them. It can choose destinations and contents, never the sender: the network stamps
//! the true sender on every message, so a Byzantine node cannot impersonate another. It
//! holds its own node's key ([`AdvCtx::sign`]) and no other, so it can sign what it
//! likes as its node but cannot forge another node's or a client's signature.

use crate::auth::{Principal, Signed};
use crate::protocol::{NodeId, Protocol, Reply, RequestId};
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};

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

/// What an adversary may use: its node's identity and key, the virtual time, and its
/// own random stream (independent of every other, so a run stays reproducible).
pub struct AdvCtx<'a> {
    pub(crate) node: NodeId,
    pub(crate) cluster_size: u32,
    pub(crate) now: SimTime,
    pub(crate) rng: &'a mut SimRng,
}

impl AdvCtx<'_> {
    /// The node the adversary controls.
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// The number of node slots in the cluster (ids `0..cluster_size`).
    pub fn cluster_size(&self) -> u32 {
        self.cluster_size
    }
    /// The virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// The adversary's random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }
    /// Signs `value` as the adversary's node: the only key it holds.
    pub fn sign<T>(&self, value: T) -> Signed<T> {
        Signed::new(Principal::Node(self.node), value)
    }
}

/// A per-protocol Byzantine behaviour for one node.
pub trait Adversary<P: Protocol>: Send {
    /// Called for each message its node's protocol sends to `to`; pushes what really
    /// leaves.
    fn intercept(
        &mut self,
        ctx: &mut AdvCtx<'_>,
        to: NodeId,
        msg: P::Msg,
        out: &mut Vec<Forged<P::Msg>>,
    );
    /// Called for each answer its node gives a client; returns what the client really
    /// gets (`None`: nothing). The default passes it on.
    fn reply(&mut self, ctx: &mut AdvCtx<'_>, id: RequestId, reply: Reply) -> Option<Reply> {
        let _ = (ctx, id);
        Some(reply)
    }
}

/// The adversary that stays silent: it withholds everything its node sends, to nodes
/// and to clients.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl<P: Protocol> Adversary<P> for Silent {
    fn intercept(
        &mut self,
        _ctx: &mut AdvCtx<'_>,
        _to: NodeId,
        _msg: P::Msg,
        _out: &mut Vec<Forged<P::Msg>>,
    ) {
    }
    fn reply(&mut self, _ctx: &mut AdvCtx<'_>, _id: RequestId, _reply: Reply) -> Option<Reply> {
        None
    }
}
