//! Jira's rate limits, emulated on the injected clock, and its 429 answers.
//!
//! - burst limits per tenant: GET/POST 100 requests/s, PUT/DELETE 50 requests/s (rolling);
//! - per-issue write limits: 20 writes per 2 s and 100 per 30 s;
//! - a forced throttle for tests (`throttle_next`).
//!
//! A 429 carries `Retry-After` (seconds), `X-RateLimit-Limit`, `X-RateLimit-Remaining: 0`,
//! `X-RateLimit-Reset` (ISO 8601 to the minute, `yyyy-MM-ddTHH:mmZ`) and `RateLimit-Reason`
//! (`jira-burst-based` or `jira-per-issue-on-write`), as Atlassian documents; admitted
//! requests carry `X-RateLimit-Limit/-Remaining` and `X-RateLimit-NearLimit: true` below
//! 20% of the budget. The 429 body is not specified by Atlassian; we send an
//! `ErrorCollection`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::response::Response;
use chrono::{DateTime, Timelike as _, Utc};
use http::{HeaderValue, Method, StatusCode};
use zveno_connector::Clock;
use zveno_sim::kit::{RollingWindow, Throttled};

use super::reply;

/// Limits of one simulated site.
#[derive(Debug)]
pub struct Limits {
    reads: RollingWindow,
    writes: RollingWindow,
    per_issue: Mutex<HashMap<u64, (RollingWindow, RollingWindow)>>,
    forced: Mutex<Option<Duration>>,
    clock: Arc<dyn Clock>,
}

impl Limits {
    /// Jira's burst limits: `reads_per_sec` for GET/POST, `writes_per_sec` for PUT/DELETE.
    pub fn new(reads_per_sec: usize, writes_per_sec: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            reads: RollingWindow::new(reads_per_sec, Duration::from_secs(1), clock.clone()),
            writes: RollingWindow::new(writes_per_sec, Duration::from_secs(1), clock.clone()),
            per_issue: Mutex::new(HashMap::new()),
            forced: Mutex::new(None),
            clock,
        }
    }

    /// Makes the next request a 429 asking to wait `wait` (rounded up to whole seconds, as
    /// `Retry-After` carries); returns the wait the answer will tell.
    pub fn force(&self, wait: Duration) -> Duration {
        let told = Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        *self.forced.lock().unwrap_or_else(PoisonError::into_inner) = Some(told);
        told
    }

    /// Admits a request or answers 429; on admission, returns the headers to add.
    pub fn admit(&self, method: &Method) -> Result<(usize, usize), Box<Response>> {
        let forced = self.forced.lock().unwrap_or_else(PoisonError::into_inner).take();
        let window = if matches!(*method, Method::PUT | Method::DELETE) { &self.writes } else { &self.reads };
        if let Some(wait) = forced {
            return Err(Box::new(too_many(wait, window.limit(), "jira-burst-based", self.clock.now())));
        }
        match window.try_acquire() {
            Ok(()) => Ok((window.limit(), window.remaining())),
            Err(wait) => Err(Box::new(too_many(wait, window.limit(), "jira-burst-based", self.clock.now()))),
        }
    }

    /// Counts a write to issue `id`; a 429 when its per-issue limits are spent.
    pub fn write_issue(&self, id: u64, now: DateTime<Utc>) -> Option<Response> {
        let mut map = self.per_issue.lock().unwrap_or_else(PoisonError::into_inner);
        let (short, long) = map.entry(id).or_insert_with(|| {
            (
                RollingWindow::new(20, Duration::from_secs(2), self.clock.clone()),
                RollingWindow::new(100, Duration::from_secs(30), self.clock.clone()),
            )
        });
        let rejected =
            short.try_acquire().err().map(|w| (w, 20)).or_else(|| long.try_acquire().err().map(|w| (w, 100)));
        rejected.map(|(wait, limit)| too_many(wait, limit, "jira-per-issue-on-write", now))
    }
}

/// Adds the budget headers to an admitted answer.
pub fn budget_headers(response: &mut Response, limit: usize, remaining: usize) {
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    if remaining * 5 < limit {
        h.insert("x-ratelimit-nearlimit", HeaderValue::from_static("true"));
    }
}

fn too_many(wait: Duration, limit: usize, reason: &'static str, now: DateTime<Utc>) -> Response {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let reset = now + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000).min(86_400));
    // The reset header is minute-precise: round up so it is never before Retry-After.
    let reset = if reset.second() > 0 || reset.nanosecond() > 0 { reset + chrono::Duration::minutes(1) } else { reset };
    let mut response = reply::error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
    let h = response.headers_mut();
    h.insert("retry-after", HeaderValue::from(secs));
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    if let Ok(v) = HeaderValue::from_str(&reset.format("%Y-%m-%dT%H:%MZ").to_string()) {
        h.insert("x-ratelimit-reset", v);
    }
    h.insert("ratelimit-reason", HeaderValue::from_static(reason));
    response.extensions_mut().insert(Throttled);
    response
}

#[cfg(test)]
mod tests {
    use zveno_connector::ManualClock;

    use super::*;

    #[test]
    fn the_burst_limit_answers_429_with_jiras_headers_then_recovers() {
        let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()));
        let limits = Limits::new(3, 1, clock.clone());
        for _ in 0..3 {
            assert!(limits.admit(&Method::GET).is_ok());
        }
        let Err(r) = limits.admit(&Method::POST) else { panic!("fourth request admitted") };
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let header = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        assert_eq!(header("retry-after").as_deref(), Some("1"));
        assert_eq!(header("ratelimit-reason").as_deref(), Some("jira-burst-based"));
        assert_eq!(header("x-ratelimit-reset").as_deref(), Some("2026-09-21T14:14Z"));
        assert!(r.extensions().get::<Throttled>().is_some());
        clock.advance(Duration::from_secs(1));
        assert!(limits.admit(&Method::GET).is_ok());
        assert!(
            limits.admit(&Method::PUT).is_ok() && limits.admit(&Method::PUT).is_err(),
            "writes have their own limit"
        );
    }

    #[test]
    fn per_issue_writes_are_limited_per_issue() {
        let clock = Arc::new(ManualClock::new(DateTime::UNIX_EPOCH));
        let limits = Limits::new(100, 50, clock.clone());
        let now = clock.now();
        assert!((0..20).all(|_| limits.write_issue(1, now).is_none()));
        let r = limits.write_issue(1, now);
        assert!(r
            .as_ref()
            .is_some_and(|r| r.headers().get("ratelimit-reason").is_some_and(|v| v == "jira-per-issue-on-write")));
        assert!(limits.write_issue(2, now).is_none(), "another issue is not limited");
    }
}
