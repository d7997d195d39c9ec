//! Protocols without clients (engine exercises such as echo): only their invariants can
//! be checked.

use protocols::Family;

use super::FamilyRules;

/// The rules of protocols that serve no clients.
pub struct NoWorkload;

impl FamilyRules for NoWorkload {
    fn family(&self) -> Family {
        Family::None
    }
    fn clients(&self) -> &'static str {
        "no clients"
    }
    fn checks(&self) -> &'static [&'static str] {
        &["Invariants"]
    }
}
