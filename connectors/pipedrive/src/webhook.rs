//! Pipedrive webhooks (v2 payloads): authentication and parsing, pure.
//!
//! Pipedrive signs nothing. A webhook is registered (`POST /v1/webhooks`) with
//! `http_auth_user` and `http_auth_password`, and every delivery comes back with them as
//! `Authorization: Basic …`; zveno's `webhook_secret` for a Pipedrive connector is that
//! `user:password`, compared in constant time.
//!
//! A v2 body is `{"meta": {...}, "data": {...} | null, "previous": {...} | null}`:
//! `meta.action` is `create`, `change` or `delete`, `meta.entity` the object
//! (`organization`, `person`, `activity`, …), `meta.entity_id` its id, and `meta.id` the
//! event's id (repeated by retries, so the replay key). A merge arrives as a `delete` of
//! the merged record whose `meta.merged_to_id` names the survivor: the record is re-pointed,
//! never tombstoned.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use zveno_connector::webhook::verify;
use zveno_connector::{Change, ChangeHint, ConnectorError, Kind, Secret, WebhookRequest};

#[derive(Debug, Deserialize)]
struct Delivery {
    meta: Meta,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    previous: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    action: String,
    entity: String,
    #[serde(default)]
    entity_id: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    merged_to_id: Option<Value>,
}

/// An id Pipedrive may send as a number or a string.
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks `Authorization: Basic` against the configured `user:password`.
pub fn verify_credentials(request: &WebhookRequest, secret: &Secret) -> Result<(), ConnectorError> {
    let header = request.required_header("Authorization")?;
    let encoded = header
        .trim()
        .strip_prefix("Basic ")
        .ok_or_else(|| ConnectorError::auth("the delivery's Authorization is not HTTP Basic"))?;
    let given = BASE64
        .decode(encoded.trim())
        .map_err(|_| ConnectorError::auth("the delivery's Basic credentials are not base64"))?;
    verify(&given, secret.expose().as_bytes(), "HTTP Basic credentials")
}

/// Parses a verified v2 delivery into a hint for `kinds` (none for entities zveno does not
/// read, such as deals).
pub fn parse(body: &[u8], kinds: &[Kind]) -> Result<Vec<ChangeHint>, ConnectorError> {
    let delivery: Delivery = serde_json::from_slice(body)
        .map_err(|e| ConnectorError::invalid_data(format!("not a Pipedrive v2 webhook body: {e}")))?;
    let meta = &delivery.meta;
    let kind = match meta.entity.as_str() {
        "organization" => Kind::Client,
        "person" => Kind::Contact,
        "activity" => Kind::Task,
        _ => return Ok(Vec::new()),
    };
    if !kinds.contains(&kind) {
        return Ok(Vec::new());
    }
    let record_id = id_text(meta.entity_id.as_ref())
        .or_else(|| id_text(delivery.data.as_ref().and_then(|d| d.get("id"))))
        .or_else(|| id_text(delivery.previous.as_ref().and_then(|p| p.get("id"))))
        .ok_or_else(|| ConnectorError::invalid_data(format!("the {} event names no id", meta.entity)))?;
    let change = match (meta.action.as_str(), id_text(meta.merged_to_id.as_ref())) {
        ("delete", Some(survivor)) if survivor != record_id => Change::MergedInto { survivor },
        ("delete", _) => Change::Deleted,
        ("create" | "change", _) => Change::Changed,
        (other, _) => return Err(ConnectorError::invalid_data(format!("unknown webhook action {other:?}"))),
    };
    Ok(vec![ChangeHint::changed(id_text(meta.id.as_ref()), kind, record_id).with_change(change, meta.timestamp)])
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;
    use zveno_connector::ErrorKind;

    use super::*;

    fn delivery(credentials: &str, body: &Value) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            url: "https://zveno.example/webhooks/pd".into(),
            headers: vec![("authorization".into(), format!("Basic {}", BASE64.encode(credentials)))],
            body: Bytes::from(body.to_string()),
        }
    }

    fn event(action: &str, entity: &str, extra: &Value) -> Value {
        let mut meta = json!({"action": action, "entity": entity, "entity_id": "746", "id": "ev-1",
                              "timestamp": "2026-05-15T18:00:00.000Z", "version": "2.0"});
        if let (Some(meta), Some(extra)) = (meta.as_object_mut(), extra.as_object()) {
            meta.extend(extra.clone());
        }
        json!({"meta": meta, "data": null, "previous": {"id": 746}})
    }

    #[test]
    fn basic_credentials_must_match_the_configured_user_and_password() {
        let body = event("change", "organization", &json!({}));
        let secret = Secret::new("zveno:s3cret");
        assert!(verify_credentials(&delivery("zveno:s3cret", &body), &secret).is_ok());
        let err = verify_credentials(&delivery("zveno:guess", &body), &secret).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        let mut bearer = delivery("zveno:s3cret", &body);
        bearer.headers = vec![("authorization".into(), "Bearer zveno:s3cret".into())];
        assert_eq!(verify_credentials(&bearer, &secret).unwrap_err().kind(), ErrorKind::Auth);
    }

    #[test]
    fn changes_deletes_and_merges_become_hints_with_the_event_id() {
        let hints = parse(event("change", "organization", &json!({})).to_string().as_bytes(), &Kind::ALL).unwrap();
        assert_eq!(hints.len(), 1);
        assert_eq!((hints[0].event_id.as_deref(), hints[0].kind), (Some("ev-1"), Kind::Client));
        assert_eq!((hints[0].external_id.as_str(), &hints[0].change), ("746", &Change::Changed));
        let deleted = parse(event("delete", "person", &json!({})).to_string().as_bytes(), &Kind::ALL).unwrap();
        assert_eq!((deleted[0].kind, &deleted[0].change), (Kind::Contact, &Change::Deleted));
        assert_eq!(deleted[0].at, Some("2026-05-15T18:00:00Z".parse().unwrap()));
        let merged = event("delete", "organization", &json!({"merged_to_id": 800}));
        let merged = parse(merged.to_string().as_bytes(), &Kind::ALL).unwrap();
        assert_eq!(merged[0].change, Change::MergedInto { survivor: "800".into() });
        let deal = event("change", "deal", &json!({}));
        assert!(parse(deal.to_string().as_bytes(), &Kind::ALL).unwrap().is_empty());
        let unsynced = event("change", "activity", &json!({}));
        assert!(parse(unsynced.to_string().as_bytes(), &[Kind::Client]).unwrap().is_empty());
        assert_eq!(parse(b"{}", &Kind::ALL).unwrap_err().kind(), ErrorKind::InvalidData);
    }
}
