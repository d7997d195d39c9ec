//! Leader election by ballot: election timeouts, phase 1 for every slot from the
//! candidate's first one not known chosen, and taking over with the values it recovers.

use std::collections::BTreeMap;

use sim_core::{Ctx, NodeId};

use super::messages::{Command, MpMsg, Reported, Snapshot};
use super::{Candidacy, ELECTION_TIMER, HEARTBEAT_TIMER, Leading, MultiPaxos, Role, obs, persist};
use crate::multipaxos::config::MpReadMode;
use crate::paxos::Ballot;

impl MultiPaxos {
    /// No leader heard for an election timeout: stand, in a ballot above every one seen.
    pub(super) fn on_election_timeout(&mut self, ctx: &mut Ctx<'_, MpMsg>) {
        if self.role == Role::Leader {
            return;
        }
        self.round = self.round.max(self.promised.round) + 1;
        persist::save_round(ctx.disk(), self.round);
        let ballot = Ballot::new(self.round, self.id);
        self.promise(ctx, ballot);
        self.role = Role::Candidate;
        self.leader = None;
        self.leading = None;
        let from = self.commit + 1;
        let own = (self.report(from), None);
        self.candidacy = Some(Candidacy {
            from,
            promises: BTreeMap::from([(self.id, own)]),
        });
        ctx.count("multipaxos.elections", 1);
        self.reset_election_timer(ctx);
        let peers: Vec<NodeId> = ctx.peers().collect();
        for to in peers {
            self.send(ctx, to, MpMsg::Prepare { ballot, from });
        }
        self.maybe_take_over(ctx);
    }

    /// What this acceptor holds from slot `from` on: accepted commands, and those it
    /// knows chosen.
    fn report(&self, from: u64) -> Vec<Reported> {
        let mut out: BTreeMap<u64, Reported> = self
            .accepted
            .range(from..)
            .map(|(&slot, (ballot, command))| {
                let report = Reported {
                    slot,
                    ballot: *ballot,
                    command: command.clone(),
                    chosen: false,
                };
                (slot, report)
            })
            .collect();
        for (&slot, command) in self.chosen.range(from..) {
            // The ballot of the acceptance that holds this very command, if any (a
            // chosen command learned by catch-up was never accepted here).
            let ballot = out
                .get(&slot)
                .filter(|r| r.command == *command)
                .map_or(Ballot::ZERO, |r| r.ballot);
            out.insert(
                slot,
                Reported {
                    slot,
                    ballot,
                    command: command.clone(),
                    chosen: true,
                },
            );
        }
        out.into_values().collect()
    }

    /// Phase 1b, for every slot from `from` on.
    pub(super) fn on_prepare(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
    ) {
        let refuse = ballot < self.promised || self.lease_refuses(ctx, from, ballot);
        if refuse {
            let promised = self.promised;
            self.send(ctx, from, MpMsg::Nack { ballot, promised });
            return;
        }
        if ballot > self.promised {
            self.promise(ctx, ballot);
            self.step_down(ctx);
            // The leader it followed is deposed: no more redirects to it, nor refusals
            // on its behalf.
            self.leader = None;
            self.leader_contact = None;
        }
        let snapshot = self.snapshot.clone().filter(|s| s.slot >= slot);
        let accepted = self.report(slot);
        self.send(
            ctx,
            from,
            MpMsg::Promise {
                ballot,
                accepted,
                snapshot,
            },
        );
    }

    /// Under leases, an acceptor refuses another candidate while a lease it may have
    /// confirmed can still hold: it heard from its leader less than a minimum election
    /// timeout ago, or it restarted less than that ago (it forgot whom it heard), or it
    /// leads and its own lease holds.
    fn lease_refuses(&self, ctx: &Ctx<'_, MpMsg>, from: NodeId, ballot: Ballot) -> bool {
        if self.config.read_mode != MpReadMode::Lease || ballot == self.promised {
            return false;
        }
        let now = ctx.now();
        let window = self.config.election_timeout_min;
        let heard = self.leader.is_some_and(|l| l != from)
            && self.leader_contact.is_some_and(|t| now < t + window);
        let restarted = self.refuse_until.is_some_and(|t| now < t);
        heard || restarted || (self.role == Role::Leader && self.lease_confirmed(ctx))
    }

    /// Phase 1b arrives at a candidate.
    pub(super) fn on_promise(
        &mut self,
        ctx: &mut Ctx<'_, MpMsg>,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<Reported>,
        snapshot: Option<Snapshot>,
    ) {
        if self.role != Role::Candidate || ballot != self.promised {
            return;
        }
        if let Some(c) = self.candidacy.as_mut() {
            c.promises.insert(from, (accepted, snapshot));
        }
        self.maybe_take_over(ctx);
    }

    /// A refusal: someone promised a higher ballot, so this node's own is dead.
    pub(super) fn on_nack(&mut self, ctx: &mut Ctx<'_, MpMsg>, ballot: Ballot, promised: Ballot) {
        self.round = self.round.max(promised.round);
        if ballot == self.promised && promised > ballot && self.role != Role::Follower {
            self.step_down(ctx);
        }
    }

    /// Stops leading or standing: a follower with no known leader.
    pub(super) fn step_down(&mut self, ctx: &mut Ctx<'_, MpMsg>) {
        if self.role == Role::Follower {
            return;
        }
        self.role = Role::Follower;
        self.leader = None;
        self.leading = None;
        self.candidacy = None;
        ctx.cancel_timer(HEARTBEAT_TIMER);
        self.reset_election_timer(ctx);
    }

    /// With promises from a majority, lead: recover every slot from the candidacy's
    /// first on, then serve.
    fn maybe_take_over(&mut self, ctx: &mut Ctx<'_, MpMsg>) {
        let majority = self.majority();
        if self
            .candidacy
            .as_ref()
            .is_none_or(|c| c.promises.len() < majority)
        {
            return;
        }
        let Some(c) = self.candidacy.take() else {
            return;
        };
        // A promise may carry a snapshot of slots this node lacks: start from it.
        let newest = c
            .promises
            .values()
            .filter_map(|(_, s)| s.clone())
            .max_by_key(|s| s.slot);
        if let Some(s) = newest {
            self.install_snapshot(ctx, s);
        }
        let start = self.commit + 1;
        let skip_recovery = self.config.bugs.new_leader_skips_recovery;
        let mut merged: BTreeMap<u64, Reported> = BTreeMap::new();
        let own = self.report(c.from.min(start));
        let reports = c
            .promises
            .into_iter()
            .filter(|(n, _)| !skip_recovery || *n == self.id)
            .flat_map(|(n, (r, _))| if n == self.id { own.clone() } else { r });
        for r in reports.filter(|r| r.slot >= start) {
            let better = merged
                .get(&r.slot)
                .is_none_or(|m| !m.chosen && (r.chosen || r.ballot > m.ballot));
            if better {
                merged.insert(r.slot, r);
            }
        }
        let last = merged.keys().next_back().copied().unwrap_or(self.commit);
        self.role = Role::Leader;
        self.leader = Some(self.id);
        let n = self.cluster as usize;
        self.leading = Some(Leading {
            next_slot: last.max(self.commit) + 1,
            proposals: BTreeMap::new(),
            last_sent: vec![None; n],
            caught_up_at: vec![None; n],
            round: 0,
            acked_round: vec![0; n],
            round_sent: BTreeMap::new(),
            heard: vec![None; n],
            since: ctx.now(),
            recovered_upto: last,
        });
        ctx.cancel_timer(ELECTION_TIMER);
        ctx.observe(obs::LEADER, self.promised.encode(), u64::from(self.id.0));
        ctx.count("multipaxos.leaders", 1);
        for slot in start..=last {
            let command = match merged.remove(&slot) {
                Some(r) => r.command,
                None if self.config.bugs.no_gap_fill => continue,
                None => Command::Noop,
            };
            self.propose_in(ctx, slot, command);
        }
        // Tell everyone at once, and keep telling them.
        self.on_heartbeat_tick(ctx);
    }
}
