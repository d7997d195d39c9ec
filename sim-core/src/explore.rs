//! Bounded exhaustive search of a run's schedules: from the start of a run, every order
//! in which the waiting messages, timers and client events can happen, and every loss,
//! duplicate, crash and restart a [`Budget`] allows, breadth-first (the first violation
//! found is one of the shortest) or depth-first with iterative deepening (less memory).
//!
//! States are told apart by a digest of the whole world (see the stepped run's digest),
//! so two schedules that reach the same world are followed once. Every step runs the
//! run's invariants, as a timed run does; every new history goes to the caller's
//! [`Judge`] (linearizability and the other history checks). A violation comes back as
//! the [`Step`]s that lead to it, which [`Simulation::run_schedule`] replays.

use std::collections::VecDeque;
use std::hash::Hash;

use rayon::prelude::*;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::protocol::Protocol;
use crate::schedule::{Budget, Step};
use crate::sim::scripted::{Choice, Stepped};
use crate::sim::{EndReason, RunResult, Simulation};

/// How the search walks the space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Level by level: the first violation found is one of the shortest.
    #[default]
    BreadthFirst,
    /// Depth-first to a depth limit raised one step at a time: memory for one schedule
    /// and the digests, not for a whole level.
    IterativeDeepening,
    /// One depth-first pass to the depth limit (or none): the fewest steps per state
    /// and the least memory, but the violation found may be longer than the shortest.
    DepthFirst,
    /// The waiting events in the order they fall due (a message when its latency would
    /// bring it, a timer at its deadline), and every schedule that departs from that
    /// order in at most [`Limits::max_deviations`] steps:
    /// a step that is not the next in time order, or a fault, is one departure.
    /// Departures are allowed one more at a time, so a violation found has as few as
    /// any. It reaches bugs deep in a run that need few odd turns (Raft's Figure 8
    /// takes two), far below the depth where every other search runs out.
    Deviations,
}

/// Where the search stops looking, and how many threads it may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Stop after this many distinct states.
    pub max_states: Option<u64>,
    /// Look no deeper than this many steps.
    pub max_depth: Option<u32>,
    /// Synchronous timing: every message arrives within this long of being sent (no
    /// timer fires later than that while it waits). `None`: messages may wait forever.
    pub message_bound: Option<crate::SimDuration>,
    /// Timers fire at their deadlines, earliest first (nodes are never late), while
    /// messages still arrive in any order: fewer schedules, each still a real run.
    pub timers_on_time: bool,
    /// For [`Strategy::Deviations`]: at most this many departures from time order.
    pub max_deviations: u32,
    /// Threads for the breadth-first search (`None`: one per core, or as rayon's
    /// `RAYON_NUM_THREADS` says; the other searches use one). The result is the same
    /// with any number: the states of a level are expanded in parallel, but taken in,
    /// counted and judged in the order one thread would take them.
    pub threads: Option<usize>,
}

/// How far the search has got, for a progress display.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Steps tried (successor states computed, duplicates included).
    pub transitions: u64,
    /// Distinct states found.
    pub distinct: u64,
    /// The deepest level reached.
    pub depth: u32,
}

/// What a history check made of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// Nothing wrong.
    Holds,
    /// Violated: the check's name and what it found.
    Violated(String, String),
    /// Could not be decided (the checker's budget ran out): never a pass.
    Undecided(String),
}

/// What the caller supplies: the history checks, and a say in when to stop. The
/// breadth-first search judges on several threads at once, hence `Sync`.
pub trait Judge: Sync {
    /// Judges the history of a state (closed: operations still waiting may take effect
    /// later or never). Called for each history not judged before, and sometimes again
    /// (the breadth-first search judges a batch's new histories before it knows which of
    /// its states are new; only the judgement of the state taken in counts, once per
    /// distinct history).
    fn judge(&self, so_far: &RunResult) -> Judgement;
    /// Called now and then; `false` stops the search (a time limit, Ctrl-C).
    fn keep_going(&mut self, progress: &Progress) -> bool;
    /// Called with the digest of each state the search reached where nothing more can
    /// happen (the run is over, or stuck), once or more: two searches of the whole
    /// space reach the same set of them, which is how one search is checked against
    /// another.
    fn leaf(&mut self, _digest: u64) {}
}

/// Why the search stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every state within the limits was visited.
    Exhausted,
    /// A violation was found.
    Violation,
    /// The state limit was reached.
    MaxStates,
    /// The caller said stop.
    Interrupted,
}

/// A violation and the schedule that reaches it.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The steps from the start.
    pub schedule: Vec<Step>,
    /// The check that failed ("invariants" for an invariant) and its name for the
    /// violation (the invariant's own name).
    pub check: String,
    /// What it said.
    pub detail: String,
}

/// What a search did.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Why it stopped.
    pub stop: Stop,
    /// Steps tried.
    pub transitions: u64,
    /// Distinct states.
    pub distinct: u64,
    /// The deepest level reached.
    pub depth: u32,
    /// Some state at the depth limit could have gone on: "exhausted" then means
    /// "exhausted to that depth".
    pub depth_capped: bool,
    /// Distinct histories judged.
    pub histories: u64,
    /// Histories the checks could not decide, with the first one's reason.
    pub undecided: (u64, Option<String>),
    /// The violation, if one was found.
    pub found: Option<Found>,
    /// Some schedule wanted more departures from time order than allowed (see
    /// [`Strategy::Deviations`]): "exhausted" then means "exhausted within them".
    pub deviations_capped: bool,
}

/// Searches the schedules of `sim` within `budget` and `limits`.
///
/// # Errors
/// If the run cannot be copied (see the stepped run), with the reason.
pub fn explore<P: Protocol + Clone + Hash>(
    sim: Simulation<P>,
    budget: Budget,
    strategy: Strategy,
    limits: Limits,
    judge: &mut dyn Judge,
) -> Result<Report, String> {
    if let Some(why) = sim.unforkable() {
        return Err(why);
    }
    let mut root = Stepped::start(sim, budget);
    root.bound = limits.message_bound;
    root.punctual = limits.timers_on_time;
    let mut search = Search {
        judge,
        limits,
        judged: FxHashSet::default(),
        report: Report {
            stop: Stop::Exhausted,
            transitions: 0,
            distinct: 1,
            depth: 0,
            depth_capped: false,
            histories: 0,
            undecided: (0, None),
            found: None,
            deviations_capped: false,
        },
    };
    if let Some(v) = search.verdict(&root) {
        search.found(v, Vec::new());
        return Ok(search.report);
    }
    match strategy {
        Strategy::BreadthFirst => search.breadth_first(root),
        Strategy::IterativeDeepening => search.deepening(root, 1),
        Strategy::DepthFirst => search.deepening(root, u32::MAX),
        Strategy::Deviations => search.deviating(root),
    }
    Ok(search.report)
}

/// States waiting in the breadth-first search, kept as their parent (shared by its
/// waiting children, whom one thread makes) and, for each child, its index and the
/// choice that makes it from the parent (`None`: the parent itself, for the start).
struct Family<P: Protocol> {
    parent: Box<Stepped<P>>,
    children: Vec<(u32, Option<Choice>)>,
}

/// What a thread of the breadth-first search made of one waiting state.
struct Expanded<P: Protocol> {
    /// The state's index.
    index: u32,
    /// The state, which its new successors will be made from (boxed: a state is a few
    /// kilobytes, and it moves from thread to level), unless it has none.
    state: Option<Box<Stepped<P>>>,
    /// Nothing can happen there: its digest.
    leaf: Option<u64>,
    /// It is at the depth limit and something could still happen.
    capped: bool,
    /// How many choices it has (steps tried).
    choices: u32,
    /// Its successors not seen before, in the order of its choices.
    fresh: Vec<Successor>,
}

/// A successor of a waiting state, not seen when its level's batch began.
struct Successor {
    /// Its place among the choices.
    nth: u32,
    choice: Choice,
    digest: u64,
    /// The step ended the run (an invariant failed).
    ended: bool,
    /// An invariant failed on the way in: its name and what it said.
    broken: Option<(String, String)>,
    /// Its history's digest, and what the checks made of it if it was not judged when
    /// the batch began.
    history: (u64, Option<Judgement>),
}

/// What the threads of one batch read: the history checks, the digests of the states
/// and histories taken in before it, and whether the depth limit is reached.
struct Known<'a> {
    judge: &'a dyn Judge,
    seen: &'a FxHashSet<u64>,
    judged: &'a FxHashSet<u64>,
    /// The batch's states are at the depth limit: they are not expanded.
    capped: bool,
}

/// Children (roughly) per batch of the breadth-first search: enough to keep the threads
/// busy between two takes, few enough to hear the caller often.
const BATCH: usize = 512;

/// One level of the depth-first search: a state, its choices, the next one to try, and
/// the step that led to it.
type Frame<P> = (Stepped<P>, Vec<Choice>, usize, Option<Step>);

struct Search<'a> {
    judge: &'a mut dyn Judge,
    limits: Limits,
    /// Digests of the histories judged already.
    judged: FxHashSet<u64>,
    report: Report,
}

/// What a depth-first search does with a state it reached.
enum Next {
    /// Stop searching: a violation (recorded) or the state limit.
    Stop,
    /// Nothing can happen there.
    End,
    /// These choices can.
    Go(Vec<Choice>),
}

/// How often (in steps tried) the caller hears of progress.
const TICK: u64 = 4096;

impl Search<'_> {
    /// The violation `s` shows, if any (the check's name and what it said): an invariant
    /// that failed on the way in, or a new history a check rejects.
    fn verdict<P: Protocol + Clone + Hash>(&mut self, s: &Stepped<P>) -> Option<(String, String)> {
        if let Some(v) = broken(s) {
            return Some(v);
        }
        let h = s.history_digest();
        if self.judged.contains(&h) {
            return None;
        }
        let judgement = self.judge.judge(&s.so_far());
        self.judged_new(h, judgement)
    }

    /// The violation in the history with `digest`, if that history is new (counted):
    /// `judgement` is what the checks made of it.
    fn judged_new(&mut self, digest: u64, judgement: Judgement) -> Option<(String, String)> {
        if !self.judged.insert(digest) {
            return None;
        }
        self.report.histories += 1;
        match judgement {
            Judgement::Holds => None,
            Judgement::Undecided(why) => {
                self.report.undecided.0 += 1;
                self.report.undecided.1.get_or_insert(why);
                None
            }
            Judgement::Violated(check, detail) => Some((check, detail)),
        }
    }

    /// Takes in a new state `next` (digest `d`), reached by `c` from the state on top of
    /// `stack` at `depth`: records a violation with the steps to it, stops at the state
    /// limit, reports a state where nothing can happen, or gives its choices.
    fn arrive<P: Protocol + Clone + Hash>(
        &mut self,
        stack: &[Frame<P>],
        c: Choice,
        next: &Stepped<P>,
        depth: u32,
        d: u64,
    ) -> Next {
        self.report.depth = self.report.depth.max(depth);
        if let Some(v) = self.verdict(next) {
            let mut path: Vec<Step> = stack.iter().filter_map(|f| f.3.clone()).collect();
            path.extend(stack.last().map(|f| f.0.step_of(c)));
            self.found(v, path);
            return Next::Stop;
        }
        if self.full() {
            return Next::Stop;
        }
        let mut more = Vec::new();
        next.choices(&mut more);
        if more.is_empty() {
            self.judge.leaf(d);
            return Next::End;
        }
        Next::Go(more)
    }

    fn found(&mut self, (check, detail): (String, String), schedule: Vec<Step>) {
        self.report.found = Some(Found {
            schedule,
            check,
            detail,
        });
        self.report.stop = Stop::Violation;
    }

    /// Counts one step tried; `false` when the caller wants to stop.
    fn tick(&mut self) -> bool {
        self.report.transitions += 1;
        self.report.transitions % TICK != 0 || self.hear()
    }

    /// Tells the caller how far the search has got; `false` when it wants to stop.
    fn hear(&mut self) -> bool {
        let p = Progress {
            transitions: self.report.transitions,
            distinct: self.report.distinct,
            depth: self.report.depth,
        };
        if !self.judge.keep_going(&p) {
            self.report.stop = Stop::Interrupted;
            return false;
        }
        true
    }

    fn full(&mut self) -> bool {
        if self
            .limits
            .max_states
            .is_some_and(|m| self.report.distinct >= m)
        {
            self.report.stop = Stop::MaxStates;
            return true;
        }
        false
    }

    /// Level by level. A waiting state is kept as its parent (shared by its siblings)
    /// and the choice that makes it, and made again when its turn comes: a state of a
    /// real protocol is many small maps, and a level of them would not fit in memory.
    /// Batches of waiting states are expanded by several threads; what they found is
    /// taken in here, in the order one thread would find it, so the search (states,
    /// counts, the violation and its schedule) is the same with any number of threads.
    fn breadth_first<P: Protocol + Clone + Hash>(&mut self, root: Stepped<P>) {
        // Without threads (one asked for, or none to be had) the batches run here.
        let pool = match self.limits.threads {
            Some(1) => None,
            n => rayon::ThreadPoolBuilder::new()
                .num_threads(n.unwrap_or(0))
                .build()
                .ok(),
        };
        let start = root.fork();
        let mut seen = FxHashSet::default();
        seen.insert(root.digest());
        // Each state found: its parent's index and the choice that led to it.
        let mut parents: Vec<(u32, Choice)> = vec![(0, Choice::Crash(u32::MAX))];
        // The start is stepped as a copy: the run itself may carry a trace, which no
        // explored path should write to.
        let mut level = VecDeque::from([Family {
            parent: Box::new(root.fork()),
            children: vec![(0, None)],
        }]);
        let mut next = VecDeque::new();
        let mut depth = 0;
        'search: while !level.is_empty() {
            while !level.is_empty() {
                let mut batch = Vec::new();
                let mut size = 0;
                while size < BATCH {
                    let Some(f) = level.pop_front() else { break };
                    size += f.children.len();
                    batch.push(f);
                }
                let known = Known {
                    judge: &*self.judge,
                    seen: &seen,
                    judged: &self.judged,
                    capped: self.limits.max_depth.is_some_and(|m| depth >= m),
                };
                let expanded: Vec<Vec<Expanded<P>>> = match &pool {
                    Some(pool) => {
                        pool.install(|| batch.into_par_iter().map(|f| expand(f, &known)).collect())
                    }
                    None => batch.into_iter().map(|f| expand(f, &known)).collect(),
                };
                for e in expanded.into_iter().flatten() {
                    if !self.take_in(e, depth, &start, &mut seen, &mut parents, &mut next) {
                        break 'search;
                    }
                }
                // Asked only while work remains: a search that ran out of states is
                // exhausted, whatever the caller says now.
                let more = !level.is_empty() || !next.is_empty();
                if more && !self.hear() {
                    break 'search;
                }
            }
            level = std::mem::take(&mut next);
            depth += 1;
        }
        // A search stopped early leaves many states waiting: let them go on every thread.
        if let Some(pool) = &pool {
            pool.install(|| {
                level.into_par_iter().for_each(drop);
                next.into_par_iter().for_each(drop);
            });
        }
    }

    /// Takes in what a thread made of a waiting state at `depth`: its new successors
    /// get indices and are judged, in order; `false` when the search stops (a violation,
    /// the state limit).
    fn take_in<P: Protocol + Clone + Hash>(
        &mut self,
        e: Expanded<P>,
        depth: u32,
        start: &Stepped<P>,
        seen: &mut FxHashSet<u64>,
        parents: &mut Vec<(u32, Choice)>,
        next: &mut VecDeque<Family<P>>,
    ) -> bool {
        if let Some(d) = e.leaf {
            self.judge.leaf(d);
            return true;
        }
        if e.capped {
            self.report.depth_capped = true;
            return true;
        }
        let mut children = Vec::new();
        // Steps counted so far: up to a violation, as one thread would have counted.
        let mut counted = 0;
        for s in e.fresh {
            self.report.transitions += u64::from(s.nth + 1 - counted);
            counted = s.nth + 1;
            // A step that broke an invariant is judged even if its state was seen: the
            // digest holds the world, not the event that led there.
            if !seen.insert(s.digest) && !s.ended {
                continue;
            }
            self.report.distinct += 1;
            self.report.depth = self.report.depth.max(depth + 1);
            parents.push((e.index, s.choice));
            let at = (parents.len() - 1) as u32;
            let verdict = match (s.broken, s.history) {
                (Some(v), _) => Some(v),
                (None, (h, Some(judgement))) => self.judged_new(h, judgement),
                // Judged before the batch began.
                (None, (_, None)) => None,
            };
            if let Some(v) = verdict {
                let path = replay_path(start, parents, at);
                self.found(v, path);
                return false;
            }
            if self.full() {
                return false;
            }
            children.push((at, Some(s.choice)));
        }
        self.report.transitions += u64::from(e.choices - counted);
        if let (false, Some(parent)) = (children.is_empty(), e.state) {
            next.push_back(Family { parent, children });
        }
        true
    }

    /// Depth-first from the start, the step next in time order first, with at most
    /// `k` departures from that order, for `k` from 0 up to the limit.
    fn deviating<P: Protocol + Clone + Hash>(&mut self, root: Stepped<P>) {
        let depth_cap = self.limits.max_depth.unwrap_or(u32::MAX);
        for k in 0..=self.limits.max_deviations {
            // The departures left and the depth each state (with its time order) was
            // reached at: reached again with more left, or shallower under a depth
            // limit, it is searched again.
            let key = |s: &Stepped<P>, d: u64| crate::fingerprint::digest(&(d, s.order_digest()));
            let mut seen: FxHashMap<u64, (u32, u32)> = FxHashMap::default();
            seen.insert(key(&root, root.digest()), (k, 0));
            // The distinct states themselves, whatever their time order.
            let mut states: FxHashSet<u64> = FxHashSet::default();
            states.insert(root.digest());
            let mut cut = false;
            let mut first = Vec::new();
            root.choices(&mut first);
            root.in_time_order(&mut first);
            let mut stack: Vec<Frame<P>> = vec![(root.fork(), first, 0, None)];
            let mut lefts = vec![k];
            while let Some((depth, i, c)) = next_choice(&mut stack, || {
                lefts.pop();
            }) {
                let here = *lefts.last().expect("one per state");
                // The first choice, if an event, is the next in time order: free.
                let cost = u32::from(i > 0 || !matches!(c, Choice::Fire(_)));
                if cost > here {
                    cut = true;
                    continue;
                }
                if !self.tick() {
                    return;
                }
                let mut next = stack.last().expect("the state chosen from").0.fork();
                next.apply(c);
                let left = here - cost;
                let d = next.digest();
                let keyed = key(&next, d);
                // Without a depth limit, depth does not matter.
                let at = if depth_cap == u32::MAX { 0 } else { depth };
                match seen.get(&keyed) {
                    Some(&(had, was)) if had >= left && was <= at && next.end.is_none() => {
                        continue;
                    }
                    _ => {}
                }
                seen.insert(keyed, (left, at));
                states.insert(d);
                // Each round starts over; the distinct states are the last round's.
                self.report.distinct = self.report.distinct.max(states.len() as u64);
                let mut more = match self.arrive(&stack, c, &next, depth, d) {
                    Next::Stop => return,
                    Next::End => continue,
                    Next::Go(more) => more,
                };
                if depth >= depth_cap {
                    self.report.depth_capped = true;
                    continue;
                }
                next.in_time_order(&mut more);
                let step = stack.last().map(|f| f.0.step_of(c));
                stack.push((next, more, 0, step));
                lefts.push(left);
            }
            if !cut {
                return;
            }
        }
        self.report.deviations_capped = true;
    }

    /// Depth-first to a depth limit, raised one step at a time from `first` up to the
    /// limits' depth (from there at once: one pass).
    fn deepening<P: Protocol + Clone + Hash>(&mut self, root: Stepped<P>, first: u32) {
        let cap = self.limits.max_depth.unwrap_or(u32::MAX);
        let mut limit = first.min(cap);
        loop {
            // Deepest remaining allowance each state was reached with: a state reached
            // again with more allowance left is searched again.
            let mut seen: FxHashMap<u64, u32> = FxHashMap::default();
            seen.insert(root.digest(), limit);
            let mut cut = false;
            let mut stack: Vec<Frame<P>> = Vec::new();
            let mut first = Vec::new();
            root.choices(&mut first);
            stack.push((root.fork(), first, 0, None));
            while let Some((depth, _, c)) = next_choice(&mut stack, || {}) {
                if depth > limit {
                    cut = true;
                    stack.pop();
                    continue;
                }
                if !self.tick() {
                    return;
                }
                let mut next = stack.last().expect("the state chosen from").0.fork();
                next.apply(c);
                // With no depth limit, every visit has the same (unbounded) allowance, so
                // a state is searched once.
                let left = if limit == u32::MAX {
                    u32::MAX
                } else {
                    limit - depth
                };
                let d = next.digest();
                match seen.get(&d) {
                    Some(&had) if had >= left && next.end.is_none() => continue,
                    _ => {}
                }
                seen.insert(d, left);
                // Each round starts over; the distinct states are the last round's.
                self.report.distinct = self.report.distinct.max(seen.len() as u64);
                let more = match self.arrive(&stack, c, &next, depth, d) {
                    Next::Stop => return,
                    Next::End => continue,
                    Next::Go(more) => more,
                };
                if left == 0 {
                    cut = true;
                    continue;
                }
                let step = stack.last().map(|f| f.0.step_of(c));
                stack.push((next, more, 0, step));
            }
            if !cut {
                return;
            }
            if limit >= cap {
                self.report.depth_capped = true;
                return;
            }
            limit += 1;
        }
    }
}

/// The next choice to try from the state on top of `stack`: that state's depth, the
/// choice's place among its choices, and the choice. States whose choices are all tried
/// are let go first (`gone` hears of each); `None` when none is left.
fn next_choice<P: Protocol>(
    stack: &mut Vec<Frame<P>>,
    mut gone: impl FnMut(),
) -> Option<(u32, usize, Choice)> {
    loop {
        let depth = stack.len() as u32;
        let (_, choices, next_i, _) = stack.last_mut()?;
        if *next_i < choices.len() {
            let i = *next_i;
            *next_i += 1;
            return Some((depth, i, choices[i]));
        }
        stack.pop();
        gone();
    }
}

/// The invariant that failed on the way into `s`, if one did: its name and what it said.
fn broken<P: Protocol>(s: &Stepped<P>) -> Option<(String, String)> {
    match &s.end {
        Some(EndReason::InvariantViolated {
            invariant, message, ..
        }) => Some((invariant.clone(), message.clone())),
        _ => None,
    }
}

/// Makes the waiting children of `family` (the last from the parent itself) and expands
/// each: a thread's share of a breadth-first batch.
fn expand<P: Protocol + Clone + Hash>(family: Family<P>, known: &Known<'_>) -> Vec<Expanded<P>> {
    let Family { parent, children } = family;
    let last = children.len().saturating_sub(1);
    let mut parent = Some(parent);
    let mut out = Vec::with_capacity(children.len());
    // Siblings reach the same states (a then b, b then a): only the first is taken in,
    // so the others need not be kept or judged.
    let mut made = FxHashSet::default();
    for (k, (index, choice)) in children.into_iter().enumerate() {
        let mut state = match (k == last, &parent) {
            (false, Some(p)) => Box::new(p.fork()),
            _ => parent
                .take()
                .expect("the parent serves until its last child"),
        };
        if let Some(c) = choice {
            state.apply(c);
        }
        out.push(successors(index, state, known, &mut made));
    }
    out
}

/// The choices of waiting state `index` and the successors they lead to that neither
/// `known` nor `made` (its siblings' so far) has (all of them at an invariant's failure).
fn successors<P: Protocol + Clone + Hash>(
    index: u32,
    state: Box<Stepped<P>>,
    known: &Known<'_>,
    made: &mut FxHashSet<u64>,
) -> Expanded<P> {
    let mut choices = Vec::new();
    state.choices(&mut choices);
    let mut e = Expanded {
        index,
        leaf: None,
        capped: false,
        choices: choices.len() as u32,
        fresh: Vec::new(),
        state: None,
    };
    // States not kept are dropped here, on this thread.
    if choices.is_empty() {
        e.leaf = Some(state.digest());
        return e;
    }
    if known.capped {
        e.capped = true;
        return e;
    }
    for (nth, &choice) in choices.iter().enumerate() {
        let mut next = state.fork();
        next.apply(choice);
        let digest = next.digest();
        let ended = next.end.is_some();
        if !ended && (known.seen.contains(&digest) || !made.insert(digest)) {
            continue;
        }
        let broken = broken(&next);
        let history = match broken {
            Some(_) => (0, None),
            None => {
                let h = next.history_digest();
                let new = !known.judged.contains(&h);
                (h, new.then(|| known.judge.judge(&next.so_far())))
            }
        };
        e.fresh.push(Successor {
            nth: nth as u32,
            choice,
            digest,
            ended,
            broken,
            history,
        });
    }
    if !e.fresh.is_empty() {
        e.state = Some(state);
    }
    e
}

/// The steps from the start to state `at`, by replaying the choices from a copy of the
/// start (a choice is an index into the pool, so only a replay can name it).
fn replay_path<P: Protocol + Clone>(
    start: &Stepped<P>,
    parents: &[(u32, Choice)],
    at: u32,
) -> Vec<Step> {
    let mut chain = Vec::new();
    let mut i = at;
    while i != 0 {
        let (parent, c) = parents[i as usize];
        chain.push(c);
        i = parent;
    }
    chain.reverse();
    let mut s = start.fork();
    chain
        .into_iter()
        .map(|c| {
            let step = s.step_of(c);
            s.apply(c);
            step
        })
        .collect()
}
