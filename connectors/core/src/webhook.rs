//! Webhook deliveries as they cross the [`crate::Connector`] trait, and the checks every
//! vendor's verification is built from.
//!
//! The daemon's HTTP server does nothing vendor-specific: it hands the connector the
//! delivery exactly as received ([`WebhookRequest`], the raw body bytes and the URL the
//! vendor called, rebuilt from `[server] public_url`), and the connector verifies it with
//! its own secret (`webhook_secret_env`/`_file` of its config, in
//! [`crate::BuildContext::webhook_secret`]) and parses it into [`ChangeHint`]s. A hint is
//! never trusted as data: the daemon re-reads changed records by id; only deletes and
//! merges act at once, because a deleted record cannot be read back.
//!
//! Secrets are compared in constant time ([`same`]) so a caller cannot learn a signature
//! byte by byte from response times.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::ConnectorError;
use crate::model::Kind;
use crate::secret::Secret;

/// An incoming webhook delivery, as raw as the daemon's HTTP server saw it, so the
/// connector can verify signatures over the exact bytes.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// HTTP method, upper-case (`POST`).
    pub method: String,
    /// The full URL the vendor called: `[server] public_url` + path + query (HubSpot signs it).
    pub url: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
}

impl WebhookRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of a header that must be present, or an [`crate::ErrorKind::Auth`] error
    /// naming it: a delivery without its signature header is not from the vendor.
    pub fn required_header(&self, name: &str) -> Result<&str, ConnectorError> {
        self.header(name).ok_or_else(|| ConnectorError::auth(format!("the delivery has no {name} header")))
    }
}

/// What a webhook says happened to a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    /// Created or changed: re-read it.
    Changed,
    /// Deleted: tombstone it now (it cannot be read back).
    Deleted,
    /// Deleted at the person's request (HubSpot `contact.privacyDeletion`, a GDPR erasure):
    /// tombstone it now and keep none of its personal data — no e-mails, phones or raw
    /// payload — rather than waiting out `[store] tombstone_retention_days`.
    Erased,
    /// Merged into another record of the same kind, which survives: whatever pointed at
    /// this record now points at the survivor. Never a tombstone of the client.
    MergedInto {
        /// The survivor's vendor id.
        survivor: String,
    },
}

/// One record a webhook event names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeHint {
    /// The vendor's id of the event (HubSpot `eventId`, Pipedrive `meta.id`, Jira's
    /// `X-Atlassian-Webhook-Identifier`), by which retried deliveries are dropped; `None`
    /// when the vendor gives none (Bitrix24, which never retries).
    pub event_id: Option<String>,
    /// Kind of the record.
    pub kind: Kind,
    /// Its vendor id.
    pub external_id: String,
    /// What happened.
    pub change: Change,
    /// When the vendor says it happened (a tombstone's remote time).
    pub at: Option<DateTime<Utc>>,
}

impl ChangeHint {
    /// A hint that `external_id` of `kind` changed.
    pub fn changed(event_id: Option<String>, kind: Kind, external_id: impl Into<String>) -> Self {
        Self { event_id, kind, external_id: external_id.into(), change: Change::Changed, at: None }
    }

    /// The same hint saying what happened, at `at`.
    pub fn with_change(mut self, change: Change, at: Option<DateTime<Utc>>) -> Self {
        self.change = change;
        self.at = at;
        self
    }
}

/// The configured webhook secret, or a [`crate::ErrorKind::Config`] error saying how to
/// set one: without it no delivery can be authenticated, so none is accepted.
pub fn secret<'a>(secret: Option<&'a Secret>, connector: &str) -> Result<&'a Secret, ConnectorError> {
    secret.ok_or_else(|| {
        ConnectorError::config(format!(
            "webhooks are not enabled: set connectors.{connector}.webhook_secret_env (or _file)"
        ))
    })
}

/// HMAC-SHA256 with `key` over `parts`, concatenated.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` is fallible only for other MACs.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else { unreachable!("HMAC takes any key") };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Checks that `given` equals `expected` in constant time, or fails as
/// [`crate::ErrorKind::Auth`] with `what` ("signature", "application token").
pub fn verify(given: &[u8], expected: &[u8], what: &str) -> Result<(), ConnectorError> {
    if same(given, expected) {
        Ok(())
    } else {
        Err(ConnectorError::auth(format!("the {what} does not match")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn hmac_matches_the_rfc_4231_test_vector() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn verification_fails_as_auth_and_headers_match_any_case() {
        assert!(verify(b"abc", b"abc", "signature").is_ok());
        let err = verify(b"abd", b"abc", "signature").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert_eq!(verify(b"ab", b"abc", "token").unwrap_err().kind(), ErrorKind::Auth);
        let request = WebhookRequest {
            method: "POST".into(),
            url: "https://zveno.example/webhooks/crm".into(),
            headers: vec![("x-hub-signature".into(), "sha256=00".into())],
            body: Bytes::new(),
        };
        assert_eq!(request.header("X-Hub-Signature"), Some("sha256=00"));
        assert_eq!(request.required_header("X-Other").unwrap_err().kind(), ErrorKind::Auth);
        assert_eq!(secret(None, "crm").unwrap_err().kind(), ErrorKind::Config);
    }
}
