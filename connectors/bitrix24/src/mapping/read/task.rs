//! `tasks.task.list` rows → tasks.
//!
//! Tasks are selected in UPPER_CASE but come back camelCase, every value a string
//! (<https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-list.html>). `status` is the
//! real status code, mapped through the operator-overridable [`StatusTable`]. CRM links come
//! from `ufCrmTask`, a list of `{PREFIX}_{ID}`: `CO_` companies become client references,
//! `C_` contacts become contact ids; deals, leads, invoices and smart-process items are left
//! in the raw payload.
//!
//! [`StatusTable`]: crate::config::StatusTable

use serde_json::Value;
use zveno_connector::{ClientRef, Priority, RecordData, RecordError, SourceRecord, Task};

use super::{datetime, identity_text, object, record_id, show, text, MapContext};
use crate::config::status_name;
use crate::dto::number_of;

/// A parsed `UF_CRM_TASK` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmLink {
    /// `CO_<id>`.
    Company(u64),
    /// `C_<id>`.
    Contact(u64),
    /// Any other CRM entity (`D_10`, `L_4`, `T80_6`): kept as written.
    Other(String),
}

impl CrmLink {
    /// Parses an entry; `None` when it is not `{PREFIX}_{number}`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (prefix, id) = raw.trim().split_once('_')?;
        let id: u64 = id.parse().ok().filter(|n| *n > 0)?;
        let valid_prefix = !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_alphanumeric());
        match prefix {
            "CO" => Some(Self::Company(id)),
            "C" => Some(Self::Contact(id)),
            _ if valid_prefix => Some(Self::Other(raw.trim().to_string())),
            _ => None,
        }
    }

    /// The entry as Bitrix24 writes it.
    pub fn text(&self) -> String {
        match self {
            Self::Company(id) => format!("CO_{id}"),
            Self::Contact(id) => format!("C_{id}"),
            Self::Other(raw) => raw.clone(),
        }
    }
}

/// Maps one task row.
pub fn task(row: Value, ctx: &MapContext<'_>) -> Result<SourceRecord, RecordError> {
    let record = object(&row)?;
    let id = record_id(record, "id")?;
    let title = identity_text(record, "title", id)?;
    let mut warnings = Vec::new();
    let code = number_of(record.get("status"));
    let status = match code {
        Some(code) => {
            let (status, known) = ctx.statuses.status(code);
            if !known {
                warnings.push(format!("status: unknown code {code}, read as {status:?}"));
            }
            status
        }
        None => {
            warnings.push(format!("status: not a status code: {}", show(record.get("status"))));
            ctx.statuses.status(0).0
        }
    };
    let priority = match number_of(record.get("priority")) {
        Some(0) => Some(Priority::Low),
        Some(1) => Some(Priority::Medium),
        Some(2) => Some(Priority::High),
        None if record.get("priority").is_none() => None,
        _ => {
            warnings.push(format!("priority: unknown value {}", show(record.get("priority"))));
            None
        }
    };
    let (clients, contact_ids) = crm_links(record.get("ufCrmTask"), &mut warnings);
    let responsible = crate::dto::id_of(record.get("responsibleId")).unwrap_or(ctx.webhook_user);
    let task = Task {
        title,
        description: text(record, "description", &mut warnings),
        status,
        status_name: code.map(|c| status_name(c).map_or_else(|| c.to_string(), str::to_string)),
        priority,
        assignee: ctx.person(record, "responsibleId", &mut warnings),
        reporter: ctx.person(record, "createdBy", &mut warnings),
        due: datetime(record, "deadline", &mut warnings),
        resolved_at: datetime(record, "closedDate", &mut warnings),
        labels: tags(record.get("tags"), &mut warnings),
        clients,
        contact_ids,
        labels_removed: Vec::new(),
    };
    let created = datetime(record, "createdDate", &mut warnings);
    let updated = datetime(record, "changedDate", &mut warnings);
    let mut source = SourceRecord::new(ctx.connector, id.to_string(), RecordData::Task(task), row)
        .with_times(created, updated)
        .with_url(ctx.link(&format!("/company/personal/user/{responsible}/tasks/task/view/{id}/")));
    source.warnings = warnings;
    Ok(source)
}

/// Client references and contact ids of `ufCrmTask`. PHP sends `false` for an empty user
/// field, so `false`, `null` and absence all mean no links.
fn crm_links(value: Option<&Value>, warnings: &mut Vec<String>) -> (Vec<ClientRef>, Vec<String>) {
    let entries = match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => return (Vec::new(), Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            warnings.push(format!("ufCrmTask: not a list: {}", show(Some(other))));
            return (Vec::new(), Vec::new());
        }
    };
    let (mut clients, mut contacts) = (Vec::new(), Vec::new());
    for entry in entries {
        match entry.as_str().and_then(CrmLink::parse) {
            Some(CrmLink::Company(id)) => {
                let r = ClientRef::External(id.to_string());
                if !clients.contains(&r) {
                    clients.push(r);
                }
            }
            Some(CrmLink::Contact(id)) => {
                if !contacts.contains(&id.to_string()) {
                    contacts.push(id.to_string());
                }
            }
            Some(CrmLink::Other(_)) => {}
            None => warnings.push(format!("ufCrmTask: not a CRM link: {}", show(Some(entry)))),
        }
    }
    (clients, contacts)
}

/// Tag titles: `tags` is `{"35": {"id": 35, "title": "..."}}`, or `[]` when empty.
fn tags(value: Option<&Value>, warnings: &mut Vec<String>) -> Vec<String> {
    let items: Vec<&Value> = match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => return Vec::new(),
        Some(Value::Object(map)) => map.values().collect(),
        Some(Value::Array(list)) => list.iter().collect(),
        Some(other) => {
            warnings.push(format!("tags: not a list: {}", show(Some(other))));
            return Vec::new();
        }
    };
    items
        .into_iter()
        .filter_map(|t| match t {
            Value::String(s) => Some(s.clone()),
            other => other.get("title").and_then(Value::as_str).map(str::to_string),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{context, people, portal};
    use super::*;
    use crate::config::StatusTable;
    use serde_json::json;
    use zveno_connector::TaskStatus;

    fn row() -> Value {
        json!({
            "id": "8017", "title": "Позвонить клиенту", "description": "Обсудить «Прайс»",
            "status": "2", "subStatus": "-1", "priority": "2",
            "responsibleId": "3", "createdBy": "1",
            "deadline": "2025-10-24T19:00:00+03:00", "createdDate": "2025-06-04T16:15:55+03:00",
            "changedDate": "2025-06-05T09:00:00+03:00", "closedDate": null,
            "ufCrmTask": ["CO_5", "C_7", "D_10", "CO_9", "L_4"],
            "tags": {"35": {"id": 35, "title": "срочно"}}
        })
    }

    fn map_with(row: &Value, statuses: &StatusTable) -> SourceRecord {
        let (portal, people) = (portal(), people());
        task(row.clone(), &context(&portal, &people, statuses)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn data(record: &SourceRecord) -> Task {
        match &record.data {
            Some(RecordData::Task(t)) => t.clone(),
            other => panic!("not a task: {other:?}"),
        }
    }

    #[test]
    fn a_task_linked_to_several_crm_entities_keeps_companies_and_contacts() {
        let record = map_with(&row(), &StatusTable::default());
        let t = data(&record);
        assert_eq!(t.title, "Позвонить клиенту");
        assert_eq!(t.clients, [ClientRef::External("5".into()), ClientRef::External("9".into())]);
        assert_eq!(t.contact_ids, ["7"]);
        assert_eq!(record.raw["ufCrmTask"][2], "D_10", "deals stay in the raw payload");
        assert_eq!(t.assignee.as_deref(), Some("anna@romashka.ru"));
        assert_eq!(t.reporter.as_deref(), Some("1"));
        assert_eq!(t.priority, Some(Priority::High));
        assert_eq!(t.labels, ["срочно"]);
        assert_eq!(t.due.map(|d| d.to_rfc3339()), Some("2025-10-24T16:00:00+00:00".into()));
        assert_eq!(t.resolved_at, None);
        assert_eq!(
            record.url.as_deref(),
            Some("https://romashka.bitrix24.ru/company/personal/user/3/tasks/task/view/8017/")
        );
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    }

    #[test]
    fn every_status_code_maps_and_overrides_apply() {
        let table = StatusTable::default();
        for (code, want, name) in [
            ("1", TaskStatus::Todo, "New"),
            ("2", TaskStatus::Todo, "Pending"),
            ("3", TaskStatus::InProgress, "In progress"),
            ("4", TaskStatus::InProgress, "Supposedly completed"),
            ("5", TaskStatus::Done, "Completed"),
            ("6", TaskStatus::Cancelled, "Deferred"),
        ] {
            let mut r = row();
            r["status"] = json!(code);
            let record = map_with(&r, &table);
            let t = data(&record);
            assert_eq!((t.status, t.status_name.as_deref()), (want, Some(name)), "code {code}");
            assert!(record.warnings.is_empty());
        }
        let mut r = row();
        r["status"] = json!("9");
        let record = map_with(&r, &table);
        assert_eq!(data(&record).status, TaskStatus::Todo);
        assert_eq!(data(&record).status_name.as_deref(), Some("9"));
        assert_eq!(record.warnings.len(), 1);
        let overrides = std::collections::BTreeMap::from([("4".to_string(), TaskStatus::Done)]);
        let custom = StatusTable::with_overrides(&overrides);
        let mut r = row();
        r["status"] = json!("4");
        assert_eq!(data(&map_with(&r, &custom)).status, TaskStatus::Done);
    }

    #[test]
    fn empty_links_and_odd_link_values_are_handled() {
        for empty in [json!(false), json!(null), json!([])] {
            let mut r = row();
            r["ufCrmTask"] = empty;
            let record = map_with(&r, &StatusTable::default());
            assert!(data(&record).clients.is_empty() && record.warnings.is_empty());
        }
        let mut r = row();
        r["ufCrmTask"] = json!(["CO_x", 5, "T80_6", "CO_5"]);
        let record = map_with(&r, &StatusTable::default());
        assert_eq!(data(&record).clients, [ClientRef::External("5".into())]);
        assert_eq!(record.warnings.len(), 2, "{:?}", record.warnings);
    }

    #[test]
    fn crm_links_round_trip_through_text() {
        for raw in ["CO_5", "C_7", "D_10", "T80_6"] {
            assert_eq!(CrmLink::parse(raw).map(|l| l.text()), Some(raw.to_string()));
        }
        assert_eq!(CrmLink::parse("CO_0"), None);
        assert_eq!(CrmLink::parse("nonsense"), None);
    }

    #[test]
    fn a_malformed_title_is_a_record_error() {
        let (portal, people, statuses) = (portal(), people(), StatusTable::default());
        let mut r = row();
        r["title"] = json!({"ru": "x"});
        let err = task(r.clone(), &context(&portal, &people, &statuses)).err();
        assert_eq!(err.and_then(|e| e.external_id), Some("8017".into()));
    }
}
