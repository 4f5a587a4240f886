//! How requests are authenticated.
//!
//! The HTTP client applies an [`Authenticator`] to every attempt and asks it to refresh
//! once after a 401, so OAuth (HubSpot 30-minute tokens, Jira rotating refresh tokens,
//! Bitrix24 `expired_token`) can be added as another implementation without touching the
//! connectors that call the client.

use std::fmt::Debug;

use async_trait::async_trait;
use base64::Engine as _;

use crate::error::ConnectorError;
use crate::secret::Secret;

/// Adds credentials to a request.
#[async_trait]
pub trait Authenticator: Send + Sync + Debug {
    /// Adds credentials to `request` (a header, usually).
    async fn apply(&self, request: &mut reqwest::Request) -> Result<(), ConnectorError>;

    /// Called after a 401. Return `true` if credentials were refreshed and the request is
    /// worth one more attempt.
    async fn refresh(&self) -> Result<bool, ConnectorError> {
        Ok(false)
    }
}

/// No credentials on the request (Bitrix24 webhooks carry theirs in the URL).
#[derive(Debug, Default)]
pub struct NoAuth;

#[async_trait]
impl Authenticator for NoAuth {
    async fn apply(&self, _: &mut reqwest::Request) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// `Authorization: Bearer <token>` (HubSpot private apps).
#[derive(Debug)]
pub struct BearerToken(pub Secret);

#[async_trait]
impl Authenticator for BearerToken {
    async fn apply(&self, request: &mut reqwest::Request) -> Result<(), ConnectorError> {
        set_authorization(request, &format!("Bearer {}", self.0.expose()))
    }
}

/// `Authorization: Basic base64(user:password)` (Jira e-mail + API token).
#[derive(Debug)]
pub struct BasicAuth {
    /// The user (Jira: the account e-mail).
    pub user: String,
    /// The password or API token.
    pub password: Secret,
}

#[async_trait]
impl Authenticator for BasicAuth {
    async fn apply(&self, request: &mut reqwest::Request) -> Result<(), ConnectorError> {
        let raw = format!("{}:{}", self.user, self.password.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        set_authorization(request, &format!("Basic {encoded}"))
    }
}

fn set_authorization(request: &mut reqwest::Request, value: &str) -> Result<(), ConnectorError> {
    let mut header = http::HeaderValue::from_str(value)
        .map_err(|_| ConnectorError::config("credential contains characters not allowed in an HTTP header"))?;
    header.set_sensitive(true);
    request.headers_mut().insert(http::header::AUTHORIZATION, header);
    Ok(())
}
