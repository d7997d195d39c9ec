//! The atomic-commit checks, run after every event from the facts the nodes report
//! (see the list in `mod.rs`). They need nothing protocol-specific, so 2PC and 3PC share
//! them.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::invariant::{Invariant, NodeStatus, World};
use sim_core::{NodeId, Protocol};

use super::obs;
use super::txn::TxnId;

/// Every atomic-commit invariant, fresh.
pub fn all<P: Protocol>() -> Vec<Box<dyn Invariant<P>>> {
    vec![
        Box::new(Atomicity::default()),
        Box::new(Validity::default()),
        Box::new(Serializability::default()),
    ]
}

/// No transaction is committed anywhere and aborted anywhere else (coordinators
/// included), over the whole run, crashes and recoveries included.
#[derive(Default, Clone, Hash)]
pub struct Atomicity {
    decided: BTreeMap<TxnId, (bool, NodeId)>,
}

impl<P: Protocol> Invariant<P> for Atomicity {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "atomicity"
    }
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        for o in world.observations {
            if o.obs.kind != obs::DECIDE && o.obs.kind != obs::COORD_DECIDE {
                continue;
            }
            let (txn, commit) = (o.obs.key, o.obs.value == 1);
            match self.decided.get(&txn) {
                Some(&(c, by)) if c != commit => {
                    let word = |c: bool| if c { "committed" } else { "aborted" };
                    return Err(format!(
                        "transaction {txn:#x} {} at {by} but {} at {}",
                        word(c),
                        word(commit),
                        o.node
                    ));
                }
                Some(_) => {}
                None => {
                    self.decided.insert(txn, (commit, o.node));
                }
            }
        }
        Ok(())
    }
}

/// A commit only if every participant voted yes; an abort only if someone voted no or a
/// failure happened (a timeout affected the transaction, or a node crashed).
#[derive(Default, Clone, Hash)]
pub struct Validity {
    participants: BTreeMap<TxnId, u64>,
    yes: BTreeMap<TxnId, u64>,
    no: BTreeSet<TxnId>,
    timed_out: BTreeSet<TxnId>,
}

impl<P: Protocol> Invariant<P> for Validity {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "validity"
    }
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        for o in world.observations {
            let txn = o.obs.key;
            match o.obs.kind {
                obs::BEGIN => {
                    self.participants.insert(txn, o.obs.value);
                }
                obs::VOTE if o.obs.value == 1 => {
                    *self.yes.entry(txn).or_default() |= 1u64 << o.node.0.min(63);
                }
                obs::VOTE => {
                    self.no.insert(txn);
                }
                obs::TIMEOUT => {
                    self.timed_out.insert(txn);
                }
                obs::DECIDE | obs::COORD_DECIDE if o.obs.value == 1 => {
                    let want = self.participants.get(&txn).copied().unwrap_or(u64::MAX);
                    let got = self.yes.get(&txn).copied().unwrap_or(0);
                    if want & !got != 0 || self.no.contains(&txn) {
                        return Err(format!(
                            "transaction {txn:#x} committed at {} without a yes vote from \
                             every participant (participants {want:#b}, yes votes {got:#b})",
                            o.node
                        ));
                    }
                }
                obs::DECIDE | obs::COORD_DECIDE => {
                    let crashed = world.nodes().any(|(n, _)| {
                        world.incarnation(n) > 0 || world.status(n) == NodeStatus::Down
                    });
                    if !(self.no.contains(&txn) || self.timed_out.contains(&txn) || crashed) {
                        return Err(format!(
                            "transaction {txn:#x} aborted at {} with every vote yes and no failure",
                            o.node
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The committed transactions are serializable: the graph of their write-write,
/// write-read and read-write (anti-)dependencies, with each key's versions in the order
/// its holder applied them, has no cycle; and every read saw a committed write.
#[derive(Default, Clone, Hash)]
pub struct Serializability {
    graph: DependencyGraph,
    pending_read: BTreeMap<NodeId, (TxnId, u64)>,
}

impl<P: Protocol> Invariant<P> for Serializability {
    sim_core::forkable!(P);
    fn name(&self) -> &str {
        "serializability"
    }
    fn check(&mut self, world: &World<'_, P>) -> Result<(), String> {
        for o in world.observations {
            let txn = o.obs.key;
            match o.obs.kind {
                obs::WRITE => self.graph.write(txn, o.obs.value)?,
                obs::READ => {
                    self.pending_read.insert(o.node, (txn, o.obs.value));
                }
                obs::READ_FROM => {
                    if let Some((t, key)) = self.pending_read.remove(&o.node)
                        && t == txn
                    {
                        self.graph.read(txn, key, o.obs.value)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Dependencies between committed transactions, checked for cycles as edges arrive.
#[derive(Debug, Default, Clone, Hash)]
pub struct DependencyGraph {
    /// Each key's writers in version order (0, the initial value, first).
    versions: BTreeMap<u64, Vec<TxnId>>,
    /// Readers of each (key, version index).
    readers: BTreeMap<(u64, usize), Vec<TxnId>>,
    edges: BTreeMap<TxnId, BTreeSet<TxnId>>,
}

impl DependencyGraph {
    fn chain(&mut self, key: u64) -> &mut Vec<TxnId> {
        self.versions.entry(key).or_insert_with(|| vec![0])
    }

    /// `txn` installed the next version of `key`.
    pub fn write(&mut self, txn: TxnId, key: u64) -> Result<(), String> {
        let chain = self.chain(key);
        if chain.contains(&txn) {
            return Ok(());
        }
        let prev = *chain.last().unwrap_or(&0);
        chain.push(txn);
        let index = chain.len() - 2;
        let readers = self.readers.get(&(key, index)).cloned().unwrap_or_default();
        self.edge(prev, txn, key)?;
        for r in readers {
            self.edge(r, txn, key)?;
        }
        Ok(())
    }

    /// `txn` read the version of `key` that `writer` installed (0: the initial one).
    pub fn read(&mut self, txn: TxnId, key: u64, writer: TxnId) -> Result<(), String> {
        let chain = self.chain(key).clone();
        let Some(index) = chain.iter().position(|w| *w == writer) else {
            return Err(format!(
                "transaction {txn:#x} read key {key} as written by {writer:#x}, which never \
                 committed a write to it"
            ));
        };
        self.readers.entry((key, index)).or_default().push(txn);
        self.edge(writer, txn, key)?;
        if let Some(&next) = chain.get(index + 1) {
            self.edge(txn, next, key)?;
        }
        Ok(())
    }

    /// Adds `from → to`; an error if it closes a cycle.
    fn edge(&mut self, from: TxnId, to: TxnId, key: u64) -> Result<(), String> {
        if from == to || from == 0 {
            return Ok(());
        }
        if !self.edges.entry(from).or_default().insert(to) {
            return Ok(());
        }
        if self.reaches(to, from) {
            return Err(format!(
                "transactions {from:#x} and {to:#x} depend on each other (a cycle through \
                 key {key}): no serial order explains what they read and wrote"
            ));
        }
        Ok(())
    }

    fn reaches(&self, start: TxnId, goal: TxnId) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            if n == goal {
                return true;
            }
            if seen.insert(n)
                && let Some(next) = self.edges.get(&n)
            {
                stack.extend(next.iter().copied());
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_histories_pass_and_cycles_are_found() {
        let mut g = DependencyGraph::default();
        g.read(1, 5, 0).unwrap();
        g.write(1, 5).unwrap();
        g.read(2, 5, 1).unwrap();
        g.write(2, 6).unwrap();
        // 3 read key 6 before 2 wrote it, but key 5 after 1: fine (3 between 1 and 2).
        let mut g2 = DependencyGraph::default();
        g2.write(1, 5).unwrap();
        g2.read(3, 5, 1).unwrap();
        g2.read(3, 6, 0).unwrap();
        g2.write(2, 6).unwrap();
        // Write skew made visible: 3 reads 6 old (3 → 2) and 2 reads 5 before 3's write
        // of 5 … 2 → 3 closes the cycle.
        g2.read(2, 7, 0).unwrap();
        assert!(g2.write(3, 7).is_err());
    }

    #[test]
    fn reading_an_uncommitted_write_is_rejected() {
        let mut g = DependencyGraph::default();
        g.write(1, 5).unwrap();
        assert!(g.read(2, 5, 9).is_err());
    }
}
