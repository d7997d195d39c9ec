//! PBFT's durable state, so that a replica that crashes and restarts never contradicts
//! what it said before (two digests for one sequence number in one view) and never
//! forgets a certificate it may have to report in a view change: its view, the log of
//! every sequence number above its stable checkpoint (proposals, votes heard, its own
//! votes and certificates), the NEW-VIEW that started its view (so that it can still
//! bring others into it), and the stable checkpoint with its state and proof. Writes
//! are synced before anything that depends on them leaves the node.

use std::collections::BTreeMap;

use sim_core::disk::Disk;

use super::log::Entry;
use super::messages::{NewView, StableState};
use crate::kv::KvStore;
use sim_core::auth::Signed;

const VIEW: &str = "pbft.view";
const ENTRY: &str = "pbft.entry";
const STABLE: &str = "pbft.stable";
const NEW_VIEW: &str = "pbft.new_view";

/// What a replica finds on its disk when it starts.
pub(crate) struct Durable {
    /// The view and whether it had started there (false: in the view change to it).
    pub view: (u64, bool),
    pub log: BTreeMap<u64, Entry>,
    pub stable: StableState,
    /// The NEW-VIEW that started the view, for replicas that missed it.
    pub new_view: Option<Box<Signed<NewView>>>,
}

/// Reads the durable state (view 0, started, an empty log and state on a fresh disk).
pub(crate) fn load(disk: &Disk) -> Durable {
    let stable = disk
        .get::<StableState>(STABLE, 0)
        .cloned()
        .unwrap_or(StableState {
            seq: 0,
            kv: KvStore::new(),
            proof: Vec::new(),
        });
    Durable {
        view: disk
            .get::<(u64, bool)>(VIEW, 0)
            .copied()
            .unwrap_or((0, true)),
        log: disk
            .range::<Entry>(ENTRY)
            .filter(|(s, _)| *s > stable.seq)
            .map(|(s, e)| (s, e.clone()))
            .collect(),
        stable,
        new_view: disk.get::<Box<Signed<NewView>>>(NEW_VIEW, 0).cloned(),
    }
}

/// Records the view (not yet synced).
pub(crate) fn save_view(disk: &mut Disk, view: u64, active: bool) {
    disk.put(VIEW, 0, (view, active));
}

/// Records the NEW-VIEW that started the view (not yet synced).
pub(crate) fn save_new_view(disk: &mut Disk, new_view: &Signed<NewView>) {
    disk.put(NEW_VIEW, 0, Box::new(new_view.clone()));
}

/// Records one sequence number's log (not yet synced).
pub(crate) fn save_entry(disk: &mut Disk, seq: u64, entry: &Entry) {
    disk.put(ENTRY, seq, entry.clone());
}

/// Records a stable checkpoint and drops the log it covers, `covered` (not yet synced).
pub(crate) fn save_stable(
    disk: &mut Disk,
    stable: &StableState,
    covered: impl IntoIterator<Item = u64>,
) {
    for s in covered {
        disk.delete(ENTRY, s);
    }
    disk.put(STABLE, 0, stable.clone());
}
