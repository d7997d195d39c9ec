//! Looking ahead for reads a new state must grow into: with operations that only grow
//! the state (appends), a state that no longer leads to what an upcoming read returned,
//! and that nothing unplaced can set back into it, is a dead end. See
//! [`Search::read_out_of_reach`] and [`Search::far_read_out_of_reach`].

use super::super::memo::LinearizedSet;
use super::super::model::Model;
use super::Search;

/// How far ahead in the list the search looks for reads a new state must grow into. The
/// tests' histories are small: there the walk stops after a few entries, so that the far
/// look ([`Search::far_read_out_of_reach`]) is what the brute-force comparisons check.
const ENTRIES_LOOKED_AT: u32 = if cfg!(test) { 3 } else { 256 };

/// How many operations [`Search::far_read_out_of_reach`] asks the model about, for the
/// end of its look (the next unplaced call after them ends it unasked) and for the
/// returns before it, each.
const FAR_LOOKS: usize = 64;

/// How many entries of each static list [`Search::far_read_out_of_reach`] goes through,
/// placed ones included: an operation invoked early and never placed (an unanswered
/// append) holds the front back, and the look must stay cheap next to the step. Small in
/// the tests, the calls' list shorter than the returns', so that the brute-force
/// comparisons go past the end of the calls looked at.
const FAR_CALLS: usize = if cfg!(test) { 6 } else { 4_096 };
const FAR_RETURNS: usize = if cfg!(test) { 64 } else { 4_096 };

/// What [`Search::read_out_of_reach`]'s walk found.
pub(super) enum Walk {
    /// This operation, still to be placed, can no longer see what it answered.
    Dead(u32),
    /// Nothing before the walk's end (a call that may set the state back, or the end of
    /// the list) is out of reach: a look further on would find nothing more.
    Clear,
    /// The walk stopped after [`ENTRIES_LOOKED_AT`] entries, before its end.
    CutShort,
}

impl<M: Model> Search<'_, M> {
    /// The operation still to be placed that sees the state soonest, if `state` (reached
    /// by placing `op`) can no longer grow into what it saw. Every operation invoked before
    /// another one returned has its call entry ahead of that return entry in the list. So
    /// walking from the front to the return of an operation, if every call passed on the
    /// way is of an operation that only grows the state, or of one that cannot take effect
    /// on any growth of it (so cannot be the first to set it back), then that operation
    /// sees `state` grown, whichever of those come first: if it cannot have seen what it
    /// answered from there, the state is a dead end. The walk ends at the first call of an
    /// operation that may set the state back.
    pub(super) fn read_out_of_reach(&self, op: u32, state: &M::State) -> Walk {
        if !self.growth_known {
            return Walk::Clear;
        }
        let mut k = self.next[0];
        // Later reads could still rule the state out, but the sooner ones do so most
        // often: the walk stops after a while, to stay cheap next to the step it guards.
        for _ in 0..ENTRIES_LOOKED_AT {
            if k as usize == self.entry_op.len() - 1 {
                return Walk::Clear;
            }
            let e = k as usize;
            let other = self.entry_op[e];
            k = self.next[e];
            if other == op {
                continue;
            }
            let is_call = self.entry_is_call[e];
            if is_call && self.grows[other as usize] {
                continue;
            }
            let (_, o) = self.ops[other as usize];
            let reachable = self.model.can_grow_into(state, &o.input, o.output());
            match (is_call, reachable) {
                (true, true) => return Walk::Clear,
                (false, false) => return Walk::Dead(other),
                _ => {}
            }
        }
        Walk::CutShort
    }

    /// [`Search::read_out_of_reach`] past the entries it walks, where reads are sparse
    /// among many operations that only grow the state (appends between reads far apart):
    /// the same reasoning, over the static lists of the entries that matter, skipping the
    /// placed operations. The first call of an operation that may set the state back and
    /// can take effect on a growth of `state` ends the look; every return before it of an
    /// operation that needs a particular state must be reachable by growth.
    pub(super) fn far_read_out_of_reach(
        &self,
        op: u32,
        state: &M::State,
        set: &LinearizedSet,
    ) -> Option<u32> {
        if !self.growth_known {
            return None;
        }
        let front = self.next[0];
        let unplaced = |e: u32| {
            let other = self.entry_op[e as usize];
            (other != op && !set.contains(other)).then_some(other)
        };
        let start = self.set_back_calls.partition_point(|&e| e < front);
        let calls = &self.set_back_calls[start..];
        // Past the operations asked about, the next one counts as setting the state back;
        // so does the first call past the entries gone through.
        let unseen = calls.get(FAR_CALLS).copied().unwrap_or(u32::MAX);
        let barrier = calls
            .iter()
            .take(FAR_CALLS)
            .filter(|&&e| unplaced(e).is_some())
            .enumerate()
            .find(|&(asked, &e)| {
                let (_, o) = self.ops[self.entry_op[e as usize] as usize];
                asked == FAR_LOOKS || self.model.can_grow_into(state, &o.input, o.output())
            })
            .map_or(unseen, |(_, &e)| e);
        let start = self.checked_returns.partition_point(|&e| e < front);
        self.checked_returns[start..]
            .iter()
            .take(FAR_RETURNS)
            .take_while(|&&e| e < barrier)
            .filter_map(|&e| unplaced(e))
            .take(FAR_LOOKS)
            .find(|&other| {
                let (_, o) = self.ops[other as usize];
                !self.model.can_grow_into(state, &o.input, o.output())
            })
    }
}
