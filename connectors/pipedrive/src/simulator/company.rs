//! The simulated company's shared state, and what every request goes through first: the
//! `x-api-token` header (401 otherwise), the forced-throttle switch, the daily token budget,
//! the 2-second burst window, and Pipedrive's rate-limit headers and error bodies on the way
//! out (vendor note §8).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use zveno_connector::Clock;
use zveno_sim::kit::{Endpoint, Kit, RollingWindow, Throttled};

use super::store::Db;
use crate::client::TOKEN_HEADER;

/// How the simulated company behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The API token it accepts.
    pub token: String,
    /// The organization custom field holding the INN (a 40-character key).
    pub tax_id_field: String,
    /// The company subdomain.
    pub company_domain: String,
    /// Requests per rolling 2 s per token (Lite: 20).
    pub burst_limit: usize,
    /// Tokens per day (30,000 × plan multiplier × seats).
    pub daily_tokens: u64,
    /// The most records a list page serves, however many are asked for (500, as
    /// Pipedrive's maximum `limit`; the conformance harness serves fewer so a small world
    /// still crosses many page boundaries).
    pub max_page: usize,
    /// The organization custom field (a 40-character key) the operator made for zveno's
    /// idempotency handles; `None`: not made.
    pub idempotency_field: Option<String>,
    /// How long a change stays invisible to search.
    pub index_lag: Duration,
}

impl SimOptions {
    /// A Lite company with 10 seats accepting `token`, the idempotency field made, and a
    /// 2-second search index lag.
    pub fn new(token: &str) -> Self {
        Self {
            token: token.to_string(),
            tax_id_field: "10bb7c1dbf2e5b7f721354c231293e6c54722528".into(),
            company_domain: "zveno-demo".into(),
            burst_limit: 20,
            daily_tokens: 300_000,
            max_page: 500,
            idempotency_field: Some("5d1c6f0e8a2b4c7d9e0f1a2b3c4d5e6f7a8b9c0d".into()),
            index_lag: Duration::from_secs(2),
        }
    }
}

/// The company behind the routes.
#[derive(Debug)]
pub struct Company {
    /// Log, faults, clock.
    pub kit: Kit,
    options: SimOptions,
    db: Mutex<Db>,
    burst: RollingWindow,
    /// `(day, tokens used that day)`: the budget resets at midnight UTC.
    tokens: Mutex<(i64, u64)>,
    forced: Mutex<Vec<Duration>>,
    writes: AtomicU64,
}

/// What a request costs and how the log names it.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// The request log's name for the endpoint.
    pub endpoint: &'a str,
    /// Tokens (`x-token-cost`).
    pub tokens: u64,
}

impl Company {
    /// A company holding `db`.
    pub fn new(kit: Kit, options: SimOptions, db: Db) -> Self {
        let clock = kit.clock().clone();
        Self {
            burst: RollingWindow::new(options.burst_limit, Duration::from_secs(2), clock),
            kit,
            options,
            db: Mutex::new(db),
            tokens: Mutex::new((0, 0)),
            forced: Mutex::new(Vec::new()),
            writes: AtomicU64::new(0),
        }
    }

    /// The data, locked.
    pub fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The settings.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.kit.clock()
    }

    /// The clock's wall time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }

    /// Counts a write request.
    pub fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// Write requests so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Makes the next data request answer the burst 429 asking to wait `wait`.
    pub fn throttle_next(&self, wait: Duration) {
        self.forced.lock().unwrap_or_else(PoisonError::into_inner).push(wait);
    }

    fn day_tokens(&self) -> MutexGuard<'_, (i64, u64)> {
        let day = self.now().timestamp().div_euclid(86_400);
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if tokens.0 != day {
            *tokens = (day, 0);
        }
        tokens
    }

    /// Tokens spent today (by every caller).
    pub fn tokens_used(&self) -> u64 {
        self.day_tokens().1
    }

    /// Sets the tokens spent today (as if people and other apps had spent them).
    pub fn set_tokens_used(&self, used: u64) {
        self.day_tokens().1 = used;
    }

    /// Admits a request or answers it: 401 without the right token, 429 when the burst
    /// window or the daily budget (or the forced-throttle switch) says so. v1 paths also
    /// take `?api_token=` (v2 does not, §2.1).
    pub fn admit(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
        charge: Charge<'_>,
    ) -> Result<(), Box<Response>> {
        let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).or(query_token);
        if token != Some(self.options.token.as_str()) {
            // The body real companies answer a bad token with (not in the specs).
            let body = json!({"success": false, "error": "unauthorized access", "errorCode": 401,
                "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."});
            return Err(Box::new(named(charge.endpoint, (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())));
        }
        let forced = {
            let mut forced = self.forced.lock().unwrap_or_else(PoisonError::into_inner);
            (!forced.is_empty()).then(|| forced.remove(0))
        };
        if let Some(wait) = forced {
            return Err(Box::new(self.throttled(charge.endpoint, 0, wait, "Request over limit")));
        }
        {
            let mut tokens = self.day_tokens();
            if tokens.1.saturating_add(charge.tokens) > self.options.daily_tokens {
                drop(tokens);
                let (remaining, reset) = (self.burst.remaining(), self.burst.reset());
                return Err(Box::new(self.throttled(
                    charge.endpoint,
                    remaining,
                    reset,
                    "Daily API token budget exceeded",
                )));
            }
            if let Err(wait) = self.burst.try_acquire() {
                drop(tokens);
                return Err(Box::new(self.throttled(charge.endpoint, 0, wait, "Request over limit")));
            }
            tokens.1 = tokens.1.saturating_add(charge.tokens);
        }
        Ok(())
    }

    /// The 429 (body in the v2 error shape of §8.3; Pipedrive documents no 429 body).
    fn throttled(&self, endpoint: &str, remaining: usize, reset: Duration, error: &str) -> Response {
        let body = json!({"success": false, "error": error,
            "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API.",
            "data": null, "additional_data": null});
        let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        self.rate_headers(response.headers_mut(), remaining, reset);
        response.extensions_mut().insert(Throttled);
        named(endpoint, response)
    }

    fn rate_headers(&self, headers: &mut HeaderMap, remaining: usize, reset: Duration) {
        let pairs = [
            ("x-ratelimit-limit", self.options.burst_limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            // Whole seconds, rounded up, as integrators report the header.
            ("x-ratelimit-reset", reset.as_secs_f64().ceil().to_string()),
        ];
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }

    /// A JSON answer with the rate-limit headers Pipedrive puts on every answer.
    pub fn reply(&self, endpoint: &str, status: StatusCode, body: Value) -> Response {
        let mut response = (status, axum::Json(body)).into_response();
        self.rate_headers(response.headers_mut(), self.burst.remaining(), self.burst.reset());
        named(endpoint, response)
    }

    /// Pipedrive's v2 error body (§8.3).
    pub fn error(&self, endpoint: &str, status: StatusCode, error: &str, info: &str) -> Response {
        let body = json!({"success": false, "error": error, "error_info": info, "data": null, "additional_data": null});
        self.reply(endpoint, status, body)
    }
}

/// Names the endpoint in the kit's request log.
fn named(endpoint: &str, mut response: Response) -> Response {
    response.extensions_mut().insert(Endpoint(endpoint.to_string()));
    response
}
