//! The event queue: a priority queue ordered by (time, insertion sequence number).
//!
//! The sequence number makes the order total: two events at the same time come out in
//! the order they were scheduled, never by memory address or hash order.
//!
//! Layout, chosen by the engine benchmark (`cargo bench -p sim-core --bench engine`): a
//! 4-ary min-heap of bare 128-bit keys — time in the high 64 bits, then a 36-bit sequence
//! number, then a 28-bit slot — while the events themselves sit still in a slab indexed
//! by slot. Sifting moves 16-byte integers instead of whole events, the shallower 4-ary
//! tree costs fewer cache misses per pop than a binary one, and a heap specialised to
//! integer keys runs about half the instructions of the generic `dary_heap` crate per pop
//! (measured with `perf stat` on the benchmark; both are kept in the benchmark's bare
//! loops for comparison). Pops use Floyd's bottom-up deletion.
//!
//! Once more than a few thousand events are pending (a thousand nodes gossiping), the
//! keys move to a monotone radix heap instead, whose pushes compare nothing and whose
//! buckets stay in cache where a deep heap's levels do not (`AdaptiveHeap`).

use crate::time::SimTime;

const SLOT_BITS: u32 = 28;
const SEQ_BITS: u32 = 64 - SLOT_BITS;
const SLOT_MASK: u128 = (1 << SLOT_BITS) - 1;

/// A queue of items due at virtual times, yielding them in (time, insertion) order.
#[derive(Clone, Debug)]
pub struct EventQueue<T> {
    heap: AdaptiveHeap,
    slab: Vec<Option<T>>,
    free: Vec<u32>,
    next_seq: u64,
    /// The time of the last item taken out: nothing can be scheduled before it.
    now: SimTime,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: AdaptiveHeap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// Schedules `item` at `time`, after everything already scheduled at that time. A time
    /// before the last item taken out counts as that time: the past is now.
    ///
    /// # Panics
    /// Beyond 2^36 (69 billion) insertions in one queue, or 2^28 (268 million) items
    /// pending at once: far past any run's event limit or memory.
    #[inline]
    pub fn push(&mut self, time: SimTime, item: T) {
        let time = time.max(self.now);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(item);
                s
            }
            None => {
                self.slab.push(Some(item));
                self.heap.grew(u128::from(self.now.0) << 64);
                (self.slab.len() - 1) as u32
            }
        };
        assert!(
            u128::from(slot) <= SLOT_MASK && self.next_seq < (1 << SEQ_BITS),
            "event queue capacity exceeded"
        );
        let key = (u128::from(time.0) << 64)
            | (u128::from(self.next_seq) << SLOT_BITS)
            | u128::from(slot);
        self.next_seq += 1;
        self.heap.push(key);
    }

    /// Removes and returns the earliest item and its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, T)> {
        let key = self.heap.pop()?;
        let slot = (key & SLOT_MASK) as u32;
        self.free.push(slot);
        let item = self.slab[slot as usize].take()?;
        self.now = SimTime((key >> 64) as u64);
        Some((self.now, item))
    }

    /// Takes every item out, in (time, insertion) order, handing each to `f`. Unlike
    /// [`EventQueue::pop`] it does not move the queue's notion of now: what is pushed
    /// next may be scheduled before the items drained (a stepped run decides the order).
    pub fn drain_into(&mut self, mut f: impl FnMut(SimTime, T)) {
        let now = self.now;
        while let Some((t, item)) = self.pop() {
            f(t, item);
        }
        self.now = now;
    }

    /// The time of the earliest item, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|k| SimTime((k >> 64) as u64))
    }

    /// How many items are scheduled.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// How many items were ever scheduled (the next sequence number).
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

/// Queues longer than this switch to the radix heap...
const TO_RADIX: usize = 4096;
/// ...and back to the 4-ary heap below this (the gap keeps a queue that hovers around one
/// size from switching back and forth).
const TO_HEAP: usize = 1024;

/// The key heap of the event queue: a 4-ary heap while the queue is short, where its
/// few comparisons win, and a radix heap once it is long, where the heap's cache misses
/// per level lose (measured by `cargo bench -p sim-core --bench engine`: at 5 nodes the
/// 4-ary heap runs fewer instructions per event; at 1 000 nodes, with a million messages
/// in flight, the radix heap runs the engine about 2.5x faster).
#[derive(Clone, Debug)]
enum AdaptiveHeap {
    Short(KeyHeap),
    Long(RadixHeap),
}

impl Default for AdaptiveHeap {
    fn default() -> Self {
        AdaptiveHeap::Short(KeyHeap::default())
    }
}

impl AdaptiveHeap {
    #[inline]
    fn push(&mut self, key: u128) {
        match self {
            AdaptiveHeap::Short(h) => h.push(key),
            AdaptiveHeap::Long(r) => r.push(key),
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<u128> {
        match self {
            AdaptiveHeap::Short(h) => h.pop(),
            AdaptiveHeap::Long(r) => {
                let k = r.pop();
                if r.len() < TO_HEAP {
                    self.switch_to_heap();
                }
                k
            }
        }
    }

    /// Switches to the radix heap if the queue has grown long; called when the slab
    /// grows, which a queue of steady length never does, so the push path pays nothing.
    #[cold]
    fn grew(&mut self, floor: u128) {
        if let AdaptiveHeap::Short(h) = self
            && h.len() > TO_RADIX
        {
            let keys = std::mem::take(&mut h.keys);
            // Every key, pending or yet to come, is at least `floor`.
            let mut r = RadixHeap {
                last: floor,
                ..RadixHeap::default()
            };
            keys.into_iter().for_each(|k| r.push(k));
            *self = AdaptiveHeap::Long(r);
        }
    }

    #[cold]
    fn switch_to_heap(&mut self) {
        if let AdaptiveHeap::Long(r) = self {
            let mut h = KeyHeap::default();
            r.buckets
                .iter_mut()
                .flat_map(|b| b.drain(..))
                .for_each(|k| h.push(k));
            *self = AdaptiveHeap::Short(h);
        }
    }

    fn peek(&self) -> Option<u128> {
        match self {
            AdaptiveHeap::Short(h) => h.peek(),
            AdaptiveHeap::Long(r) => r.peek(),
        }
    }

    fn len(&self) -> usize {
        match self {
            AdaptiveHeap::Short(h) => h.len(),
            AdaptiveHeap::Long(r) => r.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A 4-ary min-heap of distinct integer keys.
#[derive(Clone, Debug, Default)]
pub struct KeyHeap {
    keys: Vec<u128>,
}

impl KeyHeap {
    /// Adds a key.
    #[inline]
    pub fn push(&mut self, key: u128) {
        let mut i = self.keys.len();
        self.keys.push(key);
        while i > 0 {
            let parent = (i - 1) / 4;
            let p = self.keys[parent];
            if p <= key {
                break;
            }
            self.keys[i] = p;
            i = parent;
        }
        self.keys[i] = key;
    }

    /// Removes the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<u128> {
        let last = self.keys.pop()?;
        let Some(&top) = self.keys.first() else {
            return Some(last);
        };
        // Floyd's bottom-up deletion: walk the hole from the root down to a leaf along
        // the smallest children without comparing against `last` (the walk's exit is
        // then predictable), and sift `last` up from there, which is short because the
        // last key of a heap belongs near the bottom.
        let n = self.keys.len();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first + 4 <= n {
                // A full family: a branch-free tournament of four.
                let c: &[u128; 4] = match self.keys[first..first + 4].try_into() {
                    Ok(c) => c,
                    Err(_) => break,
                };
                let (a, ai) = if c[1] < c[0] { (c[1], 1) } else { (c[0], 0) };
                let (b, bi) = if c[3] < c[2] { (c[3], 3) } else { (c[2], 2) };
                let (best, best_key) = if b < a { (bi, b) } else { (ai, a) };
                self.keys[i] = best_key;
                i = first + best;
            } else {
                if first < n {
                    // The one partial family; its members have no children.
                    let children = &self.keys[first..n];
                    let mut best = 0;
                    for (j, &c) in children.iter().enumerate() {
                        if c < children[best] {
                            best = j;
                        }
                    }
                    self.keys[i] = children[best];
                    i = first + best;
                }
                break;
            }
        }
        while i > 0 {
            let parent = (i - 1) / 4;
            let p = self.keys[parent];
            if p <= last {
                break;
            }
            self.keys[i] = p;
            i = parent;
        }
        self.keys[i] = last;
        Some(top)
    }

    /// The smallest key.
    #[inline]
    pub fn peek(&self) -> Option<u128> {
        self.keys.first().copied()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A monotone radix heap of distinct 128-bit keys: every key pushed must be at least the
/// last key popped, which a discrete-event simulation guarantees (nothing is scheduled in
/// the past). A key lives in the bucket of the highest bit in which it differs from the
/// last key popped; a pop empties the lowest non-empty bucket by moving its keys to lower
/// buckets around its minimum. Each key moves a few times in all, so push is O(1) and pop
/// amortised O(log range), with no comparisons on the push path.
#[derive(Clone, Debug)]
pub struct RadixHeap {
    last: u128,
    len: usize,
    /// Bucket `b` holds keys whose highest bit differing from `last` is bit `b - 1`;
    /// bucket 0 holds keys equal to `last`.
    buckets: Vec<Vec<u128>>,
    /// Bit `b` set when bucket `b` is non-empty (129 buckets over three words).
    occupied: [u64; 3],
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            len: 0,
            buckets: (0..=128).map(|_| Vec::new()).collect(),
            occupied: [0; 3],
        }
    }
}

impl RadixHeap {
    #[inline]
    fn bucket_of(&self, key: u128) -> usize {
        (128 - (key ^ self.last).leading_zeros()) as usize
    }

    #[inline]
    fn put(&mut self, b: usize, key: u128) {
        self.buckets[b].push(key);
        self.occupied[b >> 6] |= 1 << (b & 63);
    }

    /// Adds a key, which must not be below the last key popped.
    #[inline]
    pub fn push(&mut self, key: u128) {
        debug_assert!(key >= self.last, "radix heap keys must be monotone");
        let b = self.bucket_of(key);
        self.put(b, key);
        self.len += 1;
    }

    /// Removes the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<u128> {
        if self.len == 0 {
            return None;
        }
        if self.occupied[0] & 1 == 0 {
            self.refill();
        }
        let key = self.buckets[0].pop()?;
        if self.buckets[0].is_empty() {
            self.occupied[0] &= !1;
        }
        self.len -= 1;
        Some(key)
    }

    /// Empties the lowest non-empty bucket into lower ones around its minimum, which
    /// becomes the new `last` and lands in bucket 0.
    fn refill(&mut self) {
        let b = if self.occupied[0] != 0 {
            self.occupied[0].trailing_zeros() as usize
        } else if self.occupied[1] != 0 {
            64 + self.occupied[1].trailing_zeros() as usize
        } else {
            128
        };
        let mut keys = std::mem::take(&mut self.buckets[b]);
        self.occupied[b >> 6] &= !(1 << (b & 63));
        let min = keys.iter().copied().min().unwrap_or(self.last);
        self.last = min;
        for &k in &keys {
            let nb = self.bucket_of(k);
            self.put(nb, k);
        }
        keys.clear();
        // Keep the allocation: bucket `b` fills again later.
        self.buckets[b] = keys;
    }

    /// The smallest key.
    pub fn peek(&self) -> Option<u128> {
        if self.len == 0 {
            return None;
        }
        let b = (0..3)
            .find(|&w| self.occupied[w] != 0)
            .map(|w| w * 64 + self.occupied[w].trailing_zeros() as usize)?;
        self.buckets[b].iter().copied().min()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_keep_insertion_order() {
        let mut q = EventQueue::new();
        for i in 0..1000u32 {
            // Three distinct times, interleaved, so the heap must really reorder.
            q.push(SimTime(u64::from(i % 3)), i);
        }
        let mut last: Option<(SimTime, u32)> = None;
        let mut count = 0;
        while let Some((t, i)) = q.pop() {
            if let Some((lt, li)) = last {
                assert!(t > lt || (t == lt && i > li), "{lt:?}/{li} then {t:?}/{i}");
            }
            last = Some((t, i));
            count += 1;
        }
        assert_eq!(count, 1000);
    }

    #[test]
    fn interleaved_pushes_and_pops_match_a_sorted_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u64)> = Vec::new(); // (time, insertion number)
        let mut now = 0u64;
        for i in 0..20_000u64 {
            if rng.random_bool(0.55) || reference.is_empty() {
                let t = now + rng.random_range(0..50);
                q.push(SimTime(t), i);
                reference.push((t, i));
            } else {
                reference.sort();
                let (t, i) = reference.remove(0);
                assert_eq!(q.pop(), Some((SimTime(t), i)));
                now = t;
            }
            assert_eq!(q.len(), reference.len());
        }
        assert!(q.slab.len() < 20_000, "slots are reused");
    }

    #[test]
    fn earliest_first() {
        let mut q = EventQueue::new();
        q.push(SimTime(30), "c");
        q.push(SimTime(10), "a");
        q.push(SimTime(20), "b");
        assert_eq!(q.peek_time(), Some(SimTime(10)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, x)| x)).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn growing_past_the_radix_threshold_and_back_keeps_the_order() {
        use rand::{Rng, SeedableRng};
        use std::cmp::Reverse;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut q = EventQueue::new();
        let mut reference = std::collections::BinaryHeap::new();
        let mut now = 0u64;
        let mut n = 0u64;
        let mut saw_long = false;
        // Three phases: grow far past the switch, churn while long, drain to short.
        for (steps, p_push) in [(3 * TO_RADIX, 0.9), (20_000, 0.5), (6 * TO_RADIX, 0.1)] {
            for _ in 0..steps {
                if rng.random_bool(p_push) || reference.is_empty() {
                    // Some events land exactly now, the rest up to 10 000 ticks later.
                    let t = now
                        + if rng.random_bool(0.2) {
                            0
                        } else {
                            rng.random_range(0..10_000)
                        };
                    q.push(SimTime(t), n);
                    reference.push(Reverse((t, n)));
                    n += 1;
                } else {
                    let Reverse((t, i)) = reference.pop().expect("not empty");
                    assert_eq!(q.pop(), Some((SimTime(t), i)));
                    now = t;
                }
                assert_eq!(q.len(), reference.len());
                saw_long |= matches!(q.heap, AdaptiveHeap::Long(_));
            }
        }
        assert!(saw_long, "the queue switched to the radix heap");
        assert!(matches!(q.heap, AdaptiveHeap::Short(_)), "and back");
        while let Some(Reverse((t, i))) = reference.pop() {
            assert_eq!(q.pop(), Some((SimTime(t), i)));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn a_time_in_the_past_counts_as_now() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), "first");
        q.push(SimTime(20), "later");
        assert_eq!(q.pop(), Some((SimTime(10), "first")));
        q.push(SimTime(5), "late");
        assert_eq!(q.pop(), Some((SimTime(10), "late")));
        assert_eq!(q.pop(), Some((SimTime(20), "later")));
    }
}
