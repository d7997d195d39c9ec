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

    /// With a hop limit, `hop_limit`: no node ever sees a hop count above it (a node
    /// that answered past its limit would show one). Without a limit Echo promises
    /// nothing, and has no invariant.
    fn invariants(config: &EchoConfig) -> Vec<Box<dyn sim_core::invariant::Invariant<Self>>> {
        let Some(limit) = config.max_hops else {
            return Vec::new();
        };
        let check = move |w: &sim_core::invariant::World<'_, Echo>| {
            for (id, node) in w.nodes() {
                if let Some(n) = node
                    && n.max_seen > limit
                {
                    return Err(format!(
                        "{id} saw hop count {}, above the limit {limit}",
                        n.max_seen
                    ));
                }
            }
            Ok(())
        };
        vec![Box::new(sim_core::invariant::stateless_invariant(
            "hop_limit",
            check,
        ))]
    }
}
