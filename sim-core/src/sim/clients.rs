//! The clients' state machine: pacing, issuing and retrying operations, following
//! redirects, timeouts, and recording each outcome in the history.

use crate::client::{ClientConfig, Load, Placement, Retry};
use crate::fabric::Event;
use crate::history::{ClientId, Operation, Outcome};
use crate::protocol::{ClientRequest, NodeId, Protocol, Reply, RequestId};
use crate::time::SimDuration;
use crate::trace::TraceKind;

use super::*;

#[derive(Clone, Hash)]
pub(super) struct PendingOp {
    pub(super) history_id: u64,
    pub(super) id: RequestId,
    pub(super) op: Operation,
    pub(super) attempt: u32,
    pub(super) redirects: u32,
    /// A earlier attempt timed out, so it may still take effect.
    pub(super) uncertain: bool,
    /// Answers heard so far when more than one must match: (node, answer), one per node,
    /// in arrival order.
    pub(super) votes: Vec<(NodeId, Reply)>,
}

#[derive(Clone, Hash)]
pub(super) struct ClientSlot {
    pub(super) next_seq: u64,
    pub(super) target: NodeId,
    pub(super) pending: Vec<PendingOp>,
    pub(super) exhausted: bool,
}

impl<P: Protocol> Simulation<P> {
    pub(super) fn client_config(&self) -> &ClientConfig {
        self.config
            .clients
            .as_ref()
            .expect("client events exist only when clients are configured")
    }

    /// One way between client `c` and slot `node`: the client latency, plus, for clients
    /// placed at a home node, the network's latency from there to `node`.
    pub(super) fn client_latency(&mut self, c: ClientId, node: NodeId) -> SimDuration {
        let Some(config) = &self.config.clients else {
            return SimDuration::ZERO;
        };
        let own = config.latency.sample(&mut self.client_rng);
        if config.placement == Placement::Cluster {
            return own;
        }
        let n = self.fabric.identities.max(1);
        let home = NodeId(c % n);
        let there = self.identity[node.index()];
        own + self
            .fabric
            .network
            .latency(home, there)
            .sample(&mut self.client_rng)
    }

    pub(super) fn start_clients(&mut self) {
        for c in 0..self.clients.len() as u32 {
            let delay = self.pace_delay();
            self.fabric
                .queue
                .push(self.now + delay, Event::ClientWake(c));
        }
        self.last_progress = self.now;
    }

    /// Think time (closed loop) or inter-arrival time (open loop).
    pub(super) fn pace_delay(&mut self) -> SimDuration {
        let d = match &self.client_config().load {
            Load::Closed { think } => think.clone(),
            Load::Open { interval } => interval.clone(),
        };
        d.sample(&mut self.client_rng)
    }

    pub(super) fn client_wake(&mut self, c: ClientId) {
        let open = matches!(self.client_config().load, Load::Open { .. });
        let slot = &self.clients[c as usize];
        if slot.exhausted || (!open && !slot.pending.is_empty()) {
            return;
        }
        self.events += 1;
        self.fingerprint.fold(self.now.0);
        self.fingerprint.fold(FP_CLIENT | (u64::from(c) << 8));
        let op = match self.workload.as_mut() {
            Some(w) => w.next_op(c, &mut self.workload_rng),
            None => None,
        };
        let Some(op) = op else {
            let slot = &mut self.clients[c as usize];
            slot.exhausted = true;
            if slot.pending.is_empty() {
                self.active_clients -= 1;
            }
            return;
        };
        self.fingerprint.fold_hash(&op);
        self.issue(c, op, 0, false);
        if open {
            let delay = self.pace_delay();
            self.fabric
                .queue
                .push(self.now + delay, Event::ClientWake(c));
        }
    }

    /// Starts a new history operation for `op` and sends it.
    pub(super) fn issue(&mut self, c: ClientId, op: Operation, attempt: u32, uncertain: bool) {
        let history_id = self.history.invoke(c, op.clone(), self.now);
        let slot = &mut self.clients[c as usize];
        let id = RequestId {
            client: c,
            seq: slot.next_seq,
        };
        slot.next_seq += 1;
        slot.pending.push(PendingOp {
            history_id,
            id,
            op,
            attempt,
            redirects: 0,
            uncertain,
            votes: Vec::new(),
        });
        let i = slot.pending.len() - 1;
        self.transmit_request(c, i);
    }

    /// Sends pending operation `i` of client `c` to the client's target and arms its timeout.
    pub(super) fn transmit_request(&mut self, c: ClientId, i: usize) {
        let target = self.clients[c as usize].target;
        self.transmit_request_to(c, i, &[target]);
    }

    /// Sends pending operation `i` of client `c` to each of `nodes` and arms one timeout.
    fn transmit_request_to(&mut self, c: ClientId, i: usize, nodes: &[NodeId]) {
        let p = &self.clients[c as usize].pending[i];
        let req = ClientRequest::new(p.id, p.op.clone());
        self.issued.insert(req.digest());
        let (id, attempt) = (p.id, p.attempt);
        for &node in nodes {
            self.push_request(c, node, &req);
            // A twinned identity's requests reach both of its slots.
            for k in 0..self.fabric.twin_slots.len() {
                let (identity, slot) = self.fabric.twin_slots[k];
                if identity == node {
                    self.push_request(c, slot, &req);
                }
            }
        }
        let timeout = self.client_config().timeout;
        self.fabric
            .queue
            .push(self.now + timeout, Event::ClientTimeout { id, attempt });
    }

    /// Schedules client `c`'s `req`'s arrival at slot `slot`, after the client latency.
    fn push_request(&mut self, c: ClientId, slot: NodeId, req: &ClientRequest) {
        let lat = self.client_latency(c, slot);
        self.fabric.queue.push(
            self.now + lat,
            Event::Request {
                node: slot,
                req: Box::new(req.clone()),
            },
        );
    }

    pub(super) fn finish(&mut self, c: ClientId, i: usize, outcome: Outcome) {
        let slot = &mut self.clients[c as usize];
        let p = slot.pending.swap_remove(i);
        let progress = !matches!(outcome, Outcome::Indeterminate);
        self.history.complete(p.history_id, outcome, self.now);
        if progress {
            self.last_progress = self.now;
        }
        let open = matches!(self.client_config().load, Load::Open { .. });
        let slot = &self.clients[c as usize];
        if slot.exhausted {
            if slot.pending.is_empty() {
                self.active_clients -= 1;
            }
        } else if !open {
            let delay = self.pace_delay();
            self.fabric
                .queue
                .push(self.now + delay, Event::ClientWake(c));
        }
    }

    /// Node `from` (a slot) answers request `id`.
    pub(super) fn on_response(&mut self, from: NodeId, id: RequestId, reply: Reply) {
        let c = id.client;
        let Some(i) = self.clients[c as usize]
            .pending
            .iter()
            .position(|p| p.id == id)
        else {
            return; // an answer to an attempt the client gave up on
        };
        self.events += 1;
        self.fingerprint.fold(self.now.0);
        self.fingerprint
            .fold(FP_RESPONSE | (u64::from(from.0) << 8) | (id.seq << 40));
        self.fingerprint.fold_hash(&reply);
        if self.trace.is_some() {
            let s = format!("client {} #{}: {reply:?}", id.client, id.seq);
            self.record(TraceKind::Response, None, Some(from), None, s);
        }
        // Twins answer as their one identity: their two votes are one.
        let from = self.identity[from.index()];
        let quorum = self.client_config().reply_quorum;
        if quorum > 1 {
            self.count_vote(c, i, from, reply, quorum);
            return;
        }
        if !matches!(reply, Reply::Redirect(_)) {
            let hid = self.clients[c as usize].pending[i].history_id;
            self.history.served(hid, from);
        }
        match reply {
            Reply::Ok(out) => self.finish(c, i, Outcome::Ok(out)),
            Reply::Fail(_) => {
                let uncertain = self.clients[c as usize].pending[i].uncertain;
                let outcome = if uncertain {
                    Outcome::Indeterminate
                } else {
                    Outcome::Failed
                };
                self.finish(c, i, outcome);
            }
            Reply::Redirect(hint) => {
                let max = self.client_config().max_redirects;
                let n = self.fabric.identities;
                let slot = &mut self.clients[c as usize];
                let p = &mut slot.pending[i];
                p.redirects += 1;
                if p.redirects > max {
                    let outcome = if p.uncertain {
                        Outcome::Indeterminate
                    } else {
                        Outcome::Failed
                    };
                    self.finish(c, i, outcome);
                    return;
                }
                p.attempt += 1;
                let (id, attempt) = (p.id, p.attempt);
                match hint {
                    Some(h) if h.0 < n => {
                        slot.target = h;
                        self.transmit_request(c, i);
                    }
                    _ => {
                        // Nobody knows a leader yet (an election is on): ask the next node
                        // after a pause rather than spinning through the cluster.
                        slot.target = NodeId((from.0 + 1) % n);
                        let backoff = self.client_config().redirect_backoff;
                        self.fabric
                            .queue
                            .push(self.now + backoff, Event::ClientResend { id, attempt });
                    }
                }
            }
        }
    }

    /// One node's answer when `quorum` matching answers from distinct nodes are needed:
    /// the operation completes with the first answer `quorum` nodes agree on. Failures
    /// match each other whatever they say; redirects are not answers.
    fn count_vote(&mut self, c: ClientId, i: usize, from: NodeId, reply: Reply, quorum: u32) {
        if matches!(reply, Reply::Redirect(_)) {
            return;
        }
        let p = &mut self.clients[c as usize].pending[i];
        // A node's latest answer stands (it may answer again after a retry).
        p.votes.retain(|(n, _)| *n != from);
        let same = |a: &Reply, b: &Reply| match (a, b) {
            (Reply::Fail(_), Reply::Fail(_)) => true,
            _ => a == b,
        };
        let agreeing = p.votes.iter().filter(|(_, r)| same(r, &reply)).count() + 1;
        if (agreeing as u32) < quorum {
            p.votes.push((from, reply));
            return;
        }
        let hid = p.history_id;
        let outcome = match reply {
            Reply::Ok(out) => Outcome::Ok(out),
            _ if p.uncertain => Outcome::Indeterminate,
            _ => Outcome::Failed,
        };
        self.history.served(hid, from);
        self.finish(c, i, outcome);
    }

    pub(super) fn client_timeout(&mut self, id: RequestId, attempt: u32) {
        let c = id.client;
        let Some(i) = self.clients[c as usize]
            .pending
            .iter()
            .position(|p| p.id == id && p.attempt == attempt)
        else {
            return;
        };
        self.events += 1;
        self.fingerprint.fold(self.now.0);
        self.fingerprint.fold(FP_CLIENT | 0x80 | (id.seq << 40));
        if self.trace.is_some() {
            let s = format!("client {} #{} timed out", id.client, id.seq);
            self.record(TraceKind::Timeout, None, None, None, s);
        }
        let retry = self.client_config().retry;
        let to_all = self.client_config().retry_to_all;
        let n = self.fabric.identities;
        let slot = &mut self.clients[c as usize];
        // Try another node next: the one we asked may be down or cut off.
        slot.target = NodeId((slot.target.0 + 1) % n);
        let p = &mut slot.pending[i];
        match retry {
            Retry::SameId { max_attempts } if p.attempt + 1 < max_attempts => {
                p.attempt += 1;
                p.uncertain = true;
                if to_all {
                    let all: Vec<NodeId> = (0..n).map(NodeId).collect();
                    self.transmit_request_to(c, i, &all);
                } else {
                    self.transmit_request(c, i);
                }
            }
            Retry::NewId { max_attempts } if p.attempt + 1 < max_attempts => {
                let op = p.op.clone();
                let next = p.attempt + 1;
                let hid = p.history_id;
                slot.pending.swap_remove(i);
                self.history.complete(hid, Outcome::Indeterminate, self.now);
                self.issue(c, op, next, false);
            }
            _ => self.finish(c, i, Outcome::Indeterminate),
        }
    }

    // ---- faults ----
}
