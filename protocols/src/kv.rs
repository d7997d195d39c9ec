//! The key-value state machine every replicated-state-machine protocol serves: it applies
//! [`Operation`]s in log order and remembers recent answers per client, so that a command
//! retried under the same [`RequestId`] takes effect once and gets its first answer again.

use std::collections::BTreeMap;
use std::hash::Hash;

use sim_core::RequestId;
use sim_core::history::{ClientId, OpOutput, Operation};

/// How many answers are kept per client. A closed-loop client needs one; an open-loop
/// client needs as many as it may have outstanding, so this bounds the concurrency under
/// which exactly-once still holds.
pub const SESSION_WINDOW: usize = 64;

/// The replicated key-value map and its client sessions. Replicas that apply the same
/// commands in the same order hold equal stores.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvStore {
    data: BTreeMap<u64, String>,
    sessions: BTreeMap<ClientId, BTreeMap<u64, OpOutput>>,
}

/// Why a command could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvError {
    /// An operation kind the store does not know (the operation enum grows over time).
    Unsupported,
    /// The request is older than every answer its client's session still keeps: it may
    /// have been applied, and its answer is gone.
    SessionExpired,
}

impl KvStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`; an absent key reads as the empty string.
    pub fn get(&self, key: u64) -> &str {
        self.data.get(&key).map_or("", String::as_str)
    }

    /// The answer already given to request `id`, if it was applied and is still remembered.
    pub fn answered(&self, id: RequestId) -> Option<&OpOutput> {
        self.sessions.get(&id.client)?.get(&id.seq)
    }

    /// Applies a client command once: a request applied before returns its first answer
    /// without taking effect again.
    pub fn apply(&mut self, id: RequestId, op: &Operation) -> Result<OpOutput, KvError> {
        if let Some(out) = self.answered(id) {
            return Ok(out.clone());
        }
        if self.expired(id) {
            return Err(KvError::SessionExpired);
        }
        let out = execute(&mut self.data, op)?;
        let session = self.sessions.entry(id.client).or_default();
        session.insert(id.seq, out.clone());
        if session.len() > SESSION_WINDOW {
            session.pop_first();
        }
        Ok(out)
    }

    /// Whether request `id` is older than every answer its client's session still keeps,
    /// with the session full: it may have been applied, and applying it now would be
    /// refused ([`KvError::SessionExpired`]).
    pub fn expired(&self, id: RequestId) -> bool {
        self.sessions.get(&id.client).is_some_and(|s| {
            s.len() >= SESSION_WINDOW
                && s.first_key_value()
                    .is_some_and(|(first, _)| id.seq < *first)
        })
    }

    /// Answers a read-only operation from the current state, without recording it.
    pub fn read(&self, op: &Operation) -> Result<OpOutput, KvError> {
        match op {
            Operation::Get { key } => Ok(OpOutput::Value(self.get(*key).to_string())),
            _ => Err(KvError::Unsupported),
        }
    }

    /// Approximate size in bytes, for snapshot transfers.
    pub fn size(&self) -> usize {
        let data: usize = self.data.values().map(|v| 8 + v.len()).sum();
        let sessions: usize = self.sessions.values().map(|s| 4 + 24 * s.len()).sum();
        data + sessions
    }

    /// How many keys hold a value.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no key holds a value.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

fn execute(data: &mut BTreeMap<u64, String>, op: &Operation) -> Result<OpOutput, KvError> {
    Ok(match op {
        Operation::Get { key } => OpOutput::Value(data.get(key).cloned().unwrap_or_default()),
        Operation::Put { key, value } => {
            data.insert(*key, value.clone());
            OpOutput::Done
        }
        Operation::Cas { key, expected, new } => {
            let current = data.get(key).map_or("", String::as_str);
            let hit = current == expected;
            if hit {
                data.insert(*key, new.clone());
            }
            OpOutput::Cas(hit)
        }
        Operation::Append { key, value } => {
            data.entry(*key).or_default().push_str(value);
            OpOutput::Done
        }
        _ => return Err(KvError::Unsupported),
    })
}

/// The answer to give the client whose command was applied with `result`; `None` when
/// only silence is honest (its session expired: it may have been applied long ago, and
/// its answer is gone).
pub fn reply_to(result: Result<OpOutput, KvError>) -> Option<sim_core::Reply> {
    match result {
        Ok(out) => Some(sim_core::Reply::Ok(out)),
        Err(KvError::Unsupported) => Some(sim_core::Reply::Fail("unsupported operation".into())),
        Err(KvError::SessionExpired) => None,
    }
}

pub use sim_core::fingerprint::digest;

#[cfg(test)]
mod tests {
    use super::*;

    fn id(client: ClientId, seq: u64) -> RequestId {
        RequestId { client, seq }
    }

    #[test]
    fn operations_follow_their_definitions() {
        let mut kv = KvStore::new();
        let get = Operation::Get { key: 1 };
        assert_eq!(kv.apply(id(0, 0), &get), Ok(OpOutput::Value(String::new())));
        let cas = |e: &str, n: &str| Operation::Cas {
            key: 1,
            expected: e.into(),
            new: n.into(),
        };
        assert_eq!(kv.apply(id(0, 1), &cas("", "a")), Ok(OpOutput::Cas(true)));
        assert_eq!(kv.apply(id(0, 2), &cas("x", "b")), Ok(OpOutput::Cas(false)));
        let app = Operation::Append {
            key: 1,
            value: "z".into(),
        };
        assert_eq!(kv.apply(id(0, 3), &app), Ok(OpOutput::Done));
        assert_eq!(kv.get(1), "az");
        let put = Operation::Put {
            key: 2,
            value: "p".into(),
        };
        kv.apply(id(1, 0), &put).unwrap();
        assert_eq!(
            kv.read(&Operation::Get { key: 2 }),
            Ok(OpOutput::Value("p".into()))
        );
        assert_eq!(kv.len(), 2);
    }

    #[test]
    fn a_retried_request_takes_effect_once() {
        let mut kv = KvStore::new();
        let app = Operation::Append {
            key: 7,
            value: "x".into(),
        };
        kv.apply(id(3, 5), &app).unwrap();
        kv.apply(id(3, 5), &app).unwrap();
        assert_eq!(kv.get(7), "x");
        let cas = Operation::Cas {
            key: 7,
            expected: "x".into(),
            new: "y".into(),
        };
        assert_eq!(kv.apply(id(3, 6), &cas), Ok(OpOutput::Cas(true)));
        // The retry gets the first answer, not a fresh (failing) evaluation.
        assert_eq!(kv.apply(id(3, 6), &cas), Ok(OpOutput::Cas(true)));
        assert_eq!(kv.get(7), "y");
    }

    #[test]
    fn sessions_are_bounded_and_expired_requests_refused() {
        let mut kv = KvStore::new();
        let app = |v: &str| Operation::Append {
            key: 0,
            value: v.into(),
        };
        for s in 1..=(SESSION_WINDOW as u64 + 10) {
            kv.apply(id(0, s), &app("a")).unwrap();
        }
        assert!(kv.answered(id(0, 1)).is_none());
        assert_eq!(kv.apply(id(0, 0), &app("b")), Err(KvError::SessionExpired));
        assert!(!kv.get(0).contains('b'));
    }

    #[test]
    fn digest_is_stable_and_discriminating() {
        assert_eq!(digest(&(1u64, "a")), digest(&(1u64, "a")));
        assert_ne!(digest(&(1u64, "a")), digest(&(2u64, "a")));
    }
}
