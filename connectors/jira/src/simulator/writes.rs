//! Issue writes: create (one and bulk), edit, and workflow transitions.
//!
//! Field values are validated as Jira does it, with its `ErrorCollection` answers: ADF for
//! `description` (a plain string is refused), `YYYY-MM-DD` due dates, known priorities and
//! accounts, labels without spaces. Status is not a field: it moves through transitions.
//! Each write counts against the per-issue write limits (20 per 2 s, 100 per 30 s).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::{json, Map, Value};
use zveno_sim::kit::Batch;

use super::render::{
    issue_json, priority_by_index, resolution_json, status_json, transitions_json, user_json, FieldSelection,
    PRIORITIES, STATUSES,
};
use super::site::{blank_fields, Doc, Site, EDIT_SCREEN};
use super::{reply, Shared, SITE};
use crate::dto::ErrorCollection;
use crate::mapping::adf;

type FieldErrors = BTreeMap<String, String>;

/// `POST /rest/api/3/issue`.
pub async fn create_one(State(shared): State<Shared>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return reply::error(StatusCode::BAD_REQUEST, "Invalid request payload. Refer to the REST API documentation.");
    };
    let now = shared.now();
    let mut site = shared.lock();
    site.writes += 1;
    match create(&mut site, &body, now) {
        Ok((id, key)) => reply::json(
            StatusCode::CREATED,
            json!({"id": id.to_string(), "key": key, "self": format!("{SITE}/rest/api/3/issue/{id}")}),
        ),
        Err(errors) => reply::json(StatusCode::BAD_REQUEST, json!(ErrorCollection { error_messages: vec![], errors })),
    }
}

/// `POST /rest/api/3/issue/bulk` with `{"issueUpdates": [...]}` (up to 50).
pub async fn create_bulk(State(shared): State<Shared>, body: Bytes) -> Response {
    let updates = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("issueUpdates").and_then(Value::as_array).cloned());
    let Some(updates) = updates else {
        return reply::error(StatusCode::BAD_REQUEST, "Invalid request payload. Refer to the REST API documentation.");
    };
    if updates.len() > 50 {
        return reply::error(StatusCode::BAD_REQUEST, "The maximum number of issues that can be created is 50.");
    }
    let now = shared.now();
    let mut site = shared.lock();
    site.writes += 1;
    let (mut issues, mut errors) = (Vec::new(), Vec::new());
    for (i, update) in updates.iter().enumerate() {
        match create(&mut site, update, now) {
            Ok((id, key)) => {
                issues.push(json!({"id": id.to_string(), "key": key, "self": format!("{SITE}/rest/api/3/issue/{id}")}))
            }
            Err(e) => errors.push(
                json!({"status": 400, "elementErrors": {"errorMessages": [], "errors": e}, "failedElementNumber": i}),
            ),
        }
    }
    let status = if issues.is_empty() && !errors.is_empty() { StatusCode::BAD_REQUEST } else { StatusCode::CREATED };
    let mut response = reply::json(status, json!({"issues": issues, "errors": errors}));
    response.extensions_mut().insert(Batch(updates.len() as u64));
    response
}

fn create(site: &mut Site, body: &Value, now: DateTime<Utc>) -> Result<(u64, String), FieldErrors> {
    let empty = Map::new();
    let fields = body.get("fields").and_then(Value::as_object).unwrap_or(&empty);
    let mut errors = FieldErrors::new();
    let project = fields.get("project").and_then(|p| {
        let key = p.get("key").and_then(Value::as_str);
        let id = p.get("id").and_then(Value::as_str);
        site.projects
            .iter()
            .position(|x| key.is_some_and(|k| k.eq_ignore_ascii_case(&x.key)) || id == Some(&x.id.to_string()))
    });
    if project.is_none() {
        errors.insert("project".into(), "Specify a valid project ID or key".into());
    }
    let issue_type = fields.get("issuetype").and_then(|t| t.get("name").or(t.get("id"))).and_then(Value::as_str);
    if !matches!(issue_type, Some("Task" | "10001")) {
        errors.insert("issuetype".into(), "Specify an issue type".into());
    }
    if fields.get("summary").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
        errors.insert("summary".into(), "You must specify a summary of the issue.".into());
    }
    let Some(project) = project.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let mut doc = Doc { fields: blank_fields(site, project, SITE), created: now, updated: now, resolved: None };
    let rest: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "project" | "issuetype"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    apply_fields(site, &mut doc.fields, &rest)?;
    Ok(site.insert(project, doc, now))
}

/// `PUT /rest/api/3/issue/{idOrKey}?returnIssue=&expand=`.
pub async fn update(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return reply::error(StatusCode::BAD_REQUEST, "Invalid request payload. Refer to the REST API documentation.");
    };
    let now = shared.now();
    let mut site = shared.lock();
    let Some(issue) = site.find(&id) else { return reply::not_found() };
    let (issue_id, mut doc) = (issue.id, issue.live.clone());
    if let Some(throttled) = shared.limits.write_issue(issue_id, now) {
        return throttled;
    }
    site.writes += 1;
    let empty = Map::new();
    let fields = body.get("fields").and_then(Value::as_object).unwrap_or(&empty);
    let updated = body.get("update").and_then(Value::as_object).unwrap_or(&empty);
    let off_screen: FieldErrors = fields
        .keys()
        .chain(updated.keys())
        .filter(|f| site.off_edit_screen.contains(*f))
        .map(|f| (f.clone(), format!("Field '{f}' cannot be set. It is not on the appropriate screen, or unknown.")))
        .collect();
    let mut result = if off_screen.is_empty() { apply_fields(&site, &mut doc.fields, fields) } else { Err(off_screen) };
    if let (Ok(()), Some(ops)) = (&result, updated.get("labels")) {
        result = label_ops(&mut doc.fields, ops);
    }
    if let Err(errors) = result {
        return reply::json(StatusCode::BAD_REQUEST, json!(ErrorCollection { error_messages: vec![], errors }));
    }
    doc.updated = now;
    let lag = site.lag;
    let zone = site.zone();
    let Some(issue) = site.find(&id) else { return reply::not_found() };
    issue.write(doc.clone(), now, lag);
    if params.get("returnIssue").map(String::as_str) != Some("true") {
        return reply::no_content();
    }
    let mut out = issue_json(issue.id, &issue.key, &doc, &FieldSelection::All(Vec::new()), zone, SITE);
    if params.get("expand").is_some_and(|e| e.split(',').any(|x| x == "transitions")) {
        out["transitions"] = json!(transitions_json(doc.status_index(), SITE));
    }
    reply::json(StatusCode::OK, out)
}

/// `GET /rest/api/3/issue/{idOrKey}/editmeta`: the fields on the issue's edit screen, with
/// the operations each takes.
pub async fn edit_meta(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let mut site = shared.lock();
    let client_field = site.client_field.clone();
    let hidden = site.off_edit_screen.clone();
    if site.find(&id).is_none() {
        return reply::not_found();
    }
    let fields: Map<String, Value> = EDIT_SCREEN
        .iter()
        .map(|f| f.to_string())
        .chain([client_field])
        .filter(|f| !hidden.contains(f))
        .map(|f| {
            let operations = if f == "labels" { json!(["add", "set", "remove"]) } else { json!(["set"]) };
            let meta = json!({"required": f == "summary", "name": f, "key": f, "operations": operations});
            (f, meta)
        })
        .collect();
    reply::json(StatusCode::OK, json!({ "fields": fields }))
}

/// `GET /rest/api/3/issue/{idOrKey}/transitions`.
pub async fn list_transitions(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let mut site = shared.lock();
    match site.find(&id) {
        Some(issue) => reply::json(
            StatusCode::OK,
            json!({"expand": "transitions", "transitions": transitions_json(issue.live.status_index(), SITE)}),
        ),
        None => reply::not_found(),
    }
}

/// `POST /rest/api/3/issue/{idOrKey}/transitions` with `{"transition": {"id": "31"}}`.
pub async fn transition(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let wanted = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("transition").and_then(|t| t.get("id")).and_then(Value::as_str).map(str::to_string));
    let now = shared.now();
    let mut site = shared.lock();
    let lag = site.lag;
    let Some(issue) = site.find(&id) else { return reply::not_found() };
    let current = issue.live.status_index();
    let target = STATUSES.iter().position(|s| Some(s.5) == wanted.as_deref()).filter(|t| *t != current);
    let Some(target) = target else {
        let shown = wanted.unwrap_or_default();
        return reply::error(StatusCode::BAD_REQUEST, &format!("Transition id '{shown}' is not valid for this issue."));
    };
    let issue_id = issue.id;
    if let Some(throttled) = shared.limits.write_issue(issue_id, now) {
        return throttled;
    }
    let mut doc = issue.live.clone();
    doc.fields.insert("status".into(), status_json(target, SITE));
    doc.fields.insert("resolution".into(), resolution_json(target, SITE));
    doc.resolved = matches!(target, 2 | 3).then_some(now);
    doc.updated = now;
    issue.write(doc, now, lag);
    site.writes += 1;
    reply::no_content()
}

/// Applies `fields` to `target`, or explains every field Jira would refuse.
fn apply_fields(site: &Site, target: &mut Map<String, Value>, fields: &Map<String, Value>) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    for (name, value) in fields {
        let accepted = match name.as_str() {
            "summary" => match value.as_str() {
                Some(s) if !s.trim().is_empty() && s.chars().count() <= 255 => Ok(value.clone()),
                _ => Err("You must specify a summary of the issue.".to_string()),
            },
            "description" => match value {
                Value::Null => Ok(Value::Null),
                v if adf::is_doc(v) => Ok(v.clone()),
                _ => Err("Operation value must be an Atlassian Document (see the Atlassian Document Format)".into()),
            },
            "duedate" => match value {
                Value::Null => Ok(Value::Null),
                Value::String(s) if crate::mapping::time::parse_date(s).is_some() => Ok(value.clone()),
                other => Err(format!("Error parsing date string: {}", other.as_str().unwrap_or("?"))),
            },
            "priority" => {
                let by = |k: &str| value.get(k).and_then(Value::as_str);
                PRIORITIES
                    .iter()
                    .position(|(id, n)| by("id") == Some(id) || by("name").is_some_and(|x| x.eq_ignore_ascii_case(n)))
                    .map(|i| priority_by_index(i, SITE))
                    .ok_or_else(|| "Specify the Priority (id or name) in the string format".to_string())
            }
            "assignee" => match value.get("accountId").and_then(Value::as_str) {
                _ if value.is_null() => Ok(Value::Null),
                Some(id) => site
                    .account(id)
                    .map(|a| user_json(a, SITE))
                    .ok_or_else(|| format!("User '{id}' cannot be assigned issues.")),
                None => Err("Specify a valid value for assignee".into()),
            },
            "labels" => labels(value),
            f if f == site.client_field => match value {
                Value::Bool(_) => Err("Operation value must be a string".into()),
                _ => Ok(value.clone()),
            },
            other => Err(format!("Field '{other}' cannot be set. It is not on the appropriate screen, or unknown.")),
        };
        match accepted {
            Ok(v) => {
                target.insert(name.clone(), v);
            }
            Err(e) => {
                errors.insert(name.clone(), e);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn labels(value: &Value) -> Result<Value, String> {
    let list = value.as_array().ok_or("labels must be an array of strings")?;
    for label in list {
        match label.as_str() {
            Some(l) if l.chars().any(char::is_whitespace) => {
                return Err(format!("The label '{l}' contains spaces which is invalid."))
            }
            Some(_) => {}
            None => return Err("labels must be an array of strings".into()),
        }
    }
    Ok(value.clone())
}

/// `"update": {"labels": [{"add": "x"}, {"remove": "y"}, {"set": [...]}]}`.
fn label_ops(fields: &mut Map<String, Value>, ops: &Value) -> Result<(), FieldErrors> {
    let fail = |m: &str| Err(FieldErrors::from([("labels".to_string(), m.to_string())]));
    let Some(ops) = ops.as_array() else { return fail("update.labels must be an array of operations") };
    let mut current: Vec<Value> = fields.get("labels").and_then(Value::as_array).cloned().unwrap_or_default();
    for op in ops {
        if let Some(l) = op.get("add") {
            if labels(&json!([l])).is_err() {
                return fail("The label contains spaces which is invalid.");
            }
            if !current.contains(l) {
                current.push(l.clone());
            }
        } else if let Some(l) = op.get("remove") {
            current.retain(|x| x != l);
        } else if let Some(all) = op.get("set") {
            labels(all).or_else(|e| fail(&e).map(|()| Value::Null))?;
            current = all.as_array().cloned().unwrap_or_default();
        } else {
            return fail("Unknown operation for labels");
        }
    }
    fields.insert("labels".into(), Value::Array(current));
    Ok(())
}
