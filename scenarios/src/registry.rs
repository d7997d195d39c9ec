//! The protocols a scenario can name. A protocol joins with one registration,
//! [`Registry::with`], in [`Registry::builtin`] for the protocols of this repository or in
//! a user's own crate for theirs; its name in files, its settings, bug switches, family and
//! the generic run all follow from its [`ProtocolSpec`].

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use protocols::{BugSwitch, Family, ProtocolSpec};
use serde::de::{DeserializeSeed, EnumAccess, Error as _, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_core::SimDuration;

use crate::format::Scenario;
use crate::runner::{Run, RunError, RunOptions};

/// The protocols of this repository: the one list a new in-tree protocol joins.
fn builtin_list() -> Registry {
    Registry::new()
        .with::<protocols::echo::Echo>()
        .with::<protocols::raft::Raft>()
        .with::<protocols::paxos::Paxos>()
        .with::<protocols::multipaxos::MultiPaxos>()
        .with::<protocols::pbft::Pbft>()
        .with::<protocols::epaxos::EPaxos>()
        .with::<protocols::gossip::Gossip>()
        .with::<protocols::commit::TwoPhaseCommit>()
        .with::<protocols::commit::ThreePhaseCommit>()
}

/// Static facts of a protocol, for validation and `faultline list`.
#[derive(Clone, Debug)]
pub struct ProtocolInfo {
    /// Its name in scenario files.
    pub name: &'static str,
    /// The workload family it serves.
    pub family: Family,
    /// Its bug switches.
    pub bugs: &'static [BugSwitch],
    /// Its Byzantine behaviours (the generic ones first).
    pub behaviours: Vec<protocols::byzantine::Behaviour>,
    /// How many Byzantine nodes it tolerates, by cluster size, if it claims any
    /// ([`ProtocolSpec::byzantine_tolerance`]).
    pub byzantine_tolerance: fn(u32) -> Option<u32>,
    /// Its default settings, as RON.
    pub defaults: String,
}

/// A protocol's settings, with its type erased so that a [`Scenario`] can hold any
/// registered protocol's. Implemented for every settings type a registration accepts.
pub trait ProtocolConfig: fmt::Debug + Send + Sync + erased_serde::Serialize + 'static {
    /// The settings, to be downcast by the protocol's own entry.
    fn as_any(&self) -> &dyn Any;
    /// The settings, mutably.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// A copy.
    fn clone_box(&self) -> Box<dyn ProtocolConfig>;
    /// Whether `other` holds the same settings of the same type.
    fn eq_dyn(&self, other: &dyn ProtocolConfig) -> bool;
}

erased_serde::serialize_trait_object!(ProtocolConfig);

impl<T> ProtocolConfig for T
where
    T: Clone + fmt::Debug + PartialEq + Serialize + Send + Sync + 'static,
{
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn ProtocolConfig> {
        Box::new(self.clone())
    }
    fn eq_dyn(&self, other: &dyn ProtocolConfig) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

mod sealed {
    /// Keeps [`super::ProtocolEntry`] to the one implementation [`super::Registry::with`]
    /// makes.
    pub trait Sealed {}
}

/// A registered protocol, as the scenario layer uses it without knowing its type. Made
/// only by [`Registry::with`]; each method is the generic code monomorphised for it.
pub trait ProtocolEntry: Send + Sync + sealed::Sealed {
    /// Its name in scenario files.
    fn name(&self) -> &'static str;
    /// The workload family it serves.
    fn family(&self) -> Family;
    /// Its static facts (its default settings written out: not for every run).
    fn info(&self) -> ProtocolInfo;
    /// Reads its settings from a scenario file.
    fn read_config(
        &self,
        de: &mut dyn erased_serde::Deserializer<'_>,
    ) -> Result<Box<dyn ProtocolConfig>, erased_serde::Error>;
    /// Its default settings.
    fn default_config(&self) -> Box<dyn ProtocolConfig>;
    /// The names of the invariants checked under `config`.
    fn invariant_names(&self, config: &dyn ProtocolConfig) -> Vec<String>;
    /// Checks `config` for a cluster of `nodes` (see `ProtocolSpec::validate`).
    fn validate(
        &self,
        config: &dyn ProtocolConfig,
        nodes: u32,
    ) -> Result<(), protocols::BadSetting>;
    /// Messages per operation under `config` in a calm cluster of `nodes`, if the
    /// protocol has a closed form (see `ProtocolSpec::messages_per_op`).
    fn messages_per_op(
        &self,
        config: &dyn ProtocolConfig,
        nodes: u32,
    ) -> Option<(f64, &'static str)>;
    /// Turns on bug switch `name` in `config`; `false` if it has none of that name.
    fn enable_bug(&self, config: &mut dyn ProtocolConfig, name: &str) -> bool;
    /// How long one round lasts under `config`, for protocols that work in rounds.
    fn round_period(&self, config: &dyn ProtocolConfig) -> Option<SimDuration>;
    /// Searches the schedules of `scenario` (whose protocol this is) with `config`.
    fn explore(
        &self,
        scenario: &Scenario,
        config: &dyn ProtocolConfig,
        options: crate::explore::ExploreOptions,
    ) -> Result<crate::explore::Explored, RunError>;
    /// Runs `scenario` (whose protocol this is) with `config`.
    fn run(
        &self,
        scenario: &Scenario,
        config: &dyn ProtocolConfig,
        options: RunOptions,
    ) -> Result<Run, RunError>;
}

struct Entry<P>(PhantomData<fn() -> P>);

impl<P> Entry<P>
where
    P: ProtocolSpec,
    P::Config: Serialize + PartialEq + Send + Sync,
{
    fn config(config: &dyn ProtocolConfig) -> &P::Config {
        config
            .as_any()
            .downcast_ref::<P::Config>()
            .expect("a scenario's settings belong to its protocol")
    }
}

impl<P> sealed::Sealed for Entry<P> {}

impl<P> ProtocolEntry for Entry<P>
where
    P: ProtocolSpec,
    P::Config: Serialize + PartialEq + Send + Sync,
{
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn family(&self) -> Family {
        P::FAMILY
    }

    fn info(&self) -> ProtocolInfo {
        ProtocolInfo {
            name: P::NAME,
            family: P::FAMILY,
            bugs: P::BUGS,
            behaviours: protocols::byzantine::behaviours::<P>(),
            byzantine_tolerance: P::byzantine_tolerance,
            defaults: ron::ser::to_string(&P::Config::default()).unwrap_or_default(),
        }
    }

    fn read_config(
        &self,
        de: &mut dyn erased_serde::Deserializer<'_>,
    ) -> Result<Box<dyn ProtocolConfig>, erased_serde::Error> {
        let config: P::Config = erased_serde::deserialize(de)?;
        Ok(Box::new(config))
    }

    fn default_config(&self) -> Box<dyn ProtocolConfig> {
        Box::new(P::Config::default())
    }

    fn invariant_names(&self, config: &dyn ProtocolConfig) -> Vec<String> {
        P::invariants(Self::config(config))
            .iter()
            .map(|i| i.name().to_string())
            .collect()
    }

    fn validate(
        &self,
        config: &dyn ProtocolConfig,
        nodes: u32,
    ) -> Result<(), protocols::BadSetting> {
        P::validate(Self::config(config), nodes)
    }

    fn messages_per_op(
        &self,
        config: &dyn ProtocolConfig,
        nodes: u32,
    ) -> Option<(f64, &'static str)> {
        P::messages_per_op(Self::config(config), nodes)
    }

    fn enable_bug(&self, config: &mut dyn ProtocolConfig, name: &str) -> bool {
        config
            .as_any_mut()
            .downcast_mut::<P::Config>()
            .is_some_and(|c| P::enable_bug(c, name))
    }

    fn round_period(&self, config: &dyn ProtocolConfig) -> Option<SimDuration> {
        P::round_period(Self::config(config))
    }

    fn explore(
        &self,
        scenario: &Scenario,
        config: &dyn ProtocolConfig,
        options: crate::explore::ExploreOptions,
    ) -> Result<crate::explore::Explored, RunError> {
        crate::explore::explore_typed::<P>(scenario, Self::config(config).clone(), options)
    }

    fn run(
        &self,
        scenario: &Scenario,
        config: &dyn ProtocolConfig,
        options: RunOptions,
    ) -> Result<Run, RunError> {
        crate::runner::run_typed::<P>(scenario, Self::config(config).clone(), options)
    }
}

/// The protocols scenario files may name.
#[derive(Clone, Default)]
pub struct Registry {
    entries: Vec<Arc<dyn ProtocolEntry>>,
    /// The names, made once per registry and shared by its copies (the registry of a
    /// load is a copy): serde wants them `'static`, so they are leaked, once.
    names: Arc<OnceLock<&'static [&'static str]>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.name()))
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The protocols of this repository.
    pub fn builtin() -> Self {
        builtin_list()
    }

    /// Registers protocol `P`; a protocol of the same name registered before is replaced.
    pub fn with<P>(mut self) -> Self
    where
        P: ProtocolSpec,
        P::Config: Serialize + PartialEq + Send + Sync,
    {
        self.entries.retain(|e| e.name() != P::NAME);
        self.entries.push(Arc::new(Entry::<P>(PhantomData)));
        self.names = Arc::default();
        self
    }

    /// The protocol named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ProtocolEntry>> {
        self.entries.iter().find(|e| e.name() == name)
    }

    /// Every registered protocol's facts, in registration order.
    pub fn infos(&self) -> Vec<ProtocolInfo> {
        self.entries.iter().map(|e| e.info()).collect()
    }

    /// The names scenario files may use.
    pub fn names(&self) -> &'static [&'static str] {
        self.names.get_or_init(|| {
            let names: Vec<&'static str> = self.entries.iter().map(|e| e.name()).collect();
            Box::leak(names.into_boxed_slice())
        })
    }

    /// Makes this the registry of the process, for files read from now on by the
    /// command line or [`crate::load::load`]. Only the first call can install one, and
    /// only before anything used the process's registry (reading a scenario, listing
    /// protocols), which fixes it to the built-in one; `Err` gives this registry back
    /// otherwise.
    pub fn install(self) -> Result<(), Registry> {
        INSTALLED.set(self)
    }

    /// Reads and validates the scenario in `path`, whose protocol may be any of this
    /// registry's.
    pub fn load(&self, path: &std::path::Path) -> Result<Scenario, crate::load::LoadError> {
        self.scoped(|| crate::load::load(path))
    }

    /// Parses and validates scenario text (`file` names it in errors), whose protocol may
    /// be any of this registry's.
    pub fn parse(&self, text: &str, file: &str) -> Result<Scenario, crate::load::LoadError> {
        self.scoped(|| crate::load::parse(text, file))
    }

    fn scoped<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(Option<Registry>);
        impl Drop for Restore {
            fn drop(&mut self) {
                SCOPED.with(|s| *s.borrow_mut() = self.0.take());
            }
        }
        let previous = SCOPED.with(|s| s.borrow_mut().replace(self.clone()));
        let _restore = Restore(previous);
        f()
    }
}

static INSTALLED: OnceLock<Registry> = OnceLock::new();

thread_local! {
    /// The registry of a [`Registry::load`] in progress on this thread.
    static SCOPED: RefCell<Option<Registry>> = const { RefCell::new(None) };
}

/// The registry of the process: the installed one, else the built-in protocols.
pub fn installed() -> &'static Registry {
    INSTALLED.get_or_init(Registry::builtin)
}

/// The registry files are read against on this thread: that of a [`Registry::load`] in
/// progress, else the process's.
pub fn current() -> Registry {
    SCOPED
        .with(|s| s.borrow().clone())
        .unwrap_or_else(|| installed().clone())
}

/// Every protocol a scenario can use (of the current registry).
pub fn all() -> Vec<ProtocolInfo> {
    current().infos()
}

/// The protocol of a scenario with its settings, written `Raft((election_timeout_min:
/// "150ms"))` in a file.
pub struct ProtocolChoice {
    entry: Arc<dyn ProtocolEntry>,
    config: Box<dyn ProtocolConfig>,
}

impl ProtocolChoice {
    /// Protocol `name` of the current registry with its default settings.
    pub fn named(name: &str) -> Option<Self> {
        let entry = current().get(name)?.clone();
        let config = entry.default_config();
        Some(ProtocolChoice { entry, config })
    }

    /// Protocol `P` with `config`, whether or not it is registered.
    pub fn new<P>(config: P::Config) -> Self
    where
        P: ProtocolSpec,
        P::Config: Serialize + PartialEq + Send + Sync,
    {
        ProtocolChoice {
            entry: Arc::new(Entry::<P>(PhantomData)),
            config: Box::new(config),
        }
    }

    /// The static facts of this protocol.
    pub fn info(&self) -> ProtocolInfo {
        self.entry.info()
    }

    /// Its name in scenario files.
    pub fn name(&self) -> &'static str {
        self.entry.name()
    }

    /// The workload family it serves.
    pub fn family(&self) -> Family {
        self.entry.family()
    }

    /// The settings, if they are of type `C`.
    pub fn config<C: 'static>(&self) -> Option<&C> {
        self.config.as_any().downcast_ref()
    }

    /// The settings, mutably, if they are of type `C`.
    pub fn config_mut<C: 'static>(&mut self) -> Option<&mut C> {
        self.config.as_any_mut().downcast_mut()
    }

    /// The names of the invariants checked under these settings (what `expect:
    /// Violation("…")` may name besides the checks).
    pub fn invariant_names(&self) -> Vec<String> {
        self.entry.invariant_names(&*self.config)
    }

    /// Checks the settings for a cluster of `nodes`: `Err` names a setting that cannot
    /// work.
    pub fn validate(&self, nodes: u32) -> Result<(), protocols::BadSetting> {
        self.entry.validate(&*self.config, nodes)
    }

    /// Messages between nodes per operation under these settings in a calm cluster of
    /// `nodes`, and the closed form, if the protocol has one (`faultline compare` marks
    /// it).
    pub fn messages_per_op(&self, nodes: u32) -> Option<(f64, &'static str)> {
        self.entry.messages_per_op(&*self.config, nodes)
    }

    /// Turns on bug switch `name`; `false` if the protocol has none of that name.
    pub fn enable_bug(&mut self, name: &str) -> bool {
        self.entry.enable_bug(&mut *self.config, name)
    }

    /// How long one round lasts, for protocols that work in rounds (gossip).
    pub fn round_period(&self) -> Option<SimDuration> {
        self.entry.round_period(&*self.config)
    }

    /// Runs `scenario`, whose protocol this is.
    pub(crate) fn run(&self, scenario: &Scenario, options: RunOptions) -> Result<Run, RunError> {
        self.entry.run(scenario, &*self.config, options)
    }
}

/// Searches the schedules of `scenario` (see [`crate::explore`]).
///
/// # Errors
/// A bug switch the protocol lacks, bounds the scenario's model forbids, or a run that
/// cannot be searched (Byzantine nodes, a checker that cannot be copied).
pub fn explore(
    scenario: &Scenario,
    options: crate::explore::ExploreOptions,
) -> Result<crate::explore::Explored, RunError> {
    let p = &scenario.protocol;
    p.entry.explore(scenario, &*p.config, options)
}

impl Clone for ProtocolChoice {
    fn clone(&self) -> Self {
        ProtocolChoice {
            entry: self.entry.clone(),
            config: self.config.clone_box(),
        }
    }
}

impl fmt::Debug for ProtocolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(self.name()).field(&self.config).finish()
    }
}

impl PartialEq for ProtocolChoice {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && self.config.eq_dyn(&*other.config)
    }
}

impl Serialize for ProtocolChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Text formats (RON, JSON) go by the name; the index is the protocol's place in
        // the registry, for formats that use it.
        let index = current()
            .names()
            .iter()
            .position(|n| *n == self.name())
            .unwrap_or(0);
        s.serialize_newtype_variant(
            "ProtocolChoice",
            u32::try_from(index).unwrap_or(0),
            self.name(),
            &*self.config,
        )
    }
}

impl<'de> Deserialize<'de> for ProtocolChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let registry = current();
        let names = registry.names();
        d.deserialize_enum("ProtocolChoice", names, ChoiceVisitor(registry))
    }
}

struct ChoiceVisitor(Registry);

impl<'de> Visitor<'de> for ChoiceVisitor {
    type Value = ProtocolChoice;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a protocol: one of {}", self.0.names().join(", "))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<ProtocolChoice, A::Error> {
        let (VariantName(name), variant) = data.variant()?;
        let Some(entry) = self.0.get(&name) else {
            return Err(A::Error::unknown_variant(&name, self.0.names()));
        };
        let config = variant.newtype_variant_seed(ConfigSeed(entry))?;
        Ok(ProtocolChoice {
            entry: entry.clone(),
            config,
        })
    }
}

/// A protocol's name as it stands in a file: an identifier, not a quoted string.
struct VariantName(String);

impl<'de> Deserialize<'de> for VariantName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = VariantName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a protocol name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<VariantName, E> {
                Ok(VariantName(v.to_string()))
            }
        }
        d.deserialize_identifier(Name)
    }
}

/// Marks an error that came through the type-erased reading of a protocol's settings,
/// whose structured errors arrive as text: the loader reads them back (`load::recover`).
pub(crate) const SETTINGS_ERROR: &str = "\u{1f}";

/// Reads one protocol's settings through its entry.
struct ConfigSeed<'a>(&'a Arc<dyn ProtocolEntry>);

impl<'de> DeserializeSeed<'de> for ConfigSeed<'_> {
    type Value = Box<dyn ProtocolConfig>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let mut erased = <dyn erased_serde::Deserializer>::erase(d);
        self.0
            .read_config(&mut erased)
            .map_err(|e| D::Error::custom(format!("{SETTINGS_ERROR}{e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_switch_of_every_protocol_can_be_enabled_and_unknown_ones_cannot() {
        let registry = Registry::builtin();
        for info in registry.infos() {
            for b in info.bugs {
                let mut c = ProtocolChoice::named(info.name).unwrap();
                let default = c.clone();
                assert!(c.enable_bug(b.name), "{} {}", info.name, b.name);
                assert_ne!(c, default, "{} {} changed nothing", info.name, b.name);
                assert!(!b.describe().is_empty() && !b.caught_by.is_empty());
            }
            let mut c = ProtocolChoice::named(info.name).unwrap();
            assert!(!c.enable_bug("no_such_bug"), "{}", info.name);
        }
    }

    #[test]
    fn names_are_unique_and_a_later_registration_replaces_an_earlier_one() {
        let registry = Registry::builtin();
        let mut names = registry.names().to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), registry.names().len());
        let again = registry.with::<protocols::raft::Raft>();
        assert_eq!(again.names().len(), names.len());
        assert_eq!(again.names().last(), Some(&"Raft"));
    }

    #[test]
    fn settings_survive_a_round_trip_through_ron() {
        let mut c = ProtocolChoice::named("Raft").unwrap();
        c.config_mut::<protocols::raft::RaftConfig>()
            .unwrap()
            .snapshot_every = 7;
        let text = ron::ser::to_string(&c).unwrap();
        assert!(text.starts_with("Raft("), "{text}");
        let back: ProtocolChoice = ron::from_str(&text).unwrap();
        assert_eq!(back, c);
        assert_ne!(back, ProtocolChoice::named("Raft").unwrap());
    }
}
