//! The in-memory Raft log: entries indexed from 1, index 0 standing for the empty prefix
//! with term 0. A snapshot may replace a prefix: entries up to `snapshot_index` are then
//! gone (they are committed and folded into the snapshot's state), and that index keeps
//! only its term. The disk copy is kept in step by `persist`.

use std::collections::BTreeMap;

use sim_core::NodeId;

use super::messages::{Command, Entry};

/// A node's log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RaftLog {
    snapshot_index: u64,
    snapshot_term: u64,
    /// The entries after the snapshot: `entries[0]` is at `snapshot_index + 1`.
    entries: Vec<Entry>,
    /// The configuration as of the snapshot index (`None`: the initial one).
    base_members: Option<Vec<NodeId>>,
    /// The configuration entries after the snapshot, by index: the last is in force.
    configs: BTreeMap<u64, Vec<NodeId>>,
}

impl RaftLog {
    /// A log holding `entries` at indices 1, 2, ….
    pub fn from_entries(entries: Vec<Entry>) -> Self {
        Self::from_parts(0, 0, entries)
    }

    /// A log whose prefix up to `snapshot_index` (of `snapshot_term`) is compacted, holding
    /// `entries` after it.
    pub fn from_parts(snapshot_index: u64, snapshot_term: u64, entries: Vec<Entry>) -> Self {
        let configs = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.command {
                Command::Config(m) => Some((snapshot_index + 1 + i as u64, m.clone())),
                _ => None,
            })
            .collect();
        RaftLog {
            snapshot_index,
            snapshot_term,
            entries,
            base_members: None,
            configs,
        }
    }

    /// The same log, with the configuration of its snapshot.
    pub fn with_base_members(mut self, members: Option<Vec<NodeId>>) -> Self {
        self.base_members = members;
        self
    }

    /// The configuration in force: that of the last configuration entry, or of the
    /// snapshot; `None` if neither has one (the initial configuration).
    pub fn members(&self) -> Option<&[NodeId]> {
        self.configs
            .values()
            .next_back()
            .or(self.base_members.as_ref())
            .map(Vec::as_slice)
    }

    /// The configuration as of `index` (at or after the snapshot index), as
    /// [`RaftLog::members`] for the log cut there.
    pub fn members_at(&self, index: u64) -> Option<Vec<NodeId>> {
        self.configs
            .range(..=index)
            .next_back()
            .map(|(_, m)| m)
            .or(self.base_members.as_ref())
            .cloned()
    }

    /// The index of the last configuration entry still in the log (0 if none).
    pub fn config_index(&self) -> u64 {
        self.configs.keys().next_back().copied().unwrap_or(0)
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
        let index = self.last_index() + 1;
        if let Command::Config(m) = &entry.command {
            self.configs.insert(index, m.clone());
        }
        self.entries.push(entry);
        index
    }

    /// Removes every entry from `index` on (never into the snapshot).
    pub fn truncate_from(&mut self, index: u64) {
        let keep = self
            .position(index.max(self.snapshot_index + 1))
            .unwrap_or(0);
        self.entries.truncate(keep);
        // A configuration entry that goes takes its configuration with it (the one
        // before it is in force again).
        self.configs.split_off(&(self.last_index() + 1));
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
        self.base_members = self.members_at(index);
        self.configs = self.configs.split_off(&(index + 1));
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// Replaces the whole log by a snapshot ending at `index` of `term`, taken in the
    /// configuration `members`.
    pub fn reset_to(&mut self, index: u64, term: u64, members: Option<Vec<NodeId>>) {
        self.entries.clear();
        self.configs.clear();
        self.base_members = members;
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
        l.reset_to(9, 4, None);
        assert_eq!((l.last_index(), l.last_term(), l.iter().count()), (9, 4, 0));
    }

    #[test]
    fn the_last_configuration_entry_is_in_force_until_truncated_or_compacted() {
        let config = |nodes: &[u32]| Entry {
            term: 1,
            command: Command::Config(nodes.iter().map(|&n| NodeId(n)).collect()),
        };
        let ids = |nodes: &[u32]| nodes.iter().map(|&n| NodeId(n)).collect::<Vec<_>>();
        let mut l = log(&[1, 1]);
        assert_eq!(l.members(), None, "the initial configuration");
        l.push(config(&[0, 1, 2]));
        l.push(config(&[0, 1, 2, 3]));
        l.push(Entry {
            term: 1,
            command: Command::Noop,
        });
        assert_eq!(l.members(), Some(&ids(&[0, 1, 2, 3])[..]));
        assert_eq!(
            (l.config_index(), l.members_at(3)),
            (4, Some(ids(&[0, 1, 2])))
        );
        l.truncate_from(4);
        assert_eq!(
            l.members(),
            Some(&ids(&[0, 1, 2])[..]),
            "back to the one before"
        );
        l.push(config(&[1, 2]));
        l.compact_to(4);
        assert_eq!(l.members(), Some(&ids(&[1, 2])[..]), "kept by the snapshot");
        assert_eq!(l.config_index(), 0);
        let reloaded = RaftLog::from_parts(4, 1, Vec::new()).with_base_members(Some(ids(&[1, 2])));
        assert_eq!(reloaded.members(), l.members());
        l.reset_to(9, 2, None);
        assert_eq!(l.members(), None);
    }
}
