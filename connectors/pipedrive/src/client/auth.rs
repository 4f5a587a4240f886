//! How requests to Pipedrive are authenticated.
//!
//! A personal API token goes in the `x-api-token` header on every request, v1 and v2 alike,
//! never in the query string (v2 does not take `?api_token=`, and a token in a URL ends up
//! in proxy and server logs). [`Credentials`] is the one place that chooses the
//! [`Authenticator`]; OAuth would be a second variant whose authenticator sets
//! `Authorization: Bearer`, refreshes from `expires_in` (and after a 401) against
//! `oauth.pipedrive.com`, and rewrites each request's scheme and host to the `api_domain`
//! of the token response — the shared HTTP client hands `apply` the whole request, so
//! neither the client below nor the connector changes.

use std::sync::Arc;

use async_trait::async_trait;
use zveno_connector::http::Authenticator;
use zveno_connector::{ConnectorError, Secret};

/// The header Pipedrive reads API tokens from (the `api_key` scheme of both specs).
pub const TOKEN_HEADER: &str = "x-api-token";

/// How a connector proves who it is.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A personal API token: acts as its user, sees what that user may see.
    ApiToken(Secret),
}

impl Credentials {
    /// The authenticator the shared HTTP client applies to every attempt.
    pub fn authenticator(&self) -> Arc<dyn Authenticator> {
        match self {
            Self::ApiToken(token) => Arc::new(ApiToken(token.clone())),
        }
    }

    /// The secrets to redact from logs and errors.
    pub fn secrets(&self) -> Vec<Secret> {
        match self {
            Self::ApiToken(token) => vec![token.clone()],
        }
    }
}

/// `x-api-token: <token>`.
#[derive(Debug)]
pub struct ApiToken(pub Secret);

#[async_trait]
impl Authenticator for ApiToken {
    async fn apply(&self, request: &mut reqwest::Request) -> Result<(), ConnectorError> {
        let mut value = http::HeaderValue::from_str(self.0.expose().trim()).map_err(|_| {
            ConnectorError::config("the Pipedrive API token contains characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert(TOKEN_HEADER, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_token_goes_in_the_header_and_never_in_the_url() {
        let auth = Credentials::ApiToken(Secret::new("abc123")).authenticator();
        let url = url::Url::parse("https://api.pipedrive.com/api/v2/organizations?limit=500").unwrap();
        let mut request = reqwest::Request::new(http::Method::GET, url);
        auth.apply(&mut request).await.unwrap();
        assert_eq!(request.headers()[TOKEN_HEADER], "abc123");
        assert!(request.headers()[TOKEN_HEADER].is_sensitive());
        assert!(!request.url().as_str().contains("abc123"));
        let bad = Credentials::ApiToken(Secret::new("a\nb")).authenticator();
        assert!(bad.apply(&mut request).await.is_err());
    }
}
