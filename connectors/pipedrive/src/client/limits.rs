//! Pipedrive's burst limit and its throttling answers (vendor note §8.2–8.3).
//!
//! The burst limit is per token over a rolling **2-second** window and depends on the plan
//! (API token: Lite 20, Growth 40, Premium 100, Ultimate 120). The default bucket assumes
//! Lite, the safe floor; `rate_limits.default = { requests = 40, per_secs = 2 }` raises it.
//! Every answer carries `x-ratelimit-limit`, `-remaining` and `-reset` (seconds left in the
//! window): [`burst_window`] reads them so the client stops for the rest of the window when
//! it is used up, before Pipedrive has to say 429.
//!
//! A 429 means one of two things and the headers tell which: with `x-ratelimit-remaining`
//! at 0 the burst window is full (wait `x-ratelimit-reset`); with the window open, it is
//! the **daily token budget** — every call answers 429 until the reset — so the ledger is
//! marked spent and the wait runs to the configured reset, longer than the client will
//! sleep, which makes it a `RateLimited` error the scheduler defers on. A 403 carrying an
//! HTML page is Cloudflare's abuse block: not JSON, not retried, reported as an auth
//! failure that needs a person.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use zveno_connector::http::{body_snippet, wait_from_secs, RateLimit, ResponseClassifier, Verdict};

use super::ledger::TokenLedger;

/// The bucket every call spends.
pub const DEFAULT_BUCKET: &str = "default";

/// The window the burst limit counts in, when no header says otherwise.
pub const BURST_WINDOW: Duration = Duration::from_secs(2);

/// Vendor default: 20 requests per 2 seconds (Lite plan, API token).
pub fn default_rate_limits() -> BTreeMap<String, RateLimit> {
    BTreeMap::from([(DEFAULT_BUCKET.to_string(), RateLimit::new(20, 2))])
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `(remaining, reset)` of the burst window, when the answer carries them.
pub fn burst_window(headers: &HeaderMap) -> Option<(u64, Duration)> {
    let remaining = header_f64(headers, "x-ratelimit-remaining")?;
    let reset = header_f64(headers, "x-ratelimit-reset").and_then(wait_from_secs).unwrap_or(BURST_WINDOW);
    Some((remaining.max(0.0) as u64, reset))
}

/// Reads Pipedrive's throttling answers.
#[derive(Debug)]
pub struct PipedriveClassifier {
    ledger: Arc<TokenLedger>,
}

impl PipedriveClassifier {
    /// A classifier that marks `ledger` spent on a daily-budget 429.
    pub fn new(ledger: Arc<TokenLedger>) -> Self {
        Self { ledger }
    }
}

impl ResponseClassifier for PipedriveClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Option<Verdict> {
        match status.as_u16() {
            429 => Some(match burst_window(headers) {
                Some((remaining, _)) if remaining > 0 => {
                    self.ledger.mark_exhausted(now);
                    Verdict::Throttled {
                        retry_after: Some(self.ledger.until_reset(now)),
                        whole_bucket: true,
                        reason: format!(
                            "HTTP 429 with {remaining} requests left in the burst window: the company's daily \
                             token budget is spent: {}",
                            body_snippet(body)
                        ),
                    }
                }
                window => Verdict::Throttled {
                    retry_after: Some(window.map_or(BURST_WINDOW, |(_, reset)| reset)),
                    whole_bucket: true,
                    reason: format!("HTTP 429 (burst limit): {}", body_snippet(body)),
                },
            }),
            403 if is_html(headers, body) => Some(Verdict::Auth(
                "HTTP 403 with an HTML page: Pipedrive has blocked this token for abuse; stop syncing and \
                 ask a person to contact Pipedrive support"
                    .to_string(),
            )),
            _ => None,
        }
    }
}

fn is_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let typed = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    typed.contains("text/html") || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;
    use http::HeaderValue;
    use zveno_connector::ErrorKind;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T23:30:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_full_window_waits_for_its_reset_and_an_open_one_means_the_daily_budget() {
        let ledger = Arc::new(TokenLedger::new(30_000, 10, NaiveTime::MIN));
        let c = PipedriveClassifier::new(ledger.clone());
        let burst = headers(&[("x-ratelimit-limit", "20"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")]);
        let Some(Verdict::Throttled { retry_after, .. }) =
            c.classify(StatusCode::TOO_MANY_REQUESTS, &burst, b"{}", now())
        else {
            panic!("throttled expected");
        };
        assert_eq!(retry_after, Some(Duration::from_secs(1)));
        assert!(ledger.allow(1, now()).is_ok(), "a burst 429 is not the daily budget");
        let daily = headers(&[("x-ratelimit-remaining", "19"), ("x-ratelimit-reset", "2")]);
        let Some(Verdict::Throttled { retry_after, reason, .. }) =
            c.classify(StatusCode::TOO_MANY_REQUESTS, &daily, br#"{"success":false}"#, now())
        else {
            panic!("throttled expected");
        };
        assert_eq!(retry_after, Some(Duration::from_secs(1800)));
        assert!(reason.contains("daily token budget"), "{reason}");
        assert!(ledger.allow(1, now()).is_err_and(|e| matches!(e.kind(), ErrorKind::RateLimited { .. })));
    }

    #[test]
    fn a_429_without_headers_waits_one_window_and_html_403_is_an_abuse_block() {
        let c = PipedriveClassifier::new(Arc::new(TokenLedger::new(1, 0, NaiveTime::MIN)));
        let Some(Verdict::Throttled { retry_after, .. }) =
            c.classify(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"", now())
        else {
            panic!("throttled expected");
        };
        assert_eq!(retry_after, Some(BURST_WINDOW));
        let html = headers(&[("content-type", "text/html; charset=UTF-8")]);
        assert!(matches!(c.classify(StatusCode::FORBIDDEN, &html, b"<!DOCTYPE html>", now()), Some(Verdict::Auth(_))));
        assert_eq!(c.classify(StatusCode::FORBIDDEN, &HeaderMap::new(), br#"{"success":false}"#, now()), None);
        assert_eq!(c.classify(StatusCode::OK, &HeaderMap::new(), b"{}", now()), None);
    }

    #[test]
    fn the_window_headers_are_read_leniently() {
        assert_eq!(
            burst_window(&headers(&[("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", "0.5")])),
            Some((3, Duration::from_millis(500)))
        );
        assert_eq!(burst_window(&headers(&[("x-ratelimit-remaining", "0")])), Some((0, BURST_WINDOW)));
        assert_eq!(burst_window(&HeaderMap::new()), None);
    }
}
