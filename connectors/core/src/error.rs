//! One error type for every connector, with a normalised [`ErrorKind`].
//!
//! The scheduler decides what to do (retry now, back off, give up, alert) from the kind
//! alone; vendor strings only ever appear in the human-readable message.

use std::fmt;
use std::time::Duration;

/// What went wrong, normalised across vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Credentials missing, wrong or lacking permission (401/403). Never retried.
    Auth,
    /// The vendor throttled us and retrying did not get through in time.
    RateLimited {
        /// How long the vendor asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The record or endpoint does not exist.
    NotFound,
    /// The vendor sent (or was sent) data that does not fit the expected shape.
    InvalidData,
    /// A temporary failure (5xx, timeout, connection reset) that outlived the retries.
    Transient,
    /// The connector cannot do this (kind not readable, writes not supported, ...).
    Unsupported,
    /// The connector's configuration is wrong.
    Config,
}

impl ErrorKind {
    /// Whether a later attempt of the same call may succeed without a human.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient)
    }

    fn label(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::RateLimited { .. } => "rate limited",
            Self::NotFound => "not found",
            Self::InvalidData => "invalid data",
            Self::Transient => "transient",
            Self::Unsupported => "unsupported",
            Self::Config => "config",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An error from a connector: a kind to branch on and a message for people.
///
/// Messages must never contain secrets; the shared HTTP client redacts URLs and bodies
/// before building one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ConnectorError {
    kind: ErrorKind,
    message: String,
}

impl ConnectorError {
    /// An error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
    /// See [`ErrorKind::Auth`].
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Auth, message)
    }
    /// See [`ErrorKind::RateLimited`].
    pub fn rate_limited(retry_after: Option<Duration>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited { retry_after }, message)
    }
    /// See [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// See [`ErrorKind::InvalidData`].
    pub fn invalid_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidData, message)
    }
    /// See [`ErrorKind::Transient`].
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }
    /// See [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    /// See [`ErrorKind::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// The normalised kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The human-readable message (without the kind prefix).
    pub fn message(&self) -> &str {
        &self.message
    }
}
