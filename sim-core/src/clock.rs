//! A node's local clock: virtual time plus an offset (skew) and a rate error (drift).
//!
//! The clock is piecewise linear: `local = anchor_local + (global - anchor_global) * rate`,
//! with `rate = 1 + drift_ppm / 1e6`, re-anchored whenever skew or drift change. All in
//! integers, so a clock reading is exact and reproducible.

use crate::time::{SimDuration, SimTime};

const MILLION: i128 = 1_000_000;

/// One node's view of time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeClock {
    anchor_global: u64,
    anchor_local: i128,
    drift_ppm: i64,
}

impl NodeClock {
    /// The local reading at virtual time `global` (clamped at zero).
    pub fn local(&self, global: SimTime) -> SimTime {
        let elapsed = i128::from(global.0) - i128::from(self.anchor_global);
        let local = self.anchor_local + elapsed * (MILLION + i128::from(self.drift_ppm)) / MILLION;
        SimTime(local.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The virtual-time span in which this clock advances by `local` (rounded up, so a
    /// timer never fires before its local deadline).
    pub fn to_global(&self, local: SimDuration) -> SimDuration {
        if self.drift_ppm == 0 {
            return local;
        }
        let rate = MILLION + i128::from(self.drift_ppm);
        let global = (i128::from(local.0) * MILLION + rate - 1) / rate;
        SimDuration(global.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// Sets the offset: from `now` on, the clock reads `now + offset` (and keeps drifting).
    pub fn set_offset(&mut self, now: SimTime, offset_ns: i64) {
        self.anchor_global = now.0;
        self.anchor_local = i128::from(now.0) + i128::from(offset_ns);
    }

    /// Sets the drift rate from `now` on, in parts per million (100 = 0.01 % fast;
    /// must be above -1 000 000, so the clock never stops or runs backwards).
    pub fn set_drift(&mut self, now: SimTime, drift_ppm: i64) {
        let reading = i128::from(self.local(now).0);
        self.anchor_global = now.0;
        self.anchor_local = reading;
        self.drift_ppm = drift_ppm.max(-999_999);
    }

    /// The current offset from virtual time at `now`, in nanoseconds.
    pub fn offset_at(&self, now: SimTime) -> i64 {
        (i128::from(self.local(now).0) - i128::from(now.0)) as i64
    }

    /// The current drift, in parts per million.
    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_drift() {
        let mut c = NodeClock::default();
        assert_eq!(c.local(SimTime(1_000)), SimTime(1_000));
        c.set_offset(SimTime(1_000), 500);
        assert_eq!(c.local(SimTime(2_000)), SimTime(2_500));
        c.set_drift(SimTime(2_000), 100_000); // 10 % fast
        assert_eq!(c.local(SimTime(12_000)), SimTime(2_500 + 11_000));
        // 11 local units pass in 10 global ones.
        assert_eq!(c.to_global(SimDuration(11_000)), SimDuration(10_000));
        assert_eq!(c.offset_at(SimTime(12_000)), 1_500);
    }

    #[test]
    fn slow_clock_timers_take_longer_and_never_early() {
        let mut c = NodeClock::default();
        c.set_drift(SimTime(0), -500_000); // half speed
        assert_eq!(c.to_global(SimDuration(1_000)), SimDuration(2_000));
        c.set_drift(SimTime(0), 333_333);
        let g = c.to_global(SimDuration(1_000));
        assert!(c.local(SimTime(g.0)).0 >= 1_000);
    }
}
