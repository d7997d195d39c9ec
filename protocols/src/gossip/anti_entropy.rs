//! Anti-entropy: once per period a replica compares its state with a random peer's and
//! both take in what the other has. With Merkle digests the two walk down their trees
//! from the root, only into subtrees whose hashes differ, and swap the registers of the
//! leaves that differ; the baseline swaps whole states.

use std::collections::BTreeMap;

use sim_core::{Ctx, NodeId};

use super::config::Digest;
use super::crdt::Lww;
use super::{ANTI_ENTROPY_TIMER, Gossip, GossipMsg, Update};

impl Gossip {
    /// The anti-entropy timer: start one exchange.
    pub(super) fn on_anti_entropy_round(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        let Some(ae) = self.config.active_anti_entropy().cloned() else {
            return;
        };
        let d = Self::next_tick(ctx, ae.period, ae.jitter);
        ctx.set_timer(ANTI_ENTROPY_TIMER, d);
        let Some(peer) = self.random_peer(ctx) else {
            return;
        };
        let msg = match ae.digest {
            Digest::Merkle { .. } => GossipMsg::Tree {
                nodes: vec![(1, self.store.digest())],
            },
            Digest::Full => GossipMsg::FullState {
                updates: self.store.entries().map(|(k, e)| (k, e.clone())).collect(),
                reply: true,
            },
        };
        self.send(ctx, peer, msg);
    }

    /// The registers of `buckets`, leaving out those exactly as in `skip`.
    fn bucket_updates(&self, buckets: &[u32], skip: &[Update]) -> Vec<Update> {
        let skip: BTreeMap<u64, &Lww> = skip.iter().map(|(k, e)| (*k, e)).collect();
        let mut out = Vec::new();
        for b in buckets {
            for (k, e) in self.store.bucket_entries(*b) {
                if skip.get(&k) != Some(&e) {
                    out.push((k, e.clone()));
                }
            }
        }
        out
    }

    /// A peer's hashes at some tree positions: descend where ours differ.
    pub(super) fn on_tree(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        nodes: Vec<(u32, u64)>,
    ) {
        let tree = self.store.tree();
        let mut deeper = Vec::new();
        let mut leaves = Vec::new();
        for (i, theirs) in nodes {
            let size = 2u64 << tree.depth();
            if i == 0 || u64::from(i) >= size {
                continue; // not a position of our tree: settings differ, ignore
            }
            let mine = tree.hash(i);
            if mine == theirs {
                continue;
            }
            if tree.is_leaf(i) || mine == 0 || theirs == 0 {
                // One side is empty there, or we are at the bottom: swap the registers.
                leaves.extend(tree.buckets_under(i));
            } else {
                deeper.push((2 * i, tree.hash(2 * i)));
                deeper.push((2 * i + 1, tree.hash(2 * i + 1)));
            }
        }
        if !deeper.is_empty() {
            self.send(ctx, from, GossipMsg::Tree { nodes: deeper });
        }
        if !leaves.is_empty() {
            let updates = self.bucket_updates(&leaves, &[]);
            self.send(
                ctx,
                from,
                GossipMsg::Entries {
                    buckets: leaves,
                    updates,
                    reply: true,
                },
            );
        }
    }

    /// A peer's registers of some leaves: take them in, and answer with ours there if asked.
    pub(super) fn on_entries(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        buckets: Vec<u32>,
        updates: Vec<Update>,
        reply: bool,
    ) {
        let leaves = self.store.tree().leaves();
        let buckets: Vec<u32> = buckets.into_iter().filter(|b| *b < leaves).collect();
        let answer = reply.then(|| self.bucket_updates(&buckets, &updates));
        self.merge(ctx, updates);
        if let Some(updates) = answer
            && !updates.is_empty()
        {
            self.send(
                ctx,
                from,
                GossipMsg::Entries {
                    buckets,
                    updates,
                    reply: false,
                },
            );
        }
    }

    /// A peer's whole state (baseline): take it in, and answer with what differs.
    pub(super) fn on_full_state(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        updates: Vec<Update>,
        reply: bool,
    ) {
        let answer: Option<Vec<Update>> = reply.then(|| {
            let theirs: BTreeMap<u64, &Lww> = updates.iter().map(|(k, e)| (*k, e)).collect();
            self.store
                .entries()
                .filter(|(k, e)| theirs.get(k) != Some(e))
                .map(|(k, e)| (k, e.clone()))
                .collect()
        });
        self.merge(ctx, updates);
        if let Some(updates) = answer
            && !updates.is_empty()
        {
            self.send(
                ctx,
                from,
                GossipMsg::FullState {
                    updates,
                    reply: false,
                },
            );
        }
    }
}
