//! HubSpot webhook deliveries (v3 signatures): verification and parsing, pure.
//!
//! HubSpot signs `method + uri + body + timestamp` with the app's client secret
//! (HMAC-SHA256, base64) in `X-HubSpot-Signature-v3`, where `uri` is the full URL it
//! called, query included, and the timestamp is `X-HubSpot-Request-Timestamp` (epoch ms).
//! A delivery whose timestamp is more than five minutes away from now is refused even when
//! its signature is right: a captured delivery cannot be replayed later
//! (<https://developers.hubspot.com/docs/api/webhooks/validating-requests>).
//!
//! The body is a JSON array of up to 100 events, each with its own `eventId` (the replay
//! key). `company.*`, `contact.*` and the generic `object.*` (by `objectTypeId`: `0-2`
//! companies, `0-1` contacts, `0-27` tasks — tasks have no family of their own) become
//! hints; deals and kinds this connector does not sync are skipped. A `*.merge` event names
//! the survivor (`primaryObjectId`) and the records merged into it (`mergedObjectIds`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use zveno_connector::webhook::{hmac_sha256, verify};
use zveno_connector::{Change, ChangeHint, ConnectorError, Kind, Secret, WebhookRequest};

/// The signature header.
pub const SIGNATURE: &str = "X-HubSpot-Signature-v3";
/// The timestamp header (epoch ms) the signature covers.
pub const TIMESTAMP: &str = "X-HubSpot-Request-Timestamp";
/// How far a delivery's timestamp may be from now.
pub const MAX_AGE: TimeDelta = TimeDelta::minutes(5);

/// One event of a delivery (only the fields zveno reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_id: serde_json::Value,
    subscription_type: String,
    object_id: Option<u64>,
    object_type_id: Option<String>,
    occurred_at: Option<i64>,
    primary_object_id: Option<u64>,
    #[serde(default)]
    merged_object_ids: Vec<u64>,
}

/// Checks the v3 signature and the timestamp's age against `now`.
pub fn verify_signature(request: &WebhookRequest, secret: &Secret, now: DateTime<Utc>) -> Result<(), ConnectorError> {
    let signature = request.required_header(SIGNATURE)?;
    let timestamp = request.required_header(TIMESTAMP)?;
    let sent = timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| ConnectorError::auth(format!("{TIMESTAMP} {timestamp:?} is not epoch milliseconds")))?;
    if (now - sent).abs() > MAX_AGE {
        return Err(ConnectorError::auth(format!(
            "{TIMESTAMP} is {} s away from now (at most {} s): a stale or replayed delivery",
            (now - sent).num_seconds().abs(),
            MAX_AGE.num_seconds()
        )));
    }
    let mac = hmac_sha256(
        secret.expose().as_bytes(),
        &[request.method.as_bytes(), request.url.as_bytes(), &request.body, timestamp.as_bytes()],
    );
    verify(signature.trim().as_bytes(), BASE64.encode(mac).as_bytes(), "signature")
}

/// Parses a verified delivery into hints for the kinds in `kinds`.
pub fn parse(body: &[u8], kinds: &[Kind]) -> Result<Vec<ChangeHint>, ConnectorError> {
    let events: Vec<Event> = serde_json::from_slice(body)
        .map_err(|e| ConnectorError::invalid_data(format!("a HubSpot delivery must be a JSON array of events: {e}")))?;
    let mut hints = Vec::new();
    for event in events {
        let Some((family, action)) = event.subscription_type.split_once('.') else { continue };
        let Some(kind) = kind_of(family, event.object_type_id.as_deref()).filter(|k| kinds.contains(k)) else {
            continue;
        };
        let event_id = match &event.event_id {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let at = event.occurred_at.and_then(DateTime::from_timestamp_millis);
        let hint = |id: u64, change: Change| {
            ChangeHint::changed(Some(event_id.clone()), kind, id.to_string()).with_change(change, at)
        };
        match action {
            "merge" => {
                let Some(survivor) = event.primary_object_id.or(event.object_id) else { continue };
                hints.extend(
                    event
                        .merged_object_ids
                        .iter()
                        .filter(|id| **id != survivor)
                        .map(|id| hint(*id, Change::MergedInto { survivor: survivor.to_string() })),
                );
                hints.push(hint(survivor, Change::Changed));
            }
            "deletion" => hints.extend(event.object_id.map(|id| hint(id, Change::Deleted))),
            // GDPR erasure: nothing of the person may stay, not even in a tombstone.
            "privacyDeletion" => hints.extend(event.object_id.map(|id| hint(id, Change::Erased))),
            _ => hints.extend(event.object_id.map(|id| hint(id, Change::Changed))),
        }
    }
    Ok(hints)
}

/// The kind an event concerns: by its family, or for `object.*` by `objectTypeId`.
fn kind_of(family: &str, object_type_id: Option<&str>) -> Option<Kind> {
    match (family, object_type_id) {
        ("company", _) | ("object", Some("0-2")) => Some(Kind::Client),
        ("contact", _) | ("object", Some("0-1")) => Some(Kind::Contact),
        ("object", Some("0-27")) => Some(Kind::Task),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;
    use zveno_connector::ErrorKind;

    use super::*;

    const SECRET: &str = "app-client-secret";
    const URL: &str = "https://zveno.example/webhooks/crm?portal=62515";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_764_000_000_000).unwrap()
    }

    fn signed(body: &str, timestamp: i64, secret: &str) -> WebhookRequest {
        let ts = timestamp.to_string();
        let mac = hmac_sha256(secret.as_bytes(), &[b"POST", URL.as_bytes(), body.as_bytes(), ts.as_bytes()]);
        WebhookRequest {
            method: "POST".into(),
            url: URL.into(),
            headers: vec![("x-hubspot-signature-v3".into(), BASE64.encode(mac)), (TIMESTAMP.to_lowercase(), ts)],
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn a_signature_over_method_url_body_and_timestamp_verifies() {
        let at = now().timestamp_millis();
        assert!(verify_signature(&signed("[]", at, SECRET), &Secret::new(SECRET), now()).is_ok());
        let wrong = verify_signature(&signed("[]", at, "another-secret"), &Secret::new(SECRET), now());
        assert_eq!(wrong.unwrap_err().kind(), ErrorKind::Auth);
        let mut moved = signed("[]", at, SECRET);
        moved.url = "https://zveno.example/webhooks/other".into();
        assert_eq!(verify_signature(&moved, &Secret::new(SECRET), now()).unwrap_err().kind(), ErrorKind::Auth);
    }

    #[test]
    fn a_timestamp_older_than_five_minutes_is_refused_even_when_signed() {
        let old = (now() - TimeDelta::seconds(301)).timestamp_millis();
        let err = verify_signature(&signed("[]", old, SECRET), &Secret::new(SECRET), now()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert!(err.message().contains("stale"), "{}", err.message());
        let recent = (now() - TimeDelta::seconds(299)).timestamp_millis();
        assert!(verify_signature(&signed("[]", recent, SECRET), &Secret::new(SECRET), now()).is_ok());
    }

    #[test]
    fn events_become_hints_per_kind_with_their_event_ids() {
        let body = json!([
            {"eventId": 1, "subscriptionType": "company.propertyChange", "objectId": 512, "occurredAt": 1},
            {"eventId": 2, "subscriptionType": "contact.deletion", "objectId": 77, "occurredAt": 1_764_000_000_000_i64},
            {"eventId": 3, "subscriptionType": "deal.creation", "objectId": 9},
            {"eventId": 4, "subscriptionType": "object.creation", "objectTypeId": "0-27", "objectId": 31},
            {"eventId": 5, "subscriptionType": "company.merge", "objectId": 600,
             "primaryObjectId": 600, "mergedObjectIds": [512, 600]},
            {"eventId": 6, "subscriptionType": "contact.privacyDeletion", "objectId": 78}
        ]);
        let hints = parse(body.to_string().as_bytes(), &Kind::ALL).unwrap();
        let seen: Vec<(Option<&str>, Kind, &str, &Change)> =
            hints.iter().map(|h| (h.event_id.as_deref(), h.kind, h.external_id.as_str(), &h.change)).collect();
        let merged = Change::MergedInto { survivor: "600".into() };
        assert_eq!(
            seen,
            vec![
                (Some("1"), Kind::Client, "512", &Change::Changed),
                (Some("2"), Kind::Contact, "77", &Change::Deleted),
                (Some("4"), Kind::Task, "31", &Change::Changed),
                (Some("5"), Kind::Client, "512", &merged),
                (Some("5"), Kind::Client, "600", &Change::Changed),
                (Some("6"), Kind::Contact, "78", &Change::Erased),
            ]
        );
        assert_eq!(hints[1].at, Some(now()));
        let clients_only = parse(body.to_string().as_bytes(), &[Kind::Client]).unwrap();
        assert!(clients_only.iter().all(|h| h.kind == Kind::Client));
    }

    #[test]
    fn a_body_that_is_not_an_event_array_is_invalid_data() {
        let err = parse(br#"{"eventId": 1}"#, &Kind::ALL).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
}
