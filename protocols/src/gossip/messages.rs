//! The messages of rumor mongering and anti-entropy.

use sim_core::Message;

use super::crdt::Lww;

/// One register as it travels: its key and contents.
pub type Update = (u64, Lww);

/// A gossip message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GossipMsg {
    /// Rumor push: the sender's hot rumors.
    Push {
        /// The rumors.
        updates: Vec<Update>,
    },
    /// Rumor pull: asks for the receiver's hot rumors.
    Pull,
    /// Answer to a pull.
    PullReply {
        /// The answerer's hot rumors.
        updates: Vec<Update>,
    },
    /// Push and pull in one: the sender's hot rumors, asking for the receiver's.
    PushPull {
        /// The sender's hot rumors.
        updates: Vec<Update>,
    },
    /// Answer to a push-pull.
    PushPullReply {
        /// The answerer's hot rumors the asker did not just send.
        updates: Vec<Update>,
        /// Keys of pushed rumors the answerer already had (feedback).
        known: Vec<u64>,
    },
    /// Feedback on rumors received: the keys the receiver already had.
    Feedback {
        /// Those keys.
        known: Vec<u64>,
    },
    /// Anti-entropy: the sender's Merkle hashes at these heap positions.
    Tree {
        /// (heap index, hash) pairs.
        nodes: Vec<(u32, u64)>,
    },
    /// Anti-entropy repair: the sender's registers in these leaves of the tree.
    Entries {
        /// The leaves (buckets) covered.
        buckets: Vec<u32>,
        /// The sender's registers there.
        updates: Vec<Update>,
        /// Whether the receiver should answer with its own registers there.
        reply: bool,
    },
    /// Anti-entropy baseline: the sender's whole state.
    FullState {
        /// Every register (for an answer, those that differ from what was received).
        updates: Vec<Update>,
        /// Whether the receiver should answer with its own.
        reply: bool,
    },
}

fn updates_size(u: &[Update]) -> usize {
    u.iter()
        .map(|(_, e)| 8 + 12 + 1 + e.value.as_ref().map_or(0, String::len))
        .sum()
}

impl Message for GossipMsg {
    fn kind(&self) -> &'static str {
        match self {
            GossipMsg::Push { .. } => "Push",
            GossipMsg::Pull => "Pull",
            GossipMsg::PullReply { .. } => "PullReply",
            GossipMsg::PushPull { .. } => "PushPull",
            GossipMsg::PushPullReply { .. } => "PushPullReply",
            GossipMsg::Feedback { .. } => "Feedback",
            GossipMsg::Tree { .. } => "Tree",
            GossipMsg::Entries { .. } => "Entries",
            GossipMsg::FullState { .. } => "FullState",
        }
    }

    fn size(&self) -> usize {
        16 + match self {
            GossipMsg::Push { updates }
            | GossipMsg::PullReply { updates }
            | GossipMsg::PushPull { updates }
            | GossipMsg::FullState { updates, .. } => updates_size(updates),
            GossipMsg::Pull => 0,
            GossipMsg::PushPullReply { updates, known } => updates_size(updates) + 8 * known.len(),
            GossipMsg::Feedback { known } => 8 * known.len(),
            GossipMsg::Tree { nodes } => 12 * nodes.len(),
            GossipMsg::Entries {
                buckets, updates, ..
            } => 4 * buckets.len() + updates_size(updates),
        }
    }
}

/// Whether a message kind belongs to rumor mongering (for messages-per-update figures).
pub fn is_rumor_kind(kind: &str) -> bool {
    matches!(
        kind,
        "Push" | "Pull" | "PullReply" | "PushPull" | "PushPullReply" | "Feedback"
    )
}
