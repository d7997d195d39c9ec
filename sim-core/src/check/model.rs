//! The sequential specification a history is checked against.

use std::fmt::Debug;
use std::hash::Hash;

/// A sequential object: what a single copy of the service would answer, one operation at
/// a time. The checker asks whether a concurrent history could have come from it.
///
/// A protocol family with its own client interface adds a model by implementing this
/// trait; the search, partitioning, budget and counterexamples come for free.
pub trait Model: Sync {
    /// What a client asked (operation and arguments).
    type Input: Clone + Debug + Eq + Hash + Send + Sync;
    /// What a client was told.
    type Output: Clone + Debug + Eq + Hash + Send + Sync;
    /// The object's state. Equal states must behave identically: the search merges them.
    type State: Clone + Debug + Eq + Hash + Send;

    /// A short name for reports ("cas-register", "kv").
    fn name(&self) -> &str;

    /// The state before any operation, in every partition.
    fn init(&self) -> Self::State;

    /// The state after `input` answered `output` in `state`, or `None` if the object could
    /// not have given that answer there.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State>;

    /// The state after `input` took effect in `state` when its answer is unknown (the
    /// client timed out or crashed). `None` means it cannot have had a visible effect here;
    /// that is always safe to return, because an indeterminate operation may also never
    /// take effect.
    fn step_indeterminate(&self, state: &Self::State, input: &Self::Input) -> Option<Self::State>;

    /// Whether the operation never changes the state wherever it is legal (a read, a
    /// failed compare-and-set). `output` is `None` for an indeterminate operation. The
    /// search prunes with it, so answer `true` only when it holds for every state; the
    /// default `false` is always correct, just slower.
    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        let _ = (input, output);
        false
    }

    /// The independent part of the state the operation touches (P-compositionality): the
    /// checker splits the history by this key and checks each part on its own, starting
    /// from [`Model::init`]. Models whose state is one indivisible object keep the default.
    fn partition(&self, input: &Self::Input) -> u64 {
        let _ = input;
        0
    }

    /// Whether the operation can only move the state forward in an order the model
    /// knows, such as an append extending a string; read-only operations count as such
    /// without saying so. `output` is `None` for an indeterminate operation. With
    /// [`Model::can_grow_into`] it lets the search drop a state that can no longer reach
    /// what an upcoming read returned; the default `false` is always correct.
    fn only_grows(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        let _ = (input, output);
        false
    }

    /// Whether `state`, moved forward only by operations for which
    /// [`Model::only_grows`] holds (or left as it is), could come to a state where `input`
    /// gives the answer `output` (a read its value, a compare-and-set its success) or, for
    /// an indeterminate operation (`output` is `None`), takes effect. Answer `false` only
    /// where that is impossible; the default `true` is always correct.
    fn can_grow_into(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> bool {
        let _ = (state, input, output);
        true
    }

    /// The one state `input` must find to answer `output` (a read its value, a
    /// compare-and-set that took effect its expected value); `None` where several states
    /// fit or the model cannot say. With [`Model::can_leave`] it lets the search drop a
    /// configuration where such an operation waits for a state that nothing left to do
    /// can bring back (a value, once overwritten, that no other write writes again); the
    /// default `None` is always correct.
    fn needs_state(&self, input: &Self::Input, output: &Self::Output) -> Option<Self::State> {
        let _ = (input, output);
        None
    }

    /// The one state `input` (answering `output`; `None` if unknown) leaves whatever state
    /// it takes effect in (a write of 3 leaves 3), if so; `None` where it depends (an
    /// append) or it leaves the state as it is (a read). It only speeds up the setting up
    /// of [`Model::can_leave`]'s questions, so it must agree with it; the default `None`
    /// is always correct.
    fn leaves(&self, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State> {
        let _ = (input, output);
        None
    }

    /// Whether `input` (answering `output`; `None` if the answer is unknown), taking
    /// effect in some state, can leave `state` behind. Answer `false` only where that is
    /// impossible from every state (a read leaves nothing new; a write of 3 cannot leave
    /// 4); the default `true` is always correct.
    fn can_leave(
        &self,
        input: &Self::Input,
        output: Option<&Self::Output>,
        state: &Self::State,
    ) -> bool {
        let _ = (input, output, state);
        true
    }

    /// Stand-ins for operations of one partition whose effect no operation of it can
    /// observe: one entry per operation of `ops`, `None` to keep it as it is. A write of
    /// a value that no read returns and no compare-and-set expects leaves a state that
    /// nothing tells apart from any other such state, so every such write may be searched
    /// as the same write of one placeholder; the search then needs to try them in one
    /// order only, not every subset of them. A stand-in must behave, in every sequence of
    /// the partition's operations, exactly as the operation would up to merging states
    /// no operation tells apart: same legality everywhere. The search counts a stand-in
    /// as only growing the state ([`Model::only_grows`]), as if what it leaves sat above
    /// every state, so a stand-in must leave a state from which no operation of the
    /// partition finds what it answered, however the state grows. The default keeps
    /// every operation, which is always correct.
    fn stand_ins(&self, ops: &[&ModelOp<Self>]) -> Vec<Option<Self::Input>> {
        vec![None; ops.len()]
    }

    /// Where `input` (answering `output`; `None` if unknown) is filed for
    /// [`Model::can_leave`] questions, as (length, key): it can leave a state only if
    /// [`Model::state_leave_key`] of that state and length is the key (an append of "x;"
    /// leaves only values that end with "x;": its length and a hash of it). The
    /// bookkeeping of chains then asks about a state only the few operations filed under
    /// its keys, not every one. `None`, the default, files it nowhere: it is asked about
    /// every state, which is always correct. Consulted only where [`Model::leaves`] is
    /// `None`. A model implements both this and [`Model::state_leave_key`] or neither:
    /// an operation filed under a key no state has is never asked, and the search may
    /// then reject a linearizable history.
    fn leave_key(&self, input: &Self::Input, output: Option<&Self::Output>) -> Option<(u32, u64)> {
        let _ = (input, output);
        None
    }

    /// The key of `state` for operations filed under `len` by [`Model::leave_key`]:
    /// it must equal the key of every such operation for which [`Model::can_leave`] holds
    /// for `state`. `None` where none can leave it.
    fn state_leave_key(&self, state: &Self::State, len: u32) -> Option<u64> {
        let _ = (state, len);
        None
    }

    /// The heap memory `state` owns beyond its own size (a string's buffer), so that the
    /// memory budget counts the states the search keeps. The default 0 suits states that
    /// own none.
    fn state_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        0
    }

    /// The one state `input` (answering `output`; `None` if unknown) must take effect in
    /// to leave `state`, if there is one: an append leaves "ab" only from "a", a
    /// compare-and-set only from its expected value. `None` where any state will do (a
    /// write) or the model cannot say. It is asked only about states the operation can
    /// leave ([`Model::can_leave`]), and the search follows chains back with it (a read of
    /// "ab" needs "a" first), so `Some` must name the only such state; the default `None`
    /// is always correct.
    fn leaves_from(
        &self,
        input: &Self::Input,
        output: Option<&Self::Output>,
        state: &Self::State,
    ) -> Option<Self::State> {
        let _ = (input, output, state);
        None
    }

    /// A readable form of an operation for counterexamples; `output` is `None` when the
    /// answer is unknown.
    fn describe_op(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// A readable form of a state for counterexamples.
    fn describe_state(&self, state: &Self::State) -> String;
}

/// An operation of a model's history.
pub type ModelOp<M> = crate::check::Op<<M as Model>::Input, <M as Model>::Output>;

/// An operation with its position in the whole history.
pub(crate) type Indexed<'a, M> = (usize, &'a ModelOp<M>);
