//! Pipedrive's endpoints as typed calls on the shared HTTP client.
//!
//! This module knows paths, query parameters, bodies and what each call costs in tokens;
//! it knows nothing about cursors or the common model. Waiting, retrying, auth and
//! redaction happen in [`zveno_connector::http::HttpClient`]. What is added here: the
//! [`TokenLedger`] is asked before every call and charged after it (per attempt the client
//! made, since Pipedrive charges retries too), and the burst window the answer reports is
//! honoured by blocking the bucket for the rest of the window once it is used up.

mod auth;
pub mod ledger;
pub mod limits;

use std::sync::Arc;

use http::Method;
use serde_json::Value;
use url::Url;
use zveno_connector::http::{Call, HttpClient, HttpStats, Response};
use zveno_connector::ConnectorError;

pub use auth::{ApiToken, Credentials, TOKEN_HEADER};
pub use ledger::{cost, TokenLedger};
pub use limits::{default_rate_limits, PipedriveClassifier, DEFAULT_BUCKET};

use crate::dto::entity::Entity;
use crate::dto::{FieldDto, FieldsResponse, ItemResponse, ListResponse, SearchResponse, UserDto, UsersResponse};

/// The largest page a v2 list serves (and the cheapest way to read: a page costs the same
/// tokens whatever its size).
pub const LIST_LIMIT: u32 = 500;
/// The most ids one `ids=` filter takes.
pub const IDS_LIMIT: usize = 100;

/// The order a v2 list is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// By id: the census and full scans (stable while records change).
    Id,
    /// By `update_time`: incremental runs.
    UpdateTime,
}

impl SortBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::UpdateTime => "update_time",
        }
    }
}

/// One v2 list call (`GET /api/v2/{entity}`), always ascending.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Page size.
    pub limit: u32,
    /// The opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Order.
    pub sort_by: SortBy,
    /// `updated_since` (inclusive), RFC 3339.
    pub updated_since: Option<String>,
    /// `updated_until` (exclusive), RFC 3339.
    pub updated_until: Option<String>,
    /// Only these ids (at most [`IDS_LIMIT`]).
    pub ids: Vec<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            limit: LIST_LIMIT,
            cursor: None,
            sort_by: SortBy::Id,
            updated_since: None,
            updated_until: None,
            ids: Vec::new(),
        }
    }
}

/// Typed Pipedrive calls.
#[derive(Debug, Clone)]
pub struct PipedriveClient {
    http: HttpClient,
    base: Url,
    ledger: Arc<TokenLedger>,
}

impl PipedriveClient {
    /// A client for the company at `base` (`https://api.pipedrive.com/` or a simulator).
    pub fn new(http: HttpClient, base: Url, ledger: Arc<TokenLedger>) -> Self {
        Self { http, base, ledger }
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

    /// The token ledger.
    pub fn ledger(&self) -> &TokenLedger {
        &self.ledger
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, ConnectorError> {
        let mut url =
            self.base.join(path).map_err(|e| ConnectorError::config(format!("bad Pipedrive URL for {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// Sends `call` if the ledger allows `tokens`, charges the attempts made, and blocks the
    /// bucket for the rest of a used-up burst window.
    async fn send(&self, call: Call, tokens: u64) -> Result<Response, ConnectorError> {
        let clock = self.http.clock().clone();
        self.ledger.refresh(clock.now()).await;
        self.ledger.allow(tokens, clock.now())?;
        let before = self.http.stats();
        let result = self.http.send(call).await;
        let made = self.http.stats().since(&before);
        // A throttled attempt was refused before any work, so it is not charged.
        let charged = made.requests.saturating_sub(made.throttled).max(1);
        self.ledger.record(charged.saturating_mul(tokens), clock.now()).await;
        let response = result?;
        if let Some((0, reset)) = limits::burst_window(&response.headers) {
            self.http.limiter().block(DEFAULT_BUCKET, self.http.clamp_wait(reset));
        }
        Ok(response)
    }

    /// One page of a v2 list: its raw records and the next cursor.
    pub async fn list(&self, entity: Entity, q: &ListQuery) -> Result<(Vec<Value>, Option<String>), ConnectorError> {
        let mut query = vec![
            ("limit", q.limit.clamp(1, LIST_LIMIT).to_string()),
            ("sort_by", q.sort_by.as_str().to_string()),
            ("sort_direction", "asc".to_string()),
        ];
        let optional =
            [("cursor", &q.cursor), ("updated_since", &q.updated_since), ("updated_until", &q.updated_until)];
        query.extend(optional.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
        if !q.ids.is_empty() {
            query.push(("ids", q.ids.join(",")));
        }
        let url = self.url(&format!("api/v2/{}", entity.path()), &query)?;
        let page: ListResponse = self.send(Call::get(url), cost::LIST).await?.json()?;
        Ok(page.records())
    }

    /// Every user of the company (`GET /v1/users`, unpaged). Malformed users are skipped
    /// with a log line.
    pub async fn users(&self) -> Result<Vec<UserDto>, ConnectorError> {
        let url = self.url("v1/users", &[])?;
        let answer: UsersResponse = self.send(Call::get(url), cost::USERS).await?.json()?;
        Ok(answer
            .data
            .unwrap_or_default()
            .into_iter()
            .filter_map(|raw| match serde_json::from_value::<UserDto>(raw) {
                Ok(user) => Some(user),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping an unreadable Pipedrive user");
                    None
                }
            })
            .collect())
    }

    /// The ids of `entity` records whose `field` (`custom_fields`, `name`, ...) holds
    /// exactly `term` (`GET /api/v2/{entity}/search`, `exact_match=true`), at most `limit`.
    /// Search goes through Pipedrive's index, which lags behind writes. A read, so resending
    /// is safe.
    pub async fn search_exact(
        &self,
        entity: Entity,
        field: &str,
        term: &str,
        limit: u32,
    ) -> Result<Vec<u64>, ConnectorError> {
        let query = [
            ("term", term.to_string()),
            ("fields", field.to_string()),
            ("exact_match", "true".to_string()),
            ("limit", limit.to_string()),
        ];
        let url = self.url(&format!("api/v2/{}/search", entity.path()), &query)?;
        let answer: SearchResponse = self.send(Call::get(url).idempotent(true), cost::SEARCH).await?.json()?;
        Ok(answer.ids())
    }

    /// Every field of `entity`, custom ones included (`GET /api/v2/{entity}Fields`, paged by
    /// cursor).
    pub async fn fields(&self, entity: Entity) -> Result<Vec<FieldDto>, ConnectorError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", LIST_LIMIT.to_string())];
            query.extend(cursor.take().map(|c| ("cursor", c)));
            let url = self.url(&format!("api/v2/{}Fields", entity.singular()), &query)?;
            let page: FieldsResponse = self.send(Call::get(url), cost::FIELDS).await?.json()?;
            out.extend(page.data.unwrap_or_default());
            match page.additional_data.and_then(|a| a.next_cursor) {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Creates a record (`POST /api/v2/{entity}`); not idempotent.
    pub async fn create(&self, entity: Entity, body: &Value) -> Result<Value, ConnectorError> {
        let url = self.url(&format!("api/v2/{}", entity.path()), &[])?;
        let answer: ItemResponse = self.send(Call::post_json(url, body), cost::CREATE).await?.json()?;
        Ok(answer.data)
    }

    /// Updates a record (`PATCH /api/v2/{entity}/{id}`): setting the same fields twice is
    /// harmless, so it is resent after a timeout.
    pub async fn update(&self, entity: Entity, id: &str, body: &Value) -> Result<Value, ConnectorError> {
        let url = self.url(&format!("api/v2/{}/{id}", entity.path()), &[])?;
        let call = Call::new(Method::PATCH, url).json(body).idempotent(true);
        let answer: ItemResponse = self.send(call, cost::UPDATE).await?.json()?;
        Ok(answer.data)
    }
}
