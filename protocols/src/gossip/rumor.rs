//! Rumor mongering: once per period a node contacts `fanout` random peers and pushes its
//! hot rumors, pulls theirs, or both; it loses interest in a rumor by the stop rule.

use rand::Rng;
use sim_core::{Ctx, NodeId};

use super::config::{Mode, StopRule};
use super::{Gossip, GossipMsg, RUMOR_TIMER, Update};

impl Gossip {
    /// The hot rumors as they travel, except those in `skip`.
    fn hot_updates(&self, skip: &[Update]) -> Vec<Update> {
        self.hot
            .keys()
            .filter(|k| !skip.iter().any(|(s, _)| s == *k))
            .filter_map(|k| self.store.get(*k).map(|e| (*k, e.clone())))
            .collect()
    }

    /// One contact about `keys` has happened; `unnecessary`: the peer already had them.
    /// Applies the stop rule: blind rules count every contact, feedback rules only
    /// unnecessary ones.
    fn contacted(&mut self, ctx: &mut Ctx<'_, GossipMsg>, keys: &[u64], unnecessary: bool) {
        let Some(rumor) = &self.config.rumor else {
            return;
        };
        let (k, feedback, coin) = match rumor.stop {
            StopRule::Never => return,
            StopRule::Counter { k, feedback } => (k, feedback, false),
            StopRule::Coin { k, feedback } => (k, feedback, true),
        };
        if feedback != unnecessary {
            return;
        }
        for key in keys {
            let Some(h) = self.hot.get_mut(key) else {
                continue;
            };
            let stop = if coin {
                k <= 1 || ctx.rng().random_range(0..k) == 0
            } else {
                h.counter += 1;
                h.counter >= k
            };
            if stop {
                self.hot.remove(key);
            }
        }
    }

    /// The rumor timer: one round of contacts.
    pub(super) fn on_rumor_round(&mut self, ctx: &mut Ctx<'_, GossipMsg>) {
        let Some(rumor) = self.config.rumor.clone() else {
            return;
        };
        let d = Self::next_tick(ctx, rumor.period, rumor.jitter);
        ctx.set_timer(RUMOR_TIMER, d);
        let hot = self.hot_updates(&[]);
        if hot.is_empty() && rumor.mode == Mode::Push {
            return;
        }
        let keys: Vec<u64> = hot.iter().map(|(k, _)| *k).collect();
        for peer in self.random_peers(ctx, rumor.fanout) {
            let msg = match rumor.mode {
                Mode::Push => GossipMsg::Push {
                    updates: hot.clone(),
                },
                Mode::Pull => GossipMsg::Pull,
                Mode::PushPull => GossipMsg::PushPull {
                    updates: hot.clone(),
                },
            };
            self.send(ctx, peer, msg);
            if rumor.mode != Mode::Pull {
                self.contacted(ctx, &keys, false);
            }
        }
    }

    /// Asks the pusher to count contacts that taught us nothing.
    fn feedback(&self, ctx: &mut Ctx<'_, GossipMsg>, to: NodeId, known: Vec<u64>) {
        let wants = matches!(
            self.config.rumor.as_ref().map(|r| r.stop),
            Some(StopRule::Counter { feedback: true, .. } | StopRule::Coin { feedback: true, .. })
        );
        if wants && !known.is_empty() {
            self.send(ctx, to, GossipMsg::Feedback { known });
        }
    }

    pub(super) fn on_push(&mut self, ctx: &mut Ctx<'_, GossipMsg>, from: NodeId, u: Vec<Update>) {
        let known = self.merge(ctx, u);
        self.feedback(ctx, from, known);
    }

    pub(super) fn on_pull(&mut self, ctx: &mut Ctx<'_, GossipMsg>, from: NodeId) {
        let hot = self.hot_updates(&[]);
        if hot.is_empty() {
            return;
        }
        let keys: Vec<u64> = hot.iter().map(|(k, _)| *k).collect();
        self.send(ctx, from, GossipMsg::PullReply { updates: hot });
        self.contacted(ctx, &keys, false);
    }

    pub(super) fn on_pull_reply(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        updates: Vec<Update>,
    ) {
        let known = self.merge(ctx, updates);
        self.feedback(ctx, from, known);
    }

    pub(super) fn on_push_pull(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        updates: Vec<Update>,
    ) {
        let mine = self.hot_updates(&updates);
        let known = self.merge(ctx, updates);
        let wants = matches!(
            self.config.rumor.as_ref().map(|r| r.stop),
            Some(StopRule::Counter { feedback: true, .. } | StopRule::Coin { feedback: true, .. })
        );
        if mine.is_empty() && (!wants || known.is_empty()) {
            return;
        }
        let keys: Vec<u64> = mine.iter().map(|(k, _)| *k).collect();
        let known = if wants { known } else { Vec::new() };
        self.send(
            ctx,
            from,
            GossipMsg::PushPullReply {
                updates: mine,
                known,
            },
        );
        self.contacted(ctx, &keys, false);
    }

    pub(super) fn on_push_pull_reply(
        &mut self,
        ctx: &mut Ctx<'_, GossipMsg>,
        from: NodeId,
        updates: Vec<Update>,
        known: Vec<u64>,
    ) {
        self.contacted(ctx, &known, true);
        let learnt = self.merge(ctx, updates);
        self.feedback(ctx, from, learnt);
    }

    pub(super) fn on_feedback(&mut self, ctx: &mut Ctx<'_, GossipMsg>, known: Vec<u64>) {
        self.contacted(ctx, &known, true);
    }
}
