//! Recording what happens: the trace stream, drops, and the metrics of sent messages.

use crate::network::DropReason;
use crate::protocol::{Message, NodeId, Protocol};
use crate::time::SimTime;
use crate::trace::{TraceEvent, TraceKind};

use super::*;

impl<P: Protocol> Simulation<P> {
    #[cold]
    #[inline(never)]
    pub(super) fn trace_delivery(&mut self, from: NodeId, to: NodeId, sent: SimTime, msg: &P::Msg) {
        let summary = format!("{msg:?}");
        self.record_sent(
            TraceKind::Deliver,
            Some(to),
            Some(from),
            Some(msg.kind()),
            summary,
            Some(sent),
        );
    }

    pub(super) fn drop_message(
        &mut self,
        from: NodeId,
        to: NodeId,
        sent: SimTime,
        msg: &P::Msg,
        reason: DropReason,
    ) {
        self.fabric.metrics.dropped(msg.kind(), reason);
        self.trace_drop(from, to, sent, msg, reason);
    }

    pub(super) fn trace_drop(
        &mut self,
        from: NodeId,
        to: NodeId,
        sent: SimTime,
        msg: &P::Msg,
        reason: DropReason,
    ) {
        if self.trace.is_some() {
            let s = format!(
                "{} from {from} dropped ({}): {msg:?}",
                msg.kind(),
                reason.name()
            );
            let kind = Some(msg.kind());
            self.record_sent(TraceKind::Drop, Some(to), Some(from), kind, s, Some(sent));
        }
    }

    pub(super) fn record(
        &mut self,
        kind: TraceKind,
        node: Option<NodeId>,
        from: Option<NodeId>,
        msg: Option<&str>,
        summary: String,
    ) {
        self.record_sent(kind, node, from, msg, summary, None);
    }

    /// A trace record; `sent` is when a message left its sender.
    pub(super) fn record_sent(
        &mut self,
        kind: TraceKind,
        node: Option<NodeId>,
        from: Option<NodeId>,
        msg: Option<&str>,
        summary: String,
        sent: Option<SimTime>,
    ) {
        if let Some(sink) = &mut self.trace {
            let ev = TraceEvent {
                index: self.events.saturating_sub(1),
                time: self.now,
                kind,
                node,
                from,
                msg: msg.map(str::to_string),
                summary,
                sent,
            };
            if let Err(e) = sink.record(&ev) {
                self.trace_error = Some(e.to_string());
                self.trace = None;
            }
        }
    }
}
