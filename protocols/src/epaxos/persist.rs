//! EPaxos's durable state: one record per instance a replica knows (its promise and its
//! latest vote). Everything else — the interference index, what is executed, the
//! key-value store — is rebuilt from these records at a restart, by executing the
//! committed instances again. Writes are synced before anything that depends on them
//! leaves the replica (see `EPaxos::send`).

use std::collections::BTreeMap;

use sim_core::disk::Disk;

use super::instance::{InstanceId, Record};

const INSTANCES: &str = "ep.instance";

/// Every instance record on the disk.
pub(crate) fn load(disk: &Disk) -> BTreeMap<InstanceId, Record> {
    disk.range::<Record>(INSTANCES)
        .map(|(k, r)| (InstanceId::decode(k), r.clone()))
        .collect()
}

/// Records what the replica now knows of `inst` (not yet synced).
pub(crate) fn save(disk: &mut Disk, inst: InstanceId, record: &Record) {
    disk.put(INSTANCES, inst.encode(), record.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epaxos::instance::{Attrs, Status, Vote};
    use crate::multipaxos::Command;
    use crate::paxos::Ballot;
    use sim_core::NodeId;
    use sim_core::disk::DiskConfig;

    #[test]
    fn records_round_trip() {
        let mut d = Disk::new(DiskConfig::default());
        assert!(load(&d).is_empty());
        let i = InstanceId::new(NodeId(2), 7);
        let r = Record {
            promised: Ballot::new(3, NodeId(1)),
            vote: Some(Vote::new(
                Attrs {
                    command: Command::Noop,
                    seq: 4,
                    deps: vec![1, 0, 6],
                },
                Status::Accepted,
                Ballot::new(3, NodeId(1)),
            )),
        };
        save(&mut d, i, &r);
        save(&mut d, InstanceId::new(NodeId(0), 1), &Record::default());
        d.sync();
        let back = load(&d);
        assert_eq!(back.len(), 2);
        assert_eq!(back[&i], r);
        assert_eq!(back[&InstanceId::new(NodeId(0), 1)], Record::default());
    }
}
