//! Rate-limit emulators that decide exactly like the vendors do.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use zveno_connector::Clock;

/// A rolling window: at most `limit` requests in any `window` (HubSpot's
/// `TEN_SECONDLY_ROLLING`, its 5/s search limit).
#[derive(Debug)]
pub struct RollingWindow {
    limit: usize,
    window: Duration,
    clock: Arc<dyn Clock>,
    hits: Mutex<VecDeque<Duration>>,
}

impl RollingWindow {
    /// `limit` requests per `window`.
    pub fn new(limit: usize, window: Duration, clock: Arc<dyn Clock>) -> Self {
        Self { limit, window, clock, hits: Mutex::new(VecDeque::new()) }
    }

    /// Admits a request, or says how long until one would be admitted.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let now = self.clock.elapsed();
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        while hits.front().is_some_and(|t| *t + self.window <= now) {
            hits.pop_front();
        }
        if hits.len() >= self.limit {
            let oldest = hits.front().copied().unwrap_or(now);
            return Err((oldest + self.window).saturating_sub(now));
        }
        hits.push_back(now);
        Ok(())
    }

    /// Requests admitted in the current window (for `X-...-Remaining` headers).
    pub fn remaining(&self) -> usize {
        let hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        self.limit.saturating_sub(hits.len())
    }

    /// The configured limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How long until the oldest request in the window leaves it (zero when the window is
    /// empty), for reset headers that count in seconds left (Pipedrive's
    /// `x-ratelimit-reset`).
    pub fn reset(&self) -> Duration {
        let now = self.clock.elapsed();
        let hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        hits.iter().find(|t| **t + self.window > now).map_or(Duration::ZERO, |t| (*t + self.window).saturating_sub(now))
    }
}

/// A leaky bucket: each request adds one, the level drains `drain_per_sec`, and a request
/// that finds the level above `capacity` is rejected (Bitrix24: 2/s, 50).
#[derive(Debug)]
pub struct LeakyBucket {
    capacity: f64,
    drain_per_sec: f64,
    clock: Arc<dyn Clock>,
    state: Mutex<(f64, Duration)>,
}

impl LeakyBucket {
    /// A bucket of `capacity` draining `drain_per_sec`.
    pub fn new(capacity: u32, drain_per_sec: f64, clock: Arc<dyn Clock>) -> Self {
        Self { capacity: f64::from(capacity), drain_per_sec, clock, state: Mutex::new((0.0, Duration::ZERO)) }
    }

    /// Admits a request (adding one to the level) or rejects it (level unchanged).
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let now = self.clock.elapsed();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (level, at) = *state;
        let drained = (level - (now.saturating_sub(at)).as_secs_f64() * self.drain_per_sec).max(0.0);
        if drained >= self.capacity {
            *state = (drained, now);
            let wait = (drained - self.capacity + 1.0) / self.drain_per_sec;
            return Err(Duration::from_secs_f64(wait.max(0.0)));
        }
        *state = (drained + 1.0, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zveno_connector::ManualClock;

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH))
    }

    #[test]
    fn rolling_window_rejects_the_request_over_the_limit_until_the_oldest_expires() {
        let c = clock();
        let w = RollingWindow::new(3, Duration::from_secs(10), c.clone());
        assert!(w.try_acquire().is_ok());
        c.advance(Duration::from_secs(4));
        assert!(w.try_acquire().is_ok() && w.try_acquire().is_ok());
        assert_eq!(w.try_acquire(), Err(Duration::from_secs(6)));
        assert_eq!(w.reset(), Duration::from_secs(6));
        c.advance(Duration::from_secs(6));
        assert!(w.try_acquire().is_ok());
    }

    #[test]
    fn leaky_bucket_admits_a_burst_then_the_drain_rate() {
        let c = clock();
        let b = LeakyBucket::new(50, 2.0, c.clone());
        assert!((0..50).all(|_| b.try_acquire().is_ok()));
        assert!(b.try_acquire().is_err());
        c.advance(Duration::from_millis(500));
        assert!(b.try_acquire().is_ok());
        assert!(b.try_acquire().is_err());
    }
}
