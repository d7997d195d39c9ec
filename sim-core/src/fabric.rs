//! The fabric: the parts of a running simulation that a handler's outputs reach directly
//! (event queue, network, metrics), so a send costs no intermediate buffering on the hot
//! path. Outputs that need the whole simulation (replies, observations, sends of a
//! Byzantine node, anything while tracing) go through the `out` buffer instead.

use crate::history::ClientId;
use crate::metrics::Metrics;
use crate::network::{DropReason, Network, Route};
use crate::protocol::{ClientRequest, Message, NodeId, Output, Reply, RequestId, TimerId};
use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::time::SimTime;

/// Something that happens at a virtual time.
#[derive(Clone, Debug)]
pub(crate) enum Event<M> {
    Deliver {
        from: NodeId,
        to: NodeId,
        /// When it left the sender (for the trace; ordering uses the queue's key).
        sent: SimTime,
        msg: M,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        id: TimerId,
        generation: u64,
    },
    Request {
        node: NodeId,
        req: Box<ClientRequest>,
    },
    Response {
        from: NodeId,
        id: RequestId,
        reply: Box<Reply>,
    },
    ClientWake(ClientId),
    ClientTimeout {
        id: RequestId,
        attempt: u32,
    },
    /// A client sends a request again after backing off.
    ClientResend {
        id: RequestId,
        attempt: u32,
    },
    Fault(u32),
    /// Input a paused node held; it already arrived, so no network check on delivery.
    Held(Box<Event<M>>),
}

#[derive(Clone)]
pub(crate) struct Fabric<M> {
    pub(crate) queue: EventQueue<Event<M>>,
    pub(crate) network: Network,
    pub(crate) net_rng: SimRng,
    pub(crate) metrics: Metrics,
    /// Outputs the simulation applies after the handler returns.
    pub(crate) out: Vec<Output<M>>,
    /// Number of node slots.
    pub(crate) nodes: u32,
    /// Number of node identities (the cluster the protocol sees): fewer than the slots
    /// when some identity runs twice (Twins).
    pub(crate) identities: u32,
    /// Each extra slot running an identity a second time: (identity, slot).
    pub(crate) twin_slots: Vec<(NodeId, NodeId)>,
}

impl<M: Message> Fabric<M> {
    /// Sends from slot `from` to node identity `to`: to its slot and to every twin of it.
    /// `Err` tells why the copy to `to`'s own slot was dropped.
    #[inline]
    pub(crate) fn send(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: M,
        depart: SimTime,
    ) -> Result<(), (DropReason, M)> {
        if to.0 >= self.identities {
            return Ok(()); // no such node: nothing to deliver to
        }
        if !self.twin_slots.is_empty() {
            for i in 0..self.twin_slots.len() {
                let (identity, slot) = self.twin_slots[i];
                if identity == to {
                    let _ = self.transmit(from, slot, msg.clone(), depart);
                }
            }
        }
        self.transmit(from, to, msg, depart)
    }

    /// Hands one message to the network; `Err` tells why it was dropped (already counted).
    #[inline]
    pub(crate) fn transmit(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: M,
        depart: SimTime,
    ) -> Result<(), (DropReason, M)> {
        if to.0 >= self.nodes {
            return Ok(()); // no such node: nothing to deliver to
        }
        let kind = msg.kind();
        let size = msg.size();
        self.metrics.sent(kind, from.index(), size);
        match self
            .network
            .route(&mut self.net_rng, depart, from, to, size)
        {
            Route::Dropped(reason) => {
                self.metrics.dropped(kind, reason);
                Err((reason, msg))
            }
            Route::Deliver(at, dup) => {
                let copy = dup.map(|dup_at| (dup_at, msg.clone()));
                let sent = depart;
                // The original first: its sequence number orders it before its copy.
                self.queue.push(
                    at,
                    Event::Deliver {
                        from,
                        to,
                        sent,
                        msg,
                    },
                );
                if let Some((dup_at, msg)) = copy {
                    self.metrics.duplicated(kind);
                    self.queue.push(
                        dup_at,
                        Event::Deliver {
                            from,
                            to,
                            sent,
                            msg,
                        },
                    );
                }
                Ok(())
            }
        }
    }
}
