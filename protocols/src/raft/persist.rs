//! Raft's durable state on the node's disk: term, vote, log entries and the latest
//! snapshot. Writes are synced by the node before it sends anything that depends on them
//! (see `Raft::send`); a snapshot and the deletion of the entries it replaces go in one
//! sync, which the disk applies atomically.

use sim_core::NodeId;
use sim_core::disk::Disk;

use super::log::RaftLog;
use super::messages::{Entry, Snapshot};

const TERM: &str = "raft.term";
const VOTE: &str = "raft.vote";
const LOG: &str = "raft.log";
const SNAPSHOT: &str = "raft.snapshot";

/// What a node finds on its disk when it starts.
pub(crate) struct Durable {
    pub term: u64,
    pub voted_for: Option<NodeId>,
    pub log: RaftLog,
    pub snapshot: Option<Snapshot>,
}

/// Reads the durable state (all empty on a fresh disk).
pub(crate) fn load(disk: &Disk) -> Durable {
    let term = disk.get::<u64>(TERM, 0).copied().unwrap_or(0);
    let voted_for = disk.get::<Option<NodeId>>(VOTE, 0).copied().flatten();
    let snapshot = disk.get::<Snapshot>(SNAPSHOT, 0).cloned();
    let (base, base_term) = snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
    let mut entries = Vec::new();
    for (i, e) in disk.range::<Entry>(LOG) {
        if i <= base {
            continue;
        }
        // Entries are written contiguously after the snapshot; a gap would mean a torn
        // write, and everything after it is unusable.
        if i != base + entries.len() as u64 + 1 {
            break;
        }
        entries.push(e.clone());
    }
    Durable {
        term,
        voted_for,
        log: RaftLog::from_parts(base, base_term, entries)
            .with_base_members(snapshot.as_ref().and_then(|s| s.members.clone())),
        snapshot,
    }
}

/// Records the term and vote (not yet synced).
pub(crate) fn save_hard_state(disk: &mut Disk, term: u64, voted_for: Option<NodeId>) {
    disk.put(TERM, 0, term);
    disk.put(VOTE, 0, voted_for);
}

/// Records one entry at `index` (not yet synced).
pub(crate) fn save_entry(disk: &mut Disk, index: u64, entry: &Entry) {
    disk.put(LOG, index, entry.clone());
}

/// Records a snapshot and drops the entries it replaces, from `first` (the first index
/// still on disk) up to its index (not yet synced).
pub(crate) fn save_snapshot(disk: &mut Disk, snapshot: Snapshot, first: u64) {
    for i in first..=snapshot.index {
        disk.delete(LOG, i);
    }
    disk.put(SNAPSHOT, 0, snapshot);
}

/// Removes entries from `index` on (not yet synced).
pub(crate) fn truncate(disk: &mut Disk, index: u64) {
    disk.delete_from(LOG, index);
}

#[cfg(test)]
mod tests {
    use super::super::messages::Command;
    use super::*;
    use crate::kv::KvStore;
    use sim_core::disk::DiskConfig;

    #[test]
    fn round_trip_through_disk() {
        let mut d = Disk::new(DiskConfig::default());
        let fresh = load(&d);
        assert_eq!(
            (fresh.term, fresh.voted_for, fresh.log.last_index()),
            (0, None, 0)
        );
        save_hard_state(&mut d, 3, Some(NodeId(2)));
        for i in 1..=3 {
            save_entry(
                &mut d,
                i,
                &Entry {
                    term: i,
                    command: Command::Noop,
                },
            );
        }
        truncate(&mut d, 3);
        let back = load(&d);
        assert_eq!(back.term, 3);
        assert_eq!(back.voted_for, Some(NodeId(2)));
        assert_eq!(back.log.last_index(), 2);
        assert_eq!(back.log.last_term(), 2);
        assert!(back.snapshot.is_none());
        save_snapshot(
            &mut d,
            Snapshot {
                index: 1,
                term: 1,
                kv: KvStore::new(),
                members: Some(vec![NodeId(0), NodeId(1)]),
            },
            1,
        );
        let snap = load(&d);
        assert_eq!(snap.log.snapshot_index(), 1);
        assert_eq!((snap.log.last_index(), snap.log.last_term()), (2, 2));
        assert_eq!(snap.snapshot.map(|s| s.index), Some(1));
        assert_eq!(snap.log.members(), Some(&[NodeId(0), NodeId(1)][..]));
    }
}
