//! A planned op's fields turned back into the common model a connector's `push` takes.
//!
//! Clients carry only the changed fields: a push leaves empty fields alone. A task's status
//! and title are not optional in the model, so an update that does not change them carries
//! the record's current ones (writing a value a record already holds changes nothing).
//!
//! Task labels are a set people add to on the target as well: a push adds the flow's
//! labels, and takes off only those the record holds that zveno wrote there earlier and
//! the flow's value no longer has (`labels_removed`); a person's own label is never named.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use zveno_connector::{Client, ClientRef, Domain, Email, Kind, Phone, RecordData, Task, TaskStatus, TaxId};

use super::plan::FieldChange;
use super::values::Values;

/// The data writing `changes` (over `current`, the record's values, for an update);
/// `written` holds the labels zveno wrote to the record before (see the module doc).
pub fn record_data(
    kind: Kind,
    changes: &[FieldChange],
    current: Option<&Values>,
    client: Option<&str>,
    written: &BTreeSet<String>,
) -> Result<RecordData, String> {
    let value = |field: &str| -> Option<Value> {
        changes.iter().find(|c| c.field == field).map(|c| c.after.clone()).filter(|v| !v.is_null())
    };
    let text = |field: &str| value(field).and_then(|v| v.as_str().map(str::to_string));
    let list = |field: &str| -> Vec<String> {
        value(field)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let held = |field: &str| current.and_then(|c| c.get(field)).and_then(|v| v.as_str().map(str::to_string));
    match kind {
        Kind::Client => Ok(RecordData::Client(Client {
            name: text("name").unwrap_or_default(),
            domains: list("domains")
                .iter()
                .map(|d| Domain::parse(d))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?,
            emails: list("emails")
                .iter()
                .map(|e| Email::parse(e))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?,
            phones: list("phones")
                .iter()
                .map(|p| Phone::parse(p, None))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?,
            tax_id: text("tax_id").map(|t| TaxId::parse(&t, None)).transpose().map_err(|e| e.to_string())?,
            owner: text("owner"),
        })),
        Kind::Task => {
            let status =
                text("status").or_else(|| held("status")).map_or(Ok(TaskStatus::Todo), |s| s.parse::<TaskStatus>())?;
            let due = text("due")
                .map(|d| DateTime::parse_from_rfc3339(&d).map(|d| d.with_timezone(&Utc)))
                .transpose()
                .map_err(|e| format!("due: {e}"))?;
            Ok(RecordData::Task(Task {
                title: text("title").or_else(|| held("title")).unwrap_or_default(),
                description: text("description"),
                status,
                status_name: None,
                priority: text("priority").map(|p| p.parse()).transpose()?,
                assignee: text("assignee"),
                reporter: None,
                due,
                resolved_at: None,
                labels: list("labels"),
                clients: client.map(|c| vec![ClientRef::External(c.to_string())]).unwrap_or_default(),
                contact_ids: Vec::new(),
                labels_removed: removed_labels(changes, written),
            }))
        }
        Kind::Contact => Err("flows do not write contacts".to_string()),
    }
}

/// The labels of a `labels` change to take off: held now (`before`), written by zveno
/// before, and gone from the flow's value (`after`).
fn removed_labels(changes: &[FieldChange], written: &BTreeSet<String>) -> Vec<String> {
    let Some(change) = changes.iter().find(|c| c.field == "labels") else { return Vec::new() };
    let texts = |v: &Value| -> BTreeSet<String> {
        v.as_array().into_iter().flatten().filter_map(|l| l.as_str().map(str::to_string)).collect()
    };
    let after = texts(&change.after);
    texts(&change.before).into_iter().filter(|l| written.contains(l) && !after.contains(l)).collect()
}

/// The labels in `values`, each a label list zveno wrote (see [`record_data`]).
pub fn labels_in(values: &[Value]) -> BTreeSet<String> {
    values.iter().filter_map(Value::as_array).flatten().filter_map(|l| l.as_str().map(str::to_string)).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change(field: &str, after: Value) -> FieldChange {
        FieldChange { field: field.into(), before: Value::Null, after }
    }

    #[test]
    fn a_client_update_carries_only_what_changed() {
        let data =
            record_data(Kind::Client, &[change("phones", json!(["+74951234567"]))], None, None, &BTreeSet::new());
        let Ok(RecordData::Client(c)) = data else { panic!("{data:?}") };
        assert_eq!(c.phones.iter().map(ToString::to_string).collect::<Vec<_>>(), ["+74951234567"]);
        assert!(c.name.is_empty() && c.owner.is_none() && c.tax_id.is_none());
    }

    #[test]
    fn a_task_update_keeps_the_current_status_and_title_and_a_create_its_client() {
        let current: Values =
            [("status".to_string(), json!("in_progress")), ("title".to_string(), json!("Fix"))].into();
        let none = BTreeSet::new();
        let data = record_data(
            Kind::Task,
            &[change("due", json!("2026-03-01T10:00:00Z"))],
            Some(&current),
            Some("CO_7"),
            &none,
        );
        let Ok(RecordData::Task(t)) = data else { panic!("{data:?}") };
        assert_eq!((t.status, t.title.as_str()), (TaskStatus::InProgress, "Fix"));
        assert_eq!(t.due.map(|d| d.to_rfc3339()), Some("2026-03-01T10:00:00+00:00".to_string()));
        assert_eq!(t.clients, [ClientRef::External("CO_7".into())]);
    }

    #[test]
    fn a_value_the_model_refuses_fails_the_op_not_the_plan() {
        let data =
            record_data(Kind::Client, &[change("emails", json!(["not an e-mail"]))], None, None, &BTreeSet::new());
        assert!(data.is_err());
    }

    #[test]
    fn only_labels_zveno_wrote_are_taken_off_never_a_person_s() {
        let labels = FieldChange {
            field: "labels".into(),
            before: json!(["q3", "renewal", "vip", "zveno-op-1"]),
            after: json!(["q3", "urgent"]),
        };
        let written = labels_in(&[json!(["q3", "renewal"]), json!(["old"])]);
        let current: Values = [("title".to_string(), json!("Fix"))].into();
        let data = record_data(Kind::Task, &[labels], Some(&current), None, &written);
        let Ok(RecordData::Task(t)) = data else { panic!("{data:?}") };
        assert_eq!(t.labels, ["q3", "urgent"], "the flow's labels are added");
        assert_eq!(t.labels_removed, ["renewal"], "vip (a person's) and the create handle stay; old is not held");
        let title = record_data(Kind::Task, &[change("title", json!("New"))], Some(&current), None, &written);
        let Ok(RecordData::Task(t)) = title else { panic!("{title:?}") };
        assert!(t.labels.is_empty() && t.labels_removed.is_empty(), "labels untouched when not changed");
    }
}
