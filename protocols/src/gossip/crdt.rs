//! Optimistically replicated data types (CRDTs): a last-writer-wins register with
//! tombstones, a grow-only counter and an observed-remove set. Each merge is
//! commutative, associative and idempotent, so replicas that exchange state in any order,
//! any number of times, end equal.

use std::collections::{BTreeMap, BTreeSet};

/// The order of writes to one register: the writer's clock, then its node id to break
/// ties, so any two stamps compare the same way on every replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp {
    /// The writer's local time (ns) when it wrote, raised past what it had seen.
    pub time: u64,
    /// The writer.
    pub node: u32,
}

/// A last-writer-wins register: a value or a tombstone (`None`) with the stamp of the
/// write that produced it. A delete is a write of a tombstone: it must be kept, or an
/// older value held by another replica would win the merge and bring the key back.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lww {
    /// Who wrote last, and when.
    pub stamp: Stamp,
    /// The value, `None` for a delete.
    pub value: Option<String>,
}

impl Lww {
    /// Whether `self` wins over `other` in a merge. Equal stamps come only from one write,
    /// but the value breaks the tie anyway so that the merge is a total order.
    pub fn beats(&self, other: &Lww) -> bool {
        (self.stamp, &self.value) > (other.stamp, &other.value)
    }

    /// The merge of two registers: the later write.
    pub fn merge(&self, other: &Lww) -> Lww {
        if other.beats(self) {
            other.clone()
        } else {
            self.clone()
        }
    }
}

/// A grow-only counter: one count per node, merged by taking the larger of each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GCounter {
    counts: BTreeMap<u32, u64>,
}

impl GCounter {
    /// Adds `n` on behalf of `node` (only `node` itself may do so).
    pub fn increment(&mut self, node: u32, n: u64) {
        *self.counts.entry(node).or_default() += n;
    }

    /// The total.
    pub fn value(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Takes in what `other` knows.
    pub fn merge(&mut self, other: &GCounter) {
        for (node, n) in &other.counts {
            let mine = self.counts.entry(*node).or_default();
            *mine = (*mine).max(*n);
        }
    }
}

/// A unique tag of one `add`: the adding node and its own sequence number.
pub type Tag = (u32, u64);

/// An observed-remove set: an element is present while some tag of an add of it has not
/// been removed. A remove takes out only the adds it has seen, so a concurrent add wins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OrSet<T: Ord> {
    adds: BTreeMap<T, BTreeSet<Tag>>,
    removed: BTreeSet<Tag>,
}

impl<T: Ord + Clone> OrSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        OrSet {
            adds: BTreeMap::new(),
            removed: BTreeSet::new(),
        }
    }

    /// Adds `elem` under a fresh `tag` (unique: the caller's node and sequence number).
    pub fn add(&mut self, elem: T, tag: Tag) {
        self.adds.entry(elem).or_default().insert(tag);
    }

    /// Removes `elem` as far as this replica has seen it added.
    pub fn remove(&mut self, elem: &T) {
        if let Some(tags) = self.adds.get(elem) {
            self.removed.extend(tags.iter().copied());
        }
    }

    /// Whether `elem` is present.
    pub fn contains(&self, elem: &T) -> bool {
        self.adds
            .get(elem)
            .is_some_and(|tags| tags.iter().any(|t| !self.removed.contains(t)))
    }

    /// The present elements, in order.
    pub fn elements(&self) -> Vec<T> {
        self.adds
            .keys()
            .filter(|e| self.contains(e))
            .cloned()
            .collect()
    }

    /// Takes in what `other` knows.
    pub fn merge(&mut self, other: &OrSet<T>) {
        for (elem, tags) in &other.adds {
            self.adds
                .entry(elem.clone())
                .or_default()
                .extend(tags.iter().copied());
        }
        self.removed.extend(other.removed.iter().copied());
    }
}
