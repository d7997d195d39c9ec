//! The ledger of acceptances both Paxos variants judge agreement by: a value is chosen for
//! an instance (a slot, in Multi-Paxos) once a majority of acceptors accepted it in one
//! ballot. Every acceptance is counted as it happens, so a value stays chosen when its
//! acceptors later crash, forget or accept something else: the definition the proof of
//! Paxos uses ("Paxos Made Simple", §2.2), which makes an acceptor that forgets visible.
//! Values are digests.

use std::collections::BTreeSet;

use super::Map;

use sim_core::NodeId;

use super::ballot::Ballot;

/// Who accepted what, in which ballot, and so what is chosen.
#[derive(Debug, Default, Clone, Hash)]
pub(crate) struct Ledger {
    /// The acceptors as the settings name them (empty: every node).
    acceptors: Vec<u32>,
    /// Per instance and ballot: the value accepted and the acceptors that accepted it.
    accepts: Map<(u64, Ballot), (u64, BTreeSet<NodeId>)>,
    /// Per instance: the lowest ballot a value was chosen in, and that value.
    chosen: Map<u64, (Ballot, u64)>,
}

impl Ledger {
    /// A ledger for the acceptors named (empty: every node).
    pub(crate) fn new(mut acceptors: Vec<u32>) -> Self {
        // The protocol counts each named acceptor once (`PaxosConfig::acceptor_ids`).
        acceptors.sort_unstable();
        acceptors.dedup();
        Ledger {
            acceptors,
            ..Ledger::default()
        }
    }

    /// The lowest ballot a value was chosen in for `instance`, and that value.
    pub(crate) fn chosen(&self, instance: u64) -> Option<&(Ballot, u64)> {
        self.chosen.get(&instance)
    }

    /// Counts an acceptance. Returns a value chosen now that differs from one chosen
    /// before: (the earlier ballot and value, the new ballot and value).
    pub(crate) fn accept(
        &mut self,
        nodes: usize,
        instance: u64,
        ballot: Ballot,
        value: u64,
        node: NodeId,
    ) -> Option<((Ballot, u64), (Ballot, u64))> {
        let (v, accepted_by) = self
            .accepts
            .entry((instance, ballot))
            .or_insert_with(|| (value, BTreeSet::new()));
        if *v != value {
            // Two values in one ballot: `one_value_per_ballot` reports it; count neither
            // as the other.
            return None;
        }
        accepted_by.insert(node);
        let voters = self
            .acceptors
            .iter()
            .filter(|a| (**a as usize) < nodes)
            .count();
        let voters = if voters == 0 { nodes } else { voters };
        if accepted_by.len() <= voters / 2 {
            return None;
        }
        match self.chosen.get(&instance) {
            Some(&(b, v)) if v != value => Some(((b, v), (ballot, value))),
            Some(&(b, _)) if b <= ballot => None,
            _ => {
                self.chosen.insert(instance, (ballot, value));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(round: u64, node: u32) -> Ballot {
        Ballot::new(round, NodeId(node))
    }

    #[test]
    fn a_value_is_chosen_by_a_majority_of_one_ballot_and_a_second_one_is_caught() {
        let mut l = Ledger::default();
        // Five acceptors: two acceptances choose nothing, the third chooses.
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(0)), None);
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(1)), None);
        assert!(!l.chosen.contains_key(&0));
        // The same acceptor twice is one acceptance.
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(1)), None);
        assert!(!l.chosen.contains_key(&0));
        assert_eq!(l.accept(5, 0, b(1, 0), 7, NodeId(2)), None);
        assert_eq!(l.chosen[&0], (b(1, 0), 7));
        // The same value again in a higher ballot is fine.
        for n in 0..3 {
            assert_eq!(l.accept(5, 0, b(2, 1), 7, NodeId(n)), None);
        }
        // Another value chosen in a later ballot is a violation, even though each of
        // its acceptors had accepted the first value before.
        assert_eq!(l.accept(5, 0, b(3, 2), 8, NodeId(2)), None);
        assert_eq!(l.accept(5, 0, b(3, 2), 8, NodeId(3)), None);
        assert_eq!(
            l.accept(5, 0, b(3, 2), 8, NodeId(4)),
            Some(((b(1, 0), 7), (b(3, 2), 8)))
        );
        // Other instances are independent.
        assert_eq!(l.accept(5, 1, b(1, 0), 9, NodeId(0)), None);
    }

    #[test]
    fn the_majority_is_of_the_acceptors_the_settings_name() {
        let mut l = Ledger::new(vec![0, 1, 2]);
        // Seven nodes, three acceptors: two acceptances choose.
        assert_eq!(l.accept(7, 0, b(1, 5), 4, NodeId(0)), None);
        assert!(!l.chosen.contains_key(&0));
        assert_eq!(l.accept(7, 0, b(1, 5), 4, NodeId(2)), None);
        assert_eq!(l.chosen[&0], (b(1, 5), 4));
    }
}
