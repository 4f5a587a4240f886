//! The simulated endpoints: v2 lists (cursor, `limit` ≤ 500, `sort_by`, `sort_direction`,
//! `updated_since` / `updated_until`, `ids`, `owner_id`), v2 single reads, creates and
//! `PATCH` updates, search and the organization field schema ([`super::search`],
//! [`super::fields`]), and the v1 `users` and `recents` zveno and Pipedrive's own clients use.
//! Paths, parameters and JSON shapes follow the vendor note, so the official Node.js client
//! can page through the simulator.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use super::company::{Charge, Company};
use super::store::Row;
use crate::client::{cost, IDS_LIMIT, LIST_LIMIT};
use crate::connector::cursor::to_second;
use crate::dto::entity::Entity;

type Shared = State<Arc<Company>>;

/// The routes, over `company`.
pub fn router(company: Arc<Company>) -> Router {
    Router::new()
        .route("/api/v2/{entity}", get(list).post(create))
        .route("/api/v2/{entity}/{id}", get(read_one).patch(update))
        .route("/api/v2/{entity}/search", get(super::search::search))
        .route("/api/v2/organizationFields", get(super::fields::organization_fields))
        .route("/v1/users", get(users))
        .route("/v1/users/me", get(me))
        .route("/v1/recents", get(recents))
        .with_state(company)
}

/// Query parameters.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        Self(url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// A 400 in Pipedrive's shape.
fn bad(c: &Company, endpoint: &str, message: &str) -> Response {
    c.error(
        endpoint,
        StatusCode::BAD_REQUEST,
        message,
        "Please check developers.pipedrive.com for more information about Pipedrive API.",
    )
}

fn not_found(c: &Company, endpoint: &str) -> Response {
    c.error(endpoint, StatusCode::NOT_FOUND, "Entity was not found", "Object was not found.")
}

/// The order a list is read in, and the position of a row in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Id,
    UpdateTime,
    AddTime,
    DueDate,
}

impl Order {
    fn parse(raw: &str, entity: Entity) -> Option<Self> {
        match raw {
            "id" => Some(Self::Id),
            "update_time" => Some(Self::UpdateTime),
            "add_time" => Some(Self::AddTime),
            "due_date" if entity == Entity::Activities => Some(Self::DueDate),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::UpdateTime => "update_time",
            Self::AddTime => "add_time",
            Self::DueDate => "due_date",
        }
    }

    /// `(primary, id)`: ties broken by id, so the keyset never skips or repeats a row.
    fn key(self, row: &Row) -> (i64, u64) {
        let primary = match self {
            Self::Id => 0,
            Self::UpdateTime => row.updated.timestamp(),
            Self::AddTime => row.added.timestamp(),
            Self::DueDate => row
                .fields
                .get("due_date")
                .and_then(Value::as_str)
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map_or(i64::MIN, |d| d.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp())),
        };
        (primary, row.id)
    }
}

/// The opaque cursor: base64 of `{"field": ..., "value": ..., "id": ...}` (Pipedrive's are
/// base64 JSON naming the sort field too).
fn encode_cursor(order: Order, key: (i64, u64)) -> String {
    let text = json!({"field": order.name(), "value": key.0, "id": key.1}).to_string();
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn decode_cursor(raw: &str, order: Order) -> Option<(i64, u64)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(raw.trim()).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    (v.get("field")?.as_str()? == order.name()).then_some(())?;
    Some((v.get("value")?.as_i64()?, v.get("id")?.as_u64()?))
}

fn time_param(q: &Params, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    q.get(key)
        .map(|t| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| format!("{key} must be an RFC3339 date-time, e.g. 2025-01-01T10:20:00Z"))
}

/// A whole list query, validated.
struct ListAsk {
    limit: usize,
    order: Order,
    descending: bool,
    after: Option<(i64, u64)>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    ids: Option<Vec<u64>>,
    owner: Option<u64>,
}

fn list_ask(q: &Params, entity: Entity) -> Result<ListAsk, String> {
    let limit = match q.get("limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=LIST_LIMIT as usize).contains(&n) => n,
        Some(_) => return Err(format!("limit must be an integer between 1 and {LIST_LIMIT}")),
    };
    let order = match q.get("sort_by") {
        None => Order::Id,
        Some(raw) => Order::parse(raw, entity).ok_or_else(|| format!("sort_by {raw:?} is not allowed"))?,
    };
    let descending = match q.get("sort_direction") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(format!("sort_direction {other:?} must be asc or desc")),
    };
    let after = match q.get("cursor") {
        None => None,
        Some(raw) => Some(decode_cursor(raw, order).ok_or_else(|| "Invalid cursor".to_string())?),
    };
    let ids = match q.get("ids") {
        None => None,
        Some(raw) => {
            let ids: Result<Vec<u64>, _> = raw.split(',').map(|id| id.trim().parse::<u64>()).collect();
            let ids = ids.map_err(|_| "ids must be a comma-separated list of integers".to_string())?;
            if ids.len() > IDS_LIMIT {
                return Err(format!("ids takes at most {IDS_LIMIT} ids"));
            }
            Some(ids)
        }
    };
    let owner =
        q.get("owner_id").map(str::parse::<u64>).transpose().map_err(|_| "owner_id must be an integer".to_string())?;
    Ok(ListAsk {
        limit,
        order,
        descending,
        after,
        since: time_param(q, "updated_since")?,
        until: time_param(q, "updated_until")?,
        ids,
        owner,
    })
}

async fn list(State(c): Shared, Path(entity): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let endpoint = format!("list {entity}");
    if let Err(r) = c.admit(&headers, None, Charge { endpoint: &endpoint, tokens: cost::LIST }) {
        return *r;
    }
    let Some(entity) = Entity::parse(&entity) else { return not_found(&c, &endpoint) };
    let ask = match list_ask(&Params::parse(q.as_deref()), entity) {
        Ok(ask) => ask,
        Err(message) => return bad(&c, &endpoint, &message),
    };
    let (data, next) = {
        let db = c.db();
        let mut rows: Vec<&Row> = db
            .rows(entity)
            .filter(|r| !r.deleted)
            .filter(|r| ask.since.is_none_or(|s| r.updated >= to_second(s)))
            .filter(|r| ask.until.is_none_or(|u| r.updated < u))
            .filter(|r| ask.ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
            .filter(|r| ask.owner.is_none_or(|o| r.number("owner_id") == Some(o)))
            .collect();
        rows.sort_by_key(|r| ask.order.key(r));
        if ask.descending {
            rows.reverse();
        }
        let past = |r: &&&Row| match ask.after {
            None => true,
            Some(after) if ask.descending => ask.order.key(r) < after,
            Some(after) => ask.order.key(r) > after,
        };
        let mut rest = rows.iter().filter(past);
        let served = ask.limit.min(c.options().max_page.max(1));
        let page: Vec<&Row> = rest.by_ref().take(served).copied().collect();
        let next = match (rest.next(), page.last()) {
            (Some(_), Some(last)) => Some(encode_cursor(ask.order, ask.order.key(last))),
            _ => None,
        };
        (page.iter().map(|r| r.render()).collect::<Vec<Value>>(), next)
    };
    c.reply(&endpoint, StatusCode::OK, json!({"success": true, "data": data, "additional_data": {"next_cursor": next}}))
}

async fn read_one(State(c): Shared, Path((entity, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let endpoint = format!("get {entity}");
    if let Err(r) = c.admit(&headers, None, Charge { endpoint: &endpoint, tokens: cost::GET }) {
        return *r;
    }
    let found = Entity::parse(&entity).zip(id.parse::<u64>().ok()).and_then(|(entity, id)| {
        let db = c.db();
        db.tables.get(&entity)?.get(&id).filter(|r| !r.deleted).map(Row::render)
    });
    match found {
        Some(data) => c.reply(&endpoint, StatusCode::OK, json!({"success": true, "data": data})),
        None => not_found(&c, &endpoint),
    }
}

/// The fields a write may set, checked the way v2 checks them (`done` is a boolean, ids are
/// integers, `name`/`subject` are strings).
fn writable(body: &[u8], entity: Entity) -> Result<Map<String, Value>, String> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err("the body must be a JSON object".into());
    };
    for (key, value) in &fields {
        let ok = match key.as_str() {
            "id" | "add_time" | "update_time" | "is_deleted" => return Err(format!("{key} cannot be set")),
            "done" | "busy" => value.is_boolean(),
            "owner_id" | "org_id" | "person_id" | "deal_id" | "creator_user_id" => value.is_u64() || value.is_null(),
            "name" | "subject" => value.is_string(),
            "custom_fields" => value.is_object(),
            _ => true,
        };
        if !ok {
            return Err(format!("{key} has the wrong type for {}", entity.path()));
        }
    }
    Ok(fields)
}

async fn create(State(c): Shared, Path(entity): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let endpoint = format!("create {entity}");
    if let Err(r) = c.admit(&headers, None, Charge { endpoint: &endpoint, tokens: cost::CREATE }) {
        return *r;
    }
    let Some(entity) = Entity::parse(&entity) else { return not_found(&c, &endpoint) };
    let mut fields = match writable(&body, entity) {
        Ok(fields) => fields,
        Err(message) => return bad(&c, &endpoint, &message),
    };
    let required = if entity == Entity::Activities { "subject" } else { "name" };
    if fields.get(required).and_then(Value::as_str).is_none_or(|v| v.trim().is_empty()) {
        return bad(&c, &endpoint, &format!("{required} is required"));
    }
    fields.entry("custom_fields").or_insert_with(|| json!({}));
    c.wrote();
    let now = c.now();
    let data = {
        let mut db = c.db();
        let id = db.insert(entity, fields, now);
        db.tables.get(&entity).and_then(|t| t.get(&id)).map(Row::render)
    };
    c.reply(&endpoint, StatusCode::CREATED, json!({"success": true, "data": data}))
}

async fn update(
    State(c): Shared,
    Path((entity, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = format!("update {entity}");
    if let Err(r) = c.admit(&headers, None, Charge { endpoint: &endpoint, tokens: cost::UPDATE }) {
        return *r;
    }
    let Some((entity, id)) = Entity::parse(&entity).zip(id.parse::<u64>().ok()) else {
        return not_found(&c, &endpoint);
    };
    let fields = match writable(&body, entity) {
        Ok(fields) => fields,
        Err(message) => return bad(&c, &endpoint, &message),
    };
    c.wrote();
    let now = to_second(c.now());
    let data = {
        let mut db = c.db();
        db.get_mut(entity, id).filter(|r| !r.deleted).map(|row| {
            for (key, value) in fields {
                if key == "custom_fields" {
                    let merged = row.fields.entry("custom_fields").or_insert_with(|| json!({}));
                    if let (Some(into), Value::Object(from)) = (merged.as_object_mut(), value) {
                        into.extend(from);
                    }
                } else {
                    row.fields.insert(key, value);
                }
            }
            row.updated = now;
            row.render()
        })
    };
    match data {
        Some(data) => c.reply(&endpoint, StatusCode::OK, json!({"success": true, "data": data})),
        None => not_found(&c, &endpoint),
    }
}

async fn users(State(c): Shared, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = Params::parse(q.as_deref());
    if let Err(r) = c.admit(&headers, q.get("api_token"), Charge { endpoint: "users", tokens: cost::USERS }) {
        return *r;
    }
    let data = c.db().render_users();
    c.reply("users", StatusCode::OK, json!({"success": true, "data": data}))
}

async fn me(State(c): Shared, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = Params::parse(q.as_deref());
    if let Err(r) = c.admit(&headers, q.get("api_token"), Charge { endpoint: "users/me", tokens: 2 }) {
        return *r;
    }
    let me = c.db().render_users().into_iter().next();
    c.reply("users/me", StatusCode::OK, json!({"success": true, "data": me}))
}

/// `GET /v1/recents` (§5.2): changes after `since_timestamp` (exclusive, UTC, clamped to one
/// month back), every item type in one feed, v1 offset paging.
async fn recents(State(c): Shared, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let endpoint = "recents";
    let q = Params::parse(q.as_deref());
    if let Err(r) = c.admit(&headers, q.get("api_token"), Charge { endpoint, tokens: cost::RECENTS }) {
        return *r;
    }
    let Some(since) = q.get("since_timestamp").and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
    else {
        return bad(&c, endpoint, "since_timestamp is required as YYYY-MM-DD HH:MM:SS");
    };
    let month_back = c.now() - chrono::Duration::days(30);
    let since = since.and_utc().max(to_second(month_back));
    let items: Vec<Entity> = match q.get("items") {
        None => Entity::ALL.to_vec(),
        Some(raw) => {
            raw.split(',').filter_map(|i| Entity::ALL.into_iter().find(|e| e.singular() == i.trim())).collect()
        }
    };
    let start = q.get("start").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    let limit = q.get("limit").and_then(|s| s.parse::<usize>().ok()).unwrap_or(100).clamp(1, 500);
    let mut changed: Vec<(DateTime<Utc>, Entity, Value)> = {
        let db = c.db();
        items
            .iter()
            .flat_map(|e| {
                db.rows(*e)
                    .filter(|r| !r.deleted && r.updated > since)
                    .map(|r| (r.updated, *e, r.render()))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    changed.sort_by_key(|(at, e, v)| (*at, *e, v.get("id").and_then(Value::as_u64)));
    let total = changed.len();
    let page: Vec<_> = changed.into_iter().skip(start).take(limit).collect();
    let v1 = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M:%S").to_string();
    let last = page.last().map(|(at, _, _)| v1(*at));
    let data: Vec<Value> = page
        .into_iter()
        .map(|(_, e, v)| json!({"item": e.singular(), "id": v.get("id").cloned(), "data": v}))
        .collect();
    let more = start + data.len() < total;
    let mut pagination = json!({"start": start, "limit": limit, "more_items_in_collection": more});
    if more {
        pagination["next_start"] = json!(start + data.len());
    }
    c.reply(
        endpoint,
        StatusCode::OK,
        json!({"success": true, "data": data, "additional_data": {"since_timestamp": v1(since),
               "last_timestamp_on_page": last, "pagination": pagination}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_opaque_base64_json_bound_to_their_sort_field() {
        let cursor = encode_cursor(Order::UpdateTime, (1_790_000_000, 42));
        assert!(cursor.starts_with("eyJmaWVsZCI6"), "{cursor}");
        assert_eq!(decode_cursor(&cursor, Order::UpdateTime), Some((1_790_000_000, 42)));
        assert_eq!(decode_cursor(&cursor, Order::Id), None);
        assert_eq!(decode_cursor("%%%", Order::Id), None);
    }

    #[test]
    fn list_parameters_are_validated_like_v2() {
        let ask = |raw: &str| list_ask(&Params::parse(Some(raw)), Entity::Activities);
        assert!(ask("limit=500&sort_by=due_date&sort_direction=desc").is_ok());
        assert!(ask("limit=501").is_err());
        assert!(ask("sort_by=name").is_err());
        assert!(ask("updated_since=yesterday").is_err());
        let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
        assert!(ask(&format!("ids={}", many.join(","))).is_err());
        assert!(list_ask(&Params::parse(Some("sort_by=due_date")), Entity::Organizations).is_err());
    }
}
