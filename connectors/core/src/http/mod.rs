//! The HTTP client every connector shares.
//!
//! One place owns the behaviour that must be identical across vendors: rate limiting
//! (named governor buckets per connector instance), retries with exponential back-off and
//! jitter that honour `Retry-After` and vendor reset headers, per-request timeouts, auth
//! (with a refresh hook), request counters, tracing spans, and redaction of secrets from
//! everything that is logged or returned. Connectors build a [`Call`], send it, and parse
//! the body; they never sleep or retry themselves.

mod auth;
mod classify;
mod limiter;
mod retry;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

pub use auth::{Authenticator, BasicAuth, BearerToken, NoAuth};
pub use classify::{body_snippet, default_verdict, retry_after, HttpSemantics, ResponseClassifier, Verdict};
pub use limiter::{Limiter, RateLimit};
pub use retry::RetryPolicy;

use crate::clock::Clock;
use crate::error::ConnectorError;
use crate::secret::Redactor;

/// Timeout and retry settings, overridable per connector in config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpOptions {
    /// Whole-request timeout, in seconds.
    pub timeout_secs: u64,
    /// Attempts per request for transient failures (5xx, timeouts), first included.
    pub max_attempts: u32,
    /// Throttled answers tolerated per request before giving up as rate limited.
    pub max_throttled: u32,
    /// The longest wait the client will sleep through for one throttled answer; a longer
    /// `Retry-After` (a daily quota) returns `RateLimited` so the scheduler can defer.
    pub max_wait_secs: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self { timeout_secs: 30, max_attempts: 5, max_throttled: 10, max_wait_secs: 300 }
    }
}

/// Request counters of one connector instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpStats {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// Responses that were throttling answers (429, Bitrix24 503, ...).
    pub throttled: u64,
    /// Attempts that were retried after a transient failure.
    pub retried: u64,
    /// Requests that finally failed.
    pub failed: u64,
}

impl HttpStats {
    /// Counter-wise difference, for "what did this run cost".
    pub fn since(&self, earlier: &HttpStats) -> HttpStats {
        HttpStats {
            requests: self.requests.saturating_sub(earlier.requests),
            throttled: self.throttled.saturating_sub(earlier.throttled),
            retried: self.retried.saturating_sub(earlier.retried),
            failed: self.failed.saturating_sub(earlier.failed),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

/// One request to send: what, where, which rate-limit bucket it spends, and whether it is
/// safe to resend after a timeout or 5xx.
#[derive(Debug, Clone)]
pub struct Call {
    method: Method,
    url: url::Url,
    headers: HeaderMap,
    body: Option<(Bytes, &'static str)>,
    bucket: &'static str,
    idempotent: bool,
}

impl Call {
    /// A request with no body. GETs are idempotent.
    pub fn new(method: Method, url: url::Url) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE);
        Self { method, url, headers: HeaderMap::new(), body: None, bucket: "default", idempotent }
    }
    /// `GET url`.
    pub fn get(url: url::Url) -> Self {
        Self::new(Method::GET, url)
    }
    /// `POST url` with a JSON body. Not idempotent unless [`Call::idempotent`] says so.
    pub fn post_json(url: url::Url, body: &serde_json::Value) -> Self {
        Self::new(Method::POST, url).json(body)
    }
    /// Sets a JSON body.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some((Bytes::from(body.to_string()), "application/json"));
        self
    }
    /// Sets a form-encoded body.
    pub fn form(mut self, body: String) -> Self {
        self.body = Some((Bytes::from(body), "application/x-www-form-urlencoded"));
        self
    }
    /// Adds a header.
    pub fn header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
    /// Spends the named rate-limit bucket instead of `default`.
    pub fn bucket(mut self, bucket: &'static str) -> Self {
        self.bucket = bucket;
        self
    }
    /// Declares whether resending after a timeout or 5xx is safe (searches sent as POST
    /// are; creates are not).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A response the classifier accepted.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
    endpoint: String,
}

impl Response {
    /// Parses the body as JSON; failure is `InvalidData` naming the endpoint.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::invalid_data(format!(
                "{}: malformed JSON ({e}): {}",
                self.endpoint,
                body_snippet(&self.body)
            ))
        })
    }
    /// The redacted `METHOD url` this response answers, for error messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The vendor-specific parts of a client: default limits, the response classifier, auth
/// and the secrets to redact.
#[derive(Debug)]
pub struct VendorHttp {
    /// Default rate limits by bucket.
    pub rate_limits: BTreeMap<String, RateLimit>,
    /// Throttling signals beyond plain HTTP.
    pub classifier: Arc<dyn ResponseClassifier>,
    /// Credentials.
    pub auth: Arc<dyn Authenticator>,
    /// Strings never to print.
    pub redactor: Redactor,
}

/// The shared client. Cheap to clone; clones share limiter and counters.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    http: reqwest::Client,
    limiter: Limiter,
    clock: Arc<dyn Clock>,
    options: HttpOptions,
    retry: RetryPolicy,
    vendor: VendorHttp,
    counters: Counters,
}

enum Attempt {
    Done(Response),
    /// The vendor throttled us: wait (the whole bucket, or only this request) and resend.
    Throttled {
        wait: Duration,
        whole_bucket: bool,
        reason: String,
    },
    /// A transient failure: back off and resend, within the attempt budget.
    Retry {
        wait: Duration,
        reason: String,
    },
    Fail(ConnectorError),
}

impl HttpClient {
    /// A client for connector instance `name`. `overrides` come from config and replace
    /// vendor default limits bucket by bucket.
    pub fn new(
        name: &str,
        vendor: VendorHttp,
        overrides: &BTreeMap<String, RateLimit>,
        options: HttpOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("zveno/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10).min(Duration::from_secs(options.timeout_secs.max(1))))
            .timeout(Duration::from_secs(options.timeout_secs.max(1)))
            // A redirected POST turns into a GET without a body (Bitrix24 portal renames):
            // surface redirects instead of following them blindly.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectorError::config(format!("cannot build HTTP client: {e}")))?;
        let limiter = Limiter::new(clock.clone(), vendor.rate_limits.clone(), overrides);
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_string(),
                http,
                limiter,
                clock,
                options,
                retry: RetryPolicy::default(),
                vendor,
                counters: Counters::default(),
            }),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> HttpStats {
        let c = &self.inner.counters;
        HttpStats {
            requests: c.requests.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }

    /// The limiter (for connectors that must block a bucket on a signal in a 200 body,
    /// such as Bitrix24's `operating` time).
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// The injected clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Text with this instance's secrets masked.
    pub fn redact(&self, text: &str) -> String {
        self.inner.vendor.redactor.redact(text)
    }

    /// Sends `call`, waiting for the rate limiter and retrying as the policy allows.
    pub async fn send(&self, call: Call) -> Result<Response, ConnectorError> {
        let endpoint = self.redact(&format!("{} {}", call.method, call.url));
        let span = tracing::debug_span!("http", connector = %self.inner.name, endpoint = %endpoint);
        self.send_inner(call, endpoint).instrument(span).await
    }

    async fn send_inner(&self, call: Call, endpoint: String) -> Result<Response, ConnectorError> {
        let inner = &self.inner;
        let (mut attempts, mut throttles, mut refreshed) = (0u32, 0u32, false);
        loop {
            inner.limiter.acquire(call.bucket).await;
            attempts += 1;
            inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            match self.attempt(&call, &endpoint, &mut refreshed).await {
                Attempt::Done(response) => return Ok(response),
                Attempt::Fail(err) => {
                    inner.counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %err, "request failed");
                    return Err(err);
                }
                Attempt::Throttled { wait, whole_bucket, reason } => {
                    throttles += 1;
                    inner.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    let max_wait = Duration::from_secs(inner.options.max_wait_secs);
                    if throttles > inner.options.max_throttled || wait > max_wait {
                        inner.counters.failed.fetch_add(1, Ordering::Relaxed);
                        return Err(ConnectorError::rate_limited(
                            Some(wait),
                            format!("{endpoint}: throttled {throttles} times, vendor asks to wait {wait:?}: {reason}"),
                        ));
                    }
                    tracing::warn!(wait_ms = wait.as_millis() as u64, %reason, "throttled; waiting");
                    if whole_bucket {
                        // The whole bucket waits, so concurrent requests do not hammer on.
                        inner.limiter.block(call.bucket, wait);
                    } else {
                        // A limit on this one target (Jira's per-issue writes): only it waits.
                        inner.clock.sleep(wait).await;
                    }
                    attempts -= 1; // a throttled answer is not a failed attempt
                }
                Attempt::Retry { wait, reason } => {
                    if attempts >= inner.options.max_attempts.max(1) {
                        inner.counters.failed.fetch_add(1, Ordering::Relaxed);
                        return Err(ConnectorError::transient(format!(
                            "{endpoint}: failed after {attempts} attempts: {reason}"
                        )));
                    }
                    inner.counters.retried.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(attempt = attempts, wait_ms = wait.as_millis() as u64, %reason, "retrying");
                    inner.clock.sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, call: &Call, endpoint: &str, refreshed: &mut bool) -> Attempt {
        let inner = &self.inner;
        let mut request = reqwest::Request::new(call.method.clone(), call.url.clone());
        *request.headers_mut() = call.headers.clone();
        request.headers_mut().insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
        if let Some((body, content_type)) = &call.body {
            request.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            *request.body_mut() = Some(body.clone().into());
        }
        if let Err(e) = inner.vendor.auth.apply(&mut request).await {
            return Attempt::Fail(e);
        }
        let result = inner.http.execute(request).await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let reason = self.redact(&error_chain(&e));
                // A request that never connected was never processed: always safe to resend.
                if call.idempotent || e.is_connect() {
                    return Attempt::Retry { wait: inner.retry.backoff(1), reason };
                }
                return Attempt::Fail(ConnectorError::transient(format!(
                    "{endpoint}: {reason} (not retried: not idempotent)"
                )));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let reason = self.redact(&error_chain(&e));
                return if call.idempotent {
                    Attempt::Retry { wait: inner.retry.backoff(1), reason }
                } else {
                    Attempt::Fail(ConnectorError::transient(format!("{endpoint}: {reason}")))
                };
            }
        };
        let now = inner.clock.now();
        let verdict = inner
            .vendor
            .classifier
            .classify(status, &headers, &body, now)
            .unwrap_or_else(|| default_verdict(status, &headers, &body, now));
        let message = |m: String| self.redact(&format!("{endpoint}: {m}"));
        match verdict {
            Verdict::Success => Attempt::Done(Response { status, headers, body, endpoint: endpoint.to_string() }),
            Verdict::Throttled { retry_after, whole_bucket, reason } => Attempt::Throttled {
                wait: retry_after.unwrap_or_else(|| inner.retry.backoff(2)),
                whole_bucket,
                reason: self.redact(&reason),
            },
            Verdict::Transient(m) if call.idempotent => {
                Attempt::Retry { wait: inner.retry.backoff(1), reason: self.redact(&m) }
            }
            Verdict::Transient(m) => Attempt::Fail(ConnectorError::transient(message(m))),
            Verdict::Auth(m) => {
                if !*refreshed {
                    *refreshed = true;
                    match inner.vendor.auth.refresh().await {
                        Ok(true) => return Attempt::Retry { wait: Duration::ZERO, reason: m },
                        Ok(false) => {}
                        Err(e) => return Attempt::Fail(e),
                    }
                }
                Attempt::Fail(ConnectorError::auth(message(m)))
            }
            Verdict::NotFound(m) => Attempt::Fail(ConnectorError::not_found(message(m))),
            Verdict::Invalid(m) => Attempt::Fail(ConnectorError::invalid_data(message(m))),
        }
    }
}

/// The error and its causes on one line (reqwest hides the useful part in `source()`).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
