//! The HTTP client every connector shares.
//!
//! One place owns the behaviour that must be identical across vendors: rate limiting
//! (named governor buckets per connector instance), retries with exponential back-off and
//! full jitter that honour `Retry-After` and vendor reset headers (clamped to `max_wait`),
//! per-request timeouts, response bodies read under a size cap and checked before they are
//! handed over (a body cut short in transit is retried like a 5xx), auth (with a refresh
//! hook), request counters, tracing spans, and redaction of secrets from everything that is
//! logged or returned. Connectors build a [`Call`] and send it; they never sleep or retry
//! themselves.
//!
//! A request that may have reached the vendor is resent only when the [`Call`] is
//! idempotent: a timeout, a dropped connection mid-answer, a gateway's HTML 502 or a body
//! cut short after a create end the call with a `Transient` error instead of a duplicate.

mod auth;
mod body;
mod classify;
mod client;
mod limiter;
mod retry;
mod vendor_clock;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::{Deserialize, Serialize};

pub use auth::{Authenticator, BasicAuth, BearerToken, NoAuth};
pub use classify::{body_snippet, default_verdict, retry_after, HttpSemantics, ResponseClassifier, Verdict};
pub use client::HttpClient;
pub use limiter::{Limiter, RateLimit};
pub use retry::{describe_wait, wait_from_secs, RetryPolicy, MAX_DEFER};
pub use vendor_clock::VendorClock;

use crate::error::ConnectorError;
use crate::secret::Redactor;

/// A call's timeout when neither the operator (`http.timeout_secs`) nor the vendor
/// ([`Call::default_timeout`]) says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Timeout, retry and size settings, overridable per connector in config
/// (`http = { timeout_secs = 60, max_attempts = 8 }`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpOptions {
    /// Whole-request timeout, in seconds. Unset: the vendor's default for the call
    /// ([`DEFAULT_TIMEOUT`] unless the connector knows its vendor needs longer, as Bitrix24
    /// batches do).
    pub timeout_secs: Option<u64>,
    /// Attempts per request for transient failures (5xx, timeouts, dropped connections,
    /// bodies cut short), first included.
    pub max_attempts: u32,
    /// Throttled answers tolerated per request before giving up as rate limited.
    pub max_throttled: u32,
    /// The longest wait the client will sleep through for one throttled answer; a longer
    /// one (a daily quota, a bogus `Retry-After`) returns `RateLimited` so the scheduler can
    /// defer the run instead.
    pub max_wait_secs: u64,
    /// The largest response body accepted, in bytes; a larger one is an error naming this
    /// key (it is read no further than that).
    pub max_body_bytes: u64,
    /// The ceiling of the first back-off, in milliseconds; it doubles per failed attempt.
    pub backoff_base_ms: u64,
    /// The highest back-off ceiling, in seconds.
    pub backoff_cap_secs: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout_secs: None,
            // Eight attempts keep a call alive through a bad patch: at a 14% failure rate
            // (8% 5xx, 2% dropped, 4% cut short) one call in 70 million fails, against one
            // in 20,000 with five.
            max_attempts: 8,
            max_throttled: 10,
            max_wait_secs: 300,
            max_body_bytes: 64 * 1024 * 1024,
            backoff_base_ms: 500,
            backoff_cap_secs: 30,
        }
    }
}

impl HttpOptions {
    /// Why these options are unusable, with the key at fault, if they are.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.timeout_secs == Some(0) {
            Some(("timeout_secs", "must be at least 1"))
        } else if self.max_attempts == 0 {
            Some(("max_attempts", "must be at least 1 (the first attempt counts)"))
        } else if self.max_body_bytes < 1024 {
            Some(("max_body_bytes", "must be at least 1024"))
        } else if self.backoff_base_ms == 0 || self.backoff_cap_secs == 0 {
            Some(("backoff_base_ms", "back-off base and cap must be at least 1"))
        } else {
            None
        }
    }

    /// The back-off these options describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(self.backoff_base_ms.max(1)),
            cap: Duration::from_secs(self.backoff_cap_secs.max(1)),
        }
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
    /// Requests the connector made smaller or later than the vendor allows because the
    /// vendor reported nearing one of its limits (Bitrix24's `time` block).
    pub slowed: u64,
}

impl HttpStats {
    /// Counter-wise difference, for "what did this run cost".
    pub fn since(&self, earlier: &HttpStats) -> HttpStats {
        HttpStats {
            requests: self.requests.saturating_sub(earlier.requests),
            throttled: self.throttled.saturating_sub(earlier.throttled),
            retried: self.retried.saturating_sub(earlier.retried),
            failed: self.failed.saturating_sub(earlier.failed),
            slowed: self.slowed.saturating_sub(earlier.slowed),
        }
    }
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
    default_timeout: Option<Duration>,
}

impl Call {
    /// A request with no body. GETs are idempotent.
    pub fn new(method: Method, url: url::Url) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE);
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            bucket: "default",
            idempotent,
            default_timeout: None,
        }
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
    /// How long this call may legitimately take when the operator set no
    /// `http.timeout_secs` (a Bitrix24 batch of 50 list calls can take a minute).
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = Some(timeout);
        self
    }
    /// Whether the call is safe to resend.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }
}

/// A response the classifier accepted.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes. When the body is JSON, [`HttpClient::send`] has checked that it is
    /// complete, well-formed JSON.
    pub body: Bytes,
    endpoint: String,
    /// The instance's redactor: excerpts of the body quoted in errors pass through it, so a
    /// vendor echoing the instance's own token (not only a credential of a known shape)
    /// never carries it into an error, a log or the `runs` table.
    redactor: Redactor,
}

impl Response {
    /// Parses the body as JSON; failure is `InvalidData` naming the endpoint.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| ConnectorError::invalid_data(self.malformed(&e)))
    }

    /// Parses the body as JSON as a pull reads a page: a body that ends mid-value was cut in
    /// transit (a dropped connection, a proxy) and is transient, so the engine pulls the
    /// page again; a complete body of the wrong shape is `InvalidData`.
    pub fn parse_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let message = self.malformed(&e);
            if e.is_eof() {
                ConnectorError::transient(message)
            } else {
                ConnectorError::invalid_data(message)
            }
        })
    }

    /// `endpoint: malformed JSON (why): excerpt`, with the instance's secrets masked.
    fn malformed(&self, error: &serde_json::Error) -> String {
        let excerpt = self.redactor.redact(&body_snippet(&self.body));
        format!("{}: malformed JSON ({error}): {excerpt}", self.endpoint)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::secret::Secret;

    /// A response whose body echoes the instance's token in plain text, a shape the generic
    /// redactor cannot know (no `password=`, no URL user-info, no token field name).
    fn echoing(body: &'static str) -> Response {
        Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
            endpoint: "GET https://api.example.com/crm/v3/objects/companies".into(),
            redactor: Redactor::new([Secret::new("pat-na1-7f3c9e21-instance")]),
        }
    }

    #[test]
    fn malformed_json_excerpts_are_masked_with_the_instances_own_secrets() {
        let complete = echoing("<html>proxy error for Bearer pat-na1-7f3c9e21-instance</html>");
        let err = complete.parse_json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert!(!err.message().contains("pat-na1-7f3c9e21-instance"), "{}", err.message());
        assert!(err.message().contains("proxy error for Bearer ***"), "{}", err.message());
        let err = complete.json::<serde_json::Value>().unwrap_err();
        assert!(!err.message().contains("pat-na1-7f3c9e21-instance"), "{}", err.message());

        let cut = echoing(r#"{"results": [{"note": "token pat-na1-7f3c9e21-instance"#);
        let err = cut.parse_json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(!err.message().contains("pat-na1-7f3c9e21-instance"), "{}", err.message());
    }
}
