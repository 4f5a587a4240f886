//! `POST /webhooks/{connector}`: vendor deliveries, authenticated by the vendor's own
//! signature or token (checked by the connector), never by bearer tokens.
//!
//! The handler only rebuilds what the vendor signed — the URL it called, from
//! `[server] public_url` (behind a proxy the listener's own address is not what HubSpot
//! signed) — and hands the raw delivery to [`crate::webhooks`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use zveno_connector::WebhookRequest;

use super::error::ApiError;
use super::ServerState;
use crate::webhooks::{Receipt, WebhookError};

/// `POST /webhooks/{connector}`.
pub(super) async fn receive(
    State(state): State<ServerState>,
    Path(connector): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Receipt>, ApiError> {
    let Some(webhooks) = &state.0.webhooks else {
        return Err(ApiError::NotFound("this server receives no webhooks".to_string()));
    };
    let request = WebhookRequest {
        method: method.as_str().to_string(),
        url: called_url(state.0.public_url.as_ref(), &headers, &uri),
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
            .collect(),
        body,
    };
    webhooks.receive(&connector, &request).await.map(Json).map_err(|e| match e {
        WebhookError::UnknownConnector(_) | WebhookError::NotEnabled(_) => ApiError::NotFound(e.to_string()),
        WebhookError::Unauthorized(_) => ApiError::Unauthorized(e.to_string()),
        WebhookError::Invalid(_) => ApiError::BadRequest(e.to_string()),
        WebhookError::Store(s) => s.into(),
        WebhookError::Failed(_) => ApiError::Internal(e.to_string()),
    })
}

/// The URL the vendor called: `public_url` (its path as a prefix) + this path and query;
/// without `public_url`, `http://` + the `Host` header.
fn called_url(public_url: Option<&url::Url>, headers: &HeaderMap, uri: &Uri) -> String {
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    match public_url {
        Some(base) => {
            let origin = base.origin().ascii_serialization();
            format!("{origin}{}{path_and_query}", base.path().trim_end_matches('/'))
        }
        None => {
            let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}{path_and_query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_called_url_is_the_public_url_with_this_path_and_query() {
        let uri: Uri = "/webhooks/crm?portal=1".parse().unwrap();
        let public = url::Url::parse("https://hub.example.com/zveno/").unwrap();
        assert_eq!(
            called_url(Some(&public), &HeaderMap::new(), &uri),
            "https://hub.example.com/zveno/webhooks/crm?portal=1"
        );
        let public = url::Url::parse("https://hub.example.com:8443").unwrap();
        assert_eq!(
            called_url(Some(&public), &HeaderMap::new(), &uri),
            "https://hub.example.com:8443/webhooks/crm?portal=1"
        );
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::HOST, "127.0.0.1:9470".parse().unwrap());
        assert_eq!(called_url(None, &headers, &uri), "http://127.0.0.1:9470/webhooks/crm?portal=1");
    }
}
