//! `GET /api/v2/{organizations|persons}/search`: `term` in the `fields` asked for (`name`,
//! `custom_fields`, `address`, `notes`; all by default), whole values with
//! `exact_match=true`, else substrings, case-insensitively; `limit` ≤ 500 and an opaque
//! offset `cursor`. Search reads an index that lags behind writes: a record changed less
//! than [`SimOptions::index_lag`](super::company::SimOptions) ago is not found (nor a
//! deleted one). Activities have no search endpoint (404).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{json, Value};

use super::company::{Charge, Company};
use super::store::Row;
use crate::client::cost;
use crate::dto::entity::Entity;

/// The fields searched when `fields` is not given.
const ALL_FIELDS: [&str; 4] = ["name", "custom_fields", "address", "notes"];

/// The string values of `field` in `row` that `matches`.
fn hits(row: &Row, field: &str, matches: &dyn Fn(&str) -> bool) -> Vec<String> {
    let values: Vec<&str> = match field {
        "custom_fields" => row
            .fields
            .get("custom_fields")
            .and_then(Value::as_object)
            .map(|m| m.values().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
        "address" => {
            row.fields.get("address").and_then(|a| a.get("value")).and_then(Value::as_str).into_iter().collect()
        }
        other => row.fields.get(other).and_then(Value::as_str).into_iter().collect(),
    };
    values.into_iter().filter(|v| matches(v)).map(str::to_string).collect()
}

/// The hit as search renders it: a short shape, matched custom values listed.
fn item(entity: Entity, row: &Row, custom: &[String]) -> Value {
    json!({"result_score": 1.0, "item": {
        "id": row.id, "type": entity.singular(), "name": row.fields.get("name"),
        "address": row.fields.get("address").and_then(|a| a.get("value")),
        "visible_to": row.fields.get("visible_to"), "owner": {"id": row.fields.get("owner_id")},
        "custom_fields": custom, "notes": []}})
}

pub async fn search(
    State(c): State<Arc<Company>>,
    Path(entity): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let endpoint = format!("search {entity}");
    if let Err(r) = c.admit(&headers, None, Charge { endpoint: &endpoint, tokens: cost::SEARCH }) {
        return *r;
    }
    let entity = match Entity::parse(&entity) {
        Some(e @ (Entity::Organizations | Entity::Persons)) => e,
        _ => return c.error(&endpoint, StatusCode::NOT_FOUND, "Entity was not found", "Object was not found."),
    };
    let q: Vec<(String, String)> =
        url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
    let get = |key: &str| q.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
    let bad = |message: &str| {
        c.error(
            &endpoint,
            StatusCode::BAD_REQUEST,
            message,
            "Please check developers.pipedrive.com for more information about Pipedrive API.",
        )
    };
    let exact = get("exact_match").is_some_and(|v| v == "true");
    let term = get("term").unwrap_or_default().to_lowercase();
    if term.chars().count() < if exact { 1 } else { 2 } {
        return bad("term must be at least 2 characters long (1 with exact_match)");
    }
    let fields: Vec<String> = match get("fields") {
        Some(list) => list.split(',').map(|f| f.trim().to_string()).collect(),
        None => ALL_FIELDS.iter().map(|f| f.to_string()).collect(),
    };
    if let Some(unknown) = fields.iter().find(|f| !ALL_FIELDS.contains(&f.as_str())) {
        return bad(&format!("fields: {unknown} is not a searchable field"));
    }
    let limit = get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100).clamp(1, 500);
    let offset = match get("cursor") {
        None => 0,
        Some(cursor) => match base64::engine::general_purpose::STANDARD
            .decode(&cursor)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
        {
            Some(offset) => offset,
            None => return bad("cursor is invalid"),
        },
    };
    let matches = |value: &str| {
        let value = value.to_lowercase();
        if exact {
            value == term
        } else {
            value.contains(&term)
        }
    };
    let indexed_before = c.now() - chrono::Duration::from_std(c.options().index_lag).unwrap_or_default();
    let found: Vec<Value> = c
        .db()
        .rows(entity)
        .filter(|r| !r.deleted && r.updated <= indexed_before)
        .filter_map(|row| {
            let custom = if fields.iter().any(|f| f == "custom_fields") {
                hits(row, "custom_fields", &matches)
            } else {
                Vec::new()
            };
            let other = fields.iter().filter(|f| *f != "custom_fields").any(|f| !hits(row, f, &matches).is_empty());
            (other || !custom.is_empty()).then(|| item(entity, row, &custom))
        })
        .collect();
    let page: Vec<Value> = found.iter().skip(offset).take(limit).cloned().collect();
    let next = (offset + limit < found.len())
        .then(|| base64::engine::general_purpose::STANDARD.encode((offset + limit).to_string()));
    c.reply(
        &endpoint,
        StatusCode::OK,
        json!({"success": true, "data": {"items": page}, "additional_data": {"next_cursor": next}}),
    )
}
