//! The simulated portal's shared state, and what every request goes through first:
//! Bearer auth, the forced-throttle switch, the daily quota, the 10-second rolling window
//! (or the search limit), and HubSpot's rate-limit headers and error bodies on the way out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use zveno_connector::Clock;
use zveno_sim::kit::{Endpoint, Kit, RollingWindow, Throttled};

use super::store::Db;

/// How the simulated portal behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The private-app token it accepts.
    pub token: String,
    /// The portal (hub) id.
    pub portal_id: u64,
    /// The custom company property holding the tax id.
    pub tax_id_property: String,
    /// Requests per rolling 10 s (`TEN_SECONDLY_ROLLING`): 100 on Free/Starter, 190 above.
    pub ten_secondly_limit: usize,
    /// Search requests per second.
    pub search_per_second: usize,
    /// Requests per day.
    pub daily_limit: u64,
    /// How long a change stays invisible to search.
    pub index_lag: Duration,
    /// The custom property the operator made for zveno's idempotency handles (unique on
    /// companies, plain on tasks); `None`: not made.
    pub handle_property: Option<String>,
}

impl SimOptions {
    /// A Free/Starter portal accepting `token`, with a 2-second index lag and the handle
    /// property `zveno_id` made.
    pub fn new(token: &str) -> Self {
        Self {
            token: token.to_string(),
            portal_id: 62515,
            tax_id_property: "inn".into(),
            ten_secondly_limit: 100,
            search_per_second: 5,
            daily_limit: 250_000,
            index_lag: Duration::from_secs(2),
            handle_property: Some("zveno_id".into()),
        }
    }
}

/// Which limit a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// The 10-second rolling window (everything but search).
    Default,
    /// The per-second search limit (search answers carry no rate-limit headers).
    Search,
}

/// The portal behind the routes.
#[derive(Debug)]
pub struct Portal {
    /// Log, faults, clock.
    pub kit: Kit,
    options: SimOptions,
    db: Mutex<Db>,
    burst: RollingWindow,
    search: RollingWindow,
    daily_used: AtomicU64,
    forced: AtomicU64,
    writes: AtomicU64,
    seq: AtomicU64,
}

impl Portal {
    /// A portal holding `db`.
    pub fn new(kit: Kit, options: SimOptions, db: Db) -> Self {
        let clock = kit.clock().clone();
        Self {
            burst: RollingWindow::new(options.ten_secondly_limit, Duration::from_secs(10), clock.clone()),
            search: RollingWindow::new(options.search_per_second, Duration::from_secs(1), clock),
            kit,
            options,
            db: Mutex::new(db),
            daily_used: AtomicU64::new(0),
            forced: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            seq: AtomicU64::new(0),
        }
    }

    /// The data, locked.
    pub fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The portal's settings.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.kit.clock()
    }

    /// The clock's wall time in epoch ms.
    pub fn now_ms(&self) -> i64 {
        self.clock().now().timestamp_millis()
    }

    /// Counts a write request.
    pub fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// Write requests so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Makes the next data request answer 429.
    pub fn throttle_next(&self) {
        self.forced.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests counted against the daily quota so far.
    pub fn daily_used(&self) -> u64 {
        self.daily_used.load(Ordering::Relaxed)
    }

    /// Sets how much of the daily quota is used.
    pub fn set_daily_used(&self, used: u64) {
        self.daily_used.store(used, Ordering::Relaxed);
    }

    /// A HubSpot-looking correlation id (a UUID shape, deterministic per portal).
    pub fn correlation_id(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.options().portal_id;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            x & 0xfff,
            (x >> 20) & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }

    /// Admits a request or answers it: 401 without the right Bearer token, 429 when a limit
    /// (or the forced-throttle switch) says so.
    pub fn admit(&self, headers: &HeaderMap, bucket: Bucket, endpoint: &str) -> Result<(), Box<Response>> {
        let options = self.options();
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if bearer != Some(options.token.as_str()) {
            let body = json!({
                "status": "error",
                "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "correlationId": self.correlation_id(),
                "category": "INVALID_AUTHENTICATION",
            });
            return Err(Box::new(named(endpoint, (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())));
        }
        let forced = self.forced.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok();
        if self.daily_used() >= options.daily_limit {
            return Err(Box::new(self.throttled(endpoint, bucket, "DAILY", "You have reached your daily limit.")));
        }
        let window = match bucket {
            Bucket::Default => &self.burst,
            Bucket::Search => &self.search,
        };
        if forced || window.try_acquire().is_err() {
            return Err(Box::new(match bucket {
                Bucket::Default => self.throttled(
                    endpoint,
                    bucket,
                    "TEN_SECONDLY_ROLLING",
                    "You have reached your ten_secondly_rolling limit.",
                ),
                Bucket::Search => self.throttled(endpoint, bucket, "SECONDLY", "You have reached your secondly limit."),
            }));
        }
        self.daily_used.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// HubSpot's 429 (body shape from the usage guidelines as quoted by integrators; the
    /// search variant's `policyName` from a 2018 report, both unverified).
    fn throttled(&self, endpoint: &str, bucket: Bucket, policy: &str, message: &str) -> Response {
        let body = json!({
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": self.correlation_id(),
            "policyName": policy,
            "requestId": self.correlation_id().replace('-', ""),
        });
        let mut response = self.reply(endpoint, bucket, StatusCode::TOO_MANY_REQUESTS, Some(body));
        response.extensions_mut().insert(Throttled);
        response
    }

    /// A JSON answer (or an empty one), with the rate-limit headers HubSpot puts on every
    /// non-search answer.
    pub fn reply(&self, endpoint: &str, bucket: Bucket, status: StatusCode, body: Option<Value>) -> Response {
        let mut response = match body {
            Some(body) => (status, axum::Json(body)).into_response(),
            None => status.into_response(),
        };
        if bucket == Bucket::Default {
            let options = self.options();
            let headers = BTreeMap::from([
                ("x-hubspot-ratelimit-daily", options.daily_limit),
                ("x-hubspot-ratelimit-daily-remaining", options.daily_limit.saturating_sub(self.daily_used())),
                ("x-hubspot-ratelimit-interval-milliseconds", 10_000),
                ("x-hubspot-ratelimit-max", options.ten_secondly_limit as u64),
                ("x-hubspot-ratelimit-remaining", self.burst.remaining() as u64),
            ]);
            for (name, value) in headers {
                response.headers_mut().insert(name, HeaderValue::from(value));
            }
        }
        named(endpoint, response)
    }

    /// HubSpot's general error body (vendor note §8.4).
    pub fn error(&self, endpoint: &str, bucket: Bucket, status: StatusCode, category: &str, message: &str) -> Response {
        let body = json!({
            "status": "error",
            "message": message,
            "correlationId": self.correlation_id(),
            "category": category,
            "context": {},
            "links": {},
        });
        self.reply(endpoint, bucket, status, Some(body))
    }
}

/// Names the endpoint in the kit's request log.
fn named(endpoint: &str, mut response: Response) -> Response {
    response.extensions_mut().insert(Endpoint(endpoint.to_string()));
    response
}
