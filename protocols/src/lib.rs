//! faultline's protocols: each a sans-IO state machine on sim-core's `Protocol` interface.

pub mod echo;
