//! How Bitrix24 says "slow down", "stop" and "broken", read for the shared HTTP client.
//!
//! Plain HTTP semantics get Bitrix24 wrong in four places
//! (<https://apidocs.bitrix24.com/limits.html>, vendor note §8):
//! - the leaky bucket answers **503** `QUERY_LIMIT_EXCEEDED`, not 429, and sends no
//!   `Retry-After`: it is throttling, waited out with a growing pause;
//! - a blocked portal sometimes answers a 5xx with an **HTML** page: waited out like
//!   throttling, but it may come from a gateway *after* the portal ran the request, so it is
//!   [`Verdict::Overloaded`]: a batch that creates records is never resent on it;
//! - **503** `OVERLOAD_LIMIT` is a manual block by Bitrix24 support: retrying only digs deeper,
//!   so it stops the connector (as an auth-kind error, which the scheduler never retries)
//!   until a person talks to support;
//! - a 200 whose body is a proxy's HTML page is not a success: it is retried (for reads)
//!   instead of failing the page on a JSON error. A body cut off in transit is the shared
//!   client's business: it parses every answer once and retries what is not whole JSON.
//!
//! Only error answers are parsed here (for their `error` code): a 200 batch answer is read
//! once, by the client, into its final type.
//!
//! `429 OPERATION_TIME_LIMIT` (a method over its execution-time budget) is throttling as well;
//! the connector only calls methods through `batch`, where that limit shows up per command in
//! `result_error` and is handled by pausing the method's own bucket (see `client`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use zveno_connector::http::{body_snippet, ResponseClassifier, Verdict};

use crate::dto::ApiError;

/// The first pause after a `QUERY_LIMIT_EXCEEDED`: one second drains two requests' worth
/// of the bucket, enough when the overflow came from a short burst of another client.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause: while the bucket stays full (another integration hammering the same
/// portal from this IP), pauses double up to this.
const MAX_PAUSE: Duration = Duration::from_secs(32);
/// The wait for a direct call blocked by `OPERATION_TIME_LIMIT` when nothing better is known:
/// the operating time is kept in one-minute baskets, so the next basket is a minute away.
pub const OPERATING_PAUSE: Duration = Duration::from_secs(60);

/// Bitrix24's reading of responses. It counts consecutive throttling answers so that the
/// pause grows while the bucket stays full (the vendor: "retry with increasing delays").
#[derive(Debug, Default)]
pub struct Bitrix24Classifier {
    consecutive_throttles: AtomicU32,
}

fn is_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let declared = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    let looks = body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'<');
    declared || looks
}

fn api_error(body: &[u8]) -> Option<ApiError> {
    serde_json::from_slice::<ApiError>(body).ok().filter(|e| !e.error.is_empty() || !e.error_description.is_empty())
}

impl Bitrix24Classifier {
    fn throttled(&self, retry_after: Option<Duration>, reason: String) -> Verdict {
        Verdict::Throttled {
            retry_after: Some(retry_after.unwrap_or_else(|| self.growing())),
            whole_bucket: true,
            reason,
        }
    }

    /// The next pause while the portal keeps refusing: 1 s, 2 s, 4 s, ... up to 32 s.
    fn growing(&self) -> Duration {
        let n = self.consecutive_throttles.fetch_add(1, Ordering::Relaxed);
        FIRST_PAUSE.saturating_mul(1 << n.min(6)).min(MAX_PAUSE)
    }
}

impl ResponseClassifier for Bitrix24Classifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8], _now: DateTime<Utc>) -> Option<Verdict> {
        let code = status.as_u16();
        let error = if status.is_success() { None } else { api_error(body) };
        let error_code = error.as_ref().map(|e| e.error.as_str()).unwrap_or("");
        let verdict = match (code, error_code) {
            (503, "QUERY_LIMIT_EXCEEDED") => {
                Some(self.throttled(None, "503 QUERY_LIMIT_EXCEEDED: the portal's request bucket is full".to_string()))
            }
            (429, "OPERATION_TIME_LIMIT") => Some(self.throttled(
                Some(OPERATING_PAUSE),
                "429 OPERATION_TIME_LIMIT: the method used up its execution time".to_string(),
            )),
            (503, "OVERLOAD_LIMIT") => Some(Verdict::Auth(
                "503 OVERLOAD_LIMIT: Bitrix24 support has blocked REST calls to this portal; \
                 ask Bitrix24 support to lift the block"
                    .to_string(),
            )),
            (500, "PORTAL_DELETED") => Some(Verdict::NotFound(
                "500 PORTAL_DELETED: the portal was deleted or its public part is closed".to_string(),
            )),
            (500..=599, _) if is_html(headers, body) => Some(Verdict::Overloaded {
                retry_after: Some(self.growing()),
                reason: format!("HTTP {code} with an HTML page (Bitrix24 blocking): {}", body_snippet(body)),
            }),
            (200..=299, _) if is_html(headers, body) => Some(Verdict::Transient(format!(
                "HTTP {code} with an HTML page instead of JSON: {}",
                body_snippet(body)
            ))),
            _ => None,
        };
        if !matches!(verdict, Some(Verdict::Throttled { .. } | Verdict::Overloaded { .. })) {
            self.consecutive_throttles.store(0, Ordering::Relaxed);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(c: &Bitrix24Classifier, status: u16, content_type: &str, body: &str) -> Option<Verdict> {
        let mut headers = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(content_type) {
            headers.insert(http::header::CONTENT_TYPE, v);
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        c.classify(status, &headers, body.as_bytes(), Utc::now())
    }

    fn wait(v: Option<Verdict>) -> Option<Duration> {
        v.and_then(|v| match v {
            Verdict::Throttled { retry_after, .. } | Verdict::Overloaded { retry_after, .. } => retry_after,
            _ => None,
        })
    }

    const LIMIT: &str = r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#;

    #[test]
    fn query_limit_503_is_throttling_with_a_growing_pause_reset_by_success() {
        let c = Bitrix24Classifier::default();
        let json = "application/json";
        assert_eq!(wait(classify(&c, 503, json, LIMIT)), Some(Duration::from_secs(1)));
        assert_eq!(wait(classify(&c, 503, json, LIMIT)), Some(Duration::from_secs(2)));
        assert_eq!(wait(classify(&c, 503, json, LIMIT)), Some(Duration::from_secs(4)));
        assert_eq!(classify(&c, 200, json, r#"{"result":[]}"#), None);
        assert_eq!(wait(classify(&c, 503, json, LIMIT)), Some(Duration::from_secs(1)));
        for _ in 0..10 {
            classify(&c, 503, json, LIMIT);
        }
        assert_eq!(wait(classify(&c, 503, json, LIMIT)), Some(MAX_PAUSE));
    }

    #[test]
    fn html_on_a_5xx_is_overloaded_but_a_json_5xx_is_left_to_http_semantics() {
        let c = Bitrix24Classifier::default();
        let page = "<html><body>503 Service Temporarily Unavailable</body></html>";
        assert!(matches!(classify(&c, 503, "text/html", page), Some(Verdict::Overloaded { .. })));
        assert_eq!(wait(classify(&c, 502, "", page)), Some(Duration::from_secs(2)), "the pause grows");
        assert_eq!(classify(&c, 500, "application/json", r#"{"error":"INTERNAL_SERVER_ERROR"}"#), None);
    }

    #[test]
    fn operation_time_limit_waits_for_the_next_basket() {
        let c = Bitrix24Classifier::default();
        let body =
            r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#;
        assert_eq!(wait(classify(&c, 429, "application/json", body)), Some(OPERATING_PAUSE));
    }

    #[test]
    fn manual_blocks_and_deleted_portals_stop_instead_of_retrying() {
        let c = Bitrix24Classifier::default();
        let overload = r#"{"error":"OVERLOAD_LIMIT","error_description":"REST API is blocked due to overload."}"#;
        assert!(matches!(classify(&c, 503, "application/json", overload), Some(Verdict::Auth(_))));
        let deleted = r#"{"error":"PORTAL_DELETED","error_description":"Portal was deleted"}"#;
        assert!(matches!(classify(&c, 500, "application/json", deleted), Some(Verdict::NotFound(_))));
    }

    #[test]
    fn an_html_200_is_transient_and_json_200s_are_left_to_the_client() {
        let c = Bitrix24Classifier::default();
        assert!(matches!(classify(&c, 200, "text/html", "<html>login</html>"), Some(Verdict::Transient(_))));
        // Cut-short bodies are the client's to retry (it parses each answer once).
        assert_eq!(classify(&c, 200, "application/json", r#"{"result":[{"ID":"1""#), None);
        // A 200 is never parsed for an error code, even when it looks like one.
        assert_eq!(classify(&c, 200, "application/json", LIMIT), None);
    }
}
