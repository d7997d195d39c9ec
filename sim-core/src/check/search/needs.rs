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
    /// Per state met in some chain, the classes of operations that can leave it.
    pub(super) support: FxHashMap<u32, Vec<Leaver>>,
    /// Identical operations (same input, same answer), each class's members in call
    /// order: they leave the same states from the same states, so the model is asked
    /// once per class, not once per operation.
    pub(super) classes: Vec<Vec<u32>>,
    /// Per operation, its class (`NONE` for operations that never change the state).
    pub(super) class_of: Vec<u32>,
    /// Per class, the waiting operations whose chains it appears in.
    pub(super) feeds: Vec<Vec<u32>>,
    /// Per state, the waiting operations whose chains pass through it.
    pub(super) needers: FxHashMap<u32, Vec<u32>>,
    /// Scratch for [`reachable`]: what is known of each state in the configuration at
    /// hand, by state id, and which entries to reset before the next configuration.
    known: Vec<Reach>,
    touched: Vec<u32>,
}

/// A class of identical operations that can leave a state: its first `upto` members (by
/// call) may, and must find the state `from` to do so (`NONE`: any).
#[derive(Clone, Copy)]
pub(super) struct Leaver {
    pub(super) class: u32,
    pub(super) upto: u32,
    pub(super) from: u32,
}

impl Needs {
    /// The operations of `leaver` that may leave its state.
    pub(super) fn members(&self, leaver: &Leaver) -> &[u32] {
        &self.classes[leaver.class as usize][..leaver.upto as usize]
    }
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
    for leaver in leavers {
        // The search places operations roughly in call order: an unplaced member is
        // found soonest from the latest.
        if needs.members(leaver).iter().rev().all(|&y| set.contains(y)) {
            continue;
        }
        let (yes, on_cycle) = if leaver.from == NONE {
            (true, false)
        } else {
            reachable(needs, leaver.from, current, set, scratch, depth + 1)
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
const MAX_CHAIN: usize = 1024;

impl<M: Model> Search<'_, M> {
    /// Sets up [`Needs`]: which operations wait for one state, and which operations can
    /// lead to it. Each (state, class of identical operations) pair asked about is one
    /// question to the model, within a budget, and the states interned stay within
    /// `max_bytes`; past either, the states not worked out count as reachable.
    pub(super) fn with_needs(mut self, max_bytes: usize) -> Self {
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
        // Identical operations leave the same states from the same states. Classes that
        // leave one known state are found by it; the others (an append, whose result
        // depends on where it lands) are asked about each state.
        let mut classes: Vec<Vec<u32>> = Vec::new();
        let mut class_of = vec![NONE; n];
        let mut by_op: FxHashMap<(&M::Input, Option<&M::Output>), u32> = FxHashMap::default();
        let mut leaving: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        // Classes the model files under a key ([`Model::leave_key`]) are asked about the
        // states with that key only; the others about every state.
        let mut filed: FxHashMap<(u32, u64), Vec<u32>> = FxHashMap::default();
        let mut asked: Vec<u32> = Vec::new();
        for (y, (_, o)) in self.ops.iter().enumerate() {
            if o.ret.is_some() && self.model.is_read_only(&o.input, o.output()) {
                continue;
            }
            let class = *by_op.entry((&o.input, o.output())).or_insert_with(|| {
                classes.push(Vec::new());
                (classes.len() - 1) as u32
            });
            classes[class as usize].push(y as u32);
            class_of[y] = class;
            if classes[class as usize].len() > 1 {
                continue;
            }
            match self.model.leaves(&o.input, o.output()) {
                Some(state) => {
                    let id = self.intern(state);
                    leaving.entry(id).or_default().push(class);
                }
                None => match self.model.leave_key(&o.input, o.output()) {
                    Some(key) => filed.entry(key).or_default().push(class),
                    None => asked.push(class),
                },
            }
        }
        // Values written over and over (a register of small numbers) leave most waiting
        // operations many ways back: the bookkeeping would cost more than it saves.
        let exact_pairs: usize = waiting
            .iter()
            .map(|&r| {
                leaving.get(&need[r as usize]).map_or(0, |known| {
                    known.iter().map(|&c| classes[c as usize].len()).sum()
                })
            })
            .sum();
        if exact_pairs > 3 * waiting.len() {
            return self;
        }
        // The chains, state by state from the waited-for ones back, within a budget of
        // questions. Only operations invoked before a waiting one returned can bring its
        // state about, so each leaver counts the members called by then. The waiting
        // operations that return last go first, so a state shared by several chains is
        // worked out for the latest of them, whose members hold the others'.
        let mut support: FxHashMap<u32, Vec<Leaver>> = FxHashMap::default();
        let mut lengths: Vec<u32> = filed.keys().map(|&(len, _)| len).collect();
        lengths.sort_unstable();
        lengths.dedup();
        let mut latest_first = waiting.clone();
        latest_first.sort_by_key(|&r| std::cmp::Reverse(returned(self.ops[r as usize].1)));
        let mut questions = 0usize;
        'chains: for &r in &latest_first {
            let bound = returned(self.ops[r as usize].1).unwrap_or(u64::MAX);
            let callable = |members: &[u32]| {
                members.partition_point(|&y| self.ops[y as usize].1.call <= bound) as u32
            };
            // With how far back from r's state each is: past MAX_CHAIN, `reachable` never
            // looks, so such states are neither worked out nor stored.
            let mut to_expand = vec![(need[r as usize], 0)];
            while let Some((state, depth)) = to_expand.pop() {
                if depth >= MAX_CHAIN || support.contains_key(&state) {
                    continue;
                }
                // The states met are interned (a long value's every prefix, for a chain of
                // appends): they count against the memory budget.
                if self.state_bytes > max_bytes {
                    break 'chains;
                }
                let wanted = self.states[state as usize].clone();
                let by_key: Vec<u32> = lengths
                    .iter()
                    .filter_map(|&len| {
                        let key = self.model.state_leave_key(&wanted, len)?;
                        filed.get(&(len, key))
                    })
                    .flatten()
                    .copied()
                    .collect();
                questions += asked.len()
                    + by_key.len()
                    + lengths.len()
                    + leaving.get(&state).map_or(0, Vec::len);
                // Past the budget the states left unworked count as reachable.
                if questions > MAX_NEED_PAIRS {
                    break 'chains;
                }
                let known = leaving.get(&state).into_iter().flatten().copied();
                let others = asked.iter().chain(&by_key).copied().filter(|&c| {
                    let o = self.ops[classes[c as usize][0] as usize].1;
                    self.model.can_leave(&o.input, o.output(), &wanted)
                });
                let mut list = Vec::new();
                for class in known.chain(others).collect::<Vec<_>>() {
                    let members = &classes[class as usize];
                    let upto = callable(members);
                    if upto == 0 {
                        continue;
                    }
                    let o = self.ops[members[0] as usize].1;
                    let from = match self.model.leaves_from(&o.input, o.output(), &wanted) {
                        Some(before) => {
                            let id = self.intern(before);
                            to_expand.push((id, depth + 1));
                            id
                        }
                        None => NONE,
                    };
                    list.push(Leaver { class, upto, from });
                }
                support.insert(state, list);
            }
        }
        let mut feeds: Vec<Vec<u32>> = vec![Vec::new(); classes.len()];
        let mut needers: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut seen: FxHashMap<u32, u32> = FxHashMap::default();
        for &r in &waiting {
            // Every state and class of r's chains, each once.
            let mut stack = vec![need[r as usize]];
            while let Some(state) = stack.pop() {
                if seen.insert(state, r) == Some(r) {
                    continue;
                }
                needers.entry(state).or_default().push(r);
                for leaver in support.get(&state).into_iter().flatten() {
                    let fed = &mut feeds[leaver.class as usize];
                    if fed.last() != Some(&r) {
                        fed.push(r);
                    }
                    if leaver.from != NONE {
                        stack.push(leaver.from);
                    }
                }
            }
        }
        self.needs = Needs {
            on: true,
            need,
            support,
            classes,
            class_of,
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
        let class = needs.class_of[op as usize];
        let fed = needs
            .feeds
            .get(class as usize)
            .map_or(&[][..], Vec::as_slice);
        let by_op = fed.iter().copied().find(&mut gone);
        let found = by_op.or_else(|| {
            (old != new)
                .then(|| needs.needers.get(&old)?.iter().copied().find(&mut gone))
                .flatten()
        });
        (self.needs.known, self.needs.touched) = scratch;
        found
    }

    /// A waiting operation that real time alone rules out, found before any search. It
    /// waits for a state S; some operation w lies, in real time, after a moment by which
    /// S was last brought about and before the waiting one was invoked, and w cannot
    /// leave S current: it changes the state and cannot leave S, or it waits for another
    /// state. That moment is, in general, the last return of the operations that can
    /// leave S (when all have returned): w comes after all of them, and nothing after w
    /// brings S back (a stale read of an overwritten value). When one operation alone can
    /// leave S, and S is not `init`, S is current over one stretch of the linearization
    /// only, which starts with that operation and holds every operation waiting for S:
    /// the moment is then the first return among them all, so an operation in real time
    /// between two reads of S that saw something else rules out the later read. A
    /// waiting state nothing leaves that is not `init` is ruled out as well. Quadratic at
    /// worst, in the number of waiting operations times the operations between; the
    /// search would pay more.
    pub(super) fn overwritten_before_read(&mut self, init: u32) -> Option<Deepest> {
        if !self.needs.on {
            return None;
        }
        // Per waited-for state, the first return among the operations waiting for it.
        let mut first_return: FxHashMap<u32, (u64, u32)> = FxHashMap::default();
        for (r, &want) in self.needs.need.iter().enumerate() {
            if let Some(at) = returned(self.ops[r].1)
                && want != NONE
            {
                let first = first_return.entry(want).or_insert((at, r as u32));
                if at < first.0 {
                    *first = (at, r as u32);
                }
            }
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
            let mut leaver_ops = leavers.iter().flat_map(|l| self.needs.members(l));
            let only = match (leaver_ops.next(), leaver_ops.next()) {
                (Some(&y), None) if want != init => Some(y),
                _ => None,
            };
            // The moment (`None`: before every operation), and the operations to show
            // before w.
            let (after, shown_before): (Option<u64>, Vec<u32>) = if let Some(y) = only {
                let (first, reader) = first_return[&want];
                let (_, writer) = self.ops[y as usize];
                if writer.call > first {
                    // A reader of S returned before S's only writer was invoked.
                    return Some(Deepest {
                        prefix: Vec::new(),
                        state: init,
                        stuck: vec![reader],
                        shown: Some(format!(
                            "not {}: its only writer was invoked after this returned",
                            self.model.describe_state(&self.states[want as usize])
                        )),
                    });
                }
                match returned(writer) {
                    Some(at) if at <= first => (Some(at), vec![y]),
                    _ if reader as usize == r => (Some(first), vec![y]),
                    _ => (Some(first), vec![y, reader]),
                }
            } else {
                let mut latest: Option<(u64, u32)> = None;
                let mut open = false;
                for &y in leavers.iter().flat_map(|l| self.needs.members(l)) {
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
                (
                    latest.map(|(t, _)| t),
                    latest.map(|(_, y)| y).into_iter().collect(),
                )
            };
            // Operations are in call order; a few hundred looked at find nearly every such
            // operation, and missing one only leaves the case to the search.
            let lo = after.map_or(0, |after| {
                self.ops.partition_point(|(_, o)| o.call <= after)
            });
            let hi = self.ops.partition_point(|(_, o)| o.call < read.call);
            let between = (lo..hi.max(lo)).take(STALE_SCAN).find(|&w| {
                let o = self.ops[w].1;
                let other = self.needs.need[w];
                // A leaver is no witness: with several, each returned by the moment; with
                // one, it was invoked by then (checked above).
                returned(o).is_some_and(|at| at < read.call)
                    && !self.leaves_state(leavers, w)
                    && (!self.read_only[w] || (other != NONE && other != want))
            });
            if let Some(w) = between {
                let mut prefix = shown_before;
                prefix.push(w as u32);
                // Not a prefix from the start: the state is what w leaves or finds.
                let (_, as_recorded) = self.recorded[w];
                let other = self.needs.need[w];
                let shown = match self.model.leaves(&as_recorded.input, as_recorded.output()) {
                    Some(left) if !self.read_only[w] => self.model.describe_state(&left),
                    _ if self.read_only[w] && other != NONE => {
                        self.model.describe_state(&self.states[other as usize])
                    }
                    _ => format!(
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

    /// Whether operation `w` is one of `leavers`.
    fn leaves_state(&self, leavers: &[Leaver], w: usize) -> bool {
        leavers.iter().any(|l| {
            l.class == self.needs.class_of[w]
                && self.needs.members(l).binary_search(&(w as u32)).is_ok()
        })
    }
}
