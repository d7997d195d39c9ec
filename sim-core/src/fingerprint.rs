//! The trace fingerprint: a 64-bit digest folded from every processed event. Two runs
//! with the same fingerprint processed the same events in the same order.

use std::hash::{Hash, Hasher};

/// A running 64-bit digest of a sequence of events; order-sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    /// A non-zero start: multiplication by an odd constant then never reaches the
    /// absorbing zero state, so even a run of zero words changes the digest.
    fn default() -> Self {
        Fingerprint(0xCBF2_9CE4_8422_2325)
    }
}

impl Fingerprint {
    /// Folds one word into the digest: rotate, xor, multiply (one multiplication per
    /// word, as FxHash: it runs once or twice per event on the hot path). Order matters,
    /// and any change of a word changes every later state.
    #[inline]
    pub fn fold(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517C_C1B7_2722_0A95);
    }

    /// Folds a value through its `Hash` implementation, word by word (deterministic: no
    /// random state, the same in every process of one binary).
    #[inline]
    pub fn fold_hash<T: Hash + ?Sized>(&mut self, value: &T) {
        value.hash(self);
    }

    /// The digest so far, with a final avalanche so that nearby states print far apart.
    pub fn value(self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x
    }
}

/// Hashing a value straight into the digest saves a separate hasher and its finish step
/// on the hot path (every delivered message is folded).
impl Hasher for Fingerprint {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.fold(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.fold(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.fold(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.fold(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.fold(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.fold(i as u64);
    }
    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.fold(i as u64);
    }
    fn finish(&self) -> u64 {
        self.value()
    }
}

/// A fixed-hasher digest of a value, the same in every process of one binary: used to
/// compare commands across replicas without shipping them, and for what clients sign.
pub fn digest<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    value.hash(&mut h);
    h.finish()
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

    #[test]
    fn hashed_values_are_folded_with_their_length() {
        let h = |v: &dyn Fn(&mut Fingerprint)| {
            let mut f = Fingerprint::default();
            v(&mut f);
            f.value()
        };
        assert_ne!(h(&|f| f.fold_hash("ab")), h(&|f| f.fold_hash("ab\0")));
        assert_ne!(
            h(&|f| f.fold_hash(&(1u8, 2u32))),
            h(&|f| f.fold_hash(&(2u8, 1u32)))
        );
        assert_eq!(
            h(&|f| f.fold_hash(&[1u64, 2])),
            h(&|f| f.fold_hash(&[1u64, 2]))
        );
    }
}
