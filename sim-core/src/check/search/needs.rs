//! What waiting operations wait for: the states reads and compare-and-sets must find,
//! what can still bring each about, and the configurations (or whole histories) where
//! one is gone for good. See [`Needs`].

use rustc_hash::FxHashMap;

use super::super::memo::LinearizedSet;
use super::super::model::Model;
use super::{Deepest, NONE, Search, returned};

/// The most questions (a state, an operation that may leave it) [`Needs`] asks the model;
/// past it, the states not yet worked out count as reachable.
const MAX_NEED_PAIRS: usize = 100_000;

/// Operations that wait for one state (a read of a value), and what could still bring it
/// about: a configuration where one waits for a state that is not the current one and
/// that nothing unplaced can lead back to is a dead end, however far its return is. With
/// unique written values that is most wrong orders of writes, found as soon as the write
/// that overwrote a value some read still needs is placed. A state is brought about by
/// an operation that leaves it, from any state (a write) or from one state only (an
/// append from the value without its suffix), which must then be brought about first:
/// the chain back to a write is followed, so a read of a write's value with appends after
/// it is found stranded once that write's value is gone.
#[derive(Default)]
pub(super) struct Needs {
    pub(super) on: bool,
    /// Per operation, the state it waits for (`NONE`: none in particular).
    pub(super) need: Vec<u32>,
    /// Per state met in some chain, the operations that can leave it and the one state
    /// each must find to do so (`NONE`: any).
    pub(super) support: FxHashMap<u32, Vec<(u32, u32)>>,
    /// Per operation, the waiting operations whose chains it appears in.
    pub(super) feeds: Vec<Vec<u32>>,
    /// Per state, the waiting operations whose chains pass through it.
    pub(super) needers: FxHashMap<u32, Vec<u32>>,
    /// Scratch for [`reachable`]: what is known of each state in the configuration at
    /// hand, by state id, and which entries to reset before the next configuration.
    known: Vec<Reach>,
    touched: Vec<u32>,
}

/// What [`reachable`] knows of a state in one configuration.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Unknown,
    Walking,
    Yes,
    No,
}

/// Whether `state` is `current` or can still be brought about by unplaced operations,
/// walking the chains back; the second answer says the first rests on a cycle (a state
/// met again on the walk counts as reachable), so it is not remembered. A state whose
/// leavers were not worked out (past the question budget) counts as reachable, and so
/// does a chain past [`MAX_CHAIN`] states: only configurations are kept that way. An
/// operation waiting for `state` needs no leaving out: what it leaves, it leaves from
/// `state` itself.
fn reachable(
    needs: &Needs,
    state: u32,
    current: u32,
    set: &LinearizedSet,
    scratch: &mut (Vec<Reach>, Vec<u32>),
    depth: usize,
) -> (bool, bool) {
    if state == current || depth >= MAX_CHAIN {
        return (true, false);
    }
    let (known, touched) = scratch;
    let at = state as usize;
    if known.len() <= at {
        known.resize(at + 1, Reach::Unknown);
    }
    match known[at] {
        Reach::Walking => return (true, true),
        Reach::Yes => return (true, false),
        Reach::No => return (false, false),
        Reach::Unknown => {}
    }
    let Some(leavers) = needs.support.get(&state) else {
        return (true, false);
    };
    known[at] = Reach::Walking;
    touched.push(state);
    for &(y, from) in leavers {
        if set.contains(y) {
            continue;
        }
        let (yes, on_cycle) = if from == NONE {
            (true, false)
        } else {
            reachable(needs, from, current, set, scratch, depth + 1)
        };
        if yes {
            scratch.0[at] = if on_cycle { Reach::Unknown } else { Reach::Yes };
            return (true, on_cycle);
        }
    }
    scratch.0[at] = Reach::No;
    (false, false)
}

/// How many operations [`Search::overwritten_before_read`] looks at per waiting operation.
const STALE_SCAN: usize = 512;

/// How deep a chain of states is followed back before it counts as reachable.
const MAX_CHAIN: usize = 32;

impl<M: Model> Search<'_, M> {
    /// Sets up [`Needs`]: which operations wait for one state, and which operations can
    /// lead to it. Each (state, operation) pair asked about is one question to the model,
    /// so a partition that would need too many is searched without (as it was before).
    pub(super) fn with_needs(mut self) -> Self {
        let n = self.ops.len();
        let mut need = vec![NONE; n];
        let mut waiting: Vec<u32> = Vec::new();
        for (i, (_, o)) in self.ops.iter().enumerate() {
            if let Some(r) = &o.ret
                && let Some(state) = self.model.needs_state(&o.input, &r.output)
            {
                need[i] = self.intern(state);
                waiting.push(i as u32);
            }
        }
        if waiting.is_empty() {
            return self;
        }
        // Operations that leave one known state are found by it; the others (an append,
        // whose result depends on where it lands) are asked about each state.
        let mut leaving: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut asked: Vec<u32> = Vec::new();
        for (y, (_, o)) in self.ops.iter().enumerate() {
            let read_only = o.ret.is_some() && self.model.is_read_only(&o.input, o.output());
            match self.model.leaves(&o.input, o.output()) {
                Some(state) => {
                    let id = self.intern(state);
                    leaving.entry(id).or_default().push(y as u32);
                }
                None if !read_only => asked.push(y as u32),
                None => {}
            }
        }
        // Values written over and over (a register of small numbers) leave most waiting
        // operations many ways back: the bookkeeping would cost more than it saves.
        let exact_pairs: usize = waiting
            .iter()
            .map(|&r| leaving.get(&need[r as usize]).map_or(0, Vec::len))
            .sum();
        if exact_pairs > 3 * waiting.len() {
            return self;
        }
        // The chains, state by state from the waited-for ones back, within a budget of
        // questions; past it, the operations not known by their state count as able to
        // leave anything, so nothing is stranded while one of them is unplaced.
        // Only operations invoked before a waiting one returned can bring its state about:
        // asked operations come in call order, so each state asks a prefix of them. The
        // waiting operations that return last go first, so a state shared by several
        // chains is worked out for the latest of them, whose prefix holds the others'.
        let mut support: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
        let asked_calls: Vec<u64> = asked.iter().map(|&y| self.ops[y as usize].1.call).collect();
        let mut latest_first = waiting.clone();
        latest_first.sort_by_key(|&r| std::cmp::Reverse(returned(self.ops[r as usize].1)));
        let mut questions = 0usize;
        'chains: for &r in &latest_first {
            let bound = returned(self.ops[r as usize].1).unwrap_or(u64::MAX);
            let callable = asked_calls.partition_point(|&call| call <= bound);
            let mut to_expand = vec![need[r as usize]];
            while let Some(state) = to_expand.pop() {
                if support.contains_key(&state) {
                    continue;
                }
                questions += callable + leaving.get(&state).map_or(0, Vec::len);
                // Past the budget the states left unworked count as reachable.
                if questions > MAX_NEED_PAIRS {
                    break 'chains;
                }
                let wanted = self.states[state as usize].clone();
                let known = leaving.get(&state).into_iter().flatten().copied();
                let others: Vec<u32> = asked[..callable]
                    .iter()
                    .copied()
                    .filter(|&y| {
                        let o = self.ops[y as usize].1;
                        self.model.can_leave(&o.input, o.output(), &wanted)
                    })
                    .collect();
                let mut list = Vec::new();
                for y in known.chain(others) {
                    let o = self.ops[y as usize].1;
                    let from = match self.model.leaves_from(&o.input, o.output(), &wanted) {
                        Some(before) => {
                            let id = self.intern(before);
                            to_expand.push(id);
                            id
                        }
                        None => NONE,
                    };
                    list.push((y, from));
                }
                support.insert(state, list);
            }
        }
        let mut feeds: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut needers: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut seen: FxHashMap<u32, u32> = FxHashMap::default();
        for &r in &waiting {
            // Every state and operation of r's chains, each once.
            let mut stack = vec![need[r as usize]];
            while let Some(state) = stack.pop() {
                if seen.insert(state, r) == Some(r) {
                    continue;
                }
                needers.entry(state).or_default().push(r);
                for &(y, from) in support.get(&state).into_iter().flatten() {
                    if y != r && feeds[y as usize].last() != Some(&r) {
                        feeds[y as usize].push(r);
                    }
                    if from != NONE {
                        stack.push(from);
                    }
                }
            }
        }
        self.needs = Needs {
            on: true,
            need,
            support,
            feeds,
            needers,
            known: Vec::new(),
            touched: Vec::new(),
        };
        self
    }

    /// The unplaced operation, if any, that placing `op` (in `set` already), moving the
    /// state from `old` to `new`, leaves waiting for a state gone for good: not the state
    /// now, and nothing unplaced leads back to it. Only operations whose chains pass
    /// through `op` or through `old` can have just become so.
    pub(super) fn strands(
        &mut self,
        op: u32,
        old: u32,
        new: u32,
        set: &LinearizedSet,
    ) -> Option<u32> {
        if !self.needs.on {
            return None;
        }
        // The answers hold for this configuration only; the waiting operations' chains
        // share most of their states.
        let mut scratch = (
            std::mem::take(&mut self.needs.known),
            std::mem::take(&mut self.needs.touched),
        );
        for &state in &scratch.1 {
            scratch.0[state as usize] = Reach::Unknown;
        }
        scratch.1.clear();
        let needs = &self.needs;
        let mut gone = |r: &u32| {
            !set.contains(*r)
                && needs.need[*r as usize] != new
                && !reachable(needs, needs.need[*r as usize], new, set, &mut scratch, 0).0
        };
        let by_op = needs.feeds[op as usize].iter().copied().find(&mut gone);
        let found = by_op.or_else(|| {
            (old != new)
                .then(|| needs.needers.get(&old)?.iter().copied().find(&mut gone))
                .flatten()
        });
        (self.needs.known, self.needs.touched) = scratch;
        found
    }

    /// A waiting operation that real time alone rules out, found before any search: every
    /// operation that could leave the state it waits for returned before some other
    /// operation that changes the state was invoked, and that one returned before the
    /// waiting one was invoked. That other operation comes after all of them and before
    /// the waiting one in every linearization, and nothing after it brings the state
    /// back (a stale read of an overwritten value). A waiting state nothing leaves that is
    /// not `init` is ruled out as well. Quadratic at worst, in the number of waiting
    /// operations times the operations between; the search would pay more.
    pub(super) fn overwritten_before_read(&mut self, init: u32) -> Option<Deepest> {
        if !self.needs.on {
            return None;
        }
        for r in 0..self.ops.len() {
            let want = self.needs.need[r];
            if want == NONE {
                continue;
            }
            let (_, read) = self.ops[r];
            let Some(leavers) = self.needs.support.get(&want) else {
                continue;
            };
            let mut latest: Option<(u64, u32)> = None;
            let mut open = false;
            for &(y, _) in leavers {
                match returned(self.ops[y as usize].1) {
                    Some(at) => {
                        if latest.is_none_or(|(t, _)| at > t) {
                            latest = Some((at, y));
                        }
                    }
                    None => open = true,
                }
            }
            if open {
                continue;
            }
            if latest.is_none() && want != init {
                return Some(Deepest {
                    prefix: Vec::new(),
                    state: init,
                    stuck: vec![r as u32],
                    shown: None,
                });
            }
            let after = latest.map_or(0, |(t, _)| t);
            // An operation that changes the state, is no leaver, and lies strictly between
            // the last leaver's return and the waiting operation's call.
            // Operations are in call order; a few hundred looked at find nearly every such
            // operation, and missing one only leaves the case to the search.
            let lo = self.ops.partition_point(|(_, o)| o.call <= after);
            let hi = self.ops.partition_point(|(_, o)| o.call < read.call);
            let between = (lo..hi.max(lo)).take(STALE_SCAN).find(|&w| {
                let o = self.ops[w].1;
                !self.read_only[w]
                    && returned(o).is_some_and(|at| at < read.call)
                    && !leavers.iter().any(|&(y, _)| y as usize == w)
            });
            if let Some(w) = between {
                let mut prefix: Vec<u32> = latest.map(|(_, y)| y).into_iter().collect();
                prefix.push(w as u32);
                // Not a prefix from the start: the state is what the write over it leaves.
                let (_, as_recorded) = self.recorded[w];
                let shown = match self.model.leaves(&as_recorded.input, as_recorded.output()) {
                    Some(left) => self.model.describe_state(&left),
                    None => format!(
                        "not {}",
                        self.model.describe_state(&self.states[want as usize])
                    ),
                };
                return Some(Deepest {
                    prefix,
                    state: want,
                    stuck: vec![r as u32],
                    shown: Some(shown),
                });
            }
        }
        None
    }
}
