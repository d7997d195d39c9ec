//! The trace fingerprint: a 64-bit digest folded from every processed event. Two runs
//! with the same fingerprint processed the same events in the same order.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

/// A running 64-bit digest of a sequence of events; order-sensitive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// Folds one word into the digest (a multiply-xorshift step, so order matters and
    /// every bit of the input spreads over the whole state).
    #[inline]
    pub fn fold(&mut self, word: u64) {
        let mut x = (self.0 ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 32;
        self.0 = x.wrapping_add(0x94D0_49BB_1331_11EB);
    }

    /// Folds a value's `Hash` (a fixed hasher: the same in every process).
    #[inline]
    pub fn fold_hash<T: Hash + ?Sized>(&mut self, value: &T) {
        let mut h = FxHasher::default();
        value.hash(&mut h);
        self.fold(h.finish());
    }

    /// The digest so far.
    pub fn value(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_content_matter() {
        let fp = |words: &[u64]| {
            let mut f = Fingerprint::default();
            words.iter().for_each(|w| f.fold(*w));
            f.value()
        };
        assert_eq!(fp(&[1, 2, 3]), fp(&[1, 2, 3]));
        assert_ne!(fp(&[1, 2, 3]), fp(&[2, 1, 3]));
        assert_ne!(fp(&[1, 2, 3]), fp(&[1, 2, 4]));
        assert_ne!(fp(&[0]), fp(&[0, 0]));
    }
}
