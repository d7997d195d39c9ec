//! The event queue: a priority queue ordered by (time, insertion sequence number).
//!
//! The sequence number makes the order total: two events at the same time come out in
//! the order they were scheduled, never by memory address or hash order. The heap is a
//! 4-ary min-heap (`dary_heap`), chosen over `std`'s binary heap by the engine benchmark
//! (`cargo bench -p sim-core`, see the `queue` group): shallower trees mean fewer cache
//! misses per pop on the sizes a simulation holds.

use std::cmp::Ordering;

use crate::time::SimTime;

/// One scheduled item with its position in the total order.
#[derive(Debug)]
struct Entry<T> {
    key: u128,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    // Reversed: the max-heap then yields the smallest key (earliest time, then lowest
    // sequence) first. One u128 comparison orders by time, then sequence.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A queue of items due at virtual times, yielding them in (time, insertion) order.
#[derive(Debug)]
pub struct EventQueue<T> {
    heap: dary_heap::QuaternaryHeap<Entry<T>>,
    next_seq: u64,
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
            heap: dary_heap::QuaternaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Schedules `item` at `time`, after everything already scheduled at that time.
    #[inline]
    pub fn push(&mut self, time: SimTime, item: T) {
        let key = (u128::from(time.0) << 64) | u128::from(self.next_seq);
        self.next_seq += 1;
        self.heap.push(Entry { key, item });
    }

    /// Removes and returns the earliest item and its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, T)> {
        self.heap
            .pop()
            .map(|e| (SimTime((e.key >> 64) as u64), e.item))
    }

    /// The time of the earliest item, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| SimTime((e.key >> 64) as u64))
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
    fn earliest_first() {
        let mut q = EventQueue::new();
        q.push(SimTime(30), "c");
        q.push(SimTime(10), "a");
        q.push(SimTime(20), "b");
        assert_eq!(q.peek_time(), Some(SimTime(10)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, x)| x)).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }
}
