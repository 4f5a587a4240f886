//! The test vendor's server: a small bearer-token JSON API on the simulator kit.
//!
//! Every request is checked in the order a real API gateway would: credentials (401, not
//! counted against the rate limit), then the injected `throttle_next`, then the rolling
//! window of [`RATE_LIMIT`] (429 with `Retry-After` in whole seconds). Lists page by keyset
//! only, so paging stays exact while records change underneath.

use crate::conformance::SimControls;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use zveno_connector::Kind;

use super::store::{Listing, Order, Table};
use super::wire::{self, kind_path, path_kind};
use crate::kit::{Endpoint, Kit, RollingWindow, SimServer, Throttled};
use crate::world::SystemData;

/// The vendor's limit: 100 requests in any rolling 10 seconds, per token.
pub const RATE_LIMIT: (usize, Duration) = (100, Duration::from_secs(10));

/// The largest page the API returns; larger `limit`s are clamped, as most vendors do.
pub const MAX_PAGE: usize = 500;

/// The most ids one `POST /v1/{kind}/read` takes; more is a 400.
pub const MAX_READ: usize = 100;

/// A running (or routable) test vendor: the handle tests use to change its data and inject
/// throttling. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct TestVendorSim {
    inner: Arc<SimState>,
}

#[derive(Debug)]
struct SimState {
    token: String,
    kit: Kit,
    window: RollingWindow,
    throttle_next: Mutex<Option<Duration>>,
    writes: AtomicU64,
    tables: Mutex<HashMap<Kind, Table>>,
    me: Value,
}

impl TestVendorSim {
    /// A simulator holding `data`, accepting `token`, on `kit`'s clock and faults.
    pub fn new(data: &SystemData, kit: Kit, token: &str) -> Self {
        let tables = wire::render(data).into_iter().map(|(kind, records)| (kind, Table::new(records))).collect();
        let me = match data.users.first() {
            Some(u) => json!({"id": u.id, "email": u.email, "account": "zveno test vendor"}),
            None => json!({"id": 0, "email": null, "account": "zveno test vendor"}),
        };
        let window = RollingWindow::new(RATE_LIMIT.0, RATE_LIMIT.1, kit.clock().clone());
        Self {
            inner: Arc::new(SimState {
                token: token.to_string(),
                kit,
                window,
                throttle_next: Mutex::new(None),
                writes: AtomicU64::new(0),
                tables: Mutex::new(tables),
                me,
            }),
        }
    }

    /// The routes, without a socket (tests can call them with `tower::ServiceExt`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/me", get(me))
            .route("/v1/{kind}", get(list).post(create))
            .route("/v1/{kind}/read", axum::routing::post(read))
            .route("/v1/{kind}/{id}", axum::routing::patch(update).delete(remove))
            .with_state(self.clone())
    }

    /// Serves the routes on `127.0.0.1:0`.
    pub async fn serve(&self) -> std::io::Result<SimServer> {
        SimServer::start(self.router(), self.inner.kit.clone()).await
    }

    /// The bearer token the simulator accepts.
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    /// Ids of the live records of `kind`, ascending: the ground truth a store is checked
    /// against.
    pub fn live_ids(&self, kind: Kind) -> Vec<String> {
        self.tables().get(&kind).map(|t| t.ids().iter().map(u64::to_string).collect()).unwrap_or_default()
    }

    /// The idempotency handle ([`wire::HANDLE_FIELD`]) of each live record of `kind` that
    /// has one: a handle listed twice is a duplicate create.
    pub fn handles(&self, kind: Kind) -> Vec<String> {
        let tables = self.tables();
        let Some(table) = tables.get(&kind) else { return Vec::new() };
        table
            .ids()
            .into_iter()
            .filter_map(|id| table.get(id)?.get(wire::HANDLE_FIELD)?.as_str().map(str::to_string))
            .collect()
    }

    /// Makes the next authenticated request answer 429 with `Retry-After` of `wait`
    /// (rounded up to whole seconds, as the header carries); returns that header's wait.
    pub fn throttle_next(&self, wait: Duration) -> Duration {
        let secs = retry_after_secs(wait);
        *self.inner.throttle_next.lock().unwrap_or_else(PoisonError::into_inner) = Some(wait);
        Duration::from_secs(secs)
    }

    /// Deletes record `id` of `kind` (it leaves the lists and joins `?deleted=true`).
    pub fn delete(&self, kind: Kind, id: u64) -> bool {
        let now = self.now_ms();
        self.tables().get_mut(&kind).is_some_and(|t| t.delete(id, now))
    }

    fn tables(&self) -> MutexGuard<'_, HashMap<Kind, Table>> {
        self.inner.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> i64 {
        self.inner.kit.clock().now().timestamp_millis()
    }

    /// Credentials, injected throttling, then the rate limit: the answer to send instead
    /// of serving the request, if any.
    fn reject(&self, headers: &HeaderMap, endpoint: &str) -> Option<Response> {
        let presented =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if presented != Some(self.inner.token.as_str()) {
            let mut response = reply(
                endpoint,
                StatusCode::UNAUTHORIZED,
                json!({"error": "unauthorized", "message": "missing or invalid bearer token"}),
            );
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Some(response);
        }
        let injected = self.inner.throttle_next.lock().unwrap_or_else(PoisonError::into_inner).take();
        let wait = match injected {
            Some(wait) => Some(wait),
            None => self.inner.window.try_acquire().err(),
        };
        wait.map(|wait| throttled(endpoint, wait))
    }
}

fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn reply(endpoint: &str, status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(Endpoint(endpoint.to_string()));
    response
}

fn error(endpoint: &str, status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        _ => "invalid_request",
    };
    reply(endpoint, status, json!({"error": code, "message": message}))
}

fn throttled(endpoint: &str, wait: Duration) -> Response {
    let secs = retry_after_secs(wait);
    let mut response = reply(
        endpoint,
        StatusCode::TOO_MANY_REQUESTS,
        json!({"error": "rate_limited", "message": format!("rate limit exceeded, retry in {secs} s")}),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_str(&secs.to_string()).unwrap_or(HeaderValue::from_static("1")));
    response.extensions_mut().insert(Throttled);
    response
}

async fn me(State(sim): State<TestVendorSim>, headers: HeaderMap) -> Response {
    if let Some(r) = sim.reject(&headers, "me") {
        return r;
    }
    reply("me", StatusCode::OK, sim.inner.me.clone())
}

async fn list(
    State(sim): State<TestVendorSim>,
    Path(segment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(kind) = path_kind(&segment) else {
        return error("list", StatusCode::NOT_FOUND, "no such collection");
    };
    let deleted = query.get("deleted").is_some_and(|v| v == "true");
    let endpoint = if deleted { format!("list deleted {segment}") } else { format!("list {segment}") };
    if let Some(r) = sim.reject(&headers, &endpoint) {
        return r;
    }
    // A look-up by idempotency handle: every live match, on one page (read-after-write,
    // no index lag).
    if let Some(handle) = query.get(wire::HANDLE_FIELD) {
        let items = sim.tables().get(&kind).map(|t| t.find(wire::HANDLE_FIELD, handle)).unwrap_or_default();
        return reply(&endpoint, StatusCode::OK, json!({"items": items, "next": null}));
    }
    let (order, limit) = match parse_list_query(&query) {
        Ok(parsed) => parsed,
        Err(message) => return error(&endpoint, StatusCode::BAD_REQUEST, &message),
    };
    let tables = sim.tables();
    let Listing { items, next } = match tables.get(&kind) {
        Some(t) if deleted => t.list_deleted(order, limit),
        Some(t) => t.list(order, limit),
        None => Listing { items: Vec::new(), next: Value::Null },
    };
    drop(tables);
    reply(&endpoint, StatusCode::OK, json!({"items": items, "next": next}))
}

/// `POST /v1/{kind}/read` with `{"ids": ["1", "2"]}` (at most [`MAX_READ`]): the live
/// records among them, and the ids that are not (deleted, or never existed) in `missing`.
async fn read(
    State(sim): State<TestVendorSim>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(kind) = path_kind(&segment) else {
        return error("read", StatusCode::NOT_FOUND, "no such collection");
    };
    let endpoint = format!("read {}", kind_path(kind));
    if let Some(r) = sim.reject(&headers, &endpoint) {
        return r;
    }
    let ids = match read_body(&body) {
        Ok(ids) => ids,
        Err(message) => return error(&endpoint, StatusCode::BAD_REQUEST, &message),
    };
    let tables = sim.tables();
    let (mut items, mut missing) = (Vec::new(), Vec::new());
    for id in ids {
        match id.parse::<u64>().ok().and_then(|n| tables.get(&kind)?.get(n)) {
            Some(item) => items.push(item),
            None => missing.push(id),
        }
    }
    drop(tables);
    reply(&endpoint, StatusCode::OK, json!({"items": items, "missing": missing}))
}

/// The ids of a read body: `{"ids": [...]}`, strings, at most [`MAX_READ`].
fn read_body(body: &Bytes) -> Result<Vec<String>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let ids = value.get("ids").and_then(Value::as_array).ok_or("body must be {\"ids\": [...]}")?;
    if ids.len() > MAX_READ {
        return Err(format!("at most {MAX_READ} ids per read, got {}", ids.len()));
    }
    ids.iter()
        .map(|id| id.as_str().map(str::to_string).ok_or_else(|| format!("ids must be strings, got {id}")))
        .collect()
}

/// `limit` (1..; clamped to [`MAX_PAGE`]), `updated_since` (epoch ms) and `after` (an id,
/// or `<updated_ms>:<id>` with `updated_since`).
fn parse_list_query(query: &HashMap<String, String>) -> Result<(Order, usize), String> {
    let limit = match query.get("limit") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => return Err(format!("limit must be a positive integer, got {v:?}")),
        },
    };
    let after = query.get("after").map(String::as_str);
    let order = match query.get("updated_since") {
        None => Order::ById {
            after: after
                .map(|a| a.parse::<u64>().map_err(|_| format!("after must be an id, got {a:?}")))
                .transpose()?,
        },
        Some(since) => {
            let since =
                since.parse::<i64>().map_err(|_| format!("updated_since must be epoch milliseconds, got {since:?}"))?;
            let after = after
                .map(|a| {
                    a.split_once(':')
                        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.parse().ok()?)))
                        .ok_or_else(|| format!("after must be <updated_ms>:<id>, got {a:?}"))
                })
                .transpose()?;
            Order::ByUpdated { since, after }
        }
    };
    Ok((order, limit))
}

/// The body of a write: a JSON object whose required field (if any) is a string.
fn write_body(kind: Kind, body: &Bytes, create: bool) -> Result<Map<String, Value>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("body must be a JSON object".into());
    };
    let required = wire::required_field(kind);
    match fields.get(required) {
        Some(Value::String(_)) => {}
        None if !create || kind == Kind::Contact => {}
        Some(other) => return Err(format!("{required} must be a string, got {other}")),
        None => return Err(format!("{required} is required")),
    }
    Ok(fields)
}

async fn create(
    State(sim): State<TestVendorSim>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.inner.writes.fetch_add(1, Ordering::Relaxed);
    let Some(kind) = path_kind(&segment) else {
        return error("create", StatusCode::NOT_FOUND, "no such collection");
    };
    let endpoint = format!("create {}", kind_path(kind));
    if let Some(r) = sim.reject(&headers, &endpoint) {
        return r;
    }
    let fields = match write_body(kind, &body, true) {
        Ok(f) => f,
        Err(message) => return error(&endpoint, StatusCode::BAD_REQUEST, &message),
    };
    let now = sim.now_ms();
    let created = sim.tables().entry(kind).or_default().create(fields, now);
    reply(&endpoint, StatusCode::CREATED, created)
}

async fn update(
    State(sim): State<TestVendorSim>,
    Path((segment, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.inner.writes.fetch_add(1, Ordering::Relaxed);
    let Some(kind) = path_kind(&segment) else {
        return error("update", StatusCode::NOT_FOUND, "no such collection");
    };
    let endpoint = format!("update {}", kind_path(kind));
    if let Some(r) = sim.reject(&headers, &endpoint) {
        return r;
    }
    let fields = match write_body(kind, &body, false) {
        Ok(f) => f,
        Err(message) => return error(&endpoint, StatusCode::BAD_REQUEST, &message),
    };
    let now = sim.now_ms();
    let updated = id.parse::<u64>().ok().and_then(|id| sim.tables().get_mut(&kind)?.update(id, fields, now));
    match updated {
        Some(record) => reply(&endpoint, StatusCode::OK, record),
        None => error(&endpoint, StatusCode::NOT_FOUND, "no such record"),
    }
}

async fn remove(
    State(sim): State<TestVendorSim>,
    Path((segment, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    sim.inner.writes.fetch_add(1, Ordering::Relaxed);
    let Some(kind) = path_kind(&segment) else {
        return error("delete", StatusCode::NOT_FOUND, "no such collection");
    };
    let endpoint = format!("delete {}", kind_path(kind));
    if let Some(r) = sim.reject(&headers, &endpoint) {
        return r;
    }
    match id.parse::<u64>() {
        Ok(id) if sim.delete(kind, id) => reply(&endpoint, StatusCode::OK, json!({"id": id, "deleted": true})),
        _ => error(&endpoint, StatusCode::NOT_FOUND, "no such record"),
    }
}

impl SimControls for TestVendorSim {
    fn kit(&self) -> &Kit {
        &self.inner.kit
    }

    fn count(&self, kind: Kind) -> usize {
        self.tables().get(&kind).map_or(0, Table::len)
    }

    fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        let now = self.now_ms();
        let mut tables = self.tables();
        let Some(table) = tables.get_mut(&kind) else {
            return Vec::new();
        };
        let ids = table.ids();
        let n = n.min(ids.len());
        let picked: Vec<u64> = (0..n).map(|i| ids[i * ids.len() / n.max(1)]).collect();
        for id in &picked {
            table.update(*id, Map::new(), now);
        }
        picked.iter().map(u64::to_string).collect()
    }

    fn corrupt(&self, kind: Kind) -> Option<String> {
        let mut tables = self.tables();
        let table = tables.get_mut(&kind)?;
        let ids = table.ids();
        let id = *ids.get(ids.len() / 2)?;
        table.set_raw(id, wire::required_field(kind), json!(42)).then(|| id.to_string())
    }

    fn writes(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn list_queries_parse_both_keysets_and_reject_garbage() {
        assert_eq!(parse_list_query(&q(&[])), Ok((Order::ById { after: None }, 100)));
        assert_eq!(
            parse_list_query(&q(&[("limit", "9999"), ("after", "12")])),
            Ok((Order::ById { after: Some(12) }, MAX_PAGE))
        );
        assert_eq!(
            parse_list_query(&q(&[("updated_since", "5"), ("after", "7:3")])),
            Ok((Order::ByUpdated { since: 5, after: Some((7, 3)) }, 100))
        );
        for bad in [
            q(&[("limit", "0")]),
            q(&[("after", "x")]),
            q(&[("updated_since", "yesterday")]),
            q(&[("updated_since", "5"), ("after", "12")]),
        ] {
            assert!(parse_list_query(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn write_bodies_need_an_object_with_a_string_required_field() {
        let body = |s: &str| Bytes::from(s.to_string());
        assert!(write_body(Kind::Client, &body(r#"{"name":"Acme"}"#), true).is_ok());
        assert!(write_body(Kind::Client, &body(r#"{"website":"a.com"}"#), false).is_ok());
        assert!(write_body(Kind::Client, &body(r#"{"website":"a.com"}"#), true).is_err());
        assert!(write_body(Kind::Task, &body(r#"{"title":5}"#), false).is_err());
        assert!(write_body(Kind::Task, &body("[1]"), true).is_err());
        assert!(write_body(Kind::Task, &body("{"), true).is_err());
    }

    #[test]
    fn read_bodies_take_up_to_a_hundred_string_ids() {
        let body = |s: String| Bytes::from(s);
        assert_eq!(read_body(&body(r#"{"ids":["1","x"]}"#.into())), Ok(vec!["1".to_string(), "x".to_string()]));
        assert!(read_body(&body(r#"{"ids":[1]}"#.into())).is_err());
        assert!(read_body(&body(r#"{"id":["1"]}"#.into())).is_err());
        let many: Vec<String> = (0..=MAX_READ).map(|i| format!("\"{i}\"")).collect();
        assert!(read_body(&body(format!(r#"{{"ids":[{}]}}"#, many.join(",")))).is_err());
    }
}
