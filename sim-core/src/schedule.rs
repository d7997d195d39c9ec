//! A fixed schedule: the events of a run named one by one, in the order they happen,
//! instead of drawn from virtual time. `explore` writes one for each violation it finds;
//! a run with a schedule replays it exactly (see [`crate::Simulation::run_schedule`]).
//!
//! In a scheduled run a message may arrive at any moment after it left its sender (it
//! arrives at the current time, or when it leaves if its sender still waits for a disk
//! sync: the schedule decides when), and a timer fires at or after its deadline (the
//! clock moves to the deadline if it is not there yet). Every schedule is thus a run that
//! an asynchronous network and nodes that may be slow could produce.

use serde::{Deserialize, Serialize};

/// One step of a schedule: which waiting event happens next, or which fault strikes.
/// Messages are named by link and kind; `nth` picks among several alike events waiting
/// at once, in the order they wait (the order they were scheduled in: on one link, the
/// order they were sent).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    /// A message arrives.
    Deliver {
        /// Sender slot.
        from: u32,
        /// Receiver slot.
        to: u32,
        /// Its kind ("AppendEntries").
        kind: String,
        /// Which of the matching messages, in waiting order.
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// A message is lost.
    Drop {
        /// Sender slot.
        from: u32,
        /// Receiver slot.
        to: u32,
        /// Its kind.
        kind: String,
        /// Which of the matching messages, in waiting order.
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// A message is duplicated (the copy waits beside it).
    Duplicate {
        /// Sender slot.
        from: u32,
        /// Receiver slot.
        to: u32,
        /// Its kind.
        kind: String,
        /// Which of the matching messages, in waiting order.
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// A node's timer fires.
    Timer {
        /// The node slot.
        node: u32,
        /// The protocol's timer id.
        id: u64,
    },
    /// A client's request reaches a node.
    Request {
        /// The client.
        client: u32,
        /// The node slot.
        to: u32,
        /// Which of the matching requests, in waiting order.
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// A node's answer reaches its client.
    Response {
        /// The client.
        client: u32,
        /// The node slot that answered.
        from: u32,
        /// Which of the matching answers, in waiting order.
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// A client starts its next operation.
    ClientWake {
        /// The client.
        client: u32,
    },
    /// A client's request times out.
    ClientTimeout {
        /// The client.
        client: u32,
        /// Which of its timeouts, in waiting order.
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// A client sends a request again after backing off.
    ClientResend {
        /// The client.
        client: u32,
        /// Which of its resends, in waiting order.
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// The next fault of the scenario's own schedule happens.
    Fault,
    /// A node crashes.
    Crash {
        /// The node slot.
        node: u32,
    },
    /// A crashed node restarts.
    Restart {
        /// The node slot.
        node: u32,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Step {
    /// The same step with `nth` set, for the steps that have one.
    pub(crate) fn with_nth(mut self, n: u32) -> Self {
        match &mut self {
            Step::Deliver { nth, .. }
            | Step::Drop { nth, .. }
            | Step::Duplicate { nth, .. }
            | Step::Request { nth, .. }
            | Step::Response { nth, .. }
            | Step::ClientTimeout { nth, .. }
            | Step::ClientResend { nth, .. } => *nth = n,
            _ => {}
        }
        self
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nth = |n: &u32| {
            if *n == 0 {
                String::new()
            } else {
                format!(" (#{})", n + 1)
            }
        };
        match self {
            Step::Deliver {
                from,
                to,
                kind,
                nth: n,
            } => {
                write!(f, "deliver {kind} n{from}→n{to}{}", nth(n))
            }
            Step::Drop {
                from,
                to,
                kind,
                nth: n,
            } => {
                write!(f, "drop {kind} n{from}→n{to}{}", nth(n))
            }
            Step::Duplicate {
                from,
                to,
                kind,
                nth: n,
            } => {
                write!(f, "duplicate {kind} n{from}→n{to}{}", nth(n))
            }
            Step::Timer { node, id } => write!(f, "timer {id} fires at n{node}"),
            Step::Request { client, to, nth: n } => {
                write!(f, "request of client {client} reaches n{to}{}", nth(n))
            }
            Step::Response {
                client,
                from,
                nth: n,
            } => {
                write!(f, "answer of n{from} reaches client {client}{}", nth(n))
            }
            Step::ClientWake { client } => write!(f, "client {client} starts an operation"),
            Step::ClientTimeout { client, nth: n } => {
                write!(f, "client {client} times out{}", nth(n))
            }
            Step::ClientResend { client, nth: n } => {
                write!(f, "client {client} sends again{}", nth(n))
            }
            Step::Fault => f.write_str("the next scheduled fault"),
            Step::Crash { node } => write!(f, "n{node} crashes"),
            Step::Restart { node } => write!(f, "n{node} restarts"),
        }
    }
}

/// How many faults a search may add to a run: each message lost or duplicated and each
/// crash or restart spends one of its kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// Messages that may be lost.
    pub drops: u32,
    /// Messages that may be duplicated.
    pub duplicates: u32,
    /// Node crashes.
    pub crashes: u32,
    /// Restarts of crashed nodes.
    pub restarts: u32,
    /// Firings of node timers (elections, heartbeats, retransmissions): `None`, as many
    /// as the run's duration allows. A small number bounds a search the way a bound on
    /// terms or rounds does in a model checker.
    pub timers: Option<u32>,
}
