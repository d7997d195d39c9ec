//! The search for a linearization of one partition: Wing & Gong's depth-first search as
//! refined by Lowe, with memoisation of (linearized set, state) as in Porcupine.
//!
//! Call and return entries sit in a doubly linked list in real-time order. The search
//! walks it from the front: a call entry is a candidate to linearize next; reaching the
//! return entry of an operation not yet linearized is a dead end, so the search
//! backtracks. Linearizing an operation lifts both of its entries out of the list;
//! backtracking puts them back.
//!
//! Reductions on top, each sound (it removes only configurations that cannot lead to
//! a linearization the remaining ones miss):
//! - Indeterminate operations have no return entry, and the search succeeds once every
//!   completed operation is placed: "never took effect" is the same as "took effect after
//!   everything else". So an indeterminate read is dropped, and an indeterminate operation
//!   that would leave the state unchanged is not placed.
//! - Identical indeterminate operations are interchangeable: only the earliest one not yet
//!   placed is tried. And an indeterminate operation is only worth placing right before
//!   an operation that depends on it: if the next operation would reach the same state
//!   without it, leaving it unplaced (for later, or never) does at least as well.
//! - A read-only operation that fits now may as well be placed now (moving it earlier
//!   keeps a linearization valid). So each configuration first looks for such an
//!   operation and, if there is one, tries nothing else; when the search backtracks out of
//!   it, the configuration has failed and the search backtracks further.
//! - Where the model orders its states (an append only extends a value), a state is
//!   dropped when it cannot grow into what a read returned that must come before any
//!   operation that might set the state back. See `Search::read_out_of_reach`.
//! - Where the model says which one state an operation waits for (a read its value) and
//!   which operations can lead to it (a write from anywhere, an append from the value
//!   without its suffix), a configuration is dropped as soon as an unplaced operation
//!   waits for a state that is not the current one and that nothing unplaced can lead
//!   back to: with unique written values, a value once overwritten is gone, and so is
//!   every value grown from it. See `Needs` and `Search::strands`.
//! - Writes that nothing observes are searched as the model's stand-ins, which merge the
//!   states nothing tells apart, and identical completed operations are tried in the
//!   order they returned. See `Model::stand_ins` and `Search::twin_waits`.

use rustc_hash::FxHashMap;

mod growth;
mod needs;

use growth::Walk;
use needs::Needs;

use super::budget::Limits;
use super::memo::{LinearizedSet, Memo};
use super::model::{Indexed, Model, ModelOp};
use super::ops::Op;
use super::verdict::{Counterexample, OpRef};

const NONE: u32 = u32::MAX;
/// How many steps pass between looks at the clock and the cancel signal.
const CHECK_EVERY: u64 = 1 << 12;

/// How the search of one partition ended.
pub(crate) enum Outcome {
    Linearizable,
    NotLinearizable(Box<Counterexample>),
    Unknown(String),
}

/// Searches a linearization of `ops` (all of one partition; `index` is each operation's
/// position in the whole history, for counterexamples).
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[Indexed<'_, M>],
    partition: u64,
    position: usize,
    limits: &Limits,
) -> (Outcome, u64) {
    prepared(model, ops, |searched, recorded| {
        if searched.iter().all(|(_, op)| op.ret.is_none()) {
            return (Outcome::Linearizable, 0);
        }
        // Most partitions are linearizable and easy: a search without the bookkeeping of
        // what waiting operations wait for finds their linearization in a few steps per
        // operation, and setting that bookkeeping up would cost more than the search.
        // Only a partition the quick pass does not settle as linearizable is searched
        // again with it, from the start, so that its verdict and counterexample do not
        // depend on the quick pass (which only proves linearizability). The full search
        // has the caller's step budget to itself; the total counts both.
        let mut spent = 0;
        if limits.quick_pass {
            let quick = quick_steps(searched.len());
            let outcome;
            (outcome, spent) =
                Search::new(model, searched, recorded, partition).run(position, limits, quick);
            // Only another partition's failure settles an `Unknown`: past the other limits
            // (steps, time, memory) the full search still applies its rule before any
            // search, then meets them too.
            let settled = match &outcome {
                Outcome::Linearizable => true,
                // Empty: the quick pass's own budget ran out.
                Outcome::Unknown(reason) => !reason.is_empty() && limits.cancelled(position),
                Outcome::NotLinearizable(_) => false,
            };
            if settled {
                return (outcome, spent);
            }
        }
        let (outcome, steps) = Search::new(model, searched, recorded, partition)
            .with_needs(limits.memory_share / 4)
            .run(position, limits, u64::MAX);
        (outcome, spent + steps)
    })
}

/// The counterexample found before any search for the operations of one partition, if
/// any (for tests of that rule).
#[cfg(test)]
pub(crate) fn rejected_before_search<M: Model>(
    model: &M,
    ops: &[Indexed<'_, M>],
) -> Option<crate::check::Counterexample> {
    prepared(model, ops, |searched, recorded| {
        let mut search = Search::new(model, searched, recorded, 0).with_needs(usize::MAX);
        let init = search.intern(model.init());
        let deepest = search.overwritten_before_read(init)?;
        Some(search.counterexample(deepest))
    })
}

/// Calls `then` with the operations of one partition as searched and as recorded: in
/// invocation order, without unanswered operations that change nothing, and with the
/// model's stand-ins where it has some.
fn prepared<M: Model, R>(
    model: &M,
    ops: &[Indexed<'_, M>],
    then: impl FnOnce(&[Indexed<'_, M>], &[Indexed<'_, M>]) -> R,
) -> R {
    let mut ops: Vec<Indexed<'_, M>> = ops
        .iter()
        .copied()
        .filter(|(_, op)| op.ret.is_some() || !model.is_read_only(&op.input, None))
        .collect();
    // Numbering operations in invocation order keeps linearized sets compact in the memo.
    ops.sort_by_key(|(_, op)| op.call);
    // Operations whose effect nothing can observe are searched as the model's stand-ins,
    // which merge states no operation tells apart; counterexamples and the final replay
    // use the operations as recorded.
    let refs: Vec<&ModelOp<M>> = ops.iter().map(|(_, op)| *op).collect();
    let rewrites = model.stand_ins(&refs);
    assert_eq!(
        rewrites.len(),
        refs.len(),
        "Model::stand_ins must answer once per operation"
    );
    let stand_ins: Vec<ModelOp<M>> = rewrites
        .iter()
        .zip(&refs)
        .filter_map(|(input, op)| {
            input.clone().map(|input| Op {
                client: op.client,
                input,
                call: op.call,
                ret: op.ret.clone(),
            })
        })
        .collect();
    let mut stand_in = stand_ins.iter();
    let searched: Vec<Indexed<'_, M>> = rewrites
        .iter()
        .zip(&ops)
        .map(|(input, &(index, op))| match input {
            Some(_) => (index, stand_in.next().expect("one stand-in per rewrite")),
            None => (index, op),
        })
        .collect();
    then(&searched, &ops)
}

/// The quick pass's step budget ([`search`]) for a partition of `ops` operations: a few
/// steps per operation, enough for the easy ones.
fn quick_steps(ops: usize) -> u64 {
    4 * ops as u64 + 256
}

/// A placed operation and the state before it, for backtracking.
struct Frame {
    op: u32,
    prev_state: u32,
    read_only: bool,
}

/// The deepest dead end seen, for the counterexample.
struct Deepest {
    prefix: Vec<u32>,
    state: u32,
    stuck: Vec<u32>,
    /// How to show the state, where replaying `prefix` from the start would not give it.
    shown: Option<String>,
}

/// When `o` returned, as the search orders it (never before its call); `None` if unknown.
fn returned<I, O>(o: &Op<I, O>) -> Option<u64> {
    o.ret.as_ref().map(|r| r.at.max(o.call))
}

struct Search<'a, M: Model> {
    model: &'a M,
    /// The operations searched: the model's stand-ins where it has some.
    ops: &'a [Indexed<'a, M>],
    /// The same operations as recorded, for counterexamples and the final replay.
    recorded: &'a [Indexed<'a, M>],
    partition: u64,
    /// The most operations open at one time: what makes a partition hard, for messages.
    most_open: usize,
    // Per operation.
    call_entry: Vec<u32>,
    ret_entry: Vec<u32>,
    read_only: Vec<bool>,
    /// Whether the operation only moves the state forward ([`Model::only_grows`]).
    grows: Vec<bool>,
    /// Whether the model says some operation here, not read-only, only grows the state;
    /// without one, looking ahead for reads to grow into seldom rules anything out.
    growth_known: bool,
    /// Call entries of the operations that do not only grow the state, in list order:
    /// each may set the state back ([`Search::far_read_out_of_reach`]).
    set_back_calls: Vec<u32>,
    /// Return entries of the operations whose answer may need a particular state (the
    /// read-only ones and those that do not only grow it), in list order.
    checked_returns: Vec<u32>,
    twin_before: Vec<u32>,
    /// Per completed operation that changes the state, the identical one (same call, same
    /// answer) that returned just before it, if any: see [`Search::twin_waits`].
    twin_done_before: Vec<u32>,
    /// Who waits for which state, for dropping configurations where one never comes.
    needs: Needs,
    // Per entry; entry 0 is the head sentinel and the last one the tail sentinel.
    entry_op: Vec<u32>,
    entry_is_call: Vec<bool>,
    next: Vec<u32>,
    prev: Vec<u32>,
    // Interned states: the memo and the stack hold small ids.
    states: Vec<M::State>,
    state_ids: FxHashMap<M::State, u32>,
    /// The memory the interned states hold, for the budget.
    state_bytes: usize,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(
        model: &'a M,
        ops: &'a [Indexed<'a, M>],
        recorded: &'a [Indexed<'a, M>],
        partition: u64,
    ) -> Self {
        let n = ops.len();
        // (time, return?, op): at equal times calls come first, so they count as concurrent.
        let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * n);
        for (i, (_, op)) in ops.iter().enumerate() {
            events.push((op.call, false, i as u32));
            if let Some(ret) = &op.ret {
                events.push((ret.at.max(op.call), true, i as u32));
            }
        }
        events.sort_unstable();
        let most_open = events
            .iter()
            .scan(0usize, |open, &(_, is_ret, _)| {
                if is_ret {
                    *open = open.saturating_sub(1);
                } else {
                    *open += 1;
                }
                Some(*open)
            })
            .max()
            .unwrap_or(0);
        let entries = events.len() + 2;
        let mut call_entry = vec![NONE; n];
        let mut ret_entry = vec![NONE; n];
        let mut entry_op = vec![NONE; entries];
        let mut entry_is_call = vec![false; entries];
        for (k, &(_, is_ret, op)) in events.iter().enumerate() {
            let e = k + 1;
            entry_op[e] = op;
            entry_is_call[e] = !is_ret;
            if is_ret {
                ret_entry[op as usize] = e as u32;
            } else {
                call_entry[op as usize] = e as u32;
            }
        }
        let next = (1..=entries as u32)
            .map(|e| e.min(entries as u32 - 1))
            .collect();
        let prev = (0..entries as u32).map(|e| e.saturating_sub(1)).collect();

        let read_only = ops
            .iter()
            .map(|(_, op)| op.ret.is_some() && model.is_read_only(&op.input, op.output()))
            .collect::<Vec<bool>>();
        // A stand-in leaves a state no operation sees or grows into one it sees: above
        // every other state in the model's order ([`Model::stand_ins`]).
        let grows: Vec<bool> = ops
            .iter()
            .zip(recorded)
            .zip(&read_only)
            .map(|(((_, op), (_, as_recorded)), &ro)| {
                ro || !std::ptr::eq(*op, *as_recorded) || model.only_grows(&op.input, op.output())
            })
            .collect();
        // (Indeterminate read-only operations were dropped above, so `read_only` covers
        // every operation that leaves the state as it is.)
        let growth_known = grows.iter().zip(&read_only).any(|(&g, &ro)| g && !ro);
        let set_back_calls: Vec<u32> = (1..entries as u32 - 1)
            .filter(|&e| entry_is_call[e as usize] && !grows[entry_op[e as usize] as usize])
            .collect();
        let checked_returns: Vec<u32> = (1..entries as u32 - 1)
            .filter(|&e| {
                let op = entry_op[e as usize] as usize;
                !entry_is_call[e as usize] && (read_only[op] || !grows[op])
            })
            .collect();
        let mut twin_before = vec![NONE; n];
        let mut last_twin: FxHashMap<&M::Input, u32> = FxHashMap::default();
        for &(_, _, op) in events.iter().filter(|(_, is_ret, _)| !is_ret) {
            let o = ops[op as usize].1;
            if o.ret.is_none() {
                if let Some(before) = last_twin.insert(&o.input, op) {
                    twin_before[op as usize] = before;
                }
            }
        }
        // Identical completed operations that change the state, in the order they returned.
        let mut twin_done_before = vec![NONE; n];
        let mut last_done: FxHashMap<(&M::Input, &M::Output), u32> =
            FxHashMap::with_capacity_and_hasher(n, Default::default());
        for &(_, _, op) in events.iter().filter(|(_, is_ret, _)| *is_ret) {
            let o = ops[op as usize].1;
            if let Some(ret) = &o.ret
                && !read_only[op as usize]
                && let Some(before) = last_done.insert((&o.input, &ret.output), op)
            {
                twin_done_before[op as usize] = before;
            }
        }
        Search {
            model,
            ops,
            recorded,
            partition,
            most_open,
            call_entry,
            ret_entry,
            read_only,
            grows,
            growth_known,
            set_back_calls,
            checked_returns,
            twin_before,
            twin_done_before,
            entry_op,
            entry_is_call,
            next,
            prev,
            states: Vec::new(),
            state_ids: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            state_bytes: 0,
            needs: Needs::default(),
        }
    }

    fn intern(&mut self, state: M::State) -> u32 {
        if let Some(&id) = self.state_ids.get(&state) {
            return id;
        }
        let id = self.states.len() as u32;
        // Held twice (the list and the index), each with an entry of its own.
        self.state_bytes +=
            2 * (std::mem::size_of::<M::State>() + self.model.state_bytes(&state)) + 16;
        self.states.push(state.clone());
        self.state_ids.insert(state, id);
        id
    }

    fn lift(&mut self, op: u32) {
        for e in [self.call_entry[op as usize], self.ret_entry[op as usize]] {
            if e != NONE {
                let (p, n) = (self.prev[e as usize], self.next[e as usize]);
                self.next[p as usize] = n;
                self.prev[n as usize] = p;
            }
        }
    }

    fn unlift(&mut self, op: u32) {
        for e in [self.ret_entry[op as usize], self.call_entry[op as usize]] {
            if e != NONE {
                let (p, n) = (self.prev[e as usize], self.next[e as usize]);
                self.next[p as usize] = e;
                self.prev[n as usize] = e;
            }
        }
    }

    /// Searches from the start; `quick` steps end it early with an empty `Unknown` (the
    /// quick pass). Returns the outcome and the steps taken.
    fn run(mut self, position: usize, limits: &Limits, quick: u64) -> (Outcome, u64) {
        let n = self.ops.len();
        let mut set = LinearizedSet::new(n);
        let mut memo = Memo::new(2 * n);
        let mut stack: Vec<Frame> = Vec::new();
        let mut remaining = self.ops.iter().filter(|(_, op)| op.ret.is_some()).count();
        let init = self.model.init();
        let mut state = self.intern(init);
        if let Some(deepest) = self.overwritten_before_read(state) {
            return (
                Outcome::NotLinearizable(Box::new(self.counterexample(deepest))),
                0,
            );
        }
        let mut deepest: Option<Deepest> = None;
        let mut steps: u64 = 0;
        let step_limit = limits.max_steps.unwrap_or(u64::MAX).min(quick);
        let mut entry = self.next[0];
        let twins = self.twin_done_before.iter().any(|&t| t != NONE);
        let mut frontier = self.frontier(twins);
        // Each configuration is first scanned for a read-only operation that fits (which is
        // then the only one worth trying), then for the others.
        let mut reads_phase = true;

        loop {
            steps += 1;
            if steps % CHECK_EVERY == 1 || steps >= step_limit {
                if steps >= quick {
                    return (Outcome::Unknown(String::new()), steps);
                }
                if let Some(reason) = self.over_budget(steps, &memo, position, limits) {
                    return (Outcome::Unknown(reason), steps);
                }
            }
            let e = entry as usize;
            let mut dead_end = false;
            if self.entry_is_call[e] {
                let op = self.entry_op[e];
                let o = self.ops[op as usize].1;
                let twin = self.twin_before[op as usize];
                if reads_phase != self.read_only[op as usize]
                    || (twin != NONE && !set.contains(twin))
                    || self.twin_waits(op, frontier, &set)
                {
                    entry = self.next[e];
                    continue;
                }
                let current = &self.states[state as usize];
                let stepped = match &o.ret {
                    Some(ret) => self.model.step(current, &o.input, &ret.output),
                    None => self.model.step_indeterminate(current, &o.input),
                };
                let stepped = match stepped.map(|s| {
                    // Only a walk cut short leaves anything for the far look to find.
                    let out = match self.read_out_of_reach(op, &s) {
                        Walk::Dead(read) => Some(read),
                        Walk::Clear => None,
                        Walk::CutShort => self.far_read_out_of_reach(op, &s, &set),
                    };
                    (out, s)
                }) {
                    Some((Some(read), s)) => {
                        if deepest
                            .as_ref()
                            .is_none_or(|d| stack.len() >= d.prefix.len())
                        {
                            let mut prefix: Vec<u32> = stack.iter().map(|f| f.op).collect();
                            prefix.push(op);
                            let state = self.intern(s);
                            deepest = Some(Deepest {
                                prefix,
                                state,
                                stuck: vec![read],
                                shown: None,
                            });
                        }
                        None
                    }
                    other => other.map(|(_, s)| s),
                };
                if let Some(new_state) = stepped {
                    let new_id = self.intern(new_state);
                    let read_only = self.read_only[op as usize];
                    if (new_id != state || o.ret.is_some()) && self.needs_top(&stack, op, new_id) {
                        set.insert(op);
                        let stranded = self.strands(op, state, new_id, &set);
                        if let Some(waiting) = stranded
                            && deepest
                                .as_ref()
                                .is_none_or(|d| stack.len() >= d.prefix.len())
                        {
                            let mut prefix: Vec<u32> = stack.iter().map(|f| f.op).collect();
                            prefix.push(op);
                            deepest = Some(Deepest {
                                prefix,
                                state: new_id,
                                stuck: vec![waiting],
                                shown: None,
                            });
                        }
                        if stranded.is_none() && memo.insert(&set, new_id) {
                            stack.push(Frame {
                                op,
                                prev_state: state,
                                read_only,
                            });
                            state = new_id;
                            self.lift(op);
                            if o.ret.is_some() {
                                remaining -= 1;
                                if remaining == 0 {
                                    return (self.confirm(&stack), steps);
                                }
                            }
                            entry = self.next[0];
                            frontier = self.frontier(twins);
                            reads_phase = true;
                            continue;
                        }
                        set.remove(op);
                        // Placing this read now was already explored and failed, so every
                        // other order from here fails too.
                        dead_end = read_only;
                    }
                }
                if !dead_end {
                    entry = self.next[e];
                    continue;
                }
            } else if reads_phase {
                reads_phase = false;
                entry = self.next[0];
                continue;
            } else if deepest
                .as_ref()
                .is_none_or(|d| stack.len() > d.prefix.len())
            {
                deepest = Some(self.dead_end_at(e, &stack, state));
            }

            // Backtrack.
            loop {
                let Some(frame) = stack.pop() else {
                    let deepest = deepest.unwrap_or_else(|| Deepest {
                        prefix: Vec::new(),
                        state,
                        stuck: Vec::new(),
                        shown: None,
                    });
                    return (
                        Outcome::NotLinearizable(Box::new(self.counterexample(deepest))),
                        steps,
                    );
                };
                let op = frame.op;
                state = frame.prev_state;
                set.remove(op);
                self.unlift(op);
                if self.ops[op as usize].1.ret.is_some() {
                    remaining += 1;
                }
                if !frame.read_only {
                    entry = self.next[self.call_entry[op as usize] as usize];
                    frontier = self.frontier(twins);
                    reads_phase = false;
                    break;
                }
            }
        }
    }

    /// The first return entry of the list (the tail if none): the operations whose call
    /// entries come before it are the ones that can be placed next. Only looked for when
    /// [`Search::twin_waits`] needs it.
    fn frontier(&self, needed: bool) -> u32 {
        if !needed {
            return 0;
        }
        let mut k = self.next[0];
        while self.entry_is_call[k as usize] {
            k = self.next[k as usize];
        }
        k
    }

    /// Whether `op` should wait for its identical twin that returned just before it,
    /// `frontier` being the list's first return entry. Two identical operations have the
    /// same effect in every state, so in a linearization that places `op` here and its
    /// twin later, swapping them gives another one: the twin can go here (its call entry
    /// is before the frontier, so nothing unplaced must precede it) and `op` there
    /// (everything invoked after `op` returned was invoked after the twin returned, so it
    /// already follows). Unobserved writes that the model's stand-ins made identical are
    /// thereby placed in one order instead of every subset of them.
    fn twin_waits(&self, op: u32, frontier: u32, set: &LinearizedSet) -> bool {
        let twin = self.twin_done_before[op as usize];
        twin != NONE && !set.contains(twin) && self.call_entry[twin as usize] < frontier
    }

    /// Whether placing `op` (reaching `new_id`) right after the indeterminate operation on
    /// top of the stack depends on it. If `op` alone would have reached the same state, the
    /// indeterminate one is better left unplaced (it may still take effect later), and that
    /// order is explored from the configuration below.
    fn needs_top(&mut self, stack: &[Frame], op: u32, new_id: u32) -> bool {
        let Some(top) = stack.last() else {
            return true;
        };
        if self.ops[top.op as usize].1.ret.is_some() {
            return true;
        }
        let o = self.ops[op as usize].1;
        let before = &self.states[top.prev_state as usize];
        let without = match &o.ret {
            Some(ret) => self.model.step(before, &o.input, &ret.output),
            None => self.model.step_indeterminate(before, &o.input),
        };
        match without {
            None => true,
            Some(state) => self.intern(state) != new_id,
        }
    }

    /// Replays the linearization found against real time and the model before calling the
    /// history linearizable, so that a bug in the search can never turn into a wrong
    /// "linearizable".
    fn confirm(&self, stack: &[Frame]) -> Outcome {
        let mut state = self.model.init();
        let mut latest_call = 0;
        let mut placed = 0;
        let mut valid = true;
        for frame in stack {
            let o = self.recorded[frame.op as usize].1;
            latest_call = latest_call.max(o.call);
            let next = match &o.ret {
                // Something placed earlier was invoked after this returned.
                Some(ret) if ret.at.max(o.call) < latest_call => None,
                Some(ret) => self.model.step(&state, &o.input, &ret.output),
                None => self.model.step_indeterminate(&state, &o.input),
            };
            let Some(next) = next else {
                valid = false;
                break;
            };
            state = next;
            placed += usize::from(o.ret.is_some());
        }
        let determinate = self.ops.iter().filter(|(_, o)| o.ret.is_some()).count();
        if valid && placed == determinate {
            Outcome::Linearizable
        } else {
            debug_assert!(false, "the search found an invalid linearization");
            Outcome::Unknown(format!(
                "internal error: the linearization found for partition {} does not replay; please report it",
                self.partition
            ))
        }
    }

    fn over_budget(
        &self,
        steps: u64,
        memo: &Memo,
        position: usize,
        limits: &Limits,
    ) -> Option<String> {
        if limits.cancelled(position) {
            return Some("cancelled: an earlier partition is not linearizable".into());
        }
        if let Some(max) = limits.max_steps.filter(|&max| steps >= max) {
            return Some(format!(
                "step budget of {max} exhausted in partition {} ({} operations, up to {} open at once)",
                self.partition,
                self.ops.len(),
                self.most_open
            ));
        }
        // What this search holds now, and what it may allocate before the next look: the
        // budget holds at the peak, not only between growths.
        let held = memo.bytes() + self.state_bytes;
        if held + memo.growth_bytes(CHECK_EVERY as usize) >= limits.memory_share {
            let shared = if limits.memory_ways > 1 {
                format!(
                    " ({} MiB for each of {} partitions searched at once)",
                    limits.memory_share >> 20,
                    limits.memory_ways
                )
            } else {
                String::new()
            };
            return Some(format!(
                "memory budget of {} MiB{shared} reached after {} search configurations in partition {}: the search holds {} MiB, and growing its tables would pass the budget",
                limits.max_memo_bytes >> 20,
                memo.len(),
                self.partition,
                held >> 20
            ));
        }
        if let Some(g) = &limits.give_up
            && (g.reached)()
        {
            return Some(format!(
                "{} exhausted (in partition {} after {steps} steps)",
                g.what, self.partition
            ));
        }
        None
    }

    /// The configuration at a dead end: the return entry `e` was reached unplaced.
    fn dead_end_at(&self, e: usize, stack: &[Frame], state: u32) -> Deepest {
        let mut stuck = vec![self.entry_op[e]];
        let mut k = self.next[0] as usize;
        while k != e {
            if self.entry_is_call[k] && self.entry_op[k] != stuck[0] {
                stuck.push(self.entry_op[k]);
            }
            k = self.next[k] as usize;
        }
        Deepest {
            prefix: stack.iter().map(|f| f.op).collect(),
            state,
            stuck,
            shown: None,
        }
    }

    fn op_ref(&self, op: u32) -> OpRef {
        let (index, o) = self.recorded[op as usize];
        OpRef {
            index,
            client: o.client,
            description: self.model.describe_op(&o.input, o.output()),
        }
    }

    /// The state after `prefix` as recorded: the searched state `searched` may be a
    /// stand-in's, which would tell the reader nothing.
    fn describe_after(&self, prefix: &[u32], searched: u32) -> String {
        let mut state = Some(self.model.init());
        for &op in prefix {
            let o = self.recorded[op as usize].1;
            state = state.and_then(|s| match &o.ret {
                Some(ret) => self.model.step(&s, &o.input, &ret.output),
                None => self.model.step_indeterminate(&s, &o.input),
            });
        }
        match state {
            Some(state) => self.model.describe_state(&state),
            None => self.model.describe_state(&self.states[searched as usize]),
        }
    }

    fn counterexample(&self, deepest: Deepest) -> Counterexample {
        Counterexample {
            partition: self.partition,
            linearized: deepest.prefix.iter().map(|&op| self.op_ref(op)).collect(),
            state: deepest
                .shown
                .clone()
                .unwrap_or_else(|| self.describe_after(&deepest.prefix, deepest.state)),
            unplaceable: deepest.stuck.iter().map(|&op| self.op_ref(op)).collect(),
        }
    }
}
