//! Multi-Paxos's durable state: the acceptor's promise (one ballot for every slot) and its
//! accepted slots, its latest snapshot, and the highest round it used as a candidate.
//! Which slots are chosen is not kept: a restarted replica learns it again from the
//! leader, as one that was cut off does (a write per slot saved on every replica). Writes are synced before anything that depends
//! on them leaves the node (see `MultiPaxos::send`); a snapshot and the deletion of the
//! slots it covers go in one sync, which the disk applies atomically.

use std::collections::BTreeMap;

use sim_core::disk::Disk;

use super::messages::{Command, Snapshot};
use crate::paxos::Ballot;

const PROMISED: &str = "mp.promised";
const ROUND: &str = "mp.round";
const ACCEPTED: &str = "mp.accepted";
const SNAPSHOT: &str = "mp.snapshot";

/// What a node finds on its disk when it starts.
pub(crate) struct Durable {
    pub promised: Ballot,
    pub round: u64,
    pub accepted: BTreeMap<u64, (Ballot, Command)>,
    pub snapshot: Option<Snapshot>,
}

/// Reads the durable state (all empty on a fresh disk).
pub(crate) fn load(disk: &Disk) -> Durable {
    let snapshot = disk.get::<Snapshot>(SNAPSHOT, 0).cloned();
    let base = snapshot.as_ref().map_or(0, |s| s.slot);
    Durable {
        promised: disk.get::<Ballot>(PROMISED, 0).copied().unwrap_or_default(),
        round: disk.get::<u64>(ROUND, 0).copied().unwrap_or(0),
        accepted: disk
            .range::<(Ballot, Command)>(ACCEPTED)
            .filter(|(s, _)| *s > base)
            .map(|(s, a)| (s, a.clone()))
            .collect(),
        snapshot,
    }
}

/// Records the acceptor's promise (not yet synced).
pub(crate) fn save_promise(disk: &mut Disk, ballot: Ballot) {
    disk.put(PROMISED, 0, ballot);
}

/// Records the highest round used as a candidate (not yet synced).
pub(crate) fn save_round(disk: &mut Disk, round: u64) {
    disk.put(ROUND, 0, round);
}

/// Records an accepted slot (not yet synced).
pub(crate) fn save_accepted(disk: &mut Disk, slot: u64, ballot: Ballot, command: &Command) {
    disk.put(ACCEPTED, slot, (ballot, command.clone()));
}

/// Records a snapshot and drops the accepted slots it covers, `covered` (not yet synced).
pub(crate) fn save_snapshot(
    disk: &mut Disk,
    snapshot: Snapshot,
    covered: impl IntoIterator<Item = u64>,
) {
    for s in covered {
        disk.delete(ACCEPTED, s);
    }
    disk.put(SNAPSHOT, 0, snapshot);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::KvStore;
    use sim_core::NodeId;
    use sim_core::disk::DiskConfig;

    #[test]
    fn round_trip_through_disk_and_a_snapshot_drops_the_slots_it_covers() {
        let mut d = Disk::new(DiskConfig::default());
        let fresh = load(&d);
        assert_eq!((fresh.promised, fresh.round), (Ballot::ZERO, 0));
        let b = Ballot::new(2, NodeId(1));
        save_promise(&mut d, b);
        save_round(&mut d, 4);
        for s in 1..=4 {
            save_accepted(&mut d, s, b, &Command::Noop);
        }
        let back = load(&d);
        assert_eq!((back.promised, back.round), (b, 4));
        assert_eq!(back.accepted.len(), 4);
        save_snapshot(
            &mut d,
            Snapshot {
                slot: 2,
                kv: KvStore::new(),
            },
            [1, 2],
        );
        let snap = load(&d);
        assert_eq!(snap.snapshot.map(|s| s.slot), Some(2));
        assert_eq!(
            snap.accepted.keys().copied().collect::<Vec<_>>(),
            vec![3, 4]
        );
    }
}
