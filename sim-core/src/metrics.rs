//! Metrics of a run: messages by kind and by node, drops by reason, protocol counters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::network::DropReason;

/// Message counts of one message kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgCounts {
    /// Handed to the network by protocols.
    pub sent: u64,
    /// Handed to a receiving protocol.
    pub delivered: u64,
    /// Lost on the way, for any reason.
    pub dropped: u64,
    /// Extra copies the network made.
    pub duplicated: u64,
    /// Bytes sent.
    pub bytes: u64,
}

/// Message counts of one node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCounts {
    /// Messages it sent.
    pub sent: u64,
    /// Messages delivered to it.
    pub received: u64,
    /// Bytes it sent.
    pub bytes_sent: u64,
    /// Bytes delivered to it.
    pub bytes_received: u64,
}

/// Entries of the kind-address shortcut in [`Metrics`].
const KIND_CACHE: usize = 8;

/// The metrics gathered while a run goes. Message kinds are interned on first sight, so
/// the hot path compares a pointer, not a string.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    kinds: Vec<(&'static str, MsgCounts)>,
    /// Recently seen kinds by address: (address, index into `kinds`). Only a shortcut —
    /// which entry a kind hits never changes what is counted, so addresses (which differ
    /// between processes) cannot leak into results.
    recent: [(usize, usize); KIND_CACHE],
    nodes: Vec<NodeCounts>,
    drops: BTreeMap<DropReason, u64>,
    counters: BTreeMap<&'static str, u64>,
    timers_fired: u64,
}

impl Metrics {
    pub(crate) fn new(nodes: usize) -> Self {
        Metrics {
            nodes: vec![NodeCounts::default(); nodes],
            ..Default::default()
        }
    }

    #[inline]
    fn kind(&mut self, kind: &'static str) -> &mut MsgCounts {
        let addr = kind.as_ptr() as usize;
        // Fibonacci hashing: names stored side by side still land on different lines.
        let line = ((addr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61) as usize % KIND_CACHE;
        let (seen, i) = self.recent[line];
        if seen == addr && i < self.kinds.len() {
            return &mut self.kinds[i].1;
        }
        self.kind_slow(kind, line)
    }

    #[inline(never)]
    fn kind_slow(&mut self, kind: &'static str, line: usize) -> &mut MsgCounts {
        // Kinds are usually the same `&'static str` every time: try pointers first, and
        // compare text only for a kind whose name lives at another address.
        let pos = self
            .kinds
            .iter()
            .position(|(k, _)| std::ptr::eq(*k, kind))
            .or_else(|| self.kinds.iter().position(|(k, _)| *k == kind));
        let i = match pos {
            Some(i) => i,
            None => {
                self.kinds.push((kind, MsgCounts::default()));
                self.kinds.len() - 1
            }
        };
        self.recent[line] = (kind.as_ptr() as usize, i);
        &mut self.kinds[i].1
    }

    #[inline]
    pub(crate) fn sent(&mut self, kind: &'static str, from: usize, bytes: usize) {
        let k = self.kind(kind);
        k.sent += 1;
        k.bytes += bytes as u64;
        let n = &mut self.nodes[from];
        n.sent += 1;
        n.bytes_sent += bytes as u64;
    }

    #[inline]
    pub(crate) fn delivered(&mut self, kind: &'static str, to: usize, bytes: usize) {
        self.kind(kind).delivered += 1;
        let n = &mut self.nodes[to];
        n.received += 1;
        n.bytes_received += bytes as u64;
    }

    pub(crate) fn dropped(&mut self, kind: &'static str, reason: DropReason) {
        self.kind(kind).dropped += 1;
        *self.drops.entry(reason).or_default() += 1;
    }

    pub(crate) fn duplicated(&mut self, kind: &'static str) {
        self.kind(kind).duplicated += 1;
    }

    pub(crate) fn count(&mut self, name: &'static str, n: u64) {
        *self.counters.entry(name).or_default() += n;
    }

    pub(crate) fn timer_fired(&mut self) {
        self.timers_fired += 1;
    }

    /// The metrics as plain data, for results files and reports.
    pub fn summary(&self) -> MetricsSummary {
        MetricsSummary {
            messages: self
                .kinds
                .iter()
                .map(|(k, c)| (k.to_string(), *c))
                .collect(),
            nodes: self.nodes.clone(),
            drops: self
                .drops
                .iter()
                .map(|(r, n)| (r.name().to_string(), *n))
                .collect(),
            counters: self
                .counters
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            timers_fired: self.timers_fired,
        }
    }
}

/// The metrics of a finished run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    /// Message counts by kind.
    pub messages: BTreeMap<String, MsgCounts>,
    /// Message counts by node (index = node id).
    pub nodes: Vec<NodeCounts>,
    /// Dropped messages by reason.
    pub drops: BTreeMap<String, u64>,
    /// Protocol-defined counters.
    pub counters: BTreeMap<String, u64>,
    /// Timers that fired (stale and cancelled ones excluded).
    pub timers_fired: u64,
}

impl MetricsSummary {
    /// Totals over all kinds.
    pub fn total(&self) -> MsgCounts {
        self.messages
            .values()
            .fold(MsgCounts::default(), |a, c| MsgCounts {
                sent: a.sent + c.sent,
                delivered: a.delivered + c.delivered,
                dropped: a.dropped + c.dropped,
                duplicated: a.duplicated + c.duplicated,
                bytes: a.bytes + c.bytes,
            })
    }
}
