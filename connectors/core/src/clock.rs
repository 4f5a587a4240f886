//! The injected clock.
//!
//! Everything that waits or reads the time (retry back-off, rate limiters, incremental
//! windows, simulators' rate-limit emulators) goes through [`Clock`], so tests run on a
//! [`ManualClock`] whose `sleep` advances virtual time instantly: a `Retry-After: 30` test
//! finishes in microseconds and can still assert that 30 seconds were waited.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Source of wall time, monotonic time and sleeping.
#[async_trait]
pub trait Clock: Send + Sync + Debug {
    /// Wall-clock time, for cursors and modified-since windows.
    fn now(&self) -> DateTime<Utc>;
    /// Monotonic time since the clock was created, for rate limiters.
    fn elapsed(&self) -> Duration;
    /// Waits for `duration` (virtually, on a [`ManualClock`]).
    async fn sleep(&self, duration: Duration);
}

/// The real clock: `chrono::Utc::now` and `tokio::time::sleep`.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A system clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self { start: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A virtual clock for tests: `sleep` returns at once after moving time forward, and the
/// total time slept is recorded so tests can assert on waits without waiting.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<ManualState>,
}

#[derive(Debug)]
struct ManualState {
    origin: DateTime<Utc>,
    offset: Duration,
    slept: Duration,
}

impl ManualClock {
    /// A manual clock reading `origin` as wall time.
    pub fn new(origin: DateTime<Utc>) -> Self {
        Self { state: Mutex::new(ManualState { origin, offset: Duration::ZERO, slept: Duration::ZERO }) }
    }

    /// Moves time forward without counting it as slept.
    pub fn advance(&self, by: Duration) {
        self.with(|s| s.offset = s.offset.saturating_add(by));
    }

    /// Total virtual time spent in [`Clock::sleep`].
    pub fn slept(&self) -> Duration {
        self.with(|s| s.slept)
    }

    fn with<T>(&self, f: impl FnOnce(&mut ManualState) -> T) -> T {
        // A poisoned lock only means another test thread panicked; the state is still valid.
        let mut guard = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.with(|s| {
            let offset = chrono::TimeDelta::from_std(s.offset).unwrap_or(chrono::TimeDelta::MAX);
            s.origin.checked_add_signed(offset).unwrap_or(DateTime::<Utc>::MAX_UTC)
        })
    }
    fn elapsed(&self) -> Duration {
        self.with(|s| s.offset)
    }
    async fn sleep(&self, duration: Duration) {
        self.with(|s| {
            s.offset = s.offset.saturating_add(duration);
            s.slept = s.slept.saturating_add(duration);
        });
        // Let other tasks (the simulator's server) run, as a real sleep would.
        tokio::task::yield_now().await;
    }
}

/// Another clock read `skew` off: the daemon on a machine whose clock is badly set, in
/// tests against simulated vendors on the inner clock. Sleeping and monotonic time are the
/// inner clock's, so waits move both together; only the wall time differs.
#[derive(Debug)]
pub struct SkewedClock {
    inner: std::sync::Arc<dyn Clock>,
    skew: chrono::TimeDelta,
}

impl SkewedClock {
    /// `inner`'s time plus `skew` (negative: behind).
    pub fn new(inner: std::sync::Arc<dyn Clock>, skew: chrono::TimeDelta) -> Self {
        Self { inner, skew }
    }
}

#[async_trait]
impl Clock for SkewedClock {
    fn now(&self) -> DateTime<Utc> {
        self.inner.now() + self.skew
    }
    fn elapsed(&self) -> Duration {
        self.inner.elapsed()
    }
    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await;
    }
}
