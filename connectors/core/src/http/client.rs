//! [`HttpClient`]: the retry loop around one call.
//!
//! Each attempt waits for the rate limiter, sends, reads the body under the size cap, asks
//! the vendor's classifier what the answer means, and checks the body. The loop then
//! decides from the outcome alone:
//! - throttled (refused before processing): wait the vendor's time — at most `max_wait`,
//!   else return `RateLimited` with the wait clamped to [`MAX_DEFER`] — and resend;
//!   a throttled answer does not spend an attempt;
//! - overloaded, transient, cut short: resend after a growing back-off, within
//!   `max_attempts`, but only when the call is idempotent or never reached the server;
//! - anything else: return the error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::body::{self, BodyError, ReadError};
use super::classify::default_verdict;
use super::limiter::Limiter;
use super::retry::{describe_wait, RetryPolicy, MAX_DEFER};
use super::{Call, HttpOptions, HttpStats, RateLimit, Response, VendorHttp, Verdict, DEFAULT_TIMEOUT};
use crate::clock::Clock;
use crate::error::ConnectorError;

/// The shared client. Cheap to clone; clones share limiter and counters.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    http: reqwest::Client,
    /// Shared with every client of the same vendor account (see [`HttpClient::for_account`]).
    limiter: Arc<Limiter>,
    clock: Arc<dyn Clock>,
    options: HttpOptions,
    retry: RetryPolicy,
    vendor: VendorHttp,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    slowed: AtomicU64,
}

/// Why an attempt did not produce the answer.
enum Setback {
    /// The vendor refused the request unprocessed: wait (the whole bucket, or only this
    /// request) and resend. `wait: None` backs off.
    Throttled {
        wait: Option<Duration>,
        whole_bucket: bool,
        reason: String,
    },
    /// A failure worth another attempt: back off (or not, after an auth refresh) and resend.
    Retry {
        reason: String,
        immediately: bool,
    },
    Fail(ConnectorError),
}

impl HttpClient {
    /// A client for connector instance `name`. `overrides` come from config and replace
    /// vendor default limits bucket by bucket.
    pub fn new(
        name: &str,
        vendor: VendorHttp,
        overrides: &std::collections::BTreeMap<String, RateLimit>,
        options: HttpOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConnectorError> {
        let limiter = Arc::new(Limiter::new(clock.clone(), vendor.rate_limits.clone(), overrides));
        Self::with_limiter(name, vendor, limiter, options, clock)
    }

    /// The client of instance `ctx.name`, spending the rate limits of vendor `account`
    /// together with every other client built for that account from `ctx.accounts` (see
    /// [`crate::accounts`]). The first instance built for the account sets its limits (the
    /// vendor's defaults with that instance's `rate_limits` overrides).
    pub fn for_account(
        ctx: &crate::factory::BuildContext,
        vendor: VendorHttp,
        account: &str,
    ) -> Result<Self, ConnectorError> {
        let clock = ctx.clock.clone();
        let limiter =
            ctx.accounts.shared(account, || Limiter::new(clock.clone(), vendor.rate_limits.clone(), &ctx.rate_limits));
        if limiter.limits() != Limiter::merged(vendor.rate_limits.clone(), &ctx.rate_limits) {
            tracing::warn!(
                connector = %ctx.name,
                account,
                "rate_limits differ from another connector on the same vendor account; the account's first \
                 connector's limits apply to both"
            );
        }
        Self::with_limiter(&ctx.name, vendor, limiter, ctx.http, clock)
    }

    fn with_limiter(
        name: &str,
        vendor: VendorHttp,
        limiter: Arc<Limiter>,
        options: HttpOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("zveno/", env!("CARGO_PKG_VERSION")))
            // The whole-request timeout is set per request (see `timeout_for`).
            .connect_timeout(Duration::from_secs(10))
            // A redirected POST turns into a GET without a body (Bitrix24 portal renames):
            // surface redirects instead of following them blindly.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectorError::config(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_string(),
                http,
                limiter,
                clock,
                retry: options.retry_policy(),
                options,
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
            slowed: c.slowed.load(Ordering::Relaxed),
        }
    }

    /// Counts a request the connector made smaller or later because the vendor reported
    /// nearing a limit (see [`HttpStats::slowed`]).
    pub fn count_slowed(&self) {
        self.inner.counters.slowed.fetch_add(1, Ordering::Relaxed);
    }

    /// The options this client runs with.
    pub fn options(&self) -> &HttpOptions {
        &self.inner.options
    }

    /// The timeout `call` runs with: the operator's `http.timeout_secs`, else the call's
    /// own default, else [`DEFAULT_TIMEOUT`].
    pub fn timeout_for(&self, call: &Call) -> Duration {
        let configured = self.inner.options.timeout_secs.map(Duration::from_secs);
        configured.or(call.default_timeout).unwrap_or(DEFAULT_TIMEOUT).max(Duration::from_secs(1))
    }

    /// `wait` as this client honours a vendor's wait: at most `http.max_wait_secs`.
    pub fn clamp_wait(&self, wait: Duration) -> Duration {
        wait.min(Duration::from_secs(self.inner.options.max_wait_secs))
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

    /// Sends `call`, waiting for the rate limiter and retrying as the policy allows. A JSON
    /// body is checked to be complete before it is returned (a body cut short is retried).
    pub async fn send(&self, call: Call) -> Result<Response, ConnectorError> {
        self.exchange(call, |response| body::check_json(&response).map(|()| response)).await
    }

    /// Sends `call` and parses its JSON body into `T` — once: the parse is also the check
    /// that the body arrived whole, so a body cut short or not JSON at all is retried like a
    /// 5xx, and a complete body of the wrong shape is `InvalidData`.
    pub async fn send_json<T: DeserializeOwned + Send>(&self, call: Call) -> Result<T, ConnectorError> {
        self.exchange(call, |response| body::parse_json(&response)).await
    }

    async fn exchange<T, F>(&self, call: Call, accept: F) -> Result<T, ConnectorError>
    where
        F: Fn(Response) -> Result<T, BodyError> + Send + Sync,
        T: Send,
    {
        let endpoint = self.redact(&format!("{} {}", call.method, call.url));
        let span = tracing::debug_span!("http", connector = %self.inner.name, endpoint = %endpoint);
        self.retry_loop(&call, &endpoint, accept).instrument(span).await
    }

    async fn retry_loop<T, F>(&self, call: &Call, endpoint: &str, accept: F) -> Result<T, ConnectorError>
    where
        F: Fn(Response) -> Result<T, BodyError> + Send + Sync,
        T: Send,
    {
        let inner = &self.inner;
        let (mut attempts, mut throttles, mut refreshed) = (0u32, 0u32, false);
        loop {
            inner.limiter.acquire(call.bucket).await;
            attempts += 1;
            inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            let setback = match self.attempt(call, endpoint, &mut refreshed).await {
                Ok(response) => match accept(response) {
                    Ok(value) => return Ok(value),
                    Err(BodyError::Malformed(reason)) if call.idempotent => {
                        Setback::Retry { reason: self.redact(&reason), immediately: false }
                    }
                    Err(BodyError::Malformed(reason)) => Setback::Fail(ConnectorError::transient(
                        self.redact(&format!("{endpoint}: {reason} (not resent: the request is not idempotent)")),
                    )),
                    Err(BodyError::Invalid(e)) => {
                        Setback::Fail(ConnectorError::new(e.kind(), self.redact(e.message())))
                    }
                },
                Err(setback) => setback,
            };
            match setback {
                Setback::Fail(err) => return Err(self.failed(err)),
                Setback::Throttled { wait, whole_bucket, reason } => {
                    throttles += 1;
                    inner.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    let wait = wait.unwrap_or_else(|| inner.retry.backoff(throttles));
                    let max_wait = Duration::from_secs(inner.options.max_wait_secs);
                    if throttles > inner.options.max_throttled || wait > max_wait {
                        return Err(self.failed(ConnectorError::rate_limited(
                            Some(wait.min(MAX_DEFER)),
                            format!(
                                "{endpoint}: throttled {throttles} time(s); the vendor asks to wait {} \
                                 (this client waits at most http.max_wait_secs = {}): {reason}",
                                describe_wait(wait),
                                inner.options.max_wait_secs
                            ),
                        )));
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
                Setback::Retry { reason, immediately } => {
                    if attempts >= inner.options.max_attempts.max(1) {
                        return Err(self.failed(ConnectorError::transient(format!(
                            "{endpoint}: failed after {attempts} attempts: {reason}"
                        ))));
                    }
                    inner.counters.retried.fetch_add(1, Ordering::Relaxed);
                    let wait = if immediately { Duration::ZERO } else { inner.retry.backoff(attempts) };
                    tracing::info!(attempt = attempts, wait_ms = wait.as_millis() as u64, %reason, "retrying");
                    inner.clock.sleep(wait).await;
                }
            }
        }
    }

    fn failed(&self, err: ConnectorError) -> ConnectorError {
        self.inner.counters.failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %err, "request failed");
        err
    }

    async fn attempt(&self, call: &Call, endpoint: &str, refreshed: &mut bool) -> Result<Response, Setback> {
        let inner = &self.inner;
        let mut request = reqwest::Request::new(call.method.clone(), call.url.clone());
        *request.headers_mut() = call.headers.clone();
        *request.timeout_mut() = Some(self.timeout_for(call));
        request.headers_mut().insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
        if let Some((body, content_type)) = &call.body {
            request.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            *request.body_mut() = Some(body.clone().into());
        }
        inner.vendor.auth.apply(&mut request).await.map_err(Setback::Fail)?;
        let response = inner.http.execute(request).await.map_err(|e| {
            let reason = self.redact(&error_chain(&e));
            // A request that never connected was never processed: always safe to resend.
            if call.idempotent || e.is_connect() {
                Setback::Retry { reason, immediately: false }
            } else {
                Setback::Fail(ConnectorError::transient(format!(
                    "{endpoint}: {reason} (not resent: the request is not idempotent)"
                )))
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = body::read_capped(response, inner.options.max_body_bytes).await.map_err(|e| match e {
            ReadError::TooLarge { declared } => {
                let declared = declared.map(|d| format!(" (Content-Length {d})")).unwrap_or_default();
                Setback::Fail(ConnectorError::invalid_data(format!(
                    "{endpoint}: the answer is larger than connectors.{}.http.max_body_bytes = {} bytes{declared}; \
                     raise it if this vendor really sends that much",
                    inner.name, inner.options.max_body_bytes
                )))
            }
            ReadError::Failed(e) if call.idempotent => {
                Setback::Retry { reason: self.redact(&error_chain(&e)), immediately: false }
            }
            ReadError::Failed(e) => Setback::Fail(ConnectorError::transient(format!(
                "{endpoint}: {} (the answer broke off; not resent: the request is not idempotent)",
                self.redact(&error_chain(&e))
            ))),
        })?;
        let now = inner.clock.now();
        let verdict = inner
            .vendor
            .classifier
            .classify(status, &headers, &body, now)
            .unwrap_or_else(|| default_verdict(status, &headers, &body, now));
        let message = |m: String| self.redact(&format!("{endpoint}: {m}"));
        let not_resent = |m: String| {
            ConnectorError::transient(message(format!(
                "{m} (the request may have reached the vendor; not resent: it is not idempotent)"
            )))
        };
        Err(match verdict {
            Verdict::Success => return Ok(Response { status, headers, body, endpoint: endpoint.to_string() }),
            Verdict::Throttled { retry_after, whole_bucket, reason } => {
                Setback::Throttled { wait: retry_after, whole_bucket, reason: self.redact(&reason) }
            }
            Verdict::Overloaded { retry_after, reason } if call.idempotent => {
                Setback::Throttled { wait: retry_after, whole_bucket: true, reason: self.redact(&reason) }
            }
            Verdict::Overloaded { reason, .. } => Setback::Fail(not_resent(reason)),
            Verdict::Transient(m) if call.idempotent => Setback::Retry { reason: self.redact(&m), immediately: false },
            Verdict::Transient(m) => Setback::Fail(not_resent(m)),
            Verdict::Auth(m) => {
                if !*refreshed {
                    *refreshed = true;
                    match inner.vendor.auth.refresh().await {
                        Ok(true) => return Err(Setback::Retry { reason: self.redact(&m), immediately: true }),
                        Ok(false) => {}
                        Err(e) => return Err(Setback::Fail(e)),
                    }
                }
                Setback::Fail(ConnectorError::auth(message(m)))
            }
            Verdict::NotFound(m) => Setback::Fail(ConnectorError::not_found(message(m))),
            Verdict::Invalid(m) => Setback::Fail(ConnectorError::invalid_data(message(m))),
        })
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
