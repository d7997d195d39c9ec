//! A replica's state: last-writer-wins registers by key, with the Merkle tree over them
//! kept current on every change.
//!
//! Broadcast updates live in the same store, under keys with the top bit set
//! ([`BROADCAST_KEYS`]), so that anti-entropy repairs missed rumors and client keys alike.

use std::collections::BTreeMap;

use super::crdt::{Lww, Stamp};
use super::merkle::{MerkleTree, hash_bytes, mix};

/// Keys from this bit up hold broadcast updates (`BROADCAST_KEYS | id`); client keys are
/// below it.
pub const BROADCAST_KEYS: u64 = 1 << 63;

/// The store key of broadcast update `id`.
pub fn broadcast_key(id: u64) -> u64 {
    BROADCAST_KEYS | id
}

/// The value a replica reports for a key in observations: 0 for absent or deleted,
/// otherwise a fixed hash of the value (never 0).
pub fn value_digest(value: Option<&str>) -> u64 {
    match value {
        None => 0,
        Some(v) => hash_bytes(v.as_bytes()).max(1),
    }
}

/// The hash of one entry in the Merkle tree.
pub fn entry_hash(key: u64, e: &Lww) -> u64 {
    let v = match &e.value {
        None => 0x5bd1_e995_0000_0001,
        Some(s) => hash_bytes(s.as_bytes()),
    };
    mix(key ^ mix(e.stamp.time ^ mix(u64::from(e.stamp.node) ^ v)))
}

/// The registers of one replica and their Merkle tree.
#[derive(Clone, Debug, Hash)]
pub struct Store {
    /// By (leaf of the key, key), so that a leaf's entries are one range.
    entries: BTreeMap<(u32, u64), Lww>,
    tree: MerkleTree,
}

impl Store {
    /// An empty store whose tree has `2^depth` leaves.
    pub fn new(depth: u32) -> Self {
        Store {
            entries: BTreeMap::new(),
            tree: MerkleTree::new(depth),
        }
    }

    /// The register of `key`.
    pub fn get(&self, key: u64) -> Option<&Lww> {
        self.entries.get(&(self.tree.bucket(key), key))
    }

    /// Merges `entry` into `key`'s register; `true` if that changed the store.
    pub fn apply(&mut self, key: u64, entry: Lww) -> bool {
        let b = self.tree.bucket(key);
        match self.entries.get_mut(&(b, key)) {
            Some(old) if !entry.beats(old) => false,
            Some(old) => {
                self.tree.toggle(b, entry_hash(key, old));
                self.tree.toggle(b, entry_hash(key, &entry));
                *old = entry;
                true
            }
            None => {
                self.tree.toggle(b, entry_hash(key, &entry));
                self.entries.insert((b, key), entry);
                true
            }
        }
    }

    /// Forgets `key` altogether, leaving no tombstone (only the `no_tombstones` bug does
    /// this); `true` if it was there.
    pub fn forget(&mut self, key: u64) -> bool {
        let b = self.tree.bucket(key);
        match self.entries.remove(&(b, key)) {
            Some(old) => {
                self.tree.toggle(b, entry_hash(key, &old));
                true
            }
            None => false,
        }
    }

    /// A stamp for a new local write to `key` by `node` at local time `now`: later than
    /// anything this replica holds for the key, so a replica's own writes supersede what
    /// it has seen.
    pub fn next_stamp(&self, key: u64, node: u32, now: u64) -> Stamp {
        let floor = self.get(key).map_or(0, |e| e.stamp.time + 1);
        Stamp {
            time: now.max(floor),
            node,
        }
    }

    /// The entries of leaf `bucket`.
    pub fn bucket_entries(&self, bucket: u32) -> impl Iterator<Item = (u64, &Lww)> {
        self.entries
            .range((bucket, 0)..=(bucket, u64::MAX))
            .map(|((_, k), e)| (*k, e))
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &Lww)> {
        self.entries.iter().map(|((_, k), e)| (*k, e))
    }

    /// How many registers (tombstones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The Merkle tree.
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// The root hash: a digest of the whole state.
    pub fn digest(&self) -> u64 {
        self.tree.root()
    }
}
