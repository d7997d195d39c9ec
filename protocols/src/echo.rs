//! Echo, the engine's exercise protocol (`sim_core::echo`), as a protocol scenario files
//! can name: ping-pong between every pair of nodes, no clients, no bug switches.

pub use sim_core::echo::{Echo, EchoConfig, EchoMsg};

impl crate::ProtocolSpec for Echo {
    const NAME: &'static str = "Echo";
    const FAMILY: crate::Family = crate::Family::None;
    type Bugs = crate::NoBugs;

    fn enable_bug(_config: &mut EchoConfig, _name: &str) -> bool {
        false
    }

    fn invariants(_config: &EchoConfig) -> Vec<Box<dyn sim_core::invariant::Invariant<Self>>> {
        Vec::new()
    }
}
