//! The models faultline ships: registers and a key-value map.

mod kv;
mod register;

pub use kv::KvModel;
pub use register::{RegisterInput, RegisterModel, RegisterOutput};
