//! Readers of client histories recorded by faultline and by other tools, for
//! `faultline check`. Each reader turns a file into the checker's format-free operations
//! ([`sim_core::check::Op`]); bad input is an error with line, column and what was
//! expected, never a panic.

pub mod edn;
pub mod export;
pub mod faultline;
pub mod jepsen_etcd;
pub mod knossos;
pub mod porcupine_kv;
mod register_ops;

use std::fmt;
use std::str::FromStr;

use sim_core::check::Op;
use sim_core::check::models::{RegisterInput, RegisterOutput};
use sim_core::history::{OpOutput, Operation};

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// faultline's own: JSON lines, one `HistoryOp` each (see HISTORY_FORMAT.md).
    Faultline,
    /// Jepsen etcd logs as shipped with Porcupine: `INFO  jepsen.util - 3 :ok :read 1`.
    JepsenEtcd,
    /// Knossos / Jepsen EDN op maps of a register (`:read`, `:write`, `:cas`).
    Knossos,
    /// Porcupine's key-value EDN lines from MIT 6.824 (`:get`, `:put`, `:append`).
    PorcupineKv,
}

impl Format {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Faultline => "faultline",
            Format::JepsenEtcd => "jepsen-etcd",
            Format::Knossos => "knossos",
            Format::PorcupineKv => "porcupine-kv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            Format::Faultline,
            Format::JepsenEtcd,
            Format::Knossos,
            Format::PorcupineKv,
        ]
        .into_iter()
        .find(|f| f.name() == s)
        .ok_or_else(|| format!("unknown format {s:?}"))
    }
}

/// Why a history could not be read. Lines and columns are 1-based; columns count
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// The line of the problem.
    pub line: usize,
    /// The column of the problem.
    pub column: usize,
    /// What would have been valid there.
    pub expected: String,
    /// What was there instead.
    pub found: String,
}

impl ParseError {
    /// An error at a position.
    pub fn new(
        line: usize,
        column: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        ParseError {
            line,
            column,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Register operations read from a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegisterHistory {
    /// The operations, in invocation order; failed ones are already dropped.
    pub ops: Vec<Op<RegisterInput, RegisterOutput>>,
    /// The line of each operation's invocation.
    pub lines: Vec<usize>,
    /// The register's initial value the format's tools assume (`None`: absent).
    pub initial: Option<i64>,
}

/// Key-value operations read from a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvHistory {
    /// The operations, in invocation order; failed ones are already dropped.
    pub ops: Vec<Op<Operation, OpOutput>>,
    /// The line of each operation's invocation.
    pub lines: Vec<usize>,
    /// The name of each key, where the file names keys by strings (key `k` is
    /// `key_names[k]`); empty when keys are numbers already.
    pub key_names: Vec<String>,
}

/// A history read from a file, in the shape of the model family it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub enum ParsedHistory {
    /// A single register (jepsen-etcd, knossos).
    Register(RegisterHistory),
    /// A key-value map (faultline, porcupine-kv).
    Kv(KvHistory),
}

/// Guesses the format from the first line that is neither blank nor a `;` comment;
/// `None` if the text is empty or looks like none of them.
pub fn detect(text: &str) -> Option<Format> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(';'))?;
    if first.contains("jepsen.util")
        || first
            .split_whitespace()
            .nth(1)
            .is_some_and(|t| t == ":invoke")
    {
        return Some(Format::JepsenEtcd);
    }
    if let Some(rest) = first.strip_prefix('{') {
        let rest = rest.trim_start();
        if rest.starts_with('"') || rest.starts_with('}') {
            return Some(Format::Faultline);
        }
        if rest.starts_with(':') {
            return Some(if first.contains(":key") {
                Format::PorcupineKv
            } else {
                Format::Knossos
            });
        }
    }
    if first.starts_with('[') || first.starts_with('(') {
        return Some(Format::Knossos);
    }
    None
}

/// Reads `text` in `format`.
pub fn parse(text: &str, format: Format) -> Result<ParsedHistory, ParseError> {
    Ok(match format {
        Format::Faultline => ParsedHistory::Kv(faultline::parse(text)?),
        Format::JepsenEtcd => ParsedHistory::Register(jepsen_etcd::parse(text)?),
        Format::Knossos => ParsedHistory::Register(knossos::parse(text)?),
        Format::PorcupineKv => ParsedHistory::Kv(porcupine_kv::parse(text)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        assert_eq!(
            detect("INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"),
            Some(Format::JepsenEtcd)
        );
        assert_eq!(detect("\n{\"id\":0}\n"), Some(Format::Faultline));
        assert_eq!(
            detect("; c\n[{:process 0, :type :invoke}]"),
            Some(Format::Knossos)
        );
        assert_eq!(
            detect("{:process 0, :type :invoke, :f :read}"),
            Some(Format::Knossos)
        );
        assert_eq!(
            detect("{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}"),
            Some(Format::PorcupineKv)
        );
        assert_eq!(detect(""), None);
        assert_eq!(detect("hello"), None);
    }
}
