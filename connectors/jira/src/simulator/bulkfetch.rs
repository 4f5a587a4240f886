//! `POST /rest/api/3/issue/bulkfetch`: up to 100 issues by id or key, read live (a bulk
//! fetch does not go through the search index, so it has no lag), in ascending id order.
//! Ids and keys the site does not hold are listed in `issueErrors` (as the vendor note
//! describes) and never make the call fail.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};

use super::render::{issue_json, FieldSelection};
use super::{reply, Shared, SITE};
use crate::connector::fetch::BULK_FETCH_LIMIT;
use crate::dto::BulkFetchRequest;

/// What Jira says about an issue it cannot return.
const NOT_FOUND: &str = "Issue does not exist or you do not have permission to see it.";

/// `POST /rest/api/3/issue/bulkfetch`.
pub async fn post(State(shared): State<Shared>, body: Bytes) -> Response {
    let request = match serde_json::from_slice::<BulkFetchRequest>(&body) {
        Ok(request) => request,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, &format!("Invalid request payload: {e}")),
    };
    if request.issue_ids_or_keys.is_empty() || request.issue_ids_or_keys.len() > BULK_FETCH_LIMIT {
        return reply::error(
            StatusCode::BAD_REQUEST,
            &format!(
                "issueIdsOrKeys must hold 1 to {BULK_FETCH_LIMIT} issues, not {}",
                request.issue_ids_or_keys.len()
            ),
        );
    }
    let selection = FieldSelection::parse(&request.fields);
    let mut site = shared.lock();
    let zone = site.zone();
    let mut found: Vec<(u64, Value)> = Vec::new();
    let mut errors = Vec::new();
    for wanted in &request.issue_ids_or_keys {
        match site.find(wanted) {
            Some(issue) if !found.iter().any(|(id, _)| *id == issue.id) => {
                found.push((issue.id, issue_json(issue.id, &issue.key, &issue.live, &selection, zone, SITE)));
            }
            Some(_) => {}
            None => errors.push(json!({"id": wanted, "errorMessage": NOT_FOUND})),
        }
    }
    drop(site);
    found.sort_by_key(|(id, _)| *id);
    let issues: Vec<Value> = found.into_iter().map(|(_, issue)| issue).collect();
    reply::json(StatusCode::OK, json!({"expand": "names", "issues": issues, "issueErrors": errors}))
}
