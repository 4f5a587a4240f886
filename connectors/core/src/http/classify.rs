//! Turning a vendor response into a decision.
//!
//! The default reading covers what HTTP itself says (401, 404, 429 + `Retry-After`, 5xx).
//! Vendors that signal throttling their own way plug in a [`ResponseClassifier`]: Bitrix24
//! answers **503** `QUERY_LIMIT_EXCEEDED` (not 429), HubSpot's 429 body names a `policyName`
//! whose right wait differs (`TEN_SECONDLY_ROLLING` vs `DAILY`), Jira sends
//! `X-RateLimit-Reset`. The retry loop then branches on the [`Verdict`] alone.
//!
//! Two verdicts wait: [`Verdict::Throttled`] means the vendor refused the request before
//! doing anything (a 429, Bitrix24's `QUERY_LIMIT_EXCEEDED`), so even a create may be sent
//! again; [`Verdict::Overloaded`] means something in front of the vendor failed (a gateway's
//! HTML 502) and the request may have been processed, so only idempotent calls are resent.
//!
//! Waits read from headers are saturating: `Retry-After: 1e20` or a reset in year 9999 is a
//! very long wait, never a panic; the client clamps it.

use std::fmt::Debug;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};

use super::retry::wait_from_secs;

/// What the retry loop should do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the response to the connector (2xx, and vendor "partial success" codes).
    Success,
    /// The vendor throttled the request: wait and resend. `retry_after` is the vendor's
    /// wait when it gave one; `whole_bucket` blocks every request on the bucket for it.
    Throttled {
        /// The wait the vendor asked for.
        retry_after: Option<Duration>,
        /// Whether to pause all requests on the bucket, not just this one.
        whole_bucket: bool,
        /// The vendor's reason, for logs.
        reason: String,
    },
    /// The server, or a gateway in front of it, is overloaded or failing (an HTML 502 or 503
    /// from a proxy): wait like throttling (the whole bucket pauses), but the request may
    /// have reached the vendor, so it is resent only when it is idempotent.
    Overloaded {
        /// The wait the server asked for, if any (else the client backs off).
        retry_after: Option<Duration>,
        /// What the answer said, for logs.
        reason: String,
    },
    /// A temporary failure worth retrying (5xx, 408). Resent only when idempotent.
    Transient(String),
    /// Credentials rejected. Not retried (except once after an auth refresh).
    Auth(String),
    /// Not found.
    NotFound(String),
    /// The request was wrong or the response unusable; retrying will not help.
    Invalid(String),
}

/// Vendor-specific reading of responses. Return `None` to fall back to [`default_verdict`].
pub trait ResponseClassifier: Send + Sync + Debug {
    /// Classifies a response. `now` is the injected clock's wall time, for reset headers
    /// that carry an absolute time.
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Option<Verdict>;
}

/// No vendor-specific rules.
#[derive(Debug, Default)]
pub struct HttpSemantics;

impl ResponseClassifier for HttpSemantics {
    fn classify(&self, _: StatusCode, _: &HeaderMap, _: &[u8], _: DateTime<Utc>) -> Option<Verdict> {
        None
    }
}

/// What plain HTTP semantics say about a response.
pub fn default_verdict(status: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Verdict {
    let snippet = || body_snippet(body);
    match status.as_u16() {
        200..=299 => Verdict::Success,
        401 | 403 => Verdict::Auth(format!("HTTP {status}: {}", snippet())),
        404 => Verdict::NotFound(format!("HTTP {status}: {}", snippet())),
        429 => Verdict::Throttled {
            retry_after: retry_after(headers, now),
            whole_bucket: true,
            reason: format!("HTTP 429: {}", snippet()),
        },
        408 | 425 | 500..=599 => {
            if let Some(wait) = retry_after(headers, now).filter(|_| status == StatusCode::SERVICE_UNAVAILABLE) {
                // A 503 with Retry-After is the server asking us to slow down.
                return Verdict::Throttled {
                    retry_after: Some(wait),
                    whole_bucket: true,
                    reason: format!("HTTP 503: {}", snippet()),
                };
            }
            Verdict::Transient(format!("HTTP {status}: {}", snippet()))
        }
        _ => Verdict::Invalid(format!("HTTP {status}: {}", snippet())),
    }
}

/// The wait a response asks for: `Retry-After` in seconds or as an HTTP date, else an
/// `X-RateLimit-Reset` given as an ISO-8601 instant (Jira) or epoch seconds. Saturating:
/// absurd values (`1e20`, year 9999) come back as very long waits, which the client clamps.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(value) = header("retry-after") {
        if let Ok(secs) = value.parse::<f64>() {
            return wait_from_secs(secs);
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(value) {
            return Some((at.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO));
        }
    }
    let reset = header("x-ratelimit-reset")?;
    let at = parse_reset(reset)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse_reset(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(epoch) = value.parse::<i64>() {
        return DateTime::from_timestamp(epoch, 0);
    }
    // Jira: `yyyy-MM-ddTHH:mmZ` (no seconds); also accept full RFC 3339.
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_str(&value.replace('Z', "+0000"), "%Y-%m-%dT%H:%M%z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The start of a body for error messages: enough to diagnose, never a whole payload, and
/// credentials masked (see [`crate::redact`]).
pub fn body_snippet(body: &[u8]) -> String {
    let text = crate::redact::redact_text(&String::from_utf8_lossy(body));
    let text = text.trim();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
        DateTime::parse_from_rfc3339("2026-01-02T10:15:00Z").map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_reset_headers() {
        assert_eq!(retry_after(&headers(&[("retry-after", "7")]), now()), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&headers(&[("retry-after", "Fri, 02 Jan 2026 10:15:30 GMT")]), now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers(&[("x-ratelimit-reset", "2026-01-02T10:16Z")]), now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after(&headers(&[]), now()), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now()), None);
    }

    #[test]
    fn absurd_waits_saturate_instead_of_panicking() {
        assert_eq!(retry_after(&headers(&[("retry-after", "1e20")]), now()), Some(Duration::MAX));
        assert_eq!(retry_after(&headers(&[("retry-after", "-5")]), now()), None);
        let year_9999 = retry_after(&headers(&[("x-ratelimit-reset", "9999-12-31T23:59Z")]), now());
        assert!(year_9999.is_some_and(|w| w > Duration::from_secs(7_000 * 365 * 86_400)), "{year_9999:?}");
        let epoch_9999 = retry_after(&headers(&[("x-ratelimit-reset", "253402300799")]), now());
        assert!(epoch_9999.is_some_and(|w| w > Duration::from_secs(7_000 * 365 * 86_400)), "{epoch_9999:?}");
    }

    #[test]
    fn statuses_map_to_verdicts() {
        let h = HeaderMap::new();
        assert_eq!(default_verdict(StatusCode::OK, &h, b"", now()), Verdict::Success);
        assert!(matches!(default_verdict(StatusCode::UNAUTHORIZED, &h, b"", now()), Verdict::Auth(_)));
        assert!(matches!(default_verdict(StatusCode::TOO_MANY_REQUESTS, &h, b"", now()), Verdict::Throttled { .. }));
        assert!(matches!(default_verdict(StatusCode::BAD_GATEWAY, &h, b"", now()), Verdict::Transient(_)));
        assert!(matches!(default_verdict(StatusCode::BAD_REQUEST, &h, b"", now()), Verdict::Invalid(_)));
        let busy = headers(&[("retry-after", "2")]);
        assert!(matches!(
            default_verdict(StatusCode::SERVICE_UNAVAILABLE, &busy, b"", now()),
            Verdict::Throttled { retry_after: Some(_), .. }
        ));
    }

    #[test]
    fn body_excerpts_in_errors_mask_credentials() {
        let body = br#"{"status":"error","access_token":"pat-na1-1234","echo":"https://u:pw9876@h/x?password=hunter2""#;
        let shown = body_snippet(body);
        for secret in ["pat-na1-1234", "pw9876", "hunter2"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.starts_with(r#"{"status":"error","access_token":"***""#), "{shown}");
    }
}
