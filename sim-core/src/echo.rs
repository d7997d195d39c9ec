//! Echo: the smallest protocol that keeps a network busy. Every node pings every other
//! node at start, and every delivered message is answered. It exists to exercise and
//! benchmark the engine and replicates nothing, so it lives with the engine: the engine's
//! tests, benchmarks and example need no protocol crate. (`protocols::echo` makes it a
//! scenario protocol.)

use crate::{Ctx, Message, NodeId, Protocol, TimerId};
use serde::{Deserialize, Serialize};

/// Echo's messages: a ping or a pong, carrying a hop count.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EchoMsg {
    /// Asks for a pong.
    Ping(u64),
    /// Answers a ping (and is itself answered by a ping).
    Pong(u64),
}

impl Message for EchoMsg {
    fn kind(&self) -> &'static str {
        match self {
            EchoMsg::Ping(_) => "Ping",
            EchoMsg::Pong(_) => "Pong",
        }
    }
    fn size(&self) -> usize {
        16
    }
}

/// Echo's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EchoConfig {
    /// Stop answering after this many hops (`None`: answer forever).
    pub max_hops: Option<u64>,
}

/// One echo node. It counts what it received, which tests read through the god's-eye view.
#[derive(Clone, Debug, Default, Hash)]
pub struct Echo {
    max_hops: Option<u64>,
    /// Messages delivered to this node in this incarnation.
    pub received: u64,
    /// The largest hop count seen.
    pub max_seen: u64,
}

impl Protocol for Echo {
    type Msg = EchoMsg;
    type Config = EchoConfig;

    fn start(ctx: &mut Ctx<'_, EchoMsg>, config: &EchoConfig) -> Self {
        ctx.broadcast(EchoMsg::Ping(0));
        Echo {
            max_hops: config.max_hops,
            ..Echo::default()
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, EchoMsg>, from: NodeId, msg: EchoMsg) {
        self.received += 1;
        let (hops, answer) = match msg {
            EchoMsg::Ping(h) => (h, EchoMsg::Pong(h + 1)),
            EchoMsg::Pong(h) => (h, EchoMsg::Ping(h + 1)),
        };
        self.max_seen = self.max_seen.max(hops);
        if self.max_hops.is_none_or(|m| hops < m) {
            ctx.send(from, answer);
        }
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, EchoMsg>, _timer: TimerId) {}
}
