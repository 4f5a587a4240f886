//! Whole-issue mapping tests, on issues shaped like real `search/jql` answers.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use zveno_connector::{ClientRef, Priority, RecordData, Task, TaskStatus};

use super::*;

fn mapper() -> Mapper {
    let overrides = BTreeMap::from([("Parked".to_string(), TaskStatus::Cancelled)]);
    Mapper {
        connector: "tracker".into(),
        site: url::Url::parse("https://acme.atlassian.net/").unwrap_or_else(|_| unreachable!()),
        statuses: StatusTable::new(&overrides),
        priorities: PriorityTable::new(&BTreeMap::new()),
        client_field: Some("customfield_10050".into()),
        client_label_prefix: Some("client:".into()),
    }
}

fn issue(fields: &Value) -> Value {
    let mut base = json!({
        "summary": "Call client about renewal",
        "status": {"id": "10000", "name": "To Do", "statusCategory": {"id": 2, "key": "new"}},
        "created": "2026-01-02T10:00:00.000+0300",
        "updated": "2026-01-02T10:15:42.123+0300",
    });
    if let (Some(b), Some(f)) = (base.as_object_mut(), fields.as_object()) {
        b.extend(f.clone());
    }
    json!({"id": "10002", "key": "OPS-3", "self": "https://acme.atlassian.net/rest/api/3/issue/10002",
           "fields": base})
}

fn task(issue: &Value) -> (Task, Vec<String>) {
    match mapper().map(issue.clone(), Some(chrono_tz::Europe::Moscow)) {
        Ok(record) => match record.data {
            Some(RecordData::Task(t)) => (t, record.warnings),
            other => panic!("not a task: {other:?}"),
        },
        Err(e) => panic!("unmapped: {e:?}"),
    }
}

fn utc(text: &str) -> chrono::DateTime<Utc> {
    time::parse_timestamp(text).unwrap_or_default()
}

#[test]
fn a_full_issue_maps_every_field() {
    let raw = issue(&json!({
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Prepare pricing"}]}
        ]},
        "status": {"name": "In Review", "statusCategory": {"key": "indeterminate"}},
        "priority": {"id": "2", "name": "High"},
        "assignee": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof",
                     "emailAddress": "Mia@Example.com", "active": true},
        "reporter": {"accountId": "712020:0e4b", "displayName": "Ops Bot"},
        "duedate": "2026-09-30",
        "labels": ["client:romashka.ru", "renewal"],
        "customfield_10050": {"value": "ООО «Ромашка»", "id": "10020"},
        "resolution": null,
        "resolutiondate": null,
    }));
    let record = mapper().map(raw.clone(), Some(chrono_tz::Europe::Moscow)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(record.external_id, "10002");
    assert_eq!(record.url.as_deref(), Some("https://acme.atlassian.net/browse/OPS-3"));
    assert_eq!(record.created_at, Some(utc("2026-01-02T07:00:00Z")));
    assert_eq!(
        record.updated_at.map(|t| t.timestamp_millis()),
        Some(utc("2026-01-02T07:15:42.123Z").timestamp_millis())
    );
    assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    assert_eq!(record.raw, raw, "the raw payload keeps custom fields");
    let (t, _) = task(&raw);
    assert_eq!(t.title, "Call client about renewal");
    assert_eq!(t.description.as_deref(), Some("Prepare pricing"));
    assert_eq!((t.status, t.status_name.as_deref()), (TaskStatus::InProgress, Some("In Review")));
    assert_eq!(t.priority, Some(Priority::High));
    assert_eq!(t.assignee.as_deref(), Some("mia@example.com"));
    assert_eq!(t.due, Some(utc("2026-09-30T20:59:59Z")), "end of the day in Moscow");
    assert_eq!(t.labels, vec!["client:romashka.ru", "renewal"]);
    assert_eq!(t.clients, vec![ClientRef::Hint("ООО «Ромашка»".into()), ClientRef::Hint("romashka.ru".into())]);
}

#[test]
fn hidden_emails_fall_back_to_the_account_id() {
    let (t, warnings) = task(&issue(&json!({
        "assignee": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof"},
        "reporter": {"accountId": "712020:0e4b", "emailAddress": ""},
    })));
    assert_eq!(t.assignee.as_deref(), Some("5b10a2844c20165700ede21g"));
    assert_eq!(t.reporter.as_deref(), Some("712020:0e4b"));
    assert!(warnings.is_empty());
    let (t, warnings) = task(&issue(&json!({
        "assignee": {"accountId": "abc", "emailAddress": "not an email"},
    })));
    assert_eq!(t.assignee.as_deref(), Some("abc"));
    assert_eq!(warnings.len(), 1);
}

#[test]
fn missing_and_unassigned_optional_fields_are_none_without_warnings() {
    let (t, warnings) = task(&issue(&json!({
        "duedate": null, "assignee": null, "priority": null, "description": null,
    })));
    assert_eq!((t.due, t.assignee, t.priority, t.description), (None, None, None, None));
    assert!(t.clients.is_empty() && t.labels.is_empty());
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn unknown_statuses_are_guessed_with_a_warning() {
    let (t, warnings) = task(&issue(&json!({
        "status": {"name": "Limbo", "statusCategory": {"key": "undefined"}},
        "resolutiondate": "2026-01-02T11:00:00.000+0300",
    })));
    assert_eq!(t.status, TaskStatus::Done);
    assert_eq!(t.resolved_at, Some(utc("2026-01-02T08:00:00Z")));
    assert!(warnings.iter().any(|w| w.contains("Limbo")), "{warnings:?}");

    let (t, _) = task(&issue(&json!({"status": {"name": "Won't Do", "statusCategory": {"key": "done"}}})));
    assert_eq!(t.status, TaskStatus::Cancelled);
    let (t, _) = task(&issue(&json!({"status": {"name": "Parked", "statusCategory": {"key": "new"}}})));
    assert_eq!(t.status, TaskStatus::Cancelled, "operator override");
    let (t, warnings) = task(&issue(&json!({"status": null})));
    assert_eq!((t.status, warnings.len()), (TaskStatus::Todo, 1));
}

#[test]
fn custom_field_shapes_become_client_hints() {
    for (value, want) in [
        (json!("romashka.ru"), vec!["romashka.ru"]),
        (json!({"value": "Acme", "id": "1"}), vec!["Acme"]),
        (json!([{"value": "Acme"}, {"value": "Globex"}]), vec!["Acme", "Globex"]),
        (json!(4242.0), vec!["4242"]),
        (
            json!({"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Romashka LLC"}]}]}),
            vec!["Romashka LLC"],
        ),
    ] {
        let (t, warnings) = task(&issue(&json!({"customfield_10050": value})));
        let want: Vec<ClientRef> = want.iter().map(|s| ClientRef::Hint(s.to_string())).collect();
        assert_eq!(t.clients, want);
        assert!(warnings.is_empty());
    }
    let (t, warnings) = task(&issue(&json!({"customfield_10050": true, "labels": ["client:acme.com"]})));
    assert_eq!(t.clients, vec![ClientRef::Hint("acme.com".into())], "labels still count");
    assert!(warnings[0].starts_with("customfield_10050"), "{warnings:?}");
}

#[test]
fn bad_fields_are_dropped_with_warnings_not_the_record() {
    let (t, warnings) = task(&issue(&json!({
        "duedate": "someday",
        "priority": {"name": "Whenever"},
        "labels": "not-a-list",
        "description": 42,
        "created": "yesterday",
        "assignee": "mia",
    })));
    assert_eq!(t.title, "Call client about renewal");
    assert_eq!((t.due, t.priority, t.description, t.assignee), (None, None, None, None));
    assert!(t.labels.is_empty());
    assert_eq!(warnings.len(), 6, "{warnings:?}");
}

#[test]
fn a_plain_string_description_is_kept() {
    let (t, _) = task(&issue(&json!({"description": "legacy wiki text"})));
    assert_eq!(t.description.as_deref(), Some("legacy wiki text"));
}

#[test]
fn issues_without_summary_id_or_updated_are_record_errors() {
    let m = mapper();
    let no_summary = issue(&json!({"summary": 42}));
    let err = m.map(no_summary, None).err();
    assert_eq!(err.as_ref().and_then(|e| e.external_id.as_deref()), Some("10002"));
    assert!(err.is_some_and(|e| e.message.contains("summary")));
    let bad_updated = issue(&json!({"updated": "2026-01-02"}));
    assert!(m.map(bad_updated, None).is_err());
    let no_id = json!({"key": "OPS-1", "fields": {}});
    assert_eq!(m.map(no_id, None).err().map(|e| e.external_id), Some(None));
}

#[test]
fn the_requested_fields_include_the_client_field() {
    let fields = mapper().fields();
    assert!(fields.contains(&"customfield_10050".to_string()));
    assert!(fields.contains(&"updated".to_string()));
}
