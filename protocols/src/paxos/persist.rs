//! Basic Paxos's durable state. Acceptors keep, per instance, the highest ballot they
//! promised and the proposal they accepted; a proposer keeps, per instance, the highest
//! round it used, so that after a restart it never proposes in a ballot it already used;
//! learners keep what they learned. Writes are synced before anything that depends on them leaves the
//! node (see `Paxos::send`).

use super::Map;

use sim_core::disk::Disk;

use super::ballot::Ballot;
use super::messages::Accepted;

const ROUND: &str = "paxos.round";
const PROMISED: &str = "paxos.promised";
const ACCEPTED: &str = "paxos.accepted";
const CHOSEN: &str = "paxos.chosen";

/// One instance of an acceptor's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AcceptorSlot {
    /// The highest ballot promised (or accepted in).
    pub promised: Ballot,
    /// The proposal accepted last, the highest-ballot one.
    pub accepted: Option<Accepted>,
}

/// What a node finds on its disk when it starts.
pub(crate) struct Durable {
    pub rounds: Map<u64, u64>,
    pub acceptor: Map<u64, AcceptorSlot>,
    pub chosen: Map<u64, String>,
}

/// Reads the durable state (all empty on a fresh disk).
pub(crate) fn load(disk: &Disk) -> Durable {
    let rounds = disk.range::<u64>(ROUND).map(|(i, r)| (i, *r)).collect();
    let mut acceptor: Map<u64, AcceptorSlot> = Map::default();
    for (i, b) in disk.range::<Ballot>(PROMISED) {
        acceptor.entry(i).or_default().promised = *b;
    }
    for (i, a) in disk.range::<Accepted>(ACCEPTED) {
        acceptor.entry(i).or_default().accepted = Some(a.clone());
    }
    let chosen = disk
        .range::<String>(CHOSEN)
        .map(|(i, v)| (i, v.clone()))
        .collect();
    Durable {
        rounds,
        acceptor,
        chosen,
    }
}

/// Records the proposer's highest round in `instance` (not yet synced).
pub(crate) fn save_round(disk: &mut Disk, instance: u64, round: u64) {
    disk.put(ROUND, instance, round);
}

/// Records an acceptor's promise for `instance` (not yet synced).
pub(crate) fn save_promise(disk: &mut Disk, instance: u64, ballot: Ballot) {
    disk.put(PROMISED, instance, ballot);
}

/// Records an acceptor's accepted proposal for `instance` (not yet synced).
pub(crate) fn save_accepted(disk: &mut Disk, instance: u64, accepted: &Accepted) {
    disk.put(ACCEPTED, instance, accepted.clone());
}

/// Records a learned value (not yet synced).
pub(crate) fn save_chosen(disk: &mut Disk, instance: u64, value: &str) {
    disk.put(CHOSEN, instance, value.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::NodeId;
    use sim_core::disk::DiskConfig;

    #[test]
    fn round_trip_through_disk() {
        let mut d = Disk::new(DiskConfig::default());
        let fresh = load(&d);
        assert!(fresh.rounds.is_empty());
        assert!(fresh.acceptor.is_empty() && fresh.chosen.is_empty());
        let b = Ballot::new(3, NodeId(1));
        save_round(&mut d, 2, 7);
        save_promise(&mut d, 2, b);
        let a = Accepted {
            ballot: b,
            value: "x".into(),
        };
        save_accepted(&mut d, 2, &a);
        save_promise(&mut d, 5, Ballot::new(9, NodeId(0)));
        save_chosen(&mut d, 4, "y");
        let back = load(&d);
        assert_eq!(back.rounds[&2], 7);
        assert_eq!(
            back.acceptor[&2],
            AcceptorSlot {
                promised: b,
                accepted: Some(a)
            }
        );
        assert_eq!(back.acceptor[&5].accepted, None);
        assert_eq!(back.chosen[&4], "y");
    }
}
