//! HubSpot's rate limits, its throttling answers, and the daily quota.
//!
//! Three budgets apply to a private app (vendor note §8):
//!
//! - a **rolling 10-second** window per app: 100 requests on Free/Starter, 190 on
//!   Professional/Enterprise (`rate_limits.default` in config; the default is the safe 100);
//! - **search**: 5 requests per second per account, counted separately (`rate_limits.search`);
//! - a **daily** quota per account, shared by every private app of the portal, reported in
//!   `X-HubSpot-RateLimit-Daily` / `-Daily-Remaining` on non-search answers.
//!
//! The shared HTTP client's limiter keeps zveno under the first two, so a steady state sees
//! no 429. [`HubSpotClassifier`] reads the 429s that still happen (another app on the same
//! portal, a lower tier than configured) by `policyName`: `TEN_SECONDLY_ROLLING` waits one
//! whole window (HubSpot sends no `Retry-After`; the official Node client waits 10 s too),
//! the search "secondly" limit waits 1 s, `DAILY` waits for the next UTC midnight, which
//! exceeds the client's longest wait and so becomes a `RateLimited` error the scheduler
//! defers on. [`DailyBudget`] watches the daily headers: once less than the configured
//! reserve is left, it warns and spreads the remaining requests over a day, so zveno never
//! eats the last of a quota other integrations of the portal need.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use zveno_connector::http::{body_snippet, retry_after, RateLimit, ResponseClassifier, Verdict};

/// The bucket list, batch, owner and association calls spend.
pub const DEFAULT_BUCKET: &str = "default";
/// The bucket search calls spend.
pub const SEARCH_BUCKET: &str = "search";

/// Vendor defaults: 100 per rolling 10 s (Free/Starter private apps; raise to 190 for
/// Professional/Enterprise) and 5 searches per second.
pub fn default_rate_limits() -> BTreeMap<String, RateLimit> {
    BTreeMap::from([
        (DEFAULT_BUCKET.to_string(), RateLimit::new(100, 10)),
        (SEARCH_BUCKET.to_string(), RateLimit::new(5, 1)),
    ])
}

/// The 429 body (`errorType: RATE_LIMIT`). Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimitBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    policy_name: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

/// Reads HubSpot's throttling answers and feeds the daily budget from every response.
#[derive(Debug)]
pub struct HubSpotClassifier {
    budget: std::sync::Arc<DailyBudget>,
}

impl HubSpotClassifier {
    /// A classifier reporting quota headers to `budget`.
    pub fn new(budget: std::sync::Arc<DailyBudget>) -> Self {
        Self { budget }
    }
}

impl ResponseClassifier for HubSpotClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Option<Verdict> {
        self.budget.observe(headers);
        match status.as_u16() {
            429 => Some(throttled(headers, body, now)),
            // "Locked" while HubSpot processes a large upsert; locks last 2 s (unverified).
            423 => Some(Verdict::Throttled {
                retry_after: Some(retry_after(headers, now).unwrap_or(Duration::from_secs(2))),
                whole_bucket: false,
                reason: format!("HTTP 423 locked: {}", body_snippet(body)),
            }),
            _ => None,
        }
    }
}

fn throttled(headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Verdict {
    let parsed: RateLimitBody = serde_json::from_slice(body).unwrap_or_default();
    let policy = parsed.policy_name.as_deref().unwrap_or("").to_ascii_uppercase();
    let message = parsed.message.as_deref().unwrap_or("");
    let vendor_wait = retry_after(headers, now);
    let wait = if policy == "DAILY" {
        until_next_utc_midnight(now)
    } else if policy == "SECONDLY" || message.contains("secondly limit") {
        vendor_wait.unwrap_or(Duration::from_secs(1))
    } else {
        // TEN_SECONDLY_ROLLING, or an unknown policy: let one whole window roll over.
        vendor_wait.unwrap_or_else(|| interval(headers))
    };
    let mut reason = format!("HTTP 429 {}: {message}", if policy.is_empty() { "(no policyName)" } else { &policy });
    if let Some(id) = parsed.correlation_id {
        reason.push_str(&format!(" (correlationId {id})"));
    }
    Verdict::Throttled { retry_after: Some(wait), whole_bucket: true, reason }
}

/// `X-HubSpot-RateLimit-Interval-Milliseconds`, or HubSpot's documented 10 s.
fn interval(headers: &HeaderMap) -> Duration {
    header_u64(headers, "x-hubspot-ratelimit-interval-milliseconds")
        .filter(|ms| (1..=60_000).contains(ms))
        .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// HubSpot resets the daily counter at midnight in the *account's* time zone, which the API
/// does not tell a private app; UTC midnight is the estimate, and a `DAILY` answer after it
/// simply defers again.
fn until_next_utc_midnight(now: DateTime<Utc>) -> Duration {
    let midnight =
        now.date_naive().checked_add_days(Days::new(1)).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    midnight.and_then(|m| (m - now).to_std().ok()).unwrap_or(Duration::from_secs(3600))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// What zveno knows about the portal's daily quota, from the last response that said.
#[derive(Debug)]
pub struct DailyBudget {
    reserve_percent: u8,
    burst_configured: u32,
    longest_gap: Duration,
    state: Mutex<BudgetState>,
}

#[derive(Debug, Default)]
struct BudgetState {
    limit: Option<u64>,
    remaining: Option<u64>,
    warned_at: Option<u64>,
    burst_reported: bool,
}

impl DailyBudget {
    /// A budget that slows down below `reserve_percent` of the daily quota.
    /// `burst_configured` is the effective `rate_limits.default` (to compare with what the
    /// portal reports); no pause is longer than `longest_gap`.
    pub fn new(reserve_percent: u8, burst_configured: u32, longest_gap: Duration) -> Self {
        Self { reserve_percent, burst_configured, longest_gap, state: Mutex::new(BudgetState::default()) }
    }

    /// Reads the quota headers of a response (search answers carry none).
    pub fn observe(&self, headers: &HeaderMap) {
        let daily = header_u64(headers, "x-hubspot-ratelimit-daily");
        let remaining = header_u64(headers, "x-hubspot-ratelimit-daily-remaining");
        let burst = header_u64(headers, "x-hubspot-ratelimit-max");
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let (Some(limit), Some(left)) = (daily, remaining) {
            if state.remaining.is_some_and(|r| left > r) {
                // The counter was reset (a new day): warn afresh when it runs low again.
                state.warned_at = None;
            }
            state.limit = Some(limit);
            state.remaining = Some(left);
        }
        if let Some(max) = burst.filter(|_| !state.burst_reported) {
            state.burst_reported = true;
            let configured = u64::from(self.burst_configured);
            if max < configured {
                tracing::warn!(
                    portal_limit = max,
                    configured,
                    "HubSpot allows fewer requests per 10 s than rate_limits.default; expect 429s until it is lowered"
                );
            } else if max > configured {
                tracing::info!(
                    portal_limit = max,
                    configured,
                    "HubSpot allows more requests per 10 s than rate_limits.default uses; raise it to sync faster"
                );
            }
        }
    }

    /// The portal's daily quota, once a response has reported it.
    pub fn limit(&self) -> Option<u64> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).limit
    }

    /// The pause to add before the next request, once the daily quota is inside the reserve:
    /// the remaining requests spread over 24 h (the longest time to the reset, whatever the
    /// account's time zone), at most `longest_gap`. Warns when the reserve is entered and
    /// each time what is left halves.
    pub fn pace(&self) -> Option<Duration> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (limit, left) = (state.limit?, state.remaining?);
        let reserve = limit.saturating_mul(u64::from(self.reserve_percent)) / 100;
        if left >= reserve || limit == 0 {
            return None;
        }
        if state.warned_at.is_none_or(|w| left <= w / 2) {
            state.warned_at = Some(left);
            tracing::warn!(
                remaining = left,
                daily_limit = limit,
                "HubSpot daily API quota is nearly used up; zveno is slowing down"
            );
        }
        let gap = Duration::from_secs(86_400) / u32::try_from(left.max(1)).unwrap_or(u32::MAX);
        Some(gap.min(self.longest_gap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::sync::Arc;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(*k, v);
            }
        }
        h
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T23:00:00Z").map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    fn classify(status: u16, h: &HeaderMap, body: &str) -> Option<Verdict> {
        let budget = Arc::new(DailyBudget::new(10, 100, Duration::from_secs(300)));
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        HubSpotClassifier::new(budget).classify(status, h, body.as_bytes(), now())
    }

    fn wait_of(verdict: Option<&Verdict>) -> Option<Duration> {
        match verdict {
            Some(Verdict::Throttled { retry_after, .. }) => *retry_after,
            _ => None,
        }
    }

    #[test]
    fn each_policy_waits_its_own_way() {
        let ten = r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c-1","policyName":"TEN_SECONDLY_ROLLING","requestId":"r"}"#;
        let secondly = r#"{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","correlationId":"c-2","policyName":"SECONDLY","requestId":"r"}"#;
        let daily = r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c-3","policyName":"DAILY","requestId":"r"}"#;
        let no_headers = HeaderMap::new();
        let interval = headers(&[("x-hubspot-ratelimit-interval-milliseconds", "10000")]);
        assert_eq!(wait_of(classify(429, &interval, ten).as_ref()), Some(Duration::from_secs(10)));
        assert_eq!(wait_of(classify(429, &no_headers, ten).as_ref()), Some(Duration::from_secs(10)));
        assert_eq!(wait_of(classify(429, &no_headers, secondly).as_ref()), Some(Duration::from_secs(1)));
        assert_eq!(wait_of(classify(429, &no_headers, daily).as_ref()), Some(Duration::from_secs(3600)));
        // A Retry-After, when HubSpot sends one, wins over the policy's default.
        let told = headers(&[("retry-after", "3")]);
        assert_eq!(wait_of(classify(429, &told, ten).as_ref()), Some(Duration::from_secs(3)));
        // An unreadable 429 body is still throttling.
        assert_eq!(wait_of(classify(429, &no_headers, "<html>").as_ref()), Some(Duration::from_secs(10)));
        assert_eq!(wait_of(classify(423, &no_headers, "").as_ref()), Some(Duration::from_secs(2)));
        assert_eq!(classify(200, &no_headers, "{}"), None);
        assert_eq!(classify(500, &no_headers, "{}"), None);
    }

    #[test]
    fn the_reason_names_the_policy_and_correlation_id() {
        let body = r#"{"message":"You have reached your ten_secondly_rolling limit.","policyName":"TEN_SECONDLY_ROLLING","correlationId":"abc"}"#;
        let Some(Verdict::Throttled { reason, .. }) = classify(429, &HeaderMap::new(), body) else {
            panic!("throttled expected");
        };
        assert!(reason.contains("TEN_SECONDLY_ROLLING") && reason.contains("abc"), "{reason}");
    }

    #[test]
    fn the_budget_paces_only_inside_the_reserve() {
        let budget = DailyBudget::new(10, 100, Duration::from_secs(300));
        assert_eq!(budget.pace(), None, "nothing known yet");
        budget.observe(&headers(&[
            ("x-hubspot-ratelimit-daily", "250000"),
            ("x-hubspot-ratelimit-daily-remaining", "200000"),
        ]));
        assert_eq!(budget.pace(), None);
        budget.observe(&headers(&[
            ("x-hubspot-ratelimit-daily", "250000"),
            ("x-hubspot-ratelimit-daily-remaining", "24000"),
        ]));
        assert_eq!(budget.pace(), Some(Duration::from_millis(3600)));
        budget.observe(&headers(&[
            ("x-hubspot-ratelimit-daily", "250000"),
            ("x-hubspot-ratelimit-daily-remaining", "86400"),
        ]));
        assert_eq!(budget.pace(), None, "a reset counter ends the slow-down");
        budget.observe(&headers(&[
            ("x-hubspot-ratelimit-daily", "250000"),
            ("x-hubspot-ratelimit-daily-remaining", "3"),
        ]));
        assert_eq!(budget.pace(), Some(Duration::from_secs(300)), "capped");
    }

    #[test]
    fn a_zero_reserve_never_slows_down() {
        let budget = DailyBudget::new(0, 100, Duration::from_secs(300));
        budget.observe(&headers(&[("x-hubspot-ratelimit-daily", "100"), ("x-hubspot-ratelimit-daily-remaining", "0")]));
        assert_eq!(budget.pace(), None);
    }

    #[test]
    fn defaults_are_hubspots_published_limits() {
        let limits = default_rate_limits();
        assert_eq!(limits[DEFAULT_BUCKET], RateLimit::new(100, 10));
        assert_eq!(limits[SEARCH_BUCKET], RateLimit::new(5, 1));
    }
}
