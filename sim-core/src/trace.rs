//! The trace: one record per processed event, off by default, streamed to a sink.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::protocol::NodeId;
use crate::time::SimTime;

/// What kind of event a trace record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// A node started (at time zero or at a restart).
    Start,
    /// A message was delivered to a node.
    Deliver,
    /// A message was lost (the summary says why).
    Drop,
    /// A timer fired on a node.
    Timer,
    /// A client request reached a node.
    Request,
    /// A node's reply reached its client.
    Response,
    /// A client gave up waiting.
    Timeout,
    /// A fault was applied.
    Fault,
    /// A node reported an observation.
    Observe,
}

/// One record of the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Index of the processed event in the run (0-based).
    pub index: u64,
    /// Virtual time, ns.
    pub time: SimTime,
    /// The kind of event.
    pub kind: TraceKind,
    /// The node it happened at, if any.
    pub node: Option<NodeId>,
    /// The sender, for messages.
    pub from: Option<NodeId>,
    /// The message kind, for messages.
    pub msg: Option<String>,
    /// A short debug rendering of what happened.
    pub summary: String,
    /// When a delivered or dropped message left its sender (absent for other events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<SimTime>,
}

/// Receives trace records as the run goes.
pub trait TraceSink: Send {
    /// Takes one record; an error stops the tracing (not the run) and is reported in the
    /// run's result.
    fn record(&mut self, event: &TraceEvent) -> std::io::Result<()>;
}

/// Streams trace records as JSON lines to a writer.
pub struct JsonLines<W: Write>(pub W);

impl<W: Write + Send> TraceSink for JsonLines<W> {
    fn record(&mut self, event: &TraceEvent) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.0, event)?;
        self.0.write_all(b"\n")
    }
}

/// Keeps trace records in memory (for tests and small runs).
#[derive(Debug, Default)]
pub struct Collect(pub Vec<TraceEvent>);

impl TraceSink for Collect {
    fn record(&mut self, event: &TraceEvent) -> std::io::Result<()> {
        self.0.push(event.clone());
        Ok(())
    }
}

impl<T: TraceSink + ?Sized> TraceSink for &mut T {
    fn record(&mut self, event: &TraceEvent) -> std::io::Result<()> {
        (**self).record(event)
    }
}
