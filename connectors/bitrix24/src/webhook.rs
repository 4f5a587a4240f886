//! Bitrix24 outgoing-webhook events (online events): verification and parsing, pure.
//!
//! Bitrix24 POSTs `application/x-www-form-urlencoded` with nested keys
//! (`event=ONCRMCOMPANYUPDATE`, `data[FIELDS][ID]=2917`, `auth[application_token]=…`).
//! There is no HMAC: the outgoing webhook's *application token* comes back in
//! `auth[application_token]` and is compared in constant time with the configured one.
//! Events carry only the record's id (tasks put it in `data[FIELDS_AFTER][ID]`, or
//! `data[FIELDS_BEFORE][ID]` on delete), so every event is a hint to read the record again.
//! Bitrix24 never retries an event and gives no event id, so there is nothing to
//! de-duplicate; a lost event is caught by the next poll.

use chrono::DateTime;
use zveno_connector::webhook::verify;
use zveno_connector::{Change, ChangeHint, ConnectorError, Kind, Secret, WebhookRequest};

/// The form key holding the outgoing webhook's application token.
pub const TOKEN_KEY: &str = "auth[application_token]";

/// A delivery's form fields, in order.
type Form = Vec<(String, String)>;

fn field<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// Verifies the application token and parses the event into hints for `kinds`.
pub fn parse(request: &WebhookRequest, token: &Secret, kinds: &[Kind]) -> Result<Vec<ChangeHint>, ConnectorError> {
    let form: Form = url::form_urlencoded::parse(&request.body).into_owned().collect();
    let given =
        field(&form, TOKEN_KEY).ok_or_else(|| ConnectorError::auth(format!("the event carries no {TOKEN_KEY}")))?;
    verify(given.as_bytes(), token.expose().as_bytes(), "application token")?;
    let event = field(&form, "event").ok_or_else(|| ConnectorError::invalid_data("the event has no `event` field"))?;
    let Some((kind, change)) = meaning(event).filter(|(kind, _)| kinds.contains(kind)) else { return Ok(Vec::new()) };
    let id = match kind {
        Kind::Task => field(&form, "data[FIELDS_AFTER][ID]").or_else(|| field(&form, "data[FIELDS_BEFORE][ID]")),
        Kind::Client | Kind::Contact => field(&form, "data[FIELDS][ID]"),
    }
    .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
    .ok_or_else(|| ConnectorError::invalid_data(format!("{event} names no record id")))?;
    let at = field(&form, "ts").and_then(|ts| ts.parse::<i64>().ok()).and_then(|s| DateTime::from_timestamp(s, 0));
    Ok(vec![ChangeHint::changed(None, kind, id).with_change(change, at)])
}

/// What an event name says: the kind and whether the record is gone. Deals and other
/// events zveno does not read give `None`.
fn meaning(event: &str) -> Option<(Kind, Change)> {
    let event = event.to_ascii_uppercase();
    let (kind, action) = if let Some(action) = event.strip_prefix("ONCRMCOMPANY") {
        (Kind::Client, action)
    } else if let Some(action) = event.strip_prefix("ONCRMCONTACT") {
        (Kind::Contact, action)
    } else if let Some(action) = event.strip_prefix("ONTASK") {
        (Kind::Task, action)
    } else {
        return None;
    };
    match action {
        "ADD" | "UPDATE" => Some((kind, Change::Changed)),
        "DELETE" => Some((kind, Change::Deleted)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use zveno_connector::ErrorKind;

    use super::*;

    const TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";

    fn event(pairs: &[(&str, &str)]) -> WebhookRequest {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        WebhookRequest {
            method: "POST".into(),
            url: "https://zveno.example/webhooks/b24".into(),
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: Bytes::from(body),
        }
    }

    fn company_update(token: &str) -> WebhookRequest {
        event(&[
            ("event", "ONCRMCOMPANYUPDATE"),
            ("event_handler_id", "735"),
            ("data[FIELDS][ID]", "2917"),
            ("ts", "1743165490"),
            ("auth[domain]", "x.bitrix24.com"),
            ("auth[member_id]", "a223c6b3"),
            (TOKEN_KEY, token),
        ])
    }

    #[test]
    fn the_application_token_must_match() {
        let hints = parse(&company_update(TOKEN), &Secret::new(TOKEN), &Kind::ALL).unwrap();
        assert_eq!(
            hints,
            vec![ChangeHint::changed(None, Kind::Client, "2917")
                .with_change(Change::Changed, DateTime::from_timestamp(1_743_165_490, 0))]
        );
        let err = parse(&company_update("0000"), &Secret::new(TOKEN), &Kind::ALL).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        let err = parse(&event(&[("event", "ONCRMCOMPANYUPDATE")]), &Secret::new(TOKEN), &Kind::ALL).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
    }

    #[test]
    fn task_and_contact_events_and_deletes_name_their_record() {
        let task_deleted = event(&[
            ("event", "ONTASKDELETE"),
            ("data[FIELDS_BEFORE][ID]", "31"),
            ("data[FIELDS_AFTER]", "undefined"),
            ("data[IS_ACCESSIBLE_AFTER]", "N"),
            (TOKEN_KEY, TOKEN),
        ]);
        let hints = parse(&task_deleted, &Secret::new(TOKEN), &Kind::ALL).unwrap();
        assert_eq!(
            (hints[0].kind, hints[0].external_id.as_str(), &hints[0].change),
            (Kind::Task, "31", &Change::Deleted)
        );
        let contact = event(&[("event", "ONCRMCONTACTADD"), ("data[FIELDS][ID]", "77"), (TOKEN_KEY, TOKEN)]);
        let hints = parse(&contact, &Secret::new(TOKEN), &Kind::ALL).unwrap();
        assert_eq!((hints[0].kind, hints[0].external_id.as_str()), (Kind::Contact, "77"));
        assert!(parse(&contact, &Secret::new(TOKEN), &[Kind::Client]).unwrap().is_empty(), "kind not synced");
        let deal = event(&[("event", "ONCRMDEALUPDATE"), ("data[FIELDS][ID]", "5"), (TOKEN_KEY, TOKEN)]);
        assert!(parse(&deal, &Secret::new(TOKEN), &Kind::ALL).unwrap().is_empty());
        let no_id = event(&[("event", "ONCRMCOMPANYADD"), (TOKEN_KEY, TOKEN)]);
        assert_eq!(parse(&no_id, &Secret::new(TOKEN), &Kind::ALL).unwrap_err().kind(), ErrorKind::InvalidData);
    }
}
