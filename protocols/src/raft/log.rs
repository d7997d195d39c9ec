//! The in-memory Raft log: entries indexed from 1, index 0 standing for the empty prefix
//! with term 0. A snapshot may replace a prefix: entries up to `snapshot_index` are then
//! gone (they are committed and folded into the snapshot's state), and that index keeps
//! only its term. The disk copy is kept in step by `persist`.

use super::messages::Entry;

/// A node's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftLog {
    snapshot_index: u64,
    snapshot_term: u64,
    /// The entries after the snapshot: `entries[0]` is at `snapshot_index + 1`.
    entries: Vec<Entry>,
}

impl RaftLog {
    /// A log holding `entries` at indices 1, 2, ….
    pub fn from_entries(entries: Vec<Entry>) -> Self {
        Self::from_parts(0, 0, entries)
    }

    /// A log whose prefix up to `snapshot_index` (of `snapshot_term`) is compacted, holding
    /// `entries` after it.
    pub fn from_parts(snapshot_index: u64, snapshot_term: u64, entries: Vec<Entry>) -> Self {
        RaftLog {
            snapshot_index,
            snapshot_term,
            entries,
        }
    }

    /// The last index folded into a snapshot (0 if none).
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    /// The term of the entry at the snapshot index.
    pub fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }

    /// Index of the last entry (0 when empty).
    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.entries.len() as u64
    }

    /// Term of the last entry (0 when empty).
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    fn position(&self, index: u64) -> Option<usize> {
        (index > self.snapshot_index).then(|| (index - self.snapshot_index - 1) as usize)
    }

    /// The entry at `index`, if present (not compacted, not past the end).
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        self.entries.get(self.position(index)?)
    }

    /// Whether `index` lies in the compacted prefix (before the snapshot index).
    pub fn is_compacted(&self, index: u64) -> bool {
        index < self.snapshot_index
    }

    /// The term at `index`: 0 for index 0, the snapshot's term at its index, `None` past
    /// the end or inside the compacted prefix.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            Some(self.snapshot_term)
        } else {
            self.entry(index).map(|e| e.term)
        }
    }

    /// The first index holding an entry of `term`, searching back from `from` over the
    /// run of entries of that term.
    pub fn first_index_of_term(&self, from: u64, term: u64) -> u64 {
        let mut i = from;
        while i > 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index at or below `from` holding an entry of `term`, if any.
    pub fn last_index_of_term(&self, from: u64, term: u64) -> Option<u64> {
        let mut i = from.min(self.last_index());
        while i > 0 {
            let t = self.term_at(i)?;
            if t == term {
                return Some(i);
            }
            if t < term {
                return None; // terms only grow along a log
            }
            i -= 1;
        }
        None
    }

    /// Entries from `from` (after the snapshot) on, at most `max_entries` of them and,
    /// beyond the first, at most `max_bytes` in all.
    pub fn slice(&self, from: u64, max_entries: usize, max_bytes: usize) -> Vec<Entry> {
        let start = self.position(from.max(1)).unwrap_or(0);
        let mut out = Vec::new();
        let mut bytes = 0;
        for e in self.entries.iter().skip(start).take(max_entries.max(1)) {
            bytes += e.size();
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(e.clone());
        }
        out
    }

    /// Appends one entry and returns its index.
    pub fn push(&mut self, entry: Entry) -> u64 {
        self.entries.push(entry);
        self.last_index()
    }

    /// Removes every entry from `index` on (never into the snapshot).
    pub fn truncate_from(&mut self, index: u64) {
        let keep = self
            .position(index.max(self.snapshot_index + 1))
            .unwrap_or(0);
        self.entries.truncate(keep);
    }

    /// Folds the prefix up to `index` into a snapshot; `index` must be present.
    pub fn compact_to(&mut self, index: u64) {
        let Some(term) = self.term_at(index) else {
            return;
        };
        if index <= self.snapshot_index {
            return;
        }
        let drop = (index - self.snapshot_index) as usize;
        self.entries.drain(..drop);
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// Replaces the whole log by a snapshot ending at `index` of `term`.
    pub fn reset_to(&mut self, index: u64, term: u64) {
        self.entries.clear();
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// The entries after the snapshot, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::super::messages::Command;
    use super::*;

    fn log(terms: &[u64]) -> RaftLog {
        RaftLog::from_entries(
            terms
                .iter()
                .map(|&term| Entry {
                    term,
                    command: Command::Noop,
                })
                .collect(),
        )
    }

    #[test]
    fn indices_terms_and_truncation() {
        let mut l = log(&[1, 1, 2, 4, 4, 4]);
        assert_eq!((l.last_index(), l.last_term()), (6, 4));
        assert_eq!(l.term_at(0), Some(0));
        assert_eq!(l.term_at(3), Some(2));
        assert_eq!(l.term_at(7), None);
        assert_eq!(l.first_index_of_term(6, 4), 4);
        assert_eq!(l.first_index_of_term(2, 1), 1);
        assert_eq!(l.last_index_of_term(6, 2), Some(3));
        assert_eq!(l.last_index_of_term(6, 3), None);
        assert_eq!(l.last_index_of_term(2, 4), None);
        l.truncate_from(4);
        assert_eq!((l.last_index(), l.last_term()), (3, 2));
        assert_eq!(
            l.push(Entry {
                term: 5,
                command: Command::Noop
            }),
            4
        );
    }

    #[test]
    fn slices_respect_count_and_byte_limits() {
        let l = log(&[1, 1, 1, 1, 1]);
        assert_eq!(l.slice(2, 10, 1 << 20).len(), 4);
        assert_eq!(l.slice(2, 2, 1 << 20).len(), 2);
        // Each noop entry is 32 bytes: 70 bytes fit two.
        assert_eq!(l.slice(1, 10, 70).len(), 2);
        // At least one entry, whatever the byte limit.
        assert_eq!(l.slice(1, 10, 1).len(), 1);
        assert!(l.slice(6, 10, 100).is_empty());
    }

    #[test]
    fn compaction_keeps_indices_and_the_boundary_term() {
        let mut l = log(&[1, 1, 2, 3, 3]);
        l.compact_to(3);
        assert_eq!((l.snapshot_index(), l.snapshot_term()), (3, 2));
        assert_eq!((l.last_index(), l.last_term()), (5, 3));
        assert_eq!(l.term_at(3), Some(2));
        assert_eq!(l.term_at(2), None);
        assert!(l.is_compacted(2) && !l.is_compacted(3));
        assert_eq!(l.entry(4).map(|e| e.term), Some(3));
        assert_eq!(l.slice(4, 10, 1 << 20).len(), 2);
        assert_eq!(l.first_index_of_term(5, 3), 4);
        l.truncate_from(5);
        assert_eq!(l.last_index(), 4);
        l.truncate_from(2); // never into the snapshot
        assert_eq!(l.last_index(), 3);
        l.reset_to(9, 4);
        assert_eq!((l.last_index(), l.last_term(), l.iter().count()), (9, 4, 0));
    }
}
