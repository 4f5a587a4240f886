//! Jira issue → common [`Task`] record. Pure: no I/O, every rule unit-tested.
//!
//! | Task | Jira |
//! |---|---|
//! | external id | issue `id` (stable; the `key` changes when an issue moves project) |
//! | title | `summary` (required: an issue without one is a [`RecordError`]) |
//! | description | `description`, ADF flattened to text |
//! | status / status_name | `status.statusCategory.key`, overridden by status name |
//! | priority | `priority.name` through the priority table |
//! | assignee / reporter | e-mail when the profile shows it, else the account id |
//! | due | `duedate` (a date) → end of that day in the account's zone |
//! | resolved_at, created, updated | `resolutiondate`, `created`, `updated` (`+0000` offsets) |
//! | labels | `labels` |
//! | clients | `client_field` and `client_label_prefix` labels, as raw hints |
//! | url | `{site}/browse/{KEY}` |
//!
//! A field of an unexpected shape is dropped with a warning on the record; only a missing
//! id, key or summary, or an unreadable `updated` (the store orders versions by it), makes
//! the whole issue a [`RecordError`].

mod client_hint;
mod tables;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use zveno_connector::{Email, RecordData, RecordError, SourceRecord, Task, TaskStatus};

pub use tables::{PriorityTable, StatusTable};

use crate::config::Settings;
use crate::dto::{NamedRef, StatusRef, UserRef};
use crate::mapping::adf;
use crate::mapping::time;

/// The issue fields every search asks for (plus the client field, when configured).
const FIELDS: [&str; 14] = [
    "summary",
    "description",
    "status",
    "priority",
    "assignee",
    "reporter",
    "duedate",
    "created",
    "updated",
    "resolution",
    "resolutiondate",
    "labels",
    "project",
    "issuetype",
];

/// Turns issues into records for one connector instance.
#[derive(Debug, Clone)]
pub struct Mapper {
    connector: String,
    site: url::Url,
    statuses: StatusTable,
    priorities: PriorityTable,
    client_field: Option<String>,
    client_label_prefix: Option<String>,
}

impl Mapper {
    /// A mapper for connector instance `connector`.
    pub fn new(connector: &str, settings: &Settings) -> Self {
        Self {
            connector: connector.to_string(),
            site: settings.site.clone(),
            statuses: settings.statuses.clone(),
            priorities: settings.priorities.clone(),
            client_field: settings.client_field.clone(),
            client_label_prefix: settings.client_label_prefix.clone(),
        }
    }

    /// The explicit `fields` list searches request.
    pub fn fields(&self) -> Vec<String> {
        FIELDS.iter().map(|f| f.to_string()).chain(self.client_field.clone()).collect()
    }

    /// The common status of a Jira status (also used to pick transitions).
    pub fn status_of(&self, status: &StatusRef, resolved: bool) -> (TaskStatus, Option<String>) {
        self.statuses.status(status.name.as_deref(), status.category(), resolved)
    }

    /// The priority table (writes need the reverse mapping).
    pub fn priorities(&self) -> &PriorityTable {
        &self.priorities
    }

    /// Maps one issue. `zone` is the account's time zone, for due dates.
    pub fn map(&self, issue: Value, zone: Option<Tz>) -> Result<SourceRecord, RecordError> {
        let id = issue.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| RecordError {
            external_id: None,
            message: format!("issue without an id: {}", snippet(&issue)),
        })?;
        let fail = |message: String| RecordError {
            external_id: Some(id.to_string()),
            message: format!("issue {id}: {message}"),
        };
        let key = issue.get("key").and_then(Value::as_str).ok_or_else(|| fail("no key".into()))?;
        let fields = issue
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| fail(format!("{key} has no fields object")))?;
        let title = match fields.get("summary") {
            Some(Value::String(s)) => s.clone(),
            other => {
                return Err(fail(format!("{key}: summary is not text: {}", other.map_or("missing".into(), snippet))))
            }
        };
        let updated =
            fields.get("updated").and_then(Value::as_str).and_then(time::parse_timestamp).ok_or_else(|| {
                fail(format!("{key}: unreadable updated {}", fields.get("updated").map_or("missing".into(), snippet)))
            })?;

        let mut r = Reader { fields, warnings: Vec::new() };
        let created = r.time("created");
        let resolved_at = r.time("resolutiondate");
        let resolution: Option<NamedRef> = r.typed("resolution");
        let resolved = resolved_at.is_some() || resolution.is_some();
        let (status, status_name) = match r.typed::<StatusRef>("status") {
            Some(s) => {
                let (status, warning) = self.status_of(&s, resolved);
                r.warnings.extend(warning);
                (status, s.name)
            }
            None => {
                let (status, _) = self.statuses.status(None, None, resolved);
                r.warnings.push(format!("status missing; read as {status:?}"));
                (status, None)
            }
        };
        let priority = r.typed::<NamedRef>("priority").and_then(|p| {
            let name = p.name.unwrap_or_default();
            let found = self.priorities.priority(&name);
            if found.is_none() {
                r.warnings.push(format!("priority {name:?} is unknown; dropped (map it in priority_map)"));
            }
            found
        });
        let labels: Vec<String> = r.typed("labels").unwrap_or_default();
        let mut hints = Vec::new();
        if let Some(field) = &self.client_field {
            match fields.get(field).map(client_hint::from_field) {
                Some(Ok(found)) => hints.extend(found),
                Some(Err(e)) => r.warnings.push(format!("{field}: unreadable client ({e})")),
                None => {}
            }
        }
        if let Some(prefix) = &self.client_label_prefix {
            hints.extend(client_hint::from_labels(&labels, prefix));
        }
        let task = Task {
            title,
            description: r.description(),
            status,
            status_name,
            priority,
            assignee: r.person("assignee"),
            reporter: r.person("reporter"),
            due: r.due(zone),
            resolved_at,
            labels,
            clients: client_hint::to_refs(hints),
            contact_ids: Vec::new(),
            labels_removed: Vec::new(),
        };
        let url = self
            .site
            .join(&format!("browse/{key}"))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("{}browse/{key}", self.site));
        let (id, warnings) = (id.to_string(), r.warnings);
        let mut record = SourceRecord::new(&self.connector, id, RecordData::Task(task), issue)
            .with_times(created, Some(updated))
            .with_url(url);
        record.warnings = warnings;
        Ok(record)
    }
}

/// Reads fields one by one, turning a bad field into a warning.
struct Reader<'a> {
    fields: &'a Map<String, Value>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    /// A field of type `T`; absent or null is `None` without a warning.
    fn typed<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let value = self.fields.get(name).filter(|v| !v.is_null())?;
        T::deserialize(value)
            .map_err(|e| {
                self.warnings.push(format!("{name}: unexpected shape {} ({e})", snippet(value)));
            })
            .ok()
    }

    fn time(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let raw: String = self.typed(name)?;
        let parsed = time::parse_timestamp(&raw);
        if parsed.is_none() {
            self.warnings.push(format!("{name}: unreadable time {raw:?}"));
        }
        parsed
    }

    fn due(&mut self, zone: Option<Tz>) -> Option<DateTime<Utc>> {
        let raw: String = self.typed("duedate")?;
        match time::parse_date(&raw) {
            Some(date) => Some(time::end_of_day(date, zone)),
            None => {
                self.warnings.push(format!("duedate: unreadable date {raw:?}"));
                None
            }
        }
    }

    fn description(&mut self) -> Option<String> {
        let text = match self.fields.get("description") {
            None | Some(Value::Null) => return None,
            Some(Value::String(s)) => s.clone(),
            Some(doc) if adf::is_doc(doc) => adf::to_text(doc),
            Some(other) => {
                self.warnings.push(format!("description: not an ADF document: {}", snippet(other)));
                return None;
            }
        };
        Some(text).filter(|t| !t.trim().is_empty())
    }

    /// E-mail when the profile shows it, else the account id (people are keyed by account
    /// id in Jira; e-mails are hidden by profile visibility settings).
    fn person(&mut self, name: &str) -> Option<String> {
        let user: UserRef = self.typed(name)?;
        if let Some(raw) = user.email_address.as_deref().filter(|e| !e.is_empty()) {
            match Email::parse(raw) {
                Ok(email) => return Some(email.to_string()),
                Err(e) => self.warnings.push(format!("{name}: {e}; using the account id")),
            }
        }
        if user.account_id.is_none() {
            self.warnings.push(format!("{name}: user without an account id"));
        }
        user.account_id
    }
}

fn snippet(value: &Value) -> String {
    value.to_string().chars().take(120).collect()
}

#[cfg(test)]
mod tests;
