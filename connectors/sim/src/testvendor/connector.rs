//! [`TestVendorConnector`]: pages, cursors and writes against the test vendor's API.
//!
//! **Full** pulls page by id (`after=<id>`): a keyset never skips or repeats while records
//! change. The scan remembers when it started; when it completes, that instant (minus a
//! minute of safety for clock differences) becomes the incremental watermark, because
//! everything changed before it was read by the scan.
//!
//! **Incremental** pulls page by `(updated_ms, id)` from the watermark (`updated_since=W`,
//! `after=<ms>:<id>`), then read `?deleted=true` the same way for tombstones. The watermark
//! only advances with records actually returned, page by page, so a crash between pages
//! resumes exactly. A finished run's cursor restarts at `updated_since = last updated_ms`
//! *inclusive*: records sharing that millisecond are re-read (idempotent upserts) rather than
//! risk missing one updated in the same millisecond with a lower id.
//!
//! The connector never sleeps or retries: the shared [`HttpClient`] does. A body cut short
//! in transit (truncated JSON) is reported as transient, so the engine retries the page; a
//! body that is complete but not the expected shape is invalid data.

use async_trait::async_trait;
use http::Method;
use phonenumber::country::Id as Region;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zveno_connector::http::{body_snippet, Call, HttpClient, HttpStats, Response};
use zveno_connector::{
    Capabilities, Connector, ConnectorError, Cursor, DeleteDetection, ErrorKind, Fetched, Kind, Page, RecordError,
    SourceRecord, SyncMode, WriteAction, WriteError, WriteOp, WriteOutcome,
};

use super::mapping::{self, MapContext};
use super::wire::{kind_path, HANDLE_FIELD};
use super::{MAX_READ, VENDOR};

/// How far before a full scan's start the next incremental run begins, in milliseconds.
const SCAN_SAFETY_MS: i64 = 60_000;

/// A configured test vendor instance.
#[derive(Debug)]
pub struct TestVendorConnector {
    name: String,
    base_url: url::Url,
    http: HttpClient,
    page_size: usize,
    region: Option<Region>,
    kinds: Vec<Kind>,
}

/// The cursor: opaque to the engine, JSON between pages and runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct CursorState {
    /// Incremental runs read records updated at or after this (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    watermark_ms: Option<i64>,
    /// Incremental runs read deletions at or after this (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    deletes_watermark_ms: Option<i64>,
    /// The run in progress, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<Run>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Run {
    /// A full scan, after id `after_id`, started at `started_ms`.
    Scan { after_id: u64, started_ms: i64 },
    /// An incremental run reading changes, after `(after_ms, after_id)`.
    Changes { after_ms: i64, after_id: u64 },
    /// An incremental run reading deletions, after `(after_ms, after_id)` if set.
    Deletes { after: Option<(i64, u64)> },
}

/// One list response: its items and the server's `next`.
struct ListPage {
    items: Vec<Value>,
    next: Value,
}

impl TestVendorConnector {
    pub(super) fn new(
        name: String,
        base_url: url::Url,
        http: HttpClient,
        page_size: usize,
        region: Option<Region>,
        kinds: Vec<Kind>,
    ) -> Self {
        Self { name, base_url, http, page_size, region, kinds }
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<url::Url, ConnectorError> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| ConnectorError::config(format!("base_url {} cannot hold a path", self.base_url)))?
            .pop_if_empty()
            .push("v1")
            .extend(segments);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn map_context(&self) -> MapContext<'_> {
        MapContext { connector: &self.name, base_url: self.base_url.as_str(), region: self.region }
    }

    async fn get_list(&self, kind: Kind, query: &[(&str, String)]) -> Result<ListPage, ConnectorError> {
        let response = self.http.send(Call::get(self.url(&[kind_path(kind)], query)?)).await?;
        let body = parse_body(&response)?;
        let Value::Object(mut obj) = body else {
            return Err(shape_error(&response, "expected a JSON object"));
        };
        let items = match obj.remove("items") {
            Some(Value::Array(items)) => items,
            _ => return Err(shape_error(&response, "expected an `items` array")),
        };
        let next = obj.remove("next").unwrap_or(Value::Null);
        Ok(ListPage { items, next })
    }

    fn limit(&self) -> (&'static str, String) {
        ("limit", self.page_size.to_string())
    }

    fn map_items(&self, kind: Kind, items: &[Value], tombstones: bool) -> (Vec<SourceRecord>, Vec<RecordError>) {
        let cx = self.map_context();
        let mut records = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for item in items {
            let mapped =
                if tombstones { mapping::map_tombstone(kind, item, &cx) } else { mapping::map_record(kind, item, &cx) };
            match mapped {
                Ok(r) => records.push(r),
                Err(e) => errors.push(e),
            }
        }
        (records, errors)
    }

    /// One page of a full scan by id.
    async fn scan(&self, kind: Kind, mut state: CursorState) -> Result<Page, ConnectorError> {
        let (after, started_ms) = match state.run {
            Some(Run::Scan { after_id, started_ms }) => (Some(after_id), Some(started_ms)),
            _ => (None, None),
        };
        let mut query = vec![self.limit()];
        if let Some(after) = after {
            query.push(("after", after.to_string()));
        }
        let page = self.get_list(kind, &query).await?;
        // The scan's start on the vendor's clock, read once its first answer told it (see
        // `HttpClient::vendor_now`): a daemon clock running ahead would put the watermark
        // after changes the scan did not see. The page was served a moment before; the
        // watermark's minute of safety covers that.
        let started_ms = started_ms.unwrap_or_else(|| self.http.vendor_now().timestamp_millis());
        let (records, errors) = self.map_items(kind, &page.items, false);
        let more = match &page.next {
            Value::Null => {
                let floor = started_ms - SCAN_SAFETY_MS;
                state.watermark_ms = Some(state.watermark_ms.map_or(floor, |w| w.max(floor)));
                state.run = None;
                false
            }
            next => {
                let next_id = next.as_u64().filter(|n| after.is_none_or(|a| *n > a)).ok_or_else(|| {
                    ConnectorError::invalid_data(format!(
                        "{VENDOR} {kind} list: `next` {next} is not an id after {after:?}"
                    ))
                })?;
                state.run = Some(Run::Scan { after_id: next_id, started_ms });
                true
            }
        };
        Ok(Page { records, errors, cursor: Cursor::encode(&state)?, more })
    }

    /// One page of an incremental run's changes.
    async fn changes(&self, kind: Kind, mut state: CursorState) -> Result<Page, ConnectorError> {
        let after = match state.run {
            Some(Run::Changes { after_ms, after_id }) => Some((after_ms, after_id)),
            _ => None,
        };
        let since = state.watermark_ms.unwrap_or(0);
        let mut query = vec![self.limit(), ("updated_since", since.to_string())];
        if let Some((ms, id)) = after {
            query.push(("after", format!("{ms}:{id}")));
        }
        let page = self.get_list(kind, &query).await?;
        let (records, errors) = self.map_items(kind, &page.items, false);
        match keyset(&page.next, after, kind)? {
            Some((ms, id)) => {
                state.watermark_ms = Some(ms);
                state.run = Some(Run::Changes { after_ms: ms, after_id: id });
            }
            None => {
                let newest = page.items.iter().filter_map(|i| mapping::stamp(i, "updated_ms")).max();
                state.watermark_ms = state.watermark_ms.max(newest);
                state.run = Some(Run::Deletes { after: None });
            }
        }
        Ok(Page { records, errors, cursor: Cursor::encode(&state)?, more: true })
    }

    /// One page of an incremental run's deletions (tombstones).
    async fn deletions(
        &self,
        kind: Kind,
        mut state: CursorState,
        after: Option<(i64, u64)>,
    ) -> Result<Page, ConnectorError> {
        let since = state.deletes_watermark_ms.unwrap_or(0);
        let mut query = vec![self.limit(), ("deleted", "true".to_string()), ("updated_since", since.to_string())];
        if let Some((ms, id)) = after {
            query.push(("after", format!("{ms}:{id}")));
        }
        let page = self.get_list(kind, &query).await?;
        let (records, errors) = self.map_items(kind, &page.items, true);
        let more = match keyset(&page.next, after, kind)? {
            Some((ms, id)) => {
                state.deletes_watermark_ms = Some(ms);
                state.run = Some(Run::Deletes { after: Some((ms, id)) });
                true
            }
            None => {
                let newest = page.items.iter().filter_map(|i| mapping::stamp(i, "deleted_ms")).max();
                state.deletes_watermark_ms = state.deletes_watermark_ms.max(newest);
                state.run = None;
                false
            }
        };
        Ok(Page { records, errors, cursor: Cursor::encode(&state)?, more })
    }

    fn readable(&self, kind: Kind) -> Result<(), ConnectorError> {
        if self.kinds.contains(&kind) {
            Ok(())
        } else {
            Err(ConnectorError::unsupported(format!(
                "connector {} is not configured to sync {kind} records",
                self.name
            )))
        }
    }

    async fn push_one(&self, kind: Kind, op: &WriteOp) -> Result<String, ConnectorError> {
        let (path, action) = (kind_path(kind), &op.action);
        let call = match action {
            WriteAction::Create { data } | WriteAction::Update { data, .. } if data.kind() != kind => {
                return Err(ConnectorError::invalid_data(format!(
                    "a {} record cannot be written as {kind}",
                    data.kind()
                )));
            }
            WriteAction::Create { data } => {
                let mut body = mapping::to_wire(data, false).map_err(ConnectorError::invalid_data)?;
                if let Value::Object(fields) = &mut body {
                    fields.insert(HANDLE_FIELD.into(), Value::String(op.op_id.clone()));
                }
                Call::post_json(self.url(&[path], &[])?, &body)
            }
            WriteAction::Update { external_id, data } => {
                let body = mapping::to_wire(data, true).map_err(ConnectorError::invalid_data)?;
                // Setting fields to given values is idempotent, so a timed-out PATCH may be resent.
                Call::new(Method::PATCH, self.url(&[path, external_id], &[])?).json(&body).idempotent(true)
            }
            WriteAction::Archive { external_id } => Call::new(Method::DELETE, self.url(&[path, external_id], &[])?),
        };
        match self.http.send(call).await {
            Ok(response) => {
                let body = parse_body(&response)?;
                match body.get("id").and_then(Value::as_u64) {
                    Some(id) => Ok(id.to_string()),
                    None => Err(shape_error(&response, "the answer has no numeric `id`")),
                }
            }
            // Archiving what is already gone (a resend after a lost answer) is success.
            Err(e) if e.kind() == ErrorKind::NotFound => match action {
                WriteAction::Archive { external_id } => Ok(external_id.clone()),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

/// The server's `next` for a `(updated_ms, id)` listing: `None` at the end. A `next` that
/// does not move past `after` would loop forever and is rejected.
fn keyset(next: &Value, after: Option<(i64, u64)>, kind: Kind) -> Result<Option<(i64, u64)>, ConnectorError> {
    if next.is_null() {
        return Ok(None);
    }
    next.as_str()
        .and_then(|s| s.split_once(':'))
        .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.parse::<u64>().ok()?)))
        .filter(|key| after.is_none_or(|a| *key > a))
        .map(Some)
        .ok_or_else(|| {
            ConnectorError::invalid_data(format!(
                "{VENDOR} {kind} list: `next` {next} is not a position after {after:?}"
            ))
        })
}

fn parse_body(response: &Response) -> Result<Value, ConnectorError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        let message = format!("{}: malformed JSON ({e}): {}", response.endpoint(), body_snippet(&response.body));
        // A body that ends mid-value was cut in transit: worth another try.
        if e.is_eof() {
            ConnectorError::transient(message)
        } else {
            ConnectorError::invalid_data(message)
        }
    })
}

fn shape_error(response: &Response, what: &str) -> ConnectorError {
    ConnectorError::invalid_data(format!("{}: {what}: {}", response.endpoint(), body_snippet(&response.body)))
}

#[async_trait]
impl Connector for TestVendorConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn vendor(&self) -> &str {
        VENDOR
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: self.kinds.clone(),
            write: self.kinds.clone(),
            incremental: true,
            deletes: DeleteDetection::Listed,
            page_size: self.page_size,
            floor_page_size: self.page_size,
            write_batch: 1,
            webhooks: false,
        }
    }

    /// The test vendor has one account per server: its host and port.
    fn source(&self) -> Option<String> {
        Some(zveno_connector::host_of(&self.base_url))
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let response = self.http.send(Call::get(self.url(&["me"], &[])?)).await?;
        match parse_body(&response)? {
            Value::Object(_) => Ok(()),
            _ => Err(shape_error(&response, "expected a JSON object")),
        }
    }

    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        self.readable(kind)?;
        let state: CursorState = cursor.decode()?;
        match (mode, &state.run) {
            (SyncMode::Full, _) => self.scan(kind, state).await,
            (SyncMode::Incremental, Some(Run::Deletes { after })) => {
                let after = *after;
                self.deletions(kind, state, after).await
            }
            (SyncMode::Incremental, _) => self.changes(kind, state).await,
        }
    }

    /// `POST /v1/{kind}/read`, [`MAX_READ`] ids a request. The server names the ids it does
    /// not hold; anything else it leaves out is missing too.
    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        self.readable(kind)?;
        let mut fetched = Fetched::default();
        for chunk in zveno_connector::connector::distinct(ids).chunks(MAX_READ) {
            let url = self.url(&[kind_path(kind), "read"], &[])?;
            let call = Call::post_json(url, &serde_json::json!({ "ids": chunk })).idempotent(true);
            let response = self.http.send(call).await?;
            let body = parse_body(&response)?;
            let Some(items) = body.get("items").and_then(Value::as_array) else {
                return Err(shape_error(&response, "expected an `items` array"));
            };
            let (records, errors) = self.map_items(kind, items, false);
            let missing = body
                .get("missing")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            let mut batch = Fetched { records, errors, missing };
            batch.settle_missing(chunk);
            fetched.extend(batch);
        }
        Ok(fetched)
    }

    /// One request per op (the test vendor has no batch endpoint). An op that fails gets a
    /// failed outcome; an auth or throttling failure before anything was written fails the
    /// whole call, so the scheduler can react to its kind.
    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.readable(kind)?;
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            let result = self.push_one(kind, op).await;
            let systemic = matches!(
                result.as_ref().map_err(ConnectorError::kind),
                Err(ErrorKind::Auth | ErrorKind::RateLimited { .. } | ErrorKind::Config)
            );
            match result {
                Err(e) if systemic && outcomes.is_empty() => return Err(e),
                result => {
                    let result = result.map_err(|e| WriteError::from_request(&e));
                    outcomes.push(WriteOutcome { op_id: op.op_id.clone(), result })
                }
            }
        }
        Ok(outcomes)
    }

    /// `GET /v1/{kind}?external_ref=H`: the server filters its live records directly (no
    /// search index, so no lag), and a create it does not list was never made.
    async fn find_created(
        &self,
        kind: Kind,
        handle: &str,
        _sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        self.readable(kind)?;
        let page = self.get_list(kind, &[(HANDLE_FIELD, handle.to_string())]).await?;
        let ids: Vec<u64> = page.items.iter().filter_map(|item| item.get("id").and_then(Value::as_u64)).collect();
        if ids.len() < page.items.len() {
            return Err(ConnectorError::invalid_data(format!("{VENDOR} {kind} look-up: an item without a numeric id")));
        }
        // Two records under one handle would be a duplicate already made: the first is the copy.
        Ok(ids.into_iter().min().map(|id| id.to_string()))
    }

    fn http_stats(&self) -> HttpStats {
        self.http.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_the_start_cursor_is_empty_state() {
        let state = CursorState {
            watermark_ms: Some(5),
            deletes_watermark_ms: None,
            run: Some(Run::Changes { after_ms: 5, after_id: 9 }),
        };
        let cursor = Cursor::encode(&state).unwrap_or_default();
        assert_eq!(
            cursor.0,
            serde_json::json!({"watermark_ms": 5, "run": {"phase": "changes", "after_ms": 5, "after_id": 9}})
        );
        assert_eq!(cursor.decode::<CursorState>().ok(), Some(state));
        assert_eq!(Cursor::default().decode::<CursorState>().ok(), Some(CursorState::default()));
        assert!(Cursor(serde_json::json!({"run": {"phase": "warp"}})).decode::<CursorState>().is_err());
    }

    #[test]
    fn keysets_must_move_forward() {
        let k = |v: Value, after| keyset(&v, after, Kind::Client);
        assert_eq!(k(Value::Null, None).ok(), Some(None));
        assert_eq!(k(serde_json::json!("7:3"), None).ok(), Some(Some((7, 3))));
        assert!(k(serde_json::json!("7:3"), Some((7, 3))).is_err(), "no progress");
        assert!(k(serde_json::json!(12), None).is_err(), "wrong type");
        assert!(k(serde_json::json!("soon"), None).is_err());
    }
}
