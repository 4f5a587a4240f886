//! One error type for every API answer, mapped to HTTP statuses in one table
//! ([`ApiError::STATUSES`]), serialised as `{"error": {"code", "message"}}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::store::{StoreError, StoreErrorKind};
use crate::view::query::QueryError;

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or wrong ones.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// A malformed request (the message names the parameter).
    #[error("{0}")]
    BadRequest(String),
    /// The store cannot be reached; try again.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else; the message is logged and shown.
    #[error("{0}")]
    Internal(String),
}

/// The JSON body of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `{"code": "not_found", "message": "no client \"cl-9\""}`.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `unauthorized`, `forbidden`, `not_found`, `bad_request`,
    /// `unavailable`, `internal`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl ApiError {
    /// Every code and its HTTP status: the one place the mapping lives.
    pub const STATUSES: [(&'static str, StatusCode); 6] = [
        ("unauthorized", StatusCode::UNAUTHORIZED),
        ("forbidden", StatusCode::FORBIDDEN),
        ("not_found", StatusCode::NOT_FOUND),
        ("bad_request", StatusCode::BAD_REQUEST),
        ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        ("internal", StatusCode::INTERNAL_SERVER_ERROR),
    ];

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The HTTP status, from [`ApiError::STATUSES`].
    pub fn status(&self) -> StatusCode {
        let code = self.code();
        Self::STATUSES.iter().find(|(c, _)| *c == code).map_or(StatusCode::INTERNAL_SERVER_ERROR, |(_, s)| *s)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), error = %self, "request failed");
        }
        let body = ErrorBody { error: ErrorDetail { code: self.code(), message: self.to_string() } };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.kind() {
            StoreErrorKind::Unavailable => Self::Unavailable(e.to_string()),
            _ => Self::Internal(e.to_string()),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Invalid { .. } => Self::BadRequest(e.to_string()),
            QueryError::Store(s) => s.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::BadRequest(m) => Self::BadRequest(m),
            AdminError::NotFound(m) => Self::NotFound(m),
            AdminError::Store(s) => s.into(),
            AdminError::Resolve(r) => Self::Internal(r.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_status_through_the_table() {
        let all = [
            ApiError::Unauthorized(String::new()),
            ApiError::Forbidden(String::new()),
            ApiError::NotFound(String::new()),
            ApiError::BadRequest(String::new()),
            ApiError::Unavailable(String::new()),
            ApiError::Internal(String::new()),
        ];
        let statuses: Vec<u16> = all.iter().map(|e| e.status().as_u16()).collect();
        assert_eq!(statuses, [401, 403, 404, 400, 503, 500]);
        assert_eq!(ApiError::STATUSES.len(), all.len(), "one row per variant");
    }
}
