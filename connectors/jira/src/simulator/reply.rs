//! Response helpers with Jira's bodies.

use axum::response::{IntoResponse as _, Response};
use http::StatusCode;
use serde_json::{json, Value};

/// A JSON answer.
pub fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An `ErrorCollection` with one message.
pub fn error(status: StatusCode, message: &str) -> Response {
    json(status, json!({"errorMessages": [message], "errors": {}}))
}

/// Jira's 404 for issues the caller cannot see (it does not say which).
pub fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Issue does not exist or you do not have permission to see it.")
}

/// `204 No Content`.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
