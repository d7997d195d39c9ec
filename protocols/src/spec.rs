//! What the scenario layer needs to know of a protocol beyond the engine interface: its
//! name, the workload family it serves, its bug switches and its invariants.

use sim_core::client::ClientConfig;
use sim_core::invariant::Invariant;
use sim_core::{Protocol, SimDuration};

/// The workload family a protocol serves (DESIGN.md, "Protocols"): which client
/// operations it answers, and so which workload and checks a scenario may give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// A replicated key-value store: clients send get/put/cas/append; checked for
    /// linearizability.
    KeyValue,
    /// Single-decree consensus on proposed values.
    Consensus,
    /// Atomic commitment of transactions.
    AtomicCommit,
    /// Dissemination of updates (gossip, anti-entropy).
    Dissemination,
    /// No client workload (engine exercises such as echo).
    None,
}

/// A deliberate, named mistake a protocol can be switched into (DESIGN.md, "Bug
/// switches"): the fuzzer must find each one. Declared with [`bug_switches!`](crate::bug_switches).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BugSwitch {
    /// The name used in scenario files and `--bug`.
    pub name: &'static str,
    /// What it breaks.
    pub description: &'static str,
    /// Which check is meant to catch it (an invariant's name, `linearizability` …).
    pub caught_by: &'static str,
}

impl BugSwitch {
    /// What it breaks, as one line (the declaration's doc comment, trimmed).
    pub fn describe(&self) -> &'static str {
        self.description.trim()
    }
}

/// A protocol's set of bug switches: a struct of flags, all off by default, made by
/// [`bug_switches!`](crate::bug_switches) from one declaration per switch.
pub trait BugSet {
    /// Every switch, in declaration order.
    const SWITCHES: &'static [BugSwitch];
    /// Turns on the switch `name`; `false` if there is none of that name.
    fn enable(&mut self, name: &str) -> bool;
}

/// The bug set of a protocol without bug switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoBugs;

impl BugSet for NoBugs {
    const SWITCHES: &'static [BugSwitch] = &[];
    fn enable(&mut self, _name: &str) -> bool {
        false
    }
}

/// Declares a protocol's bug switches once: the struct of flags (serde-readable, all off
/// by default), the list `faultline list` prints and the switch-by-name that `--bug`
/// uses all come from it.
///
/// ```
/// protocols::bug_switches! {
///     /// My protocol's deliberate mistakes.
///     pub struct MyBugs {
///         /// Forgets its promise on restart.
///         forget_promise => "agreement",
///     }
/// }
/// use protocols::BugSet;
/// let mut b = MyBugs::default();
/// assert!(b.enable("forget_promise") && b.forget_promise);
/// assert_eq!(MyBugs::SWITCHES[0].caught_by, "agreement");
/// ```
#[macro_export]
macro_rules! bug_switches {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:expr])+
                $field:ident => $caught_by:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        $vis struct $name {
            $(
                $(#[doc = $doc])+
                pub $field: bool,
            )*
        }

        impl $crate::BugSet for $name {
            const SWITCHES: &'static [$crate::BugSwitch] = &[
                $($crate::BugSwitch {
                    name: stringify!($field),
                    description: concat!($($doc),+),
                    caught_by: $caught_by,
                }),*
            ];

            fn enable(&mut self, name: &str) -> bool {
                match name {
                    $(stringify!($field) => self.$field = true,)*
                    _ => return false,
                }
                true
            }
        }
    };
}

/// A setting that cannot work, found by [`ProtocolSpec::validate`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BadSetting {
    /// The setting, as written in scenario files (`election_timeout_min`).
    pub setting: &'static str,
    /// What is wrong with it, and what would do.
    pub message: String,
}

impl BadSetting {
    /// `setting` is wrong, as `message` says.
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        BadSetting {
            setting,
            message: message.into(),
        }
    }
}

/// What the scenario layer needs to know of a protocol beyond the engine interface. With
/// this, one registration line (`Registry::with::<P>()` in the `scenarios` crate) gives
/// the protocol the whole command line. Its nodes are `Clone + Hash` so that `explore`
/// can fork a run and tell states apart (derive both; a setting that cannot hash, such
/// as a float, can sit in a [`sim_core::Fixed`]).
pub trait ProtocolSpec: Protocol + Clone + std::hash::Hash {
    /// The name used in scenario files ("Raft").
    const NAME: &'static str;
    /// The workload family it serves.
    const FAMILY: Family;
    /// Its bug switches, declared with [`bug_switches!`](crate::bug_switches).
    type Bugs: BugSet;
    /// Its bug switches, as `faultline list` shows them.
    const BUGS: &'static [BugSwitch] = <Self::Bugs as BugSet>::SWITCHES;
    /// Turns on the bug switch `name` (one of [`ProtocolSpec::BUGS`]) in `config`;
    /// `false` if unknown. Usually `config.bugs.enable(name)`.
    fn enable_bug(config: &mut Self::Config, name: &str) -> bool;
    /// The invariants checked after every event of a run.
    fn invariants(config: &Self::Config) -> Vec<Box<dyn Invariant<Self>>>;
    /// Checks settings a type cannot rule out (a minimum above its maximum, a node that
    /// is not in a cluster of `nodes`), so nonsense is an error at load, not a strange
    /// run. `Err` names the setting and says what is wrong.
    fn validate(_config: &Self::Config, _nodes: u32) -> Result<(), BadSetting> {
        Ok(())
    }
    /// For protocols that work in rounds (gossip): how long one round lasts, which the
    /// dissemination figures count in.
    fn round_period(_config: &Self::Config) -> Option<SimDuration> {
        None
    }
    /// Adjusts what the clients of a cluster of `nodes` do for this protocol: a
    /// Byzantine-tolerant one asks for f + 1 matching answers
    /// ([`ClientConfig::reply_quorum`]) and sends retries to every node. The default
    /// leaves the workload's settings.
    fn client_rules(_config: &Self::Config, _nodes: u32, _clients: &mut ClientConfig) {}
    /// Messages between nodes per operation under `config` in a calm cluster of `nodes`
    /// without batching, and the closed form ("2(N−1)"), if the protocol has one:
    /// `faultline compare` marks it beside what runs measure.
    fn messages_per_op(_config: &Self::Config, _nodes: u32) -> Option<(f64, &'static str)> {
        None
    }
    /// How many Byzantine nodes it tolerates in a cluster of `nodes`, if it claims to
    /// tolerate any (PBFT: ⌊(N − 1)/3⌋): a scenario with more that expects a pass is an
    /// error at load.
    fn byzantine_tolerance(_nodes: u32) -> Option<u32> {
        None
    }
    /// Its own Byzantine behaviours, beyond the generic ones of [`crate::byzantine`].
    const BEHAVIOURS: &'static [crate::byzantine::Behaviour] = &[];
    /// The adversary of one of its own [`ProtocolSpec::BEHAVIOURS`] for a node in a
    /// cluster of `nodes`; `None` for any other name.
    fn adversary(
        _name: &str,
        _config: &Self::Config,
        _nodes: u32,
    ) -> Option<Box<dyn sim_core::byzantine::Adversary<Self>>> {
        None
    }
}
