//! Clocks a mod reads through WASI `clock_time_get` and sleeps on through `poll_oneoff`.
//!
//! The default [`SystemClock`] reads the machine's clocks (through `web-time` in a
//! browser). A [`VirtualClock`] only moves when the embedder advances it: with it and a
//! fixed random seed a mod's run is a pure function of its inputs (replays, lockstep).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use web_time::{Instant, SystemTime, UNIX_EPOCH};

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The WASI clocks a mod can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClockId {
    /// Wall-clock time, nanoseconds since the Unix epoch (`CLOCKID_REALTIME`).
    Realtime,
    /// Time that only goes forward, nanoseconds since an arbitrary start
    /// (`CLOCKID_MONOTONIC`).
    Monotonic,
}

impl ClockId {
    /// The clock for a WASI clock id; `None` for ids this host does not offer
    /// (the process and thread CPU-time clocks).
    pub fn from_wasi(id: u32) -> Option<ClockId> {
        match id {
            0 => Some(ClockId::Realtime),
            1 => Some(ClockId::Monotonic),
            _ => None,
        }
    }
}

/// A source of time for mods. Implement it to give mods game time instead of wall time.
pub trait Clock: Send + Sync + 'static {
    /// The current time of `clock` in nanoseconds.
    fn now(&self, clock: ClockId) -> u64;

    /// The resolution of `clock` in nanoseconds.
    fn resolution(&self, _clock: ClockId) -> u64 {
        1_000
    }
}

/// The machine's clocks.
#[derive(Clone, Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock whose monotonic time starts at zero now.
    #[must_use]
    pub fn new() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self, clock: ClockId) -> u64 {
        match clock {
            ClockId::Realtime => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            ClockId::Monotonic => {
                u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
            }
        }
    }
}

/// A clock that moves only when told to; clones share the same time.
///
/// Both WASI clocks read the same value: realtime is `epoch + now`, monotonic is `now`.
///
/// ```
/// use bevy_wasmi_plugins::runtime::{Clock, ClockId, VirtualClock};
///
/// let clock = VirtualClock::new(0);
/// clock.advance(1_000_000);
/// assert_eq!(clock.now(ClockId::Monotonic), 1_000_000);
/// ```
#[derive(Clone, Debug, Default)]
pub struct VirtualClock {
    nanos: Arc<AtomicU64>,
    epoch: u64,
}

impl VirtualClock {
    /// A virtual clock at zero whose realtime reads `epoch_nanos` (ns since 1970) plus
    /// the time advanced so far.
    #[must_use]
    pub fn new(epoch_nanos: u64) -> Self {
        VirtualClock {
            nanos: Arc::default(),
            epoch: epoch_nanos,
        }
    }

    /// Moves the clock forward by `nanos`.
    pub fn advance(&self, nanos: u64) {
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Sets the monotonic time to `nanos` (it is up to the caller not to go back).
    pub fn set(&self, nanos: u64) {
        self.nanos.store(nanos, Ordering::Relaxed);
    }
}

impl Clock for VirtualClock {
    fn now(&self, clock: ClockId) -> u64 {
        let now = self.nanos.load(Ordering::Relaxed);
        match clock {
            ClockId::Realtime => self.epoch.saturating_add(now),
            ClockId::Monotonic => now,
        }
    }

    fn resolution(&self, _clock: ClockId) -> u64 {
        1
    }
}
