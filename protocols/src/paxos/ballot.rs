//! Ballot numbers: a round and the proposer's node id, ordered round first, so that two
//! proposers never share a ballot and each can always pick one above any it has seen.

use std::fmt;

use sim_core::NodeId;

/// Bits the node id takes in [`Ballot::encode`].
const NODE_BITS: u32 = 20;

/// A ballot (proposal number). `Ballot::ZERO` is below every real ballot: "none yet".
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ballot {
    /// The proposer's round; real ballots start at 1.
    pub round: u64,
    /// The proposer that owns the ballot (the tie-break between equal rounds).
    pub node: u32,
}

impl Ballot {
    /// Below every real ballot.
    pub const ZERO: Ballot = Ballot { round: 0, node: 0 };

    /// Ballot `round` of `node`.
    pub fn new(round: u64, node: NodeId) -> Self {
        Ballot {
            round,
            node: node.0,
        }
    }

    /// The proposer that owns it.
    pub fn owner(self) -> NodeId {
        NodeId(self.node)
    }

    /// One number with the same order, for observations (rounds below 2^44, nodes below
    /// 2^20: far beyond any run).
    pub fn encode(self) -> u64 {
        (self.round << NODE_BITS) | u64::from(self.node)
    }

    /// The ballot [`Ballot::encode`] made.
    pub fn decode(v: u64) -> Self {
        Ballot {
            round: v >> NODE_BITS,
            node: (v & ((1 << NODE_BITS) - 1)) as u32,
        }
    }
}

impl fmt::Debug for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.n{}", self.round, self.node)
    }
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_round_first_and_encoding_keeps_it() {
        let a = Ballot::new(1, NodeId(4));
        let b = Ballot::new(2, NodeId(0));
        let c = Ballot::new(2, NodeId(3));
        assert!(Ballot::ZERO < a && a < b && b < c);
        for x in [Ballot::ZERO, a, b, c] {
            assert_eq!(Ballot::decode(x.encode()), x);
        }
        assert!(a.encode() < b.encode() && b.encode() < c.encode());
        assert_eq!(c.to_string(), "2.n3");
    }
}
