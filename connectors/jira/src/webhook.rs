//! Jira admin webhooks: verification and parsing, pure.
//!
//! An admin webhook created with a secret signs every delivery with
//! `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` (the form Jira Data Center
//! documents and Cloud integrators report; a webhook without a secret cannot be
//! authenticated, so zveno refuses its deliveries). Retries repeat
//! `X-Atlassian-Webhook-Identifier`, the replay key.
//!
//! Issue events (`jira:issue_created`, `jira:issue_updated`, `jira:issue_deleted`, and
//! comment or worklog events, which carry their issue) name the issue by its numeric `id`,
//! the id tasks are stored under; keys change when issues move between projects.

use chrono::DateTime;
use serde::Deserialize;
use zveno_connector::webhook::{hmac_sha256, verify};
use zveno_connector::{Change, ChangeHint, ConnectorError, Kind, Secret, WebhookRequest};

/// The signature header.
pub const SIGNATURE: &str = "X-Hub-Signature";
/// The delivery's id, repeated by retries.
pub const IDENTIFIER: &str = "X-Atlassian-Webhook-Identifier";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    webhook_event: Option<String>,
    timestamp: Option<i64>,
    issue: Option<Issue>,
}

#[derive(Debug, Deserialize)]
struct Issue {
    id: String,
}

/// Checks `X-Hub-Signature` against the HMAC of the raw body.
pub fn verify_signature(request: &WebhookRequest, secret: &Secret) -> Result<(), ConnectorError> {
    let header = request.required_header(SIGNATURE)?;
    let given = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| ConnectorError::auth(format!("{SIGNATURE} is not sha256=<hex>")))?;
    let expected = hex::encode(hmac_sha256(secret.expose().as_bytes(), &[&request.body]));
    verify(given.to_ascii_lowercase().as_bytes(), expected.as_bytes(), "signature")
}

/// Parses a verified delivery: the issue it concerns, as a task hint (none for events
/// without an issue, such as project or user events).
pub fn parse(request: &WebhookRequest) -> Result<Vec<ChangeHint>, ConnectorError> {
    let delivery: Delivery = serde_json::from_slice(&request.body)
        .map_err(|e| ConnectorError::invalid_data(format!("a Jira delivery must be a JSON object: {e}")))?;
    let Some(issue) = delivery.issue.filter(|i| !i.id.is_empty()) else { return Ok(Vec::new()) };
    let event_id = request.header(IDENTIFIER).map(str::to_string);
    let change =
        if delivery.webhook_event.as_deref() == Some("jira:issue_deleted") { Change::Deleted } else { Change::Changed };
    let at = delivery.timestamp.and_then(DateTime::from_timestamp_millis);
    Ok(vec![ChangeHint::changed(event_id, Kind::Task, issue.id).with_change(change, at)])
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;
    use zveno_connector::ErrorKind;

    use super::*;

    fn delivery(body: &serde_json::Value, secret: &str) -> WebhookRequest {
        let body = body.to_string();
        let signature = format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), &[body.as_bytes()])));
        WebhookRequest {
            method: "POST".into(),
            url: "https://zveno.example/webhooks/jira".into(),
            headers: vec![
                ("x-hub-signature".into(), signature),
                ("x-atlassian-webhook-identifier".into(), "d-17".into()),
            ],
            body: Bytes::from(body),
        }
    }

    #[test]
    fn the_body_hmac_verifies_and_another_secret_does_not() {
        let body = json!({"webhookEvent": "jira:issue_updated", "issue": {"id": "10002", "key": "OPS-3"}});
        assert!(verify_signature(&delivery(&body, "s3cret"), &Secret::new("s3cret")).is_ok());
        let err = verify_signature(&delivery(&body, "other"), &Secret::new("s3cret")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        let mut unsigned = delivery(&body, "s3cret");
        unsigned.headers.retain(|(n, _)| n != "x-hub-signature");
        assert_eq!(verify_signature(&unsigned, &Secret::new("s3cret")).unwrap_err().kind(), ErrorKind::Auth);
    }

    #[test]
    fn issue_events_name_the_issue_id_and_deletes_are_deletes() {
        let updated = json!({"timestamp": 1_727_866_060_000_i64, "webhookEvent": "jira:issue_updated",
                             "issue": {"id": "10002", "key": "OPS-3"}});
        let hints = parse(&delivery(&updated, "s")).unwrap();
        assert_eq!(hints.len(), 1);
        assert_eq!((hints[0].event_id.as_deref(), hints[0].kind), (Some("d-17"), Kind::Task));
        assert_eq!((hints[0].external_id.as_str(), &hints[0].change), ("10002", &Change::Changed));
        let deleted = json!({"webhookEvent": "jira:issue_deleted", "issue": {"id": "10003"}});
        assert_eq!(parse(&delivery(&deleted, "s")).unwrap()[0].change, Change::Deleted);
        let project = json!({"webhookEvent": "project_created", "project": {"id": "1"}});
        assert!(parse(&delivery(&project, "s")).unwrap().is_empty());
        let err = parse(&WebhookRequest { body: Bytes::from_static(b"[1]"), ..delivery(&project, "s") }).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
}
