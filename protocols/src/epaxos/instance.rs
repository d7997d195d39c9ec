//! The instance space: what a replica knows of each instance (its promise and its latest
//! vote), and the interference index from which new attributes are computed.

use std::collections::BTreeMap;

use sim_core::NodeId;
use sim_core::history::Operation;

use crate::multipaxos::Command;
use crate::paxos::Ballot;

/// Bits of [`InstanceId::encode`] that hold the slot.
const SLOT_BITS: u32 = 44;

/// An instance: the `slot`-th command that `replica` leads (slots start at 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId {
    /// The replica whose instance space it is in (its original command leader).
    pub replica: u32,
    /// Its number there.
    pub slot: u64,
}

impl InstanceId {
    /// Instance `slot` of `replica`.
    pub fn new(replica: NodeId, slot: u64) -> Self {
        InstanceId {
            replica: replica.0,
            slot,
        }
    }
    /// One number per instance, for observations and disk indices.
    pub fn encode(self) -> u64 {
        (u64::from(self.replica) << SLOT_BITS) | self.slot
    }
    /// The instance [`InstanceId::encode`] made.
    pub fn decode(v: u64) -> Self {
        InstanceId {
            replica: (v >> SLOT_BITS) as u32,
            slot: v & ((1 << SLOT_BITS) - 1),
        }
    }
    /// The replica that owns the instance space.
    pub fn leader(self) -> NodeId {
        NodeId(self.replica)
    }
}

/// How far an instance's attributes have got at a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Pre-accepted: the replica computed (or agreed to) these attributes in phase 1.
    PreAccepted,
    /// Accepted in phase 2 (the slow path, or a recovery).
    Accepted,
    /// Committed: the attributes are final.
    Committed,
}

/// A command with its attributes: the sequence number and, per replica, the highest
/// instance it depends on (it depends on every instance of that replica up to there that
/// interferes with it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attrs {
    /// The command (or a no-op a recovery chose).
    pub command: Command,
    /// Orders the commands of one strongly connected component.
    pub seq: u64,
    /// Per replica, the highest instance depended on (0: none).
    pub deps: Vec<u64>,
}

/// What a replica voted for an instance: the attributes, how far they got, and the
/// ballot they were set in (Sutra's `vbal`, kept apart from the promise).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Vote {
    /// The attributes.
    pub attrs: Attrs,
    /// How far they got.
    pub status: Status,
    /// The ballot they were voted in.
    pub ballot: Ballot,
    /// A pre-accept of the leader's own attributes, unchanged: only such votes (or the
    /// votes of an unwidened thrifty fast quorum) can have made a fast-path commit, so a
    /// recovery that finds votes that differ counts these.
    pub eq: bool,
    /// A pre-accept made when every interfering instance its dependencies name was
    /// committed at this replica (the optimized fast path needs one such): fixed with
    /// the attributes, and answered again unchanged to a resend.
    pub deps_committed: bool,
}

impl Vote {
    /// A vote for `attrs` with `status` in `ballot`, neither flag set.
    pub fn new(attrs: Attrs, status: Status, ballot: Ballot) -> Self {
        Vote {
            attrs,
            status,
            ballot,
            eq: false,
            deps_committed: false,
        }
    }
}

/// What a replica knows of one instance: its promise and its vote, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Record {
    /// The highest ballot it joined for the instance: it refuses messages of lower ones.
    pub promised: Ballot,
    /// Its latest vote.
    pub vote: Option<Vote>,
}

impl Record {
    /// Whether the instance is committed here.
    pub fn committed(&self) -> bool {
        self.vote
            .as_ref()
            .is_some_and(|v| v.status == Status::Committed)
    }
}

/// How a command touches the store: its key, and whether it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// The key.
    pub key: u64,
    /// It writes (reads only otherwise).
    pub write: bool,
}

/// The key a command touches and whether it writes; `None` for a no-op, which interferes
/// with nothing.
pub fn access(command: &Command) -> Option<Access> {
    match command {
        Command::Noop => None,
        Command::Client { op, .. } => Some(Access {
            key: op.key(),
            write: !matches!(op, Operation::Get { .. }),
        }),
    }
}

/// Whether two accesses interfere: the same key, and at least one writes (or reads do not
/// commute).
pub fn interferes(a: Access, b: Access, reads_commute: bool) -> bool {
    a.key == b.key && (a.write || b.write || !reads_commute)
}

/// For one key: per replica, the highest instance that wrote it and the highest that read
/// it, and the highest sequence numbers of each kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct KeyIndex {
    writes: Vec<u64>,
    reads: Vec<u64>,
    write_seq: u64,
    read_seq: u64,
}

/// Every instance a replica knows with a command, indexed by the key it touches: the
/// source of the attributes a replica proposes or agrees to. Entries only grow, so the
/// attributes computed from it cover every interfering instance ever seen here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Interference {
    keys: BTreeMap<u64, KeyIndex>,
    cluster: usize,
    reads_commute: bool,
}

impl Interference {
    /// An empty index for a cluster of `cluster` replicas.
    pub fn new(cluster: u32, reads_commute: bool) -> Self {
        Interference {
            keys: BTreeMap::new(),
            cluster: cluster as usize,
            reads_commute,
        }
    }

    /// Records that `inst` holds `command` with sequence number `seq`.
    pub fn record(&mut self, inst: InstanceId, command: &Command, seq: u64) {
        let Some(a) = access(command) else {
            return;
        };
        let n = self.cluster;
        let k = self.keys.entry(a.key).or_insert_with(|| KeyIndex {
            writes: vec![0; n],
            reads: vec![0; n],
            ..KeyIndex::default()
        });
        let r = inst.replica as usize;
        if r >= n {
            return;
        }
        if a.write {
            k.writes[r] = k.writes[r].max(inst.slot);
            k.write_seq = k.write_seq.max(seq);
        } else {
            k.reads[r] = k.reads[r].max(inst.slot);
            k.read_seq = k.read_seq.max(seq);
        }
    }

    /// Widens `seq` and `deps` of instance `inst` holding `command` to cover every
    /// interfering instance known here. The column of `inst`'s own replica is left alone
    /// unless `own` (the leader computing a new instance's attributes): its leader
    /// already covered its earlier instances, and later ones must not count.
    pub fn widen(
        &self,
        inst: InstanceId,
        command: &Command,
        own: bool,
        seq: &mut u64,
        deps: &mut [u64],
    ) {
        let Some(a) = access(command) else {
            return;
        };
        let Some(k) = self.keys.get(&a.key) else {
            return;
        };
        let with_reads = a.write || !self.reads_commute;
        let mut top = k.write_seq;
        if with_reads {
            top = top.max(k.read_seq);
        }
        for (r, d) in deps.iter_mut().enumerate() {
            if r == inst.replica as usize && !own {
                continue;
            }
            let mut h = k.writes.get(r).copied().unwrap_or(0);
            if with_reads {
                h = h.max(k.reads.get(r).copied().unwrap_or(0));
            }
            if r == inst.replica as usize {
                // The instance itself (recorded before, on a resend) is not its own dependency.
                h = h.min(inst.slot - 1);
            }
            *d = (*d).max(h);
        }
        if top > 0 {
            *seq = (*seq).max(top + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::RequestId;

    fn cmd(op: Operation) -> Command {
        Command::Client {
            id: RequestId { client: 0, seq: 1 },
            op,
        }
    }

    #[test]
    fn encoding_round_trips() {
        let i = InstanceId::new(NodeId(4), 123_456);
        assert_eq!(InstanceId::decode(i.encode()), i);
        assert!(InstanceId::new(NodeId(0), 9).encode() < InstanceId::new(NodeId(1), 1).encode());
    }

    #[test]
    fn interference_covers_writes_and_optionally_reads() {
        let put = cmd(Operation::Put {
            key: 1,
            value: "a".into(),
        });
        let get = cmd(Operation::Get { key: 1 });
        let other = cmd(Operation::Get { key: 2 });
        for reads_commute in [false, true] {
            let mut ix = Interference::new(3, reads_commute);
            ix.record(InstanceId::new(NodeId(1), 4), &put, 7);
            ix.record(InstanceId::new(NodeId(2), 9), &get, 3);
            // A write depends on both.
            let (mut seq, mut deps) = (1, vec![0; 3]);
            ix.widen(
                InstanceId::new(NodeId(0), 1),
                &put,
                true,
                &mut seq,
                &mut deps,
            );
            assert_eq!((seq, deps.as_slice()), (8, &[0, 4, 9][..]));
            // A read depends on the read only if reads interfere.
            let (mut seq, mut deps) = (1, vec![0; 3]);
            ix.widen(
                InstanceId::new(NodeId(0), 1),
                &get,
                true,
                &mut seq,
                &mut deps,
            );
            let want: &[u64] = if reads_commute {
                &[0, 4, 0]
            } else {
                &[0, 4, 9]
            };
            assert_eq!((seq, deps.as_slice()), (8, want));
            // Another key: nothing.
            let (mut seq, mut deps) = (1, vec![0; 3]);
            ix.widen(
                InstanceId::new(NodeId(0), 1),
                &other,
                true,
                &mut seq,
                &mut deps,
            );
            assert_eq!((seq, deps.as_slice()), (1, &[0, 0, 0][..]));
            // The leader's column is skipped for others' instances, and an instance never
            // depends on itself or later ones of its leader.
            let (mut seq, mut deps) = (1, vec![0; 3]);
            ix.widen(
                InstanceId::new(NodeId(1), 4),
                &put,
                false,
                &mut seq,
                &mut deps,
            );
            assert_eq!(deps[1], 0);
            let (mut seq2, mut deps2) = (1, vec![0; 3]);
            ix.widen(
                InstanceId::new(NodeId(1), 3),
                &put,
                true,
                &mut seq2,
                &mut deps2,
            );
            assert_eq!(deps2[1], 2);
            assert!(seq > 1 && seq2 > 1);
        }
        assert!(!interferes(
            access(&get).unwrap(),
            access(&get).unwrap(),
            true
        ));
        assert!(access(&Command::Noop).is_none());
    }
}
