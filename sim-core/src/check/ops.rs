//! The checker's own view of a history: format-free operations with call and return
//! times.

/// One client operation as the checker sees it.
///
/// Times are any totally ordered integers (nanoseconds, or line numbers for formats
/// without clocks); only their order matters. An operation whose return time is at or
/// before another's call time precedes it in real time; equal call and return times
/// count as concurrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op<I, O> {
    /// The client or process that issued it, for counterexamples.
    pub client: u64,
    /// What was asked.
    pub input: I,
    /// When it was invoked.
    pub call: u64,
    /// When and with what it returned; `None` if the outcome is unknown (timed out,
    /// crashed, never answered): it may take effect at any point after `call`, or never.
    pub ret: Option<Return<O>>,
}

/// The known completion of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return<O> {
    /// When the client learnt the answer.
    pub at: u64,
    /// The answer.
    pub output: O,
}

impl<I, O> Op<I, O> {
    /// An operation that returned `output` at `ret`.
    pub fn completed(client: u64, input: I, call: u64, ret: u64, output: O) -> Self {
        Op {
            client,
            input,
            call,
            ret: Some(Return { at: ret, output }),
        }
    }

    /// An operation whose outcome is unknown.
    pub fn indeterminate(client: u64, input: I, call: u64) -> Self {
        Op {
            client,
            input,
            call,
            ret: None,
        }
    }

    /// The answer, if known.
    pub fn output(&self) -> Option<&O> {
        self.ret.as_ref().map(|r| &r.output)
    }
}
