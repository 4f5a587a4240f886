//! Mapping tests, table by table: clean records, field warnings, unmappable records, writes.

use serde_json::json;
use zveno_connector::{Contact, Phone};

use super::*;

fn cx() -> MapContext<'static> {
    MapContext { connector: "tv", base_url: "http://127.0.0.1:9/", region: Phone::region("RU").ok() }
}

fn client_of(record: &SourceRecord) -> Client {
    match &record.data {
        Some(RecordData::Client(c)) => c.clone(),
        other => panic!("expected a client, got {other:?}"),
    }
}

#[test]
fn a_clean_client_maps_every_field() {
    let item = json!({
        "id": 7, "name": " ООО «Ромашка» ", "website": "https://www.romashka.ru/about",
        "phones": ["8 (495) 123-45-67", "+7 495 123 45 67", "+1 (415) 555-2671"],
        "emails": ["Info@Romashka.ru", " info@romashka.ru "], "tax_id": "7707083893",
        "owner_id": 3, "owner_email": "A.Petrov@zveno-demo.ru",
        "created_ms": 1_700_000_000_000_i64, "updated_ms": 1_710_000_000_000_i64, "version": 1
    });
    let record = map_record(Kind::Client, &item, &cx()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(record.external_id, "7");
    assert_eq!(record.url.as_deref(), Some("http://127.0.0.1:9/app/clients/7"));
    assert_eq!(record.updated_at.map(|t| t.timestamp_millis()), Some(1_710_000_000_000));
    assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    assert_eq!(record.raw, item);
    let c = client_of(&record);
    assert_eq!(c.name, "ООО «Ромашка»");
    assert_eq!(c.domains.iter().map(Domain::as_str).collect::<Vec<_>>(), ["romashka.ru"]);
    assert_eq!(c.emails.iter().map(Email::as_str).collect::<Vec<_>>(), ["info@romashka.ru"]);
    assert_eq!(c.phones.iter().map(Phone::as_str).collect::<Vec<_>>(), ["+74951234567", "+14155552671"]);
    assert_eq!(c.tax_id.as_ref().map(TaxId::as_str), Some("7707083893"));
    assert_eq!(c.owner.as_deref(), Some("a.petrov@zveno-demo.ru"));
}

#[test]
fn bad_fields_become_warnings_and_the_record_survives() {
    let item = json!({
        "id": 8, "name": "Acme", "website": "not a url", "phones": ["call me", 5],
        "emails": "ann@acme.com", "tax_id": "7707083894", "created_ms": "yesterday",
        "owner_id": "x"
    });
    let record = map_record(Kind::Client, &item, &cx()).unwrap_or_else(|e| panic!("{e:?}"));
    let c = client_of(&record);
    assert!(c.domains.is_empty() && c.phones.is_empty() && c.emails.is_empty());
    assert_eq!(c.tax_id, None);
    assert_eq!(record.created_at, None);
    for field in ["website:", "phones: phone", "phones: non-string", "emails:", "tax_id:", "created_ms:", "owner_id:"] {
        assert!(record.warnings.iter().any(|w| w.starts_with(field)), "{field} in {:?}", record.warnings);
    }
    assert_eq!(record.warnings.len(), 7, "{:?}", record.warnings);
}

#[test]
fn records_without_a_usable_id_or_required_text_are_record_errors() {
    let cases = [
        (Kind::Client, json!([1, 2]), None, "not a JSON object"),
        (Kind::Client, json!({"name": "x"}), None, "no id"),
        (Kind::Client, json!({"id": "12", "name": "x"}), Some("12"), "id is a string"),
        (Kind::Client, json!({"id": -1, "name": "x"}), Some("-1"), "positive integer"),
        (Kind::Client, json!({"id": 5, "name": 42}), Some("5"), "name must be a string"),
        (Kind::Client, json!({"id": 5}), Some("5"), "name is missing"),
        (Kind::Contact, json!({"id": 6, "first_name": 42}), Some("6"), "first_name must be a string"),
        (Kind::Task, json!({"id": 9, "title": null}), Some("9"), "title must be a string"),
    ];
    for (kind, item, id, message) in cases {
        match map_record(kind, &item, &cx()) {
            Err(e) => {
                assert_eq!(e.external_id.as_deref(), id, "{item}");
                assert!(e.message.contains(message), "{item}: {}", e.message);
            }
            Ok(r) => panic!("{item} mapped to {r:?}"),
        }
    }
}

#[test]
fn contacts_and_tasks_map_names_statuses_and_links() {
    let contact = json!({"id": 3, "first_name": "Анна", "last_name": null, "emails": ["ANNA@ACME.COM"],
        "phones": ["+7(916)1234567"], "client_id": 7, "owner_id": 2});
    let record = map_record(Kind::Contact, &contact, &cx()).unwrap_or_else(|e| panic!("{e:?}"));
    let Some(RecordData::Contact(c)) = record.data else { panic!("not a contact") };
    assert_eq!(
        (c.name.as_str(), c.client_ids.as_slice(), c.owner.as_deref()),
        ("Анна", &["7".to_string()][..], Some("2"))
    );
    assert_eq!(c.phones.iter().map(Phone::as_str).collect::<Vec<_>>(), ["+79161234567"]);

    let nameless = json!({"id": 4, "emails": ["x@acme.com"]});
    let record = map_record(Kind::Contact, &nameless, &cx()).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(&record.data, Some(RecordData::Contact(Contact { name, .. })) if name == "x@acme.com"));
    assert_eq!(record.warnings.len(), 1);

    for (status, want, warnings) in [
        ("in_progress", TaskStatus::InProgress, 0),
        ("cancelled", TaskStatus::Cancelled, 0),
        ("blocked", TaskStatus::Todo, 1),
    ] {
        let task = json!({"id": 1, "title": "Renew", "status": status, "priority": "urgent",
            "due_ms": 1_700_000_000_000_i64, "client_id": 7, "client_hint": "romashka.ru",
            "contact_id": 3, "labels": ["vip"], "assignee_email": "b@zveno-demo.ru", "reporter_id": 4});
        let record = map_record(Kind::Task, &task, &cx()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(record.warnings.len(), warnings, "{status}: {:?}", record.warnings);
        let Some(RecordData::Task(t)) = record.data else { panic!("not a task") };
        assert_eq!((t.status, t.status_name.as_deref(), t.priority), (want, Some(status), Some(Priority::Urgent)));
        assert_eq!(t.clients, [ClientRef::External("7".into()), ClientRef::Hint("romashka.ru".into())]);
        assert_eq!((t.contact_ids.as_slice(), t.labels.as_slice()), (&["3".to_string()][..], &["vip".to_string()][..]));
        assert_eq!((t.assignee.as_deref(), t.reporter.as_deref()), (Some("b@zveno-demo.ru"), Some("4")));
        assert!(t.due.is_some());
    }
}

#[test]
fn deleted_items_become_tombstones() {
    let record = map_tombstone(Kind::Task, &json!({"id": 5, "deleted_ms": 1000}), &cx());
    let record = record.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(record.deleted && record.data.is_none());
    assert_eq!((record.kind, record.external_id.as_str()), (Kind::Task, "5"));
    assert_eq!(record.updated_at.map(|t| t.timestamp_millis()), Some(1000));
    assert!(map_tombstone(Kind::Task, &json!({"deleted_ms": 1}), &cx()).is_err());
}

#[test]
fn writes_send_everything_on_create_and_only_what_is_set_on_update() {
    let client = RecordData::Client(Client {
        name: "Acme LLC".into(),
        domains: Domain::parse("acme.com").into_iter().collect(),
        ..Client::default()
    });
    assert_eq!(
        to_wire(&client, false),
        Ok(json!({"name": "Acme LLC", "website": "acme.com", "phones": [], "emails": [],
            "tax_id": null, "owner_email": null}))
    );
    assert_eq!(to_wire(&client, true), Ok(json!({"name": "Acme LLC", "website": "acme.com"})));
    let contact = RecordData::Contact(Contact {
        name: "Anna Maria Smith".into(),
        client_ids: vec!["7".into()],
        ..Contact::default()
    });
    assert_eq!(to_wire(&contact, true), Ok(json!({"first_name": "Anna", "last_name": "Maria Smith", "client_id": 7})));
    let foreign = RecordData::Contact(Contact { client_ids: vec!["CO_7".into()], ..Contact::default() });
    assert!(to_wire(&foreign, true).is_err_and(|e| e.contains("CO_7")));
}
