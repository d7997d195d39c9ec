//! Authentication, modelled rather than computed: a [`Signed`] value carries the identity
//! of the node that signed it, and only the engine makes one, for the node whose handler
//! is running ([`Ctx::sign`](crate::Ctx::sign)). Anyone can read who signed; nobody can
//! sign for another node, change a signed value, or make one up. A Byzantine node can
//! still copy and replay values others signed, as with real signatures. That is what
//! certificates (a quorum of signed votes inside a view change) need: a receiver checks
//! the signers, not the bytes.
//!
//! ```
//! use sim_core::auth::{Principal, Signed};
//! fn counts(votes: &[Signed<u64>], value: u64) -> usize {
//!     let mut signers: Vec<Principal> = votes
//!         .iter()
//!         .filter(|v| *v.value() == value)
//!         .map(|v| v.signer())
//!         .collect();
//!     signers.sort();
//!     signers.dedup();
//!     signers.len()
//! }
//! ```
//!
//! A protocol cannot forge one:
//!
//! ```compile_fail
//! use sim_core::auth::{Principal, Signed};
//! use sim_core::NodeId;
//! let forged = Signed { signer: Principal::Node(NodeId(2)), value: 7u64 };
//! ```

use std::fmt;

use crate::history::ClientId;
use crate::protocol::NodeId;

/// Bytes a signature adds on the wire, for message sizes.
pub const SIGNATURE_BYTES: usize = 64;

/// Who signed: a node, or a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// A node of the cluster.
    Node(NodeId),
    /// A client.
    Client(ClientId),
}

/// A value and the principal that signed it. Made only by the engine; its fields cannot
/// be set or changed from outside.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signed<T> {
    signer: Principal,
    value: T,
}

impl<T> Signed<T> {
    /// Signs `value` as `signer` (the engine's alone to do).
    pub(crate) fn new(signer: Principal, value: T) -> Self {
        Signed { signer, value }
    }
    /// Who signed it.
    pub fn signer(&self) -> Principal {
        self.signer
    }
    /// Whether node `node` signed it.
    pub fn signed_by(&self, node: NodeId) -> bool {
        self.signer == Principal::Node(node)
    }
    /// The value signed.
    pub fn value(&self) -> &T {
        &self.value
    }
    /// The value, without the signature.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signer {
            Principal::Node(n) => write!(f, "{:?}@{n}", self.value),
            Principal::Client(c) => write!(f, "{:?}@client{c}", self.value),
        }
    }
}
