//! The linearizability checker: does a history of concurrent client operations have an
//! order, consistent with real time, that a sequential [`Model`] accepts?
//!
//! It is sound (a "linearizable" verdict is always backed by a linearization found),
//! bounded (limits in [`CheckOptions`] turn into [`Verdict::Unknown`], never a hang or a
//! guess) and format-free: readers of outside histories build [`Op`]s; a run's
//! [`History`](crate::history::History) goes through [`check_history`].
//!
//! The search is Wing & Gong's and Lowe's with memoisation (notes in `search.rs`), run
//! per partition of the model (P-compositionality).

mod budget;
mod history_adapter;
mod memo;
mod model;
pub mod models;
mod ops;
mod partition;
mod search;
#[cfg(test)]
mod tests;
mod verdict;
mod window;

pub use history_adapter::{check_history, kv_ops};
pub use model::{Model, ModelOp};
pub use ops::{Op, Return};
pub use partition::check;
pub use verdict::{CheckOptions, CheckReport, Counterexample, GiveUp, OpRef, Verdict};
pub use window::{Window, WindowRole};
