//! Typed calls to Jira REST v3 over the shared [`HttpClient`].
//!
//! This module knows paths, methods, bodies and idempotency; the shared client owns rate
//! limiting, retries, timeouts and redaction. Jira's throttling signals are read by
//! [`JiraClassifier`]: every 429 names its limiter in `RateLimit-Reason` and says how long
//! to wait in `Retry-After` (or `X-RateLimit-Reset`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use zveno_connector::http::{
    retry_after, BasicAuth, Call, HttpClient, HttpStats, RateLimit, Response, ResponseClassifier, VendorHttp, Verdict,
};
use zveno_connector::{BuildContext, ConnectorError, Redactor};

use crate::config::Settings;
use crate::dto::{
    BulkCreated, BulkFetchRequest, BulkFetchResponse, Myself, ReturnedIssue, SearchRequest, SearchResponse,
    Transitions, UserRef,
};

/// The one rate-limit bucket every Jira call spends. 10 requests/s by default: Jira's
/// burst limit (~100 rps per tenant) is shared by every app and user of the site, so a
/// background sync takes a small slice. Raise it with `rate_limits.default`.
pub fn default_rate_limits() -> BTreeMap<String, RateLimit> {
    BTreeMap::from([("default".to_string(), RateLimit::new(10, 1))])
}

/// Reads Jira 429s: the wait comes from `Retry-After` (falling back to `X-RateLimit-Reset`),
/// and only per-issue write limits leave other requests alone.
#[derive(Debug, Default)]
pub struct JiraClassifier;

impl ResponseClassifier for JiraClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Option<Verdict> {
        // A bulk create whose every element failed answers 400 with the usual bulk body:
        // it is an answer (nothing was created), and its per-element errors are kept.
        if status == StatusCode::BAD_REQUEST
            && serde_json::from_slice::<crate::dto::BulkCreated>(body).is_ok_and(|b| !b.errors.is_empty())
        {
            return Some(Verdict::Success);
        }
        if status != StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        let reason = headers.get("ratelimit-reason").and_then(|v| v.to_str().ok()).unwrap_or("unspecified").to_string();
        Some(Verdict::Throttled {
            retry_after: retry_after(headers, now),
            // https://developer.atlassian.com/cloud/jira/platform/rate-limiting/: a per-issue
            // write limit concerns that issue only; burst and quota limits the whole site.
            whole_bucket: reason != "jira-per-issue-on-write",
            reason: format!("HTTP 429 ({reason})"),
        })
    }
}

/// A Jira site's REST API.
#[derive(Debug, Clone)]
pub struct JiraClient {
    http: HttpClient,
    base: url::Url,
}

impl JiraClient {
    /// A client for `settings`, authenticating with Basic e-mail + API token.
    pub fn new(settings: &Settings, ctx: &BuildContext) -> Result<Self, ConnectorError> {
        let vendor = VendorHttp {
            rate_limits: default_rate_limits(),
            classifier: Arc::new(JiraClassifier),
            auth: Arc::new(BasicAuth { user: settings.email.clone(), password: settings.token.clone() }),
            redactor: Redactor::new([settings.token.clone()]),
        };
        let http = HttpClient::new(&ctx.name, vendor, &ctx.rate_limits, ctx.http, ctx.clock.clone())?;
        Ok(Self { http, base: settings.api_base.clone() })
    }

    /// The HTTP client: request counters, and the vendor's clock its answers tell
    /// ([`HttpClient::vendor_now`]), which incremental windows and watermarks follow.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Request counters.
    pub fn stats(&self) -> HttpStats {
        self.http.stats()
    }

    fn url(&self, path: &str) -> Result<url::Url, ConnectorError> {
        self.base.join(path).map_err(|e| ConnectorError::config(format!("bad API path {path}: {e}")))
    }

    /// `GET /rest/api/3/myself`: who the token is, and the zone JQL dates are read in.
    pub async fn myself(&self) -> Result<Myself, ConnectorError> {
        let response = self.http.send(Call::get(self.url("rest/api/3/myself")?)).await?;
        parse(&response)
    }

    /// `POST /rest/api/3/search/jql`: one page of the enhanced search. A search changes
    /// nothing, so it is safe to resend.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResponse, ConnectorError> {
        let body =
            serde_json::to_value(request).map_err(|e| ConnectorError::invalid_data(format!("search request: {e}")))?;
        let call = Call::post_json(self.url("rest/api/3/search/jql")?, &body).idempotent(true);
        parse(&self.http.send(call).await?)
    }

    /// `POST /rest/api/3/issue/bulkfetch`: up to 100 issues by id or key, read live (no
    /// search lag). A read, so safe to resend.
    pub async fn bulk_fetch(&self, request: &BulkFetchRequest) -> Result<BulkFetchResponse, ConnectorError> {
        let body = serde_json::to_value(request)
            .map_err(|e| ConnectorError::invalid_data(format!("bulk fetch request: {e}")))?;
        let call = Call::post_json(self.url("rest/api/3/issue/bulkfetch")?, &body).idempotent(true);
        parse(&self.http.send(call).await?)
    }

    /// `POST /rest/api/3/issue/bulk`: creates up to 50 issues. Not idempotent: Jira has no
    /// idempotency key, so a create that timed out is reported, never resent.
    pub async fn bulk_create(&self, issues: Vec<Value>) -> Result<BulkCreated, ConnectorError> {
        let updates: Vec<Value> = issues.into_iter().map(|f| json!({"fields": f})).collect();
        let call = Call::post_json(self.url("rest/api/3/issue/bulk")?, &json!({"issueUpdates": updates}));
        parse(&self.http.send(call).await?)
    }

    /// `PUT /rest/api/3/issue/{id}?returnIssue=true&expand=transitions`: edits fields and
    /// returns the issue with its current status and available transitions, so a status
    /// change needs no extra read.
    pub async fn update(&self, id: &str, body: &Value) -> Result<ReturnedIssue, ConnectorError> {
        let mut url = self.url(&format!("rest/api/3/issue/{}", segment(id)))?;
        url.query_pairs_mut().append_pair("returnIssue", "true").append_pair("expand", "transitions");
        let response = self.http.send(Call::new(Method::PUT, url).json(body)).await?;
        parse(&response)
    }

    /// `GET /rest/api/3/issue/{id}/editmeta`: the fields the issue's edit screen holds.
    pub async fn edit_meta(&self, id: &str) -> Result<crate::dto::EditMeta, ConnectorError> {
        let url = self.url(&format!("rest/api/3/issue/{}/editmeta", segment(id)))?;
        parse(&self.http.send(Call::get(url)).await?)
    }

    /// `GET /rest/api/3/issue/{id}/transitions`.
    pub async fn transitions(&self, id: &str) -> Result<Transitions, ConnectorError> {
        let url = self.url(&format!("rest/api/3/issue/{}/transitions", segment(id)))?;
        parse(&self.http.send(Call::get(url)).await?)
    }

    /// `POST /rest/api/3/issue/{id}/transitions` with `{"transition": {"id": ...}}`.
    /// Resending is safe: a second attempt of a done transition fails, it does not
    /// move the issue twice.
    pub async fn transition(&self, id: &str, transition_id: &str) -> Result<(), ConnectorError> {
        let url = self.url(&format!("rest/api/3/issue/{}/transitions", segment(id)))?;
        let body = json!({"transition": {"id": transition_id}});
        self.http.send(Call::post_json(url, &body).idempotent(true)).await?;
        Ok(())
    }

    /// `GET /rest/api/3/user/search?query=<email>`: users matching an e-mail.
    pub async fn find_users(&self, query: &str) -> Result<Vec<UserRef>, ConnectorError> {
        let mut url = self.url("rest/api/3/user/search")?;
        url.query_pairs_mut().append_pair("query", query);
        parse(&self.http.send(Call::get(url)).await?)
    }
}

/// An issue id or key as one URL path segment.
fn segment(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// Parses a body ([`Response::parse_json`]: cut short is transient, the wrong shape is
/// invalid data; the excerpt quoted is masked with this instance's secrets).
fn parse<T: DeserializeOwned>(response: &Response) -> Result<T, ConnectorError> {
    response.parse_json()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn burst_429s_block_the_bucket_for_retry_after() {
        let h =
            headers(&[("retry-after", "5"), ("ratelimit-reason", "jira-burst-based"), ("x-ratelimit-limit", "100")]);
        let verdict = JiraClassifier.classify(StatusCode::TOO_MANY_REQUESTS, &h, b"", Utc::now());
        assert_eq!(
            verdict,
            Some(Verdict::Throttled {
                retry_after: Some(std::time::Duration::from_secs(5)),
                whole_bucket: true,
                reason: "HTTP 429 (jira-burst-based)".into()
            })
        );
    }

    #[test]
    fn per_issue_write_limits_do_not_stop_other_requests() {
        let h = headers(&[("retry-after", "2"), ("ratelimit-reason", "jira-per-issue-on-write")]);
        let verdict = JiraClassifier.classify(StatusCode::TOO_MANY_REQUESTS, &h, b"", Utc::now());
        assert!(matches!(verdict, Some(Verdict::Throttled { whole_bucket: false, .. })));
        assert_eq!(JiraClassifier.classify(StatusCode::OK, &h, b"", Utc::now()), None);
    }

    #[test]
    fn quota_429s_without_retry_after_wait_for_the_reset() {
        let now =
            DateTime::parse_from_rfc3339("2026-03-02T10:15:00Z").map(|d| d.with_timezone(&Utc)).unwrap_or_default();
        let h = headers(&[("x-ratelimit-reset", "2026-03-02T11:00Z"), ("ratelimit-reason", "jira-quota-tenant-based")]);
        let verdict = JiraClassifier.classify(StatusCode::TOO_MANY_REQUESTS, &h, b"", now);
        assert!(matches!(
            verdict,
            Some(Verdict::Throttled { retry_after: Some(w), whole_bucket: true, .. })
                if w == std::time::Duration::from_secs(45 * 60)
        ));
    }

    #[test]
    fn path_segments_cannot_escape_the_issue_path() {
        assert_eq!(segment("OPS-12"), "OPS-12");
        assert_eq!(segment("../../admin?x=1"), "adminx1");
    }
}
