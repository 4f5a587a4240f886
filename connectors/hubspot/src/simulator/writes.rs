//! Batch calls: `POST /crm/v3/objects/{object}/batch/{read|create|update|upsert|archive}`
//! and the v4 association batch (`read`, `create`).
//!
//! `batch/read` returns the live records among its inputs; unknown and archived ids (with
//! `archived=false`, the default) make it a **207** with one `OBJECT_NOT_FOUND` error listing
//! them in `context.ids`, as HubSpot answers. With `idProperty` (a unique-value property)
//! the inputs are values of that property, read from the records, not from the search
//! index (no lag).
//!
//! `batch/upsert` inputs name a unique-value property (`idProperty`) and a value of it
//! (`id`): the live record holding the value is updated, or a record is created with it;
//! results say which (`new`). An `idProperty` that does not exist or does not require
//! unique values is a 400, and so is an update or upsert batch naming one record twice. A create or update giving a unique property a value another
//! live record holds is refused whole with a **409** `CONFLICT` (see [`super::properties`]).
//!
//! At most 100 inputs a call (more is a 400). As HubSpot does, a create or update batch
//! with one input that fails validation (a company property that does not exist or is
//! read-only, a value over [`VALUE_MAX`] characters, a task without `hs_timestamp`) is
//! refused whole: **400** `VALIDATION_ERROR`, nothing written, no input named. Inputs that
//! name missing records (an unknown id, an association to a missing record) fail one by
//! one: a **207** whose `errors[]` name them by `objectWriteTraceId` (and id) in `context`.
//! Results echo the trace id they were sent with and come back in reverse input order:
//! HubSpot does not keep the order, so a client matching results by position is caught.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use zveno_sim::kit::Batch;

use super::portal::{Bucket, Portal};
use super::render;
use super::routes::{object_or_400, Params};
use super::store::Db;
use crate::dto::object::Object;
use crate::mapping::values::format_time;

/// Inputs a batch call takes.
const BATCH_MAX: usize = 100;

/// The longest property value HubSpot stores (characters); longer is a validation error.
pub const VALUE_MAX: usize = 65_536;

/// Properties HubSpot computes.
const READ_ONLY: [&str; 5] = ["hs_object_id", "createdate", "hs_createdate", "hs_lastmodifieddate", "lastmodifieddate"];

struct Failure {
    category: &'static str,
    message: String,
    trace: Option<String>,
    ids: Vec<String>,
}

fn error_json(f: &Failure) -> Value {
    let mut context = serde_json::Map::new();
    if let Some(trace) = &f.trace {
        context.insert("objectWriteTraceId".into(), json!([trace]));
    }
    if !f.ids.is_empty() {
        context.insert("ids".into(), json!(f.ids));
    }
    json!({"status": "error", "category": f.category, "message": f.message, "context": context, "errors": [], "links": {}})
}

fn inputs(body: &[u8]) -> Result<Vec<Value>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("Invalid input JSON: {e}"))?;
    let inputs = v.get("inputs").and_then(Value::as_array).ok_or("`inputs` must be a list")?;
    if inputs.len() > BATCH_MAX {
        return Err(format!("Too many inputs: {} (at most {BATCH_MAX})", inputs.len()));
    }
    Ok(inputs.clone())
}

fn answer(p: &Portal, endpoint: &str, ok: StatusCode, results: &[Value], failures: &[Failure]) -> Response {
    let now = format_time(p.clock().now());
    let mut body = json!({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now});
    let status = if failures.is_empty() {
        ok
    } else {
        body["numErrors"] = json!(failures.len());
        body["errors"] = failures.iter().map(error_json).collect();
        StatusCode::MULTI_STATUS
    };
    p.reply(endpoint, Bucket::Default, status, Some(body))
}

/// `batch/read`: the live records among the inputs (or the archived ones with
/// `archived=true`), with the `properties` asked for; the rest named in one
/// `OBJECT_NOT_FOUND` error of a 207.
fn read(p: &Portal, endpoint: &str, object: Object, inputs: &[Value], query: Option<&str>, body: &[u8]) -> Response {
    let archived = Params::parse(query).flag("archived");
    let body: Value = serde_json::from_slice(body).unwrap_or_default();
    let properties: Vec<String> = body
        .get("properties")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    let db = p.db();
    let by = body.get("idProperty").and_then(Value::as_str).filter(|name| *name != "hs_object_id");
    if let Some(name) = by {
        if let Err(message) = unique_key(&db, object, name) {
            drop(db);
            return p.error(endpoint, Bucket::Default, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &message);
        }
    }
    let (mut results, mut unknown) = (Vec::new(), Vec::new());
    for input in inputs {
        let id = input.get("id").and_then(Value::as_str).unwrap_or_default();
        let number = match by {
            Some(name) => db.holder(object, name, id, None),
            None => id.parse::<u64>().ok(),
        };
        let found =
            number.and_then(|n| db.objects.get(&object)?.get(&n)).filter(|o| o.archived_ms.is_some() == archived);
        match found {
            Some(o) => results.push(render::object(&db, object, o, &properties, &[])),
            None => unknown.push(id.to_string()),
        }
    }
    drop(db);
    let failures: Vec<Failure> = if unknown.is_empty() {
        Vec::new()
    } else {
        vec![Failure {
            category: "OBJECT_NOT_FOUND",
            message: format!(
                "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                render::singular(object).to_uppercase()
            ),
            trace: None,
            ids: unknown,
        }]
    };
    answer(p, endpoint, StatusCode::OK, &results, &failures)
}

/// `batch/read`, `batch/create`, `batch/update`, `batch/archive`.
pub async fn batch(
    State(p): State<Arc<Portal>>,
    Path((object, action)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let endpoint = format!("batch {action} {object}");
    if let Err(r) = p.admit(&headers, Bucket::Default, &endpoint) {
        return *r;
    }
    let object = match object_or_400(&p, &object, &endpoint, Bucket::Default) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let inputs = match inputs(&body) {
        Ok(i) => i,
        Err(m) => return p.error(&endpoint, Bucket::Default, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &m),
    };
    if action == "read" {
        return read(&p, &endpoint, object, &inputs, query.as_deref(), &body);
    }
    let mut response = write(&p, &endpoint, object, &action, &inputs);
    response.extensions_mut().insert(Batch(inputs.len() as u64));
    response
}

/// `batch/create`, `batch/update`, `batch/upsert`, `batch/archive`: all inputs or (a
/// validation error or a unique-value conflict) none.
fn write(p: &Portal, endpoint: &str, object: Object, action: &str, inputs: &[Value]) -> Response {
    if let Some(message) = duplicate_key(action, inputs) {
        return p.error(endpoint, Bucket::Default, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &message);
    }
    p.wrote();
    let (now_ms, changed_at) = (p.now_ms(), p.clock().elapsed());
    let mut held = p.db();
    // Written to a copy: kept only when no input fails validation.
    let mut db = held.clone();
    let (mut results, mut failures) = (Vec::new(), Vec::new());
    for input in inputs {
        let trace = input.get("objectWriteTraceId").and_then(Value::as_str).map(str::to_string);
        let outcome = match action {
            "create" => create(&mut db, object, input, now_ms),
            "update" => update(&mut db, object, input, now_ms),
            "upsert" => upsert(&mut db, object, input, now_ms),
            "archive" => archive(&mut db, object, input, now_ms),
            _ => Err(("VALIDATION_ERROR", format!("unknown batch action {action}"), Vec::new())),
        };
        match outcome {
            Ok(Some(id)) => {
                if let Some(o) = db.get_mut(object, id) {
                    o.changed_at = Some(changed_at);
                }
                if let Some(o) = db.objects.get(&object).and_then(|m| m.get(&id)) {
                    let mut rendered = render::object(&db, object, o, &[], &[]);
                    if let Some(trace) = &trace {
                        rendered["objectWriteTraceId"] = json!(trace);
                    }
                    if action == "upsert" {
                        rendered["new"] = json!(held.objects.get(&object).is_none_or(|m| !m.contains_key(&id)));
                    }
                    results.push(rendered);
                }
            }
            Ok(None) => {}
            Err((category, message, ids)) => failures.push(Failure { category, message, trace, ids }),
        }
    }
    let refused = [("VALIDATION_ERROR", StatusCode::BAD_REQUEST), ("CONFLICT", StatusCode::CONFLICT)];
    for (category, status) in refused {
        if let Some(failure) = failures.iter().find(|f| f.category == category) {
            let message = failure.message.clone();
            drop(held);
            return p.error(endpoint, Bucket::Default, status, category, &message);
        }
    }
    *held = db;
    drop(held);
    results.reverse();
    match action {
        "archive" => p.reply(endpoint, Bucket::Default, StatusCode::NO_CONTENT, None),
        "create" => answer(p, endpoint, StatusCode::CREATED, &results, &failures),
        _ => answer(p, endpoint, StatusCode::OK, &results, &failures),
    }
}

type Outcome = Result<Option<u64>, (&'static str, String, Vec<String>)>;

fn properties(
    db: &Db,
    object: Object,
    input: &Value,
) -> Result<BTreeMap<String, String>, (&'static str, String, Vec<String>)> {
    let mut out = BTreeMap::new();
    let Some(map) = input.get("properties").and_then(Value::as_object) else {
        return Err(("VALIDATION_ERROR", "`properties` must be an object".into(), Vec::new()));
    };
    for (name, value) in map {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if value.chars().count() > VALUE_MAX {
            return Err((
                "VALIDATION_ERROR",
                format!("Property \"{name}\" exceeds {VALUE_MAX} characters"),
                Vec::new(),
            ));
        }
        if READ_ONLY.contains(&name.as_str()) {
            return Err(("VALIDATION_ERROR", format!("Property \"{name}\" is read-only"), Vec::new()));
        }
        // The tasks guide: unknown task properties are ignored, not refused.
        let known = object == Object::Contacts || db.schema.get(object, name).is_some();
        if known {
            out.insert(name.clone(), value);
        } else if object == Object::Companies {
            return Err(("VALIDATION_ERROR", format!("Property \"{name}\" does not exist"), Vec::new()));
        }
    }
    Ok(out)
}

fn create(db: &mut Db, object: Object, input: &Value, now_ms: i64) -> Outcome {
    let props = properties(db, object, input)?;
    if object == Object::Tasks && props.get("hs_timestamp").is_none_or(|t| t.is_empty()) {
        return Err(("VALIDATION_ERROR", "Property \"hs_timestamp\" is required".into(), Vec::new()));
    }
    if let Some(message) = db.unique_conflict(object, &props, None) {
        return Err(("CONFLICT", message, Vec::new()));
    }
    let mut links = Vec::new();
    for association in input.get("associations").and_then(Value::as_array).into_iter().flatten() {
        let to_id =
            association.pointer("/to/id").and_then(|v| v.as_str().map(str::to_string).or_else(|| Some(v.to_string())));
        let type_id = association.pointer("/types/0/associationTypeId").and_then(Value::as_u64);
        let target = Object::ALL.into_iter().find(|to| render::association_type(object, *to).map(u64::from) == type_id);
        let (Some(to), Some(to_id)) = (target, to_id.and_then(|i| i.parse::<u64>().ok())) else {
            return Err(("VALIDATION_ERROR", format!("invalid association {association}"), Vec::new()));
        };
        if db.live(to, to_id).is_none() {
            return Err((
                "OBJECT_NOT_FOUND",
                format!("cannot associate with {to} {to_id}: no such record"),
                vec![to_id.to_string()],
            ));
        }
        links.push((to, to_id));
    }
    let id = db.next_id(object);
    let mut props = props;
    props.insert("hs_object_id".into(), id.to_string());
    db.insert(object, props, now_ms, now_ms);
    for (to, to_id) in links {
        db.link(object, id, to, to_id);
    }
    Ok(Some(id))
}

fn record_id(input: &Value) -> Option<u64> {
    match input.get("id") {
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

fn update(db: &mut Db, object: Object, input: &Value, now_ms: i64) -> Outcome {
    let raw_id = input.get("id").map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).unwrap_or_default();
    let props = properties(db, object, input).map_err(|(c, m, _)| (c, m, vec![raw_id.clone()]))?;
    if let Some(message) = record_id(input).and_then(|id| db.unique_conflict(object, &props, Some(id))) {
        return Err(("CONFLICT", message, vec![raw_id]));
    }
    let Some(record) = record_id(input).and_then(|id| db.get_mut(object, id)).filter(|o| o.archived_ms.is_none())
    else {
        return Err(("OBJECT_NOT_FOUND", format!("Object not found: {object} {raw_id}"), vec![raw_id]));
    };
    for (name, value) in props {
        if value.is_empty() {
            // An empty string clears a property.
            record.props.remove(&name);
        } else {
            record.props.insert(name, value);
        }
    }
    record.updated_ms = now_ms;
    Ok(Some(record.id))
}

/// Whether `name` can key upserts and `idProperty` reads of `object`: a property that
/// requires unique values; HubSpot's message when not.
fn unique_key(db: &Db, object: Object, name: &str) -> Result<(), String> {
    match db.schema.get(object, name) {
        Some(p) if p.unique => Ok(()),
        Some(_) => {
            Err(format!("Property \"{name}\" is not a unique identifier property: it does not require unique values"))
        }
        None => Err(format!("Property \"{name}\" does not exist")),
    }
}

/// HubSpot's refusal of an update or upsert batch naming one record twice (which input
/// would win is undefined, so the whole batch is refused).
fn duplicate_key(action: &str, inputs: &[Value]) -> Option<String> {
    if action != "update" && action != "upsert" {
        return None;
    }
    let mut seen = std::collections::BTreeSet::new();
    inputs
        .iter()
        .map(|i| (i.get("idProperty").and_then(Value::as_str), i.get("id").map(Value::to_string)))
        .find(|key| key.1.is_some() && !seen.insert(key.clone()))
        .map(|(_, id)| format!("Duplicate IDs found in batch input: [{}]", id.unwrap_or_default()))
}

/// Updates the live record whose `idProperty` holds `id`, or creates one holding it.
fn upsert(db: &mut Db, object: Object, input: &Value, now_ms: i64) -> Outcome {
    let name = input.get("idProperty").and_then(Value::as_str).unwrap_or_default();
    unique_key(db, object, name).map_err(|m| ("VALIDATION_ERROR", m, Vec::new()))?;
    let value = match input.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(("VALIDATION_ERROR", "`id` must be the idProperty's value".into(), Vec::new())),
    };
    if !input.get("properties").is_some_and(Value::is_object) {
        return Err(("VALIDATION_ERROR", "`properties` must be an object".into(), Vec::new()));
    }
    let mut input = input.clone();
    match db.holder(object, name, &value, None) {
        Some(id) => {
            input["id"] = json!(id.to_string());
            update(db, object, &input, now_ms)
        }
        None => {
            input["properties"][name] = json!(value);
            create(db, object, &input, now_ms)
        }
    }
}

fn archive(db: &mut Db, object: Object, input: &Value, now_ms: i64) -> Outcome {
    if let Some(record) = record_id(input).and_then(|id| db.get_mut(object, id)) {
        if record.archived_ms.is_none() {
            record.archived_ms = Some(now_ms);
            record.updated_ms = now_ms;
        }
    }
    // Archiving a missing record is not an error: batch/archive always answers 204.
    Ok(None)
}

/// v4 `batch/read` and `batch/create` of associations.
pub async fn associations(
    State(p): State<Arc<Portal>>,
    Path((from, to, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = format!("associations {action} {from}/{to}");
    if let Err(r) = p.admit(&headers, Bucket::Default, &endpoint) {
        return *r;
    }
    let (from, to) = match (
        object_or_400(&p, &from, &endpoint, Bucket::Default),
        object_or_400(&p, &to, &endpoint, Bucket::Default),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let inputs = match inputs(&body) {
        Ok(i) => i,
        Err(m) => return p.error(&endpoint, Bucket::Default, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &m),
    };
    let type_id = render::association_type(from, to);
    let (mut results, mut failures) = (Vec::new(), Vec::new());
    match action.as_str() {
        "read" => {
            let db = p.db();
            for input in &inputs {
                let id = record_id(input);
                let linked = id.map(|id| db.linked(from, id, to)).unwrap_or_default();
                let raw = input
                    .get("id")
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .unwrap_or_default();
                if linked.is_empty() {
                    failures.push(Failure {
                        category: "OBJECT_NOT_FOUND",
                        message: format!("No {to} is associated with {} {raw}.", render::singular(from)),
                        trace: None,
                        ids: vec![raw],
                    });
                    continue;
                }
                let targets: Vec<Value> = linked
                    .iter()
                    .map(|t| json!({"toObjectId": t, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": null}]}))
                    .collect();
                results.push(json!({"from": {"id": raw}, "to": targets}));
            }
            drop(db);
            answer(&p, &endpoint, StatusCode::OK, &results, &failures)
        }
        "create" => {
            p.wrote();
            let mut db = p.db();
            for input in &inputs {
                let ids = (
                    input.pointer("/from/id").and_then(Value::as_str),
                    input.pointer("/to/id").and_then(Value::as_str),
                );
                let requested = input.pointer("/types/0/associationTypeId").and_then(Value::as_u64);
                let parsed = (ids.0.and_then(|i| i.parse::<u64>().ok()), ids.1.and_then(|i| i.parse::<u64>().ok()));
                match parsed {
                    (Some(a), Some(b))
                        if db.live(from, a).is_some()
                            && db.live(to, b).is_some()
                            && requested == type_id.map(u64::from) =>
                    {
                        db.link(from, a, to, b);
                        results.push(json!({"fromObjectTypeId": from.name(), "fromObjectId": a, "toObjectTypeId": to.name(), "toObjectId": b, "labels": []}));
                    }
                    _ => failures.push(Failure {
                        category: "VALIDATION_ERROR",
                        message: format!("cannot associate {input}"),
                        trace: None,
                        ids: ids.0.map(str::to_string).into_iter().collect(),
                    }),
                }
            }
            drop(db);
            answer(&p, &endpoint, StatusCode::CREATED, &results, &failures)
        }
        _ => {
            p.error(&endpoint, Bucket::Default, StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", "unknown association action")
        }
    }
}
