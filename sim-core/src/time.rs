//! Virtual time: integer nanoseconds, never floats, so that event order is exact.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in virtual time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of virtual time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The latest representable time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds since the start of the run.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// The span left after taking `other` away, zero if `other` is longer.
    pub const fn saturating_sub(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(other.0))
    }
    /// A span of `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> Self {
        SimDuration(n)
    }
    /// A span of `n` microseconds.
    pub const fn from_micros(n: u64) -> Self {
        SimDuration(n * 1_000)
    }
    /// A span of `n` milliseconds.
    pub const fn from_millis(n: u64) -> Self {
        SimDuration(n * 1_000_000)
    }
    /// A span of `n` seconds.
    pub const fn from_secs(n: u64) -> Self {
        SimDuration(n * 1_000_000_000)
    }
    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// The span in (fractional) seconds, for display and statistics only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// The span in (fractional) milliseconds, for display and statistics only.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// Converts a float number of nanoseconds (from a sampled distribution) to a span,
    /// clamping negatives and NaN to zero. Floats sample delays; they never order events.
    pub fn from_nanos_f64(ns: f64) -> Self {
        if ns.is_nan() || ns <= 0.0 {
            SimDuration::ZERO
        } else if ns >= u64::MAX as f64 {
            SimDuration::MAX
        } else {
            SimDuration(ns.round() as u64)
        }
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.saturating_since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl AddAssign for SimDuration {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

/// Writes nanoseconds with the largest unit that keeps it readable: `0s`, `750ns`,
/// `20µs`, `150ms`, `1.250s`, `2m05.000s`.
fn write_nanos(f: &mut fmt::Formatter<'_>, ns: u64) -> fmt::Result {
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    if ns == 0 {
        return f.write_str("0s");
    }
    if ns < US {
        return write!(f, "{ns}ns");
    }
    if ns < MS {
        return write_scaled(f, ns, US, "µs");
    }
    if ns < S {
        return write_scaled(f, ns, MS, "ms");
    }
    if ns < 60 * S {
        return write!(f, "{}.{:03}s", ns / S, (ns % S) / MS);
    }
    let mins = ns / (60 * S);
    let rest = ns % (60 * S);
    write!(f, "{mins}m{:02}.{:03}s", rest / S, (rest % S) / MS)
}

/// `150ms` when exact, `1.5ms` or `1.234ms` otherwise (three decimals at most, trailing zeros cut).
fn write_scaled(f: &mut fmt::Formatter<'_>, ns: u64, unit: u64, suffix: &str) -> fmt::Result {
    let whole = ns / unit;
    let frac = (ns % unit) * 1000 / unit;
    if frac == 0 {
        write!(f, "{whole}{suffix}")
    } else {
        let digits = format!("{frac:03}");
        write!(f, "{whole}.{}{suffix}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_nanos(f, self.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_nanos(f, self.0)
    }
}

/// Why a duration string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {reason} (expected a number and a unit, e.g. \"150ms\", \"1.5s\", \"20us\")"
)]
pub struct ParseDurationError {
    /// The text that was given.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl FromStr for SimDuration {
    type Err = ParseDurationError;

    /// Reads `"150ms"`, `"1.5s"`, `"20us"`/`"20µs"`, `"750ns"`, `"2m"`, `"1h 30m"` — the
    /// syntax of the `humantime` crate — exactly, in integer nanoseconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseDurationError {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(err("empty"));
        }
        let d = humantime::parse_duration(t).map_err(|e| match e {
            humantime::DurationError::NumberExpected(_) => err("a number was expected"),
            humantime::DurationError::UnknownUnit { .. } => {
                err("unknown unit (use ns, us, ms, s, m or h)")
            }
            humantime::DurationError::NumberOverflow => err("number too large"),
            humantime::DurationError::Empty => err("missing unit"),
            humantime::DurationError::InvalidCharacter(_) => err("unexpected character"),
        })?;
        u64::try_from(d.as_nanos())
            .map(SimDuration)
            .map_err(|_| err("number too large"))
    }
}

impl Serialize for SimDuration {
    /// The readable form when it is exact (`"150ms"`), else whole nanoseconds
    /// (`"309333450ns"`), so a written scenario reads back to the same run.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.to_string().replace('µ', "u");
        if text.parse::<SimDuration>().ok() == Some(*self) {
            s.serialize_str(&text)
        } else {
            s.collect_str(&format_args!("{}ns", self.0))
        }
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Machine-readable outputs (history, trace) carry exact nanoseconds.
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for SimTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(SimTime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_picks_readable_units() {
        assert_eq!(SimDuration::from_millis(1250).to_string(), "1.250s");
        assert_eq!(SimDuration::from_millis(150).to_string(), "150ms");
        assert_eq!(SimDuration::from_micros(1500).to_string(), "1.5ms");
        assert_eq!(SimDuration::from_micros(20).to_string(), "20µs");
        assert_eq!(SimDuration::from_nanos(750).to_string(), "750ns");
        assert_eq!(SimDuration::ZERO.to_string(), "0s");
        assert_eq!(SimDuration::from_secs(125).to_string(), "2m05.000s");
        assert_eq!(SimTime(3_000_000_000).to_string(), "3.000s");
    }

    #[test]
    fn parse_is_exact_and_rejects_junk() {
        assert_eq!(
            "150ms".parse::<SimDuration>().unwrap(),
            SimDuration::from_millis(150)
        );
        assert_eq!(
            "0.1s".parse::<SimDuration>().unwrap(),
            SimDuration(100_000_000)
        );
        assert_eq!(
            "1.5s".parse::<SimDuration>().unwrap(),
            SimDuration::from_millis(1500)
        );
        assert_eq!(
            "20us".parse::<SimDuration>().unwrap(),
            SimDuration::from_micros(20)
        );
        assert_eq!(
            "20µs".parse::<SimDuration>().unwrap(),
            SimDuration::from_micros(20)
        );
        assert_eq!(
            "2m".parse::<SimDuration>().unwrap(),
            SimDuration::from_secs(120)
        );
        for bad in [
            "",
            "ms",
            "150",
            "150 parsecs",
            "1.2.3s",
            "0.0000000001s",
            "99999999999999999999s",
        ] {
            assert!(
                bad.parse::<SimDuration>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn display_round_trips_through_parse() {
        for ns in [
            1,
            999,
            1_000,
            1_500,
            150_000_000,
            1_250_000_000,
            59_999_000_000,
        ] {
            let d = SimDuration(ns);
            let back: SimDuration = d.to_string().replace('µ', "u").parse().unwrap();
            assert_eq!(back, d, "{d}");
        }
    }
}
