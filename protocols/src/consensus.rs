//! What every protocol of the consensus family reports, so that the family's checks
//! (validity, decisions, liveness) can judge any of them: each learner reports the value
//! it learned for an instance as a digest.

use crate::kv::digest;

/// A learner learned the chosen value; key: the instance, value: [`value_digest`] of it.
pub const LEARN: &str = "learn";

/// The digest a consensus protocol reports for a value.
pub fn value_digest(value: &str) -> u64 {
    digest(value)
}
