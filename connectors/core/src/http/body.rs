//! Response bodies: read under a size cap, then checked (or parsed) as JSON once.
//!
//! A body that arrives cut short (a dropped connection after the headers, a proxy that
//! truncates) or that is not JSON at all (a gateway's HTML on a 200) is not the vendor's
//! answer; the client retries it like a 5xx, within the same attempt budget, when the call
//! is idempotent. A complete JSON body of the wrong shape *is* the vendor's answer, and
//! retrying will not change it: that is `InvalidData`.
//!
//! Cost: [`HttpClient::send_json`](super::HttpClient::send_json) parses the body once, into
//! the caller's type, and that parse is the check. [`HttpClient::send`](super::HttpClient::send)
//! hands back bytes, so it checks JSON bodies with a non-allocating pass (`IgnoredAny`) and
//! the caller parses again; connectors that parse every answer should prefer `send_json`.

use bytes::{Bytes, BytesMut};
use serde::de::{DeserializeOwned, IgnoredAny};

use super::classify::body_snippet;
use super::Response;
use crate::error::ConnectorError;

/// Why a body could not be read.
pub(super) enum ReadError {
    /// Larger than the cap (`declared`: the Content-Length, when the server sent one).
    TooLarge { declared: Option<u64> },
    /// The connection failed mid-body.
    Failed(reqwest::Error),
}

/// Reads `response`'s body, refusing more than `cap` bytes (without reading them when the
/// Content-Length already says so).
pub(super) async fn read_capped(mut response: reqwest::Response, cap: u64) -> Result<Bytes, ReadError> {
    if let Some(declared) = response.content_length().filter(|len| *len > cap) {
        return Err(ReadError::TooLarge { declared: Some(declared) });
    }
    let capacity = usize::try_from(response.content_length().unwrap_or(0).min(cap)).unwrap_or(0);
    let mut body = BytesMut::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Failed)? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(ReadError::TooLarge { declared: None });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// What is wrong with a body the classifier accepted.
pub(super) enum BodyError {
    /// Not the vendor's whole answer (cut short, not JSON): worth another attempt.
    Malformed(String),
    /// The vendor's answer, but unusable: retrying will not help.
    Invalid(ConnectorError),
}

/// Whether the body claims (or looks) to be JSON: `send` only checks those.
fn is_json(response: &Response) -> bool {
    let declared = response.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match declared {
        Some(content_type) => content_type.to_ascii_lowercase().contains("json"),
        None => response.body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| matches!(b, b'{' | b'[')),
    }
}

/// Checks that a JSON body is complete and well-formed, without building anything.
pub(super) fn check_json(response: &Response) -> Result<(), BodyError> {
    if response.body.is_empty() || !is_json(response) {
        return Ok(());
    }
    serde_json::from_slice::<IgnoredAny>(&response.body)
        .map(|_| ())
        .map_err(|e| BodyError::Malformed(malformed(&e, &response.body)))
}

/// Parses a body as `T`: syntax errors and early ends are malformed (retried); a complete
/// document of the wrong shape is invalid data naming the endpoint.
pub(super) fn parse_json<T: DeserializeOwned>(response: &Response) -> Result<T, BodyError> {
    serde_json::from_slice(&response.body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => BodyError::Invalid(ConnectorError::invalid_data(format!(
            "{}: unexpected JSON ({e}): {}",
            response.endpoint(),
            body_snippet(&response.body)
        ))),
        _ => BodyError::Malformed(malformed(&e, &response.body)),
    })
}

fn malformed(error: &serde_json::Error, body: &[u8]) -> String {
    let what = if error.is_eof() { "cut short" } else { "not valid JSON" };
    format!("the answer is {what} ({error}; {} bytes): {}", body.len(), body_snippet(body))
}
