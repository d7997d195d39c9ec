//! Durable storage of one node: writes survive a crash only once synced.
//!
//! Values are typed (any `'static` value, shared behind an `Arc`), so protocols store their
//! own structs without a serialisation step. Keys are a namespace and an index, ordered, so
//! a log is `("log", i)` and can be truncated from an index on. The node always reads its
//! own writes; what survives a crash is only what was synced and whose sync had finished
//! (a configurable sync latency) by the time of the crash.

use std::any::Any;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::{SimDuration, SimTime};

/// A key on a node's disk: a namespace and an index within it.
pub type DiskKey = (&'static str, u64);

/// A stored value and its digest, taken when it was written, so that `explore` can tell
/// two disks apart without knowing the types on them.
#[derive(Clone)]
struct Value {
    value: Arc<dyn Any + Send + Sync>,
    digest: u64,
}

/// Writes of one sync: keys with their new value (`None` deletes).
type Batch = Vec<(DiskKey, Option<Value>)>;

/// How a node's disk behaves.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskConfig {
    /// How long a sync takes. Outputs the node emits while a sync is under way leave when it
    /// finishes (the node waits for its fsync), and a crash before then loses the writes.
    pub sync_latency: SimDuration,
    /// Every write is synced at once (a disk with a write-through cache).
    pub write_through: bool,
}

/// The durable storage of one node, kept across crashes by the engine.
#[derive(Clone)]
pub struct Disk {
    config: DiskConfig,
    /// What the node sees: durable state plus its unsynced writes.
    current: BTreeMap<DiskKey, Value>,
    /// What survives a crash once every started sync has finished.
    durable: BTreeMap<DiskKey, Value>,
    /// Keys written since the last sync (value `None` is a delete).
    dirty: BTreeMap<DiskKey, Option<Value>>,
    /// Syncs started but not finished: (finish time, writes).
    syncing: Vec<(SimTime, Batch)>,
    now: SimTime,
    busy_until: SimTime,
    writes: u64,
    syncs: u64,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk")
            .field("keys", &self.current.len())
            .field("unsynced", &self.unsynced_writes())
            .field("writes", &self.writes)
            .field("syncs", &self.syncs)
            .finish()
    }
}

impl Disk {
    /// An empty disk.
    pub fn new(config: DiskConfig) -> Self {
        Disk {
            config,
            current: BTreeMap::new(),
            durable: BTreeMap::new(),
            dirty: BTreeMap::new(),
            syncing: Vec::new(),
            now: SimTime::ZERO,
            busy_until: SimTime::ZERO,
            writes: 0,
            syncs: 0,
        }
    }

    /// Writes `value` under `(ns, index)`; durable only after [`Disk::sync`] (or at once
    /// with write-through).
    pub fn put<T: Any + Send + Sync + Hash>(&mut self, ns: &'static str, index: u64, value: T) {
        let v = Value {
            digest: crate::fingerprint::digest(&value),
            value: Arc::new(value),
        };
        self.current.insert((ns, index), v.clone());
        self.dirty.insert((ns, index), Some(v));
        self.writes += 1;
        if self.config.write_through {
            self.sync();
        }
    }

    /// Reads the value under `(ns, index)` as a `T`; `None` if absent or of another type.
    pub fn get<T: Any>(&self, ns: &'static str, index: u64) -> Option<&T> {
        self.current
            .get(&(ns, index))
            .and_then(|v| v.value.downcast_ref())
    }

    /// Deletes `(ns, index)`; like a write, durable only once synced.
    pub fn delete(&mut self, ns: &'static str, index: u64) {
        if self.current.remove(&(ns, index)).is_some() {
            self.dirty.insert((ns, index), None);
            self.writes += 1;
            if self.config.write_through {
                self.sync();
            }
        }
    }

    /// Deletes every key of namespace `ns` with an index of `from` or more (log truncation).
    pub fn delete_from(&mut self, ns: &'static str, from: u64) {
        let doomed: Vec<DiskKey> = self
            .current
            .range((ns, from)..=(ns, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in doomed {
            self.current.remove(&k);
            self.dirty.insert(k, None);
            self.writes += 1;
        }
        if self.config.write_through {
            self.sync();
        }
    }

    /// The entries of namespace `ns` of type `T`, in index order.
    pub fn range<T: Any>(&self, ns: &'static str) -> impl Iterator<Item = (u64, &T)> + '_ {
        self.current
            .range((ns, 0)..=(ns, u64::MAX))
            .filter_map(|((_, i), v)| v.value.downcast_ref().map(|t| (*i, t)))
    }

    /// The highest index present in namespace `ns`.
    pub fn last_index(&self, ns: &'static str) -> Option<u64> {
        self.current
            .range((ns, 0)..=(ns, u64::MAX))
            .next_back()
            .map(|((_, i), _)| *i)
    }

    /// Makes every write so far durable. With a sync latency the writes become durable
    /// when the sync finishes, and the node's outputs wait for it.
    pub fn sync(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        self.syncs += 1;
        let writes: Vec<_> = std::mem::take(&mut self.dirty).into_iter().collect();
        if self.config.sync_latency == SimDuration::ZERO {
            apply(&mut self.durable, writes);
        } else {
            let done = self.busy_until.max(self.now) + self.config.sync_latency;
            self.busy_until = done;
            self.syncing.push((done, writes));
        }
    }

    /// Writes not yet synced.
    pub fn unsynced_writes(&self) -> usize {
        self.dirty.len()
    }

    /// Writes and syncs issued so far (for metrics).
    pub fn counts(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// Until when outputs of the node wait for a sync in progress.
    pub(crate) fn busy_until(&self) -> SimTime {
        self.busy_until
    }

    /// Sets the engine's current time before a handler runs.
    #[inline]
    pub(crate) fn set_now(&mut self, now: SimTime) {
        self.now = now;
        if !self.syncing.is_empty() {
            self.settle(now);
        }
    }

    /// Applies the syncs that finished by `now`.
    fn settle(&mut self, now: SimTime) {
        if self.syncing.first().is_some_and(|(t, _)| *t <= now) {
            let (done, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut self.syncing)
                .into_iter()
                .partition(|(t, _)| *t <= now);
            for (_, writes) in done {
                apply(&mut self.durable, writes);
            }
            self.syncing = pending;
        }
    }

    /// Folds everything the disk holds (what the node sees, what is durable, what is
    /// still to sync) into `h`: `explore`'s state digest. Counters are left out.
    pub(crate) fn hash_state<H: Hasher>(&self, h: &mut H) {
        let entries = |m: &BTreeMap<DiskKey, Value>, h: &mut H| {
            m.len().hash(h);
            for (k, v) in m {
                (k, v.digest).hash(h);
            }
        };
        entries(&self.current, h);
        entries(&self.durable, h);
        self.dirty.len().hash(h);
        for (k, v) in &self.dirty {
            (k, v.as_ref().map(|v| v.digest)).hash(h);
        }
        for (t, batch) in &self.syncing {
            t.hash(h);
            for (k, v) in batch {
                (k, v.as_ref().map(|v| v.digest)).hash(h);
            }
        }
        self.busy_until.hash(h);
    }

    /// The crash at `now`: unsynced writes and unfinished syncs are lost; the node will
    /// see only durable state when it restarts.
    pub(crate) fn crash(&mut self, now: SimTime) {
        self.settle(now);
        self.syncing.clear();
        self.dirty.clear();
        self.current = self.durable.clone();
        self.busy_until = now;
    }
}

fn apply(durable: &mut BTreeMap<DiskKey, Value>, writes: Batch) {
    for (k, v) in writes {
        match v {
            Some(v) => {
                durable.insert(k, v);
            }
            None => {
                durable.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_loses_unsynced_and_keeps_synced() {
        let mut d = Disk::new(DiskConfig::default());
        d.put("term", 0, 5u64);
        d.put("log", 1, "a".to_string());
        d.sync();
        d.put("term", 0, 6u64);
        d.put("log", 2, "b".to_string());
        d.delete("log", 1);
        assert_eq!(
            d.get::<u64>("term", 0),
            Some(&6),
            "a node reads its own writes"
        );
        d.crash(SimTime(10));
        assert_eq!(d.get::<u64>("term", 0), Some(&5));
        assert_eq!(d.get::<String>("log", 1).map(String::as_str), Some("a"));
        assert_eq!(d.get::<String>("log", 2), None);
    }

    #[test]
    fn sync_latency_delays_durability() {
        let cfg = DiskConfig {
            sync_latency: SimDuration::from_millis(5),
            write_through: false,
        };
        let mut d = Disk::new(cfg.clone());
        d.set_now(SimTime(0));
        d.put("v", 0, 1u32);
        d.sync();
        assert_eq!(d.busy_until(), SimTime(5_000_000));
        d.crash(SimTime(4_999_999));
        assert_eq!(d.get::<u32>("v", 0), None, "sync not finished at the crash");

        let mut d = Disk::new(cfg);
        d.set_now(SimTime(0));
        d.put("v", 0, 1u32);
        d.sync();
        d.crash(SimTime(5_000_000));
        assert_eq!(
            d.get::<u32>("v", 0),
            Some(&1),
            "sync finished exactly at the crash"
        );
    }

    #[test]
    fn write_through_needs_no_sync() {
        let mut d = Disk::new(DiskConfig {
            write_through: true,
            ..Default::default()
        });
        d.put("v", 0, 9i64);
        d.crash(SimTime(1));
        assert_eq!(d.get::<i64>("v", 0), Some(&9));
    }

    #[test]
    fn truncation_and_ranges() {
        let mut d = Disk::new(DiskConfig::default());
        for i in 1..=5u64 {
            d.put("log", i, i * 10);
        }
        d.put("other", 3, 0u64);
        d.sync();
        d.delete_from("log", 3);
        let left: Vec<_> = d.range::<u64>("log").map(|(i, v)| (i, *v)).collect();
        assert_eq!(left, [(1, 10), (2, 20)]);
        assert_eq!(d.last_index("log"), Some(2));
        assert_eq!(d.get::<u64>("other", 3), Some(&0));
        d.crash(SimTime(1));
        assert_eq!(d.last_index("log"), Some(5), "truncation was never synced");
        assert_eq!(
            d.get::<String>("log", 1),
            None,
            "wrong type reads as absent"
        );
    }
}
