//! Client-side rate limiting: one governor (GCRA) bucket per named vendor limit.
//!
//! Vendors limit differently (HubSpot: 100–190 requests per rolling 10 s plus a separate
//! 5/s for search; Bitrix24: a leaky bucket of 50 draining 2/s; Jira: ~10/s steady), so a
//! connector instance has several named buckets and every request names the one it spends.
//! A bucket can also be *blocked* until a time the vendor gave (`Retry-After`, a daily
//! reset), which stops every request on it, not just the one that was throttled.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;

/// A vendor limit: `requests` per `per_secs` seconds, optionally with an explicit burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Requests allowed in the window.
    pub requests: u32,
    /// Window length in seconds.
    pub per_secs: u64,
    /// Requests that may go at once. Without it the limiter keeps a 10% burst and spreads
    /// the rest so that *any* window of `per_secs` holds at most `requests` — the shape a
    /// rolling-window limiter (HubSpot) needs to never answer 429. Set it for leaky buckets
    /// (Bitrix24: `requests = 2, per_secs = 1, burst = 40`).
    pub burst: Option<u32>,
}

impl RateLimit {
    /// `requests` per `per_secs` seconds.
    pub const fn new(requests: u32, per_secs: u64) -> Self {
        Self { requests, per_secs, burst: None }
    }

    /// A leaky bucket draining `per_sec` requests a second that rejects above `capacity`.
    pub const fn leaky_bucket(per_sec: u32, burst: u32) -> Self {
        Self { requests: per_sec, per_secs: 1, burst: Some(burst) }
    }

    /// Why this limit is unusable, if it is.
    pub fn problem(&self) -> Option<&'static str> {
        if self.requests == 0 || self.per_secs == 0 {
            Some("requests and per_secs must be at least 1")
        } else if self.burst == Some(0) {
            Some("burst must be at least 1")
        } else {
            None
        }
    }

    fn quota(&self) -> Quota {
        let window = Duration::from_secs(self.per_secs.max(1));
        let requests = self.requests.max(1);
        let (burst, spread) = match self.burst {
            Some(b) => (b.max(1), requests),
            None => {
                let burst = (requests / 10).max(1);
                (burst, requests.saturating_sub(burst).max(1))
            }
        };
        let period = window / spread;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period.max(Duration::from_micros(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// Adapts the injected clock to governor, so limiters run on virtual time in tests.
#[derive(Debug, Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl GovernorClock for LimiterClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

type Gcra = RateLimiter<NotKeyed, InMemoryState, LimiterClock, NoOpMiddleware<Duration>>;

struct Bucket {
    limit: RateLimit,
    gcra: Gcra,
    blocked_until: Mutex<Duration>,
}

/// The named buckets of one connector instance.
pub struct Limiter {
    clock: Arc<dyn Clock>,
    buckets: BTreeMap<String, Bucket>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let limits: BTreeMap<&String, &RateLimit> = self.buckets.iter().map(|(k, b)| (k, &b.limit)).collect();
        f.debug_struct("Limiter").field("buckets", &limits).finish()
    }
}

impl Limiter {
    /// Buckets from vendor defaults, with `overrides` replacing defaults of the same name.
    pub fn new(
        clock: Arc<dyn Clock>,
        defaults: BTreeMap<String, RateLimit>,
        overrides: &BTreeMap<String, RateLimit>,
    ) -> Self {
        let buckets = Self::merged(defaults, overrides)
            .into_iter()
            .map(|(name, limit)| {
                let gcra = RateLimiter::direct_with_clock(limit.quota(), LimiterClock(clock.clone()));
                (name, Bucket { limit, gcra, blocked_until: Mutex::new(Duration::ZERO) })
            })
            .collect();
        Self { clock, buckets }
    }

    /// `defaults` with `overrides` replacing limits of the same name.
    pub fn merged(
        defaults: BTreeMap<String, RateLimit>,
        overrides: &BTreeMap<String, RateLimit>,
    ) -> BTreeMap<String, RateLimit> {
        let mut limits = defaults;
        limits.extend(overrides.iter().map(|(k, v)| (k.clone(), *v)));
        limits
    }

    /// Every bucket's effective limit.
    pub fn limits(&self) -> BTreeMap<String, RateLimit> {
        self.buckets.iter().map(|(name, b)| (name.clone(), b.limit)).collect()
    }

    /// The effective limit of a bucket.
    pub fn limit(&self, bucket: &str) -> Option<RateLimit> {
        self.buckets.get(bucket).map(|b| b.limit)
    }

    /// Waits until `bucket` allows one more request. Unknown buckets are unlimited (a
    /// vendor that declares no limit for an endpoint).
    pub async fn acquire(&self, bucket: &str) {
        let Some(b) = self.buckets.get(bucket) else {
            return;
        };
        loop {
            let now = self.clock.elapsed();
            let blocked = *b.blocked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if blocked > now {
                self.clock.sleep(blocked - now).await;
                continue;
            }
            match b.gcra.check() {
                Ok(()) => return,
                Err(not_until) => self.clock.sleep(not_until.wait_time_from(now)).await,
            }
        }
    }

    /// Stops every request on `bucket` for `wait` (the vendor said so).
    pub fn block(&self, bucket: &str, wait: Duration) {
        if let Some(b) = self.buckets.get(bucket) {
            let until = self.clock.elapsed().saturating_add(wait);
            let mut guard = b.blocked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *guard = (*guard).max(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn max_in_any_window(times: &[Duration], window: Duration) -> usize {
        times.iter().map(|t| times.iter().filter(|u| **u >= *t && **u < *t + window).count()).max().unwrap_or(0)
    }

    #[tokio::test]
    async fn default_shape_never_exceeds_the_rolling_window() {
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
        let limits = BTreeMap::from([("default".to_string(), RateLimit::new(100, 10))]);
        let limiter = Limiter::new(clock.clone(), limits, &BTreeMap::new());
        let mut times = Vec::new();
        for _ in 0..450 {
            limiter.acquire("default").await;
            times.push(clock.elapsed());
        }
        assert!(max_in_any_window(&times, Duration::from_secs(10)) <= 100);
        // ...while staying close to the vendor's rate: 450 requests in under 50 s.
        assert!(clock.elapsed() < Duration::from_secs(50), "took {:?}", clock.elapsed());
    }

    #[tokio::test]
    async fn blocking_a_bucket_delays_its_next_request() {
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
        let limits = BTreeMap::from([("search".to_string(), RateLimit::new(5, 1))]);
        let limiter = Limiter::new(clock.clone(), limits, &BTreeMap::new());
        limiter.block("search", Duration::from_secs(30));
        limiter.acquire("search").await;
        assert!(clock.elapsed() >= Duration::from_secs(30));
        limiter.acquire("unknown").await; // unlimited, returns at once
    }

    #[test]
    fn overrides_replace_defaults() {
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
        let defaults = BTreeMap::from([("default".to_string(), RateLimit::new(100, 10))]);
        let overrides = BTreeMap::from([("default".to_string(), RateLimit::new(190, 10))]);
        let limiter = Limiter::new(clock, defaults, &overrides);
        assert_eq!(limiter.limit("default").map(|l| l.requests), Some(190));
        assert!(RateLimit::new(0, 10).problem().is_some());
    }
}
