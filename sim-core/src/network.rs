//! The simulated network: topology, per-link behaviour, partitions.
//!
//! The topology is a full mesh unless an explicit `petgraph` graph of links is given; link
//! behaviour comes from, in order of precedence, a per-link override, the region latency
//! matrix, and the default link. A full mesh is never materialised, so a thousand nodes
//! cost nothing per pair until a pair is given its own settings.
//!
//! **In-flight messages at a partition.** Connectivity is checked when a message is sent,
//! and — under the default [`InFlight::Drop`] rule — again when it arrives: a message on
//! the wire when its link is cut is lost, as on a real network whose route went away.
//! Under [`InFlight::Deliver`], a message that left before the cut still arrives.

use petgraph::graphmap::DiGraphMap;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::protocol::NodeId;
use crate::rng::{Delay, DelayError, SimRng, chance};
use crate::time::{SimDuration, SimTime};

/// Delivery order on a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ordering {
    /// Messages may overtake each other (independent latencies).
    #[default]
    Unordered,
    /// Messages on one directed link arrive in the order they were sent (like TCP).
    Fifo,
}

/// How one directed link behaves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    /// One-way latency.
    pub latency: Delay,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (the copy with its own latency).
    pub duplicate: f64,
    /// FIFO or unordered delivery.
    pub ordering: Ordering,
    /// Bytes per second; messages queue behind each other on a busy link. `None`: unlimited.
    pub bandwidth: Option<u64>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Delay::default(),
            loss: 0.0,
            duplicate: 0.0,
            ordering: Ordering::Unordered,
            bandwidth: None,
        }
    }
}

/// Why a link setting is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetworkError {
    /// A latency distribution with bad parameters.
    #[error(transparent)]
    Delay(#[from] DelayError),
    /// A probability outside [0, 1].
    #[error("{what} must be a probability between 0 and 1, got {value}")]
    Probability {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// A node id outside the cluster.
    #[error("node {0} does not exist (the cluster has {1} nodes)")]
    NoSuchNode(u32, u32),
    /// A malformed region matrix.
    #[error("region matrix: {0}")]
    Regions(String),
    /// A bandwidth of zero.
    #[error("bandwidth must be positive")]
    ZeroBandwidth,
}

impl LinkConfig {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), NetworkError> {
        self.latency.validate()?;
        for (what, value) in [("loss", self.loss), ("duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(NetworkError::Probability { what, value });
            }
        }
        if self.bandwidth == Some(0) {
            return Err(NetworkError::ZeroBandwidth);
        }
        Ok(())
    }
}

/// Regions for wide-area setups: each node sits in a region, and latency between two
/// regions comes from a matrix (the diagonal is intra-region latency).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regions {
    /// The region index of each node.
    pub node_region: Vec<u32>,
    /// `latency[a][b]`: one-way latency from region `a` to region `b`.
    pub latency: Vec<Vec<Delay>>,
}

/// The rule for messages in flight when their link is cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InFlight {
    /// Lost if the link is cut when they would arrive.
    #[default]
    Drop,
    /// Delivered if they were sent while the link was up.
    Deliver,
}

/// The rule for messages still in flight when their sender crashes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SenderCrash {
    /// Delivered: they were on the wire before the crash.
    #[default]
    Deliver,
    /// Lost with the sender: the crash takes its unsent buffers with it, and an
    /// interrupted stream delivers nothing after the last byte the receiver took.
    Drop,
}

/// The network of a run, as configured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Behaviour of every link without its own settings.
    pub default_link: LinkConfig,
    /// Explicit directed links `(from, to)`; `None` means a full mesh.
    pub links: Option<Vec<(u32, u32)>>,
    /// Per-link overrides of the default, by directed pair.
    pub overrides: Vec<(u32, u32, LinkConfig)>,
    /// Regions with a latency matrix.
    pub regions: Option<Regions>,
    /// The rule for messages in flight when a partition starts.
    pub in_flight: InFlight,
    /// The rule for messages in flight when their sender crashes.
    pub sender_crash: SenderCrash,
}

/// A change of link behaviour applied by a fault.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkChange {
    /// New latency distribution.
    pub latency: Option<Delay>,
    /// New loss probability.
    pub loss: Option<f64>,
    /// New duplication probability.
    pub duplicate: Option<f64>,
}

impl std::fmt::Display for LinkChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(l) = &self.latency {
            parts.push(format!("latency {l}"));
        }
        if let Some(p) = self.loss {
            parts.push(format!("loss {p:.3}"));
        }
        if let Some(p) = self.duplicate {
            parts.push(format!("duplicate {p:.3}"));
        }
        if parts.is_empty() {
            f.write_str("no change")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

impl LinkChange {
    fn apply(&self, link: &mut LinkConfig) {
        if let Some(l) = &self.latency {
            link.latency = l.clone();
        }
        if let Some(p) = self.loss {
            link.loss = p;
        }
        if let Some(p) = self.duplicate {
            link.duplicate = p;
        }
    }

    /// Checks the new values.
    pub fn validate(&self) -> Result<(), NetworkError> {
        let mut probe = LinkConfig::default();
        self.apply(&mut probe);
        probe.validate()
    }
}

/// Why the network did not deliver a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// A partition or cut between sender and receiver.
    Partition,
    /// No link between the two nodes in an explicit topology.
    NoLink,
    /// The receiver was crashed when the message arrived.
    NodeDown,
    /// The sender crashed after sending it, under [`SenderCrash::Drop`].
    SenderCrashed,
    /// A Byzantine node's adversary withheld it.
    Withheld,
}

impl DropReason {
    /// A short name for metrics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::NoLink => "no_link",
            DropReason::NodeDown => "node_down",
            DropReason::SenderCrashed => "sender_crashed",
            DropReason::Withheld => "withheld",
        }
    }
}

/// The delivery times the network chose for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Lost, for this reason.
    Dropped(DropReason),
    /// Delivered at the first time, and a duplicate at the second if any.
    Deliver(SimTime, Option<SimTime>),
}

/// The live network of a run.
#[derive(Clone, Debug)]
pub struct Network {
    n: u32,
    default_link: LinkConfig,
    graph: Option<DiGraphMap<u32, ()>>,
    overrides: FxHashMap<(u32, u32), LinkConfig>,
    regions: Option<Regions>,
    in_flight: InFlight,
    /// Partition group of each node; nodes in different groups cannot talk.
    group: Vec<u32>,
    /// One-way cuts: messages from `.0` to `.1` are not delivered.
    cuts: FxHashSet<(u32, u32)>,
    /// Whether any partition or cut is in force (the hot path skips the checks if not).
    split: bool,
    fifo_last: FxHashMap<(u32, u32), SimTime>,
    busy_until: FxHashMap<(u32, u32), SimTime>,
    /// Whether every link behaves as a lossless, unordered default link with no bandwidth
    /// limit and no topology or regions: then a message needs one latency draw, nothing else.
    plain: bool,
}

impl Network {
    /// Builds the network of `n` nodes, checking every setting.
    pub fn new(n: u32, config: NetworkConfig) -> Result<Self, NetworkError> {
        config.default_link.validate()?;
        let check = |id: u32| {
            if id < n {
                Ok(())
            } else {
                Err(NetworkError::NoSuchNode(id, n))
            }
        };
        let graph = match &config.links {
            None => None,
            Some(links) => {
                let mut g = DiGraphMap::new();
                for i in 0..n {
                    g.add_node(i);
                }
                for &(a, b) in links {
                    check(a)?;
                    check(b)?;
                    g.add_edge(a, b, ());
                }
                Some(g)
            }
        };
        let mut overrides = FxHashMap::default();
        for (a, b, link) in config.overrides {
            check(a)?;
            check(b)?;
            link.validate()?;
            overrides.insert((a, b), link);
        }
        if let Some(r) = &config.regions {
            if r.node_region.len() != n as usize {
                return Err(NetworkError::Regions(format!(
                    "{} node regions given for {n} nodes",
                    r.node_region.len()
                )));
            }
            let k = r.latency.len();
            if r.latency.iter().any(|row| row.len() != k) {
                return Err(NetworkError::Regions("the matrix must be square".into()));
            }
            if let Some(bad) = r.node_region.iter().find(|&&x| x as usize >= k) {
                return Err(NetworkError::Regions(format!(
                    "region {bad} is not in the {k}x{k} matrix"
                )));
            }
            for d in r.latency.iter().flatten() {
                d.validate()?;
            }
        }
        Ok(Network {
            n,
            default_link: config.default_link,
            graph,
            overrides,
            regions: config.regions,
            in_flight: config.in_flight,
            group: vec![0; n as usize],
            cuts: FxHashSet::default(),
            split: false,
            fifo_last: FxHashMap::default(),
            busy_until: FxHashMap::default(),
            plain: false,
        }
        .with_plain_updated())
    }

    fn with_plain_updated(mut self) -> Self {
        self.update_plain();
        self
    }

    fn update_plain(&mut self) {
        let link = &self.default_link;
        self.plain = self.graph.is_none()
            && self.overrides.is_empty()
            && self.regions.is_none()
            && link.loss == 0.0
            && link.duplicate == 0.0
            && link.ordering == Ordering::Unordered
            && link.bandwidth.is_none();
    }

    /// The number of nodes.
    pub fn len(&self) -> u32 {
        self.n
    }

    /// Whether the network has no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The settings in force on the directed link `from → to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkConfig {
        if !self.overrides.is_empty()
            && let Some(l) = self.overrides.get(&(from.0, to.0))
        {
            return l;
        }
        &self.default_link
    }

    /// The latency distribution of the directed link `from → to` (its override, its
    /// regions' entry, or the default link's).
    pub fn latency(&self, from: NodeId, to: NodeId) -> &Delay {
        if !self.overrides.is_empty()
            && let Some(l) = self.overrides.get(&(from.0, to.0))
        {
            return &l.latency;
        }
        match &self.regions {
            Some(r) => {
                let a = r.node_region[from.index()] as usize;
                let b = r.node_region[to.index()] as usize;
                &r.latency[a][b]
            }
            None => &self.default_link.latency,
        }
    }

    /// Whether a message from `from` can currently reach `to` (topology and partitions).
    #[inline]
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        if let Some(g) = &self.graph
            && !g.contains_edge(from.0, to.0)
        {
            return false;
        }
        !self.split
            || (self.group[from.index()] == self.group[to.index()]
                && !self.cuts.contains(&(from.0, to.0)))
    }

    /// Whether a message already in flight from `from` to `to` still arrives now.
    #[inline]
    pub fn arrives(&self, from: NodeId, to: NodeId) -> bool {
        self.in_flight == InFlight::Deliver || !self.split || self.connected(from, to)
    }

    /// Decides the fate of one message of `size` bytes sent at `now`.
    #[inline]
    pub fn route(
        &mut self,
        rng: &mut SimRng,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        size: usize,
    ) -> Route {
        if self.plain && !self.split {
            return Route::Deliver(now + self.default_link.latency.sample(rng), None);
        }
        if let Some(g) = &self.graph
            && !g.contains_edge(from.0, to.0)
        {
            return Route::Dropped(DropReason::NoLink);
        }
        if self.split && !self.connected(from, to) {
            return Route::Dropped(DropReason::Partition);
        }
        let link = self.link(from, to);
        let (loss, dup, ordering, bandwidth) =
            (link.loss, link.duplicate, link.ordering, link.bandwidth);
        if chance(rng, loss) {
            return Route::Dropped(DropReason::Loss);
        }
        let mut depart = now;
        if let Some(bw) = bandwidth {
            let tx = SimDuration((size as u128 * 1_000_000_000 / u128::from(bw)) as u64);
            let busy = self
                .busy_until
                .entry((from.0, to.0))
                .or_insert(SimTime::ZERO);
            depart = (*busy).max(now) + tx;
            *busy = depart;
        }
        let latency = self.latency(from, to);
        let mut at = depart + latency.sample(rng);
        let dup_at = if chance(rng, dup) {
            Some(depart + latency.sample(rng))
        } else {
            None
        };
        if ordering == Ordering::Fifo {
            let last = self
                .fifo_last
                .entry((from.0, to.0))
                .or_insert(SimTime::ZERO);
            // Equal times keep send order through the queue's sequence numbers.
            at = at.max(*last);
            *last = at;
        }
        Route::Deliver(at, dup_at)
    }

    /// Splits the cluster into groups that cannot talk to each other. Nodes named in no
    /// group form one more group together.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let rest = groups.len() as u32 + 1;
        self.group.iter_mut().for_each(|g| *g = rest);
        for (i, members) in groups.iter().enumerate() {
            for m in members {
                if let Some(g) = self.group.get_mut(m.index()) {
                    *g = i as u32 + 1;
                }
            }
        }
        self.update_split();
    }

    /// Cuts `node` off from every other node, in both directions.
    pub fn isolate(&mut self, node: NodeId) {
        let fresh = self.group.iter().max().copied().unwrap_or(0) + 1;
        if let Some(g) = self.group.get_mut(node.index()) {
            *g = fresh;
        }
        self.update_split();
    }

    /// Stops delivery from every node of `from` to every node of `to` (one direction only).
    pub fn cut_one_way(&mut self, from: &[NodeId], to: &[NodeId]) {
        for a in from {
            for b in to {
                if a != b {
                    self.cuts.insert((a.0, b.0));
                }
            }
        }
        self.update_split();
    }

    /// Folds the partitions and cuts in force into `h` (`explore`'s state digest).
    pub(crate) fn hash_state<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.group.hash(h);
        let mut cuts: Vec<_> = self.cuts.iter().copied().collect();
        cuts.sort_unstable();
        cuts.hash(h);
    }

    /// Turns off random loss and duplication on every link: in a stepped run the
    /// schedule (or the search's budget) decides what is lost or duplicated.
    pub(crate) fn without_random_faults(&mut self) {
        for link in std::iter::once(&mut self.default_link).chain(self.overrides.values_mut()) {
            link.loss = 0.0;
            link.duplicate = 0.0;
        }
    }

    /// Whether messages on every link arrive in the order they were sent.
    pub(crate) fn all_fifo(&self) -> bool {
        self.default_link.ordering == Ordering::Fifo
            && self
                .overrides
                .values()
                .all(|l| l.ordering == Ordering::Fifo)
    }

    /// Ends every partition, isolation and cut.
    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
        self.cuts.clear();
        self.split = false;
    }

    fn update_split(&mut self) {
        let first = self.group.first().copied().unwrap_or(0);
        self.split = !self.cuts.is_empty() || self.group.iter().any(|&g| g != first);
    }

    /// Changes the behaviour of the links selected by `scope`.
    pub fn change_links(&mut self, scope: LinkScope, change: &LinkChange) {
        match scope {
            LinkScope::All => {
                change.apply(&mut self.default_link);
                for l in self.overrides.values_mut() {
                    change.apply(l);
                }
                if let (Some(r), Some(lat)) = (&mut self.regions, &change.latency) {
                    r.latency
                        .iter_mut()
                        .flatten()
                        .for_each(|d| *d = lat.clone());
                }
            }
            LinkScope::Between(a, b) => {
                for (x, y) in [(a, b), (b, a)] {
                    self.change_pair(x, y, change);
                }
            }
            LinkScope::From(a) => {
                for b in 0..self.n {
                    self.change_pair(a, NodeId(b), change);
                }
            }
            LinkScope::To(b) => {
                for a in 0..self.n {
                    self.change_pair(NodeId(a), b, change);
                }
            }
        }
        self.update_plain();
    }

    fn change_pair(&mut self, a: NodeId, b: NodeId, change: &LinkChange) {
        if a == b {
            return;
        }
        let base = LinkConfig {
            latency: self.latency(a, b).clone(),
            ..self.link(a, b).clone()
        };
        let entry = self.overrides.entry((a.0, b.0)).or_insert(base);
        change.apply(entry);
    }
}

/// Which links a link change applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkScope {
    /// Every link.
    All,
    /// Both directions between two nodes.
    Between(NodeId, NodeId),
    /// Every link out of a node.
    From(NodeId),
    /// Every link into a node.
    To(NodeId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RunSeed, Stream};

    fn net(n: u32) -> Network {
        Network::new(n, NetworkConfig::default()).unwrap()
    }

    #[test]
    fn partition_blocks_exactly_across_groups() {
        let mut net = net(5);
        let ids: Vec<NodeId> = (0..5).map(NodeId).collect();
        net.partition(&[vec![ids[0], ids[1]], vec![ids[2], ids[3], ids[4]]]);
        for a in 0..5u32 {
            for b in 0..5u32 {
                let same = (a < 2) == (b < 2);
                assert_eq!(net.connected(NodeId(a), NodeId(b)), same, "{a}->{b}");
            }
        }
        net.heal();
        assert!((0..5).all(|a| (0..5).all(|b| net.connected(NodeId(a), NodeId(b)))));
    }

    #[test]
    fn one_way_cut_blocks_one_direction() {
        let mut net = net(3);
        net.cut_one_way(&[NodeId(0)], &[NodeId(1), NodeId(2)]);
        assert!(!net.connected(NodeId(0), NodeId(1)));
        assert!(!net.connected(NodeId(0), NodeId(2)));
        assert!(net.connected(NodeId(1), NodeId(0)));
        assert!(net.connected(NodeId(2), NodeId(0)));
        assert!(net.connected(NodeId(1), NodeId(2)));
    }

    #[test]
    fn explicit_topology_and_regions() {
        let ms = SimDuration::from_millis;
        let mut net = Network::new(
            3,
            NetworkConfig {
                links: Some(vec![(0, 1), (1, 0), (1, 2)]),
                regions: Some(Regions {
                    node_region: vec![0, 0, 1],
                    latency: vec![
                        vec![Delay::Constant(ms(1)), Delay::Constant(ms(80))],
                        vec![Delay::Constant(ms(80)), Delay::Constant(ms(1))],
                    ],
                }),
                ..Default::default()
            },
        )
        .unwrap();
        let mut rng = RunSeed(1).stream(Stream::Network);
        let t0 = SimTime::ZERO;
        assert_eq!(
            net.route(&mut rng, t0, NodeId(0), NodeId(2), 10),
            Route::Dropped(DropReason::NoLink)
        );
        assert_eq!(
            net.route(&mut rng, t0, NodeId(0), NodeId(1), 10),
            Route::Deliver(t0 + ms(1), None)
        );
        assert_eq!(
            net.route(&mut rng, t0, NodeId(1), NodeId(2), 10),
            Route::Deliver(t0 + ms(80), None)
        );
    }

    #[test]
    fn bandwidth_queues_and_fifo_orders() {
        let ms = SimDuration::from_millis;
        let mut net = Network::new(
            2,
            NetworkConfig {
                default_link: LinkConfig {
                    latency: Delay::Uniform(ms(1), ms(50)),
                    ordering: Ordering::Fifo,
                    bandwidth: Some(1_000_000), // 1 MB/s: 1000 bytes take 1 ms
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .unwrap();
        let mut rng = RunSeed(1).stream(Stream::Network);
        let mut last = SimTime::ZERO;
        for i in 0..100u64 {
            match net.route(&mut rng, SimTime::ZERO, NodeId(0), NodeId(1), 1000) {
                Route::Deliver(at, None) => {
                    assert!(at >= last, "FIFO violated");
                    // The i-th message cannot leave before i+1 transmissions are done.
                    assert!(at >= SimTime::ZERO + ms(i + 1) + ms(1));
                    last = at;
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn bad_settings_are_rejected() {
        let bad = |link: LinkConfig| {
            Network::new(
                2,
                NetworkConfig {
                    default_link: link,
                    ..Default::default()
                },
            )
            .is_err()
        };
        assert!(bad(LinkConfig {
            loss: 1.5,
            ..Default::default()
        }));
        assert!(bad(LinkConfig {
            bandwidth: Some(0),
            ..Default::default()
        }));
        let overrides = vec![(0, 7, LinkConfig::default())];
        assert!(
            Network::new(
                2,
                NetworkConfig {
                    overrides,
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
