//! A single register of integers, with or without compare-and-set, that may start absent
//! (`nil`).

use crate::check::model::Model;

/// An operation on a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    /// Read the value.
    Read,
    /// Set the value.
    Write(i64),
    /// Set the value to `to` if it is `from`.
    Cas {
        /// The value the register must hold.
        from: i64,
        /// The value it gets if so.
        to: i64,
    },
}

/// What a register answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// The value read (`None`: the register was absent).
    Read(Option<i64>),
    /// The write took effect.
    Written,
    /// Whether the compare-and-set took effect.
    Cas(bool),
}

/// A register (read, write) or CAS register (read, write, cas).
#[derive(Clone, Debug)]
pub struct RegisterModel {
    initial: Option<i64>,
    cas: bool,
}

impl RegisterModel {
    /// A read/write register starting at `initial` (`None`: absent).
    pub fn register(initial: Option<i64>) -> Self {
        RegisterModel {
            initial,
            cas: false,
        }
    }

    /// A register with compare-and-set, starting at `initial` (`None`: absent).
    pub fn cas_register(initial: Option<i64>) -> Self {
        RegisterModel { initial, cas: true }
    }

    /// Whether the model accepts `input` at all (a plain register has no cas).
    pub fn supports(&self, input: &RegisterInput) -> bool {
        self.cas || !matches!(input, RegisterInput::Cas { .. })
    }
}

fn show(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

impl Model for RegisterModel {
    type Input = RegisterInput;
    type Output = RegisterOutput;
    type State = Option<i64>;

    fn name(&self) -> &str {
        if self.cas { "cas-register" } else { "register" }
    }

    fn init(&self) -> Option<i64> {
        self.initial
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: &RegisterOutput,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, RegisterOutput::Read(v)) => (v == state).then_some(*state),
            (RegisterInput::Write(v), RegisterOutput::Written) => Some(Some(*v)),
            (RegisterInput::Cas { from, to }, RegisterOutput::Cas(ok)) if self.cas => {
                if *state == Some(*from) {
                    ok.then_some(Some(*to))
                } else {
                    (!ok).then_some(*state)
                }
            }
            _ => None,
        }
    }

    fn needs_state(&self, input: &RegisterInput, output: &RegisterOutput) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, RegisterOutput::Read(v)) => Some(*v),
            (RegisterInput::Cas { from, .. }, RegisterOutput::Cas(true)) => Some(Some(*from)),
            _ => None,
        }
    }

    fn leaves(
        &self,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Write(v), _) => Some(Some(*v)),
            (RegisterInput::Cas { to, .. }, Some(RegisterOutput::Cas(true)) | None) => {
                Some(Some(*to))
            }
            _ => None,
        }
    }

    fn can_leave(
        &self,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
        state: &Option<i64>,
    ) -> bool {
        match (input, output) {
            (RegisterInput::Read, _)
            | (RegisterInput::Cas { .. }, Some(RegisterOutput::Cas(false))) => false,
            (RegisterInput::Write(v), _) => *state == Some(*v),
            (RegisterInput::Cas { to, .. }, _) => *state == Some(*to),
        }
    }

    fn step_indeterminate(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
    ) -> Option<Option<i64>> {
        match input {
            RegisterInput::Read => None,
            RegisterInput::Write(v) => Some(Some(*v)),
            RegisterInput::Cas { from, to } => {
                (self.cas && *state == Some(*from)).then_some(Some(*to))
            }
        }
    }

    fn is_read_only(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
        matches!(
            (input, output),
            (RegisterInput::Read, _)
                | (RegisterInput::Cas { .. }, Some(RegisterOutput::Cas(false)))
        )
    }

    fn describe_op(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let call = match input {
            RegisterInput::Read => "read".to_string(),
            RegisterInput::Write(v) => format!("write {v}"),
            RegisterInput::Cas { from, to } => format!("cas {from} -> {to}"),
        };
        let answer = match output {
            None => "unknown".to_string(),
            Some(RegisterOutput::Read(v)) => show(*v),
            Some(RegisterOutput::Written) => "ok".to_string(),
            Some(RegisterOutput::Cas(true)) => "ok".to_string(),
            Some(RegisterOutput::Cas(false)) => "failed".to_string(),
        };
        format!("{call} => {answer}")
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        show(*state)
    }
}
