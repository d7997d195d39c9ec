//! The search's memory: the set of operations linearized so far, and the configurations
//! (linearized set, state) already explored.
//!
//! Operations are numbered in invocation order, so a linearized set is nearly always a
//! run of ones followed by a few scattered bits near the frontier of the history. The
//! memo stores only that window (from the first word holding a zero to the last holding
//! a one) and keys it by an incremental Zobrist hash, so a configuration costs a few words
//! however long the history, and equality stays exact.

use rustc_hash::FxHashMap;

const NONE: u32 = u32::MAX;

/// The set of linearized operations, with its Zobrist hash and window kept up to date.
pub(crate) struct LinearizedSet {
    words: Vec<u64>,
    keys: Vec<u64>,
    hash: u64,
    /// Every word before `low` is all ones.
    low: usize,
    /// Every word from `high` on is all zeros.
    high: usize,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl LinearizedSet {
    pub(crate) fn new(n: usize) -> Self {
        LinearizedSet {
            words: vec![0; n.div_ceil(64)],
            keys: (0..n as u64).map(splitmix).collect(),
            hash: 0,
            low: 0,
            high: 0,
        }
    }

    pub(crate) fn contains(&self, op: u32) -> bool {
        self.words[op as usize / 64] & (1 << (op % 64)) != 0
    }

    pub(crate) fn insert(&mut self, op: u32) {
        let w = op as usize / 64;
        self.words[w] |= 1 << (op % 64);
        self.hash ^= self.keys[op as usize];
        self.high = self.high.max(w + 1);
        while self.low < self.words.len() && self.words[self.low] == !0 {
            self.low += 1;
        }
    }

    pub(crate) fn remove(&mut self, op: u32) {
        let w = op as usize / 64;
        self.words[w] &= !(1 << (op % 64));
        self.hash ^= self.keys[op as usize];
        self.low = self.low.min(w);
        while self.high > 0 && self.words[self.high - 1] == 0 {
            self.high -= 1;
        }
    }

    /// The words that are neither all ones before nor all zeros after, and where they
    /// start: with the hash, this determines the set.
    fn window(&self) -> (usize, &[u64]) {
        let high = self.high.max(self.low);
        (self.low, &self.words[self.low..high])
    }
}

/// The bytes a hash table of `heads` allocates for `capacity` entries: buckets for one
/// in eight more (its load factor), rounded up to a power of two, each an entry and a
/// control byte.
fn table_bytes(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two();
    buckets * (std::mem::size_of::<((u64, u32), u32)>() + 1)
}

/// One remembered configuration: where its window sits in the arena.
struct Slot {
    low: u32,
    start: u32,
    len: u32,
    next: u32,
}

/// The explored configurations.
pub(crate) struct Memo {
    heads: FxHashMap<(u64, u32), u32>,
    slots: Vec<Slot>,
    arena: Vec<u64>,
}

impl Memo {
    /// A memo sized for about `expected` configurations (it grows as needed).
    pub(crate) fn new(expected: usize) -> Self {
        Memo {
            heads: FxHashMap::with_capacity_and_hasher(expected, Default::default()),
            slots: Vec::with_capacity(expected),
            arena: Vec::with_capacity(expected),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The memory the memo holds: what its containers have allocated, not just what they
    /// use (each grows by doubling, so that can be twice as much).
    pub(crate) fn bytes(&self) -> usize {
        table_bytes(self.heads.capacity())
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.arena.capacity() * std::mem::size_of::<u64>()
    }

    /// How much more memory the memo may hold at once while `more` configurations are
    /// added: a container that has to grow, perhaps several times over, allocates each
    /// doubled buffer before it frees the one before, so at the last growth it holds the
    /// final buffer and the one of half its size. Windows are counted at the mean length
    /// of those stored so far.
    pub(crate) fn growth_bytes(&self, more: usize) -> usize {
        let words = self.arena.len().div_ceil(self.slots.len().max(1)).max(1);
        let final_capacity = |len: usize, capacity: usize, more: usize| {
            let needed = len + more;
            (needed > capacity).then(|| {
                let mut grown = capacity.max(4);
                while grown < needed {
                    grown *= 2;
                }
                grown
            })
        };
        let heads = final_capacity(self.heads.len(), self.heads.capacity(), more)
            .map_or(0, |c| table_bytes(c) + table_bytes(c / 2));
        let slots = final_capacity(self.slots.len(), self.slots.capacity(), more)
            .map_or(0, |c| (c + c / 2) * std::mem::size_of::<Slot>());
        let arena = final_capacity(self.arena.len(), self.arena.capacity(), more * words)
            .map_or(0, |c| (c + c / 2) * std::mem::size_of::<u64>());
        heads + slots + arena
    }

    fn push(&mut self, low: usize, window: &[u64]) -> u32 {
        let slot = self.slots.len() as u32;
        self.slots.push(Slot {
            low: low as u32,
            start: self.arena.len() as u32,
            len: window.len() as u32,
            next: NONE,
        });
        self.arena.extend_from_slice(window);
        slot
    }

    /// Records the configuration; `false` if it was already there.
    pub(crate) fn insert(&mut self, set: &LinearizedSet, state: u32) -> bool {
        let (low, window) = set.window();
        let key = (set.hash, state);
        let Some(&first) = self.heads.get(&key) else {
            let slot = self.push(low, window);
            self.heads.insert(key, slot);
            return true;
        };
        let mut slot = first as usize;
        loop {
            let s = &self.slots[slot];
            let stored = &self.arena[s.start as usize..(s.start + s.len) as usize];
            if s.low as usize == low && stored == window {
                return false;
            }
            if s.next == NONE {
                break;
            }
            slot = s.next as usize;
        }
        let new = self.push(low, window);
        self.slots[slot].next = new;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_identify_sets_exactly() {
        let mut a = LinearizedSet::new(300);
        let mut memo = Memo::new(0);
        assert!(memo.insert(&a, 0));
        assert!(!memo.insert(&a, 0));
        assert!(memo.insert(&a, 1));
        for op in 0..130 {
            a.insert(op);
        }
        a.insert(200);
        assert_eq!(a.window().0, 2);
        assert!(memo.insert(&a, 0));
        a.remove(200);
        a.remove(5);
        assert_eq!(a.window().0, 0);
        assert!(memo.insert(&a, 0));
        a.insert(5);
        assert!(memo.insert(&a, 0), "0..130 without 200 is new");
        a.insert(200);
        assert!(!memo.insert(&a, 0));
        assert!(a.contains(200) && !a.contains(201));
    }
}
