//! Who may call what: bearer tokens for programs, a sign-in cookie for people.
//!
//! Two tokens, given by reference in `[server]`: the read token reads, the admin token
//! reads and acts (`/api/v1/admin/…`). Tokens are compared in constant time (`subtle`).
//! With no token configured the server is open — which the settings only allow on a
//! loopback address — and every caller is an admin.
//!
//! The web view signs a person in with a token once and keeps a cookie: `HttpOnly` (no
//! script reads it), `SameSite=Strict` (no other site's page sends it, which is the CSRF
//! defence for the admin forms), `Secure` when `public_url` is https. The cookie holds an
//! HMAC of the token, not the token, so it cannot be replayed as a bearer token, and a
//! rotated token signs every browser out.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zveno_connector::Secret;

use super::error::ApiError;
use super::ServerState;

/// The sign-in cookie's name.
pub const SESSION_COOKIE: &str = "zveno_session";

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read the view and the API.
    Read,
    /// Read, and take admin actions.
    Admin,
}

/// The configured tokens.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    read: Option<Secret>,
    admin: Option<Secret>,
}

impl Auth {
    /// Tokens from `[server]`.
    pub fn new(read: Option<Secret>, admin: Option<Secret>) -> Self {
        Self { read, admin }
    }

    /// Whether no token is configured (everyone is an admin; loopback only).
    pub fn is_open(&self) -> bool {
        self.read.is_none() && self.admin.is_none()
    }

    /// The role a presented token grants, if any.
    pub fn token_role(&self, token: &str) -> Option<Role> {
        let matches =
            |s: &Option<Secret>| s.as_ref().is_some_and(|s| bool::from(s.expose().as_bytes().ct_eq(token.as_bytes())));
        if matches(&self.admin) {
            Some(Role::Admin)
        } else if matches(&self.read) {
            Some(Role::Read)
        } else {
            None
        }
    }

    /// The cookie value that stands for a signed-in `role`.
    pub fn session_value(&self, role: Role) -> Option<String> {
        let secret = match role {
            Role::Admin => self.admin.as_ref(),
            Role::Read => self.read.as_ref(),
        }?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).ok()?;
        mac.update(b"zveno web session v1");
        Some(hex::encode(mac.finalize().into_bytes()))
    }

    /// The role the request's bearer token or sign-in cookie grants.
    pub fn role_of(&self, headers: &HeaderMap) -> Result<Role, ApiError> {
        if self.is_open() {
            return Ok(Role::Admin);
        }
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim)
                .ok_or_else(|| ApiError::Unauthorized("Authorization must be \"Bearer <token>\"".into()))?;
            return self
                .token_role(token)
                .ok_or_else(|| ApiError::Unauthorized("the bearer token is not one of this server's tokens".into()));
        }
        if let Some(session) = cookie(headers, SESSION_COOKIE) {
            for role in [Role::Admin, Role::Read] {
                if self.session_value(role).is_some_and(|v| bool::from(v.as_bytes().ct_eq(session.as_bytes()))) {
                    return Ok(role);
                }
            }
            return Err(ApiError::Unauthorized("the sign-in has expired (the token changed); sign in again".into()));
        }
        Err(ApiError::Unauthorized("a bearer token is required (Authorization: Bearer <token>)".into()))
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A caller allowed to read.
#[derive(Debug, Clone, Copy)]
pub struct Reader(pub Role);

/// A caller allowed to take admin actions.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<ServerState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, Self::Rejection> {
        state.auth().role_of(&parts.headers).map(Reader)
    }
}

impl FromRequestParts<ServerState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, Self::Rejection> {
        match state.auth().role_of(&parts.headers)? {
            Role::Admin => Ok(Admin),
            Role::Read => {
                Err(ApiError::Forbidden("this action needs the admin token; the read token only reads".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(Some(Secret::new("read-token")), Some(Secret::new("admin-token")))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            match v.parse() {
                Ok(value) => h.append(*k, value),
                Err(e) => panic!("{v:?}: {e}"),
            };
        }
        h
    }

    #[test]
    fn bearer_tokens_grant_their_role_and_others_are_refused() {
        let a = auth();
        assert_eq!(a.role_of(&headers(&[("authorization", "Bearer admin-token")])), Ok(Role::Admin));
        assert_eq!(a.role_of(&headers(&[("authorization", "Bearer read-token")])), Ok(Role::Read));
        assert!(matches!(
            a.role_of(&headers(&[("authorization", "Bearer read-tokeN")])),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(a.role_of(&headers(&[("authorization", "Basic eDp5")])), Err(ApiError::Unauthorized(_))));
        assert!(matches!(a.role_of(&HeaderMap::new()), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn the_session_cookie_is_an_hmac_not_the_token() {
        let a = auth();
        let Some(admin) = a.session_value(Role::Admin) else { panic!("no admin session value") };
        assert!(!admin.contains("admin-token"));
        let cookie_header = format!("lang=ru; {SESSION_COOKIE}={admin}");
        assert_eq!(a.role_of(&headers(&[("cookie", &cookie_header)])), Ok(Role::Admin));
        let stale = format!("{SESSION_COOKIE}=0000");
        assert!(a.role_of(&headers(&[("cookie", &stale)])).is_err());
        let rotated = Auth::new(Some(Secret::new("read-token")), Some(Secret::new("new-admin-token")));
        assert!(rotated.role_of(&headers(&[("cookie", &cookie_header)])).is_err(), "a new token signs browsers out");
    }

    #[test]
    fn without_tokens_everyone_is_an_admin() {
        assert_eq!(Auth::default().role_of(&HeaderMap::new()), Ok(Role::Admin));
    }
}
