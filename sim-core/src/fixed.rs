//! [`Fixed`]: a value that stays the same through a whole run, such as a node's settings.

use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// A value that is the same in every state of a run (a protocol's settings, which may
/// hold floats): it hashes to nothing, so a node holding it can still derive `Hash`, and
/// `explore` digests only what changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fixed<T>(pub T);

impl<T> Hash for Fixed<T> {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl<T> Deref for Fixed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Fixed<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
