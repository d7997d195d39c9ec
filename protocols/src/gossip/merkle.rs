//! A Merkle tree over ranges of the hashed key space, for anti-entropy: two replicas
//! compare roots, then only the children of the nodes that differ, so a round costs
//! O(log n) hashes per differing range instead of the whole state.
//!
//! A leaf covers one range of hashed keys and holds the XOR of its entries' hashes, which
//! changes in O(1) when one entry changes and does not depend on the order of insertion;
//! inner nodes mix their two children. Nodes are numbered as in a binary heap (root 1,
//! children 2i and 2i + 1, leaves from `2^depth`).

/// Mixes 64 bits (the SplitMix64 finaliser): a fixed function, the same in every process.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A fixed hash of a byte string (FNV-1a, then mixed).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// The deepest tree allowed: 2^20 leaves is far more than any scenario needs.
pub const MAX_DEPTH: u32 = 20;

/// The tree itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MerkleTree {
    depth: u32,
    nodes: Vec<u64>,
}

impl MerkleTree {
    /// An empty tree with `2^depth` leaves (`depth` is capped at [`MAX_DEPTH`]).
    pub fn new(depth: u32) -> Self {
        let depth = depth.min(MAX_DEPTH);
        MerkleTree {
            depth,
            nodes: vec![0; 2usize << depth],
        }
    }

    /// The number of levels below the root.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The number of leaves.
    pub fn leaves(&self) -> u32 {
        1 << self.depth
    }

    /// The leaf (range) a key falls in.
    pub fn bucket(&self, key: u64) -> u32 {
        if self.depth == 0 {
            0
        } else {
            (mix(key) >> (64 - self.depth)) as u32
        }
    }

    /// The heap index of leaf `bucket`.
    pub fn leaf_index(&self, bucket: u32) -> u32 {
        (1 << self.depth) + bucket
    }

    /// Whether heap index `i` is a leaf.
    pub fn is_leaf(&self, i: u32) -> bool {
        i >= 1 << self.depth
    }

    /// The hash at heap index `i` (0 outside the tree).
    pub fn hash(&self, i: u32) -> u64 {
        self.nodes.get(i as usize).copied().unwrap_or(0)
    }

    /// The root hash: equal roots mean (with overwhelming probability) equal contents.
    pub fn root(&self) -> u64 {
        self.hash(1)
    }

    /// Adds or takes out (XOR is its own inverse) an entry hash in `bucket`, and rehashes
    /// the path to the root.
    pub fn toggle(&mut self, bucket: u32, entry_hash: u64) {
        let mut i = self.leaf_index(bucket) as usize;
        self.nodes[i] ^= entry_hash;
        while i > 1 {
            i /= 2;
            let (l, r) = (self.nodes[2 * i], self.nodes[2 * i + 1]);
            // An empty subtree hashes to 0, so equal empty ranges compare equal cheaply.
            self.nodes[i] = if l == 0 && r == 0 {
                0
            } else {
                mix(l ^ mix(r).rotate_left(17))
            };
        }
    }

    /// The leaves (as bucket numbers) under heap index `i`.
    pub fn buckets_under(&self, i: u32) -> std::ops::Range<u32> {
        let level = 31 - i.leading_zeros();
        let span = self.depth.saturating_sub(level);
        let first = (i << span) - (1 << self.depth);
        first..first + (1 << span)
    }
}
