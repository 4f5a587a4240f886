//! The unified view as people and tools read it — one set of shapes and queries shared by
//! the CLI (`--json` and tables), the JSON API and the web view, so an item of
//! `zveno clients --json` and one of `GET /api/v1/clients` are the same serializer's output.
//!
//! - this file: the item shapes ARCHITECTURE.md ("Interfaces") promises outside tools;
//! - [`time`]: the view's zone — how times are labelled and when a task is overdue;
//! - [`query`]: listings with keyset pagination (`{"items", "next_cursor"}`) and the card;
//! - [`connectors`]: each connector's state, from one place, for `/readyz`, the health page,
//!   `/api/v1/connectors` and the metrics.

pub mod connectors;
pub mod query;
pub mod time;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use zveno_connector::{Priority, TaskStatus};

use crate::resolve::{domain_unicode, Field, Golden, Won};
use crate::store::{EntityRow, LinkRow, TaskLinkRow};

pub use query::{Card, CardSource, ClientQuery, ListPage, RunQuery, TaskQuery};
pub use time::ViewTime;

/// A source record as listings show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    /// Connector instance name.
    pub connector: String,
    /// The vendor's id.
    pub external_id: String,
    /// Deep link into the vendor's UI.
    pub url: Option<String>,
}

impl From<&LinkRow> for SourceView {
    fn from(l: &LinkRow) -> Self {
        Self { connector: l.key.connector.clone(), external_id: l.key.external_id.clone(), url: l.url.clone() }
    }
}

/// A unified client (also a contact, without domains and tax id).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    /// Stable id (`cl-…`, `ct-…`).
    pub id: String,
    /// Golden name.
    pub name: String,
    /// Registrable domains, as stored (ASCII: `xn--e1afmkfd.xn--p1ai`).
    pub domains: Vec<String>,
    /// `domains` as people read them (`пример.рф`).
    pub domains_unicode: Vec<String>,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// E.164 phones.
    pub phones: Vec<String>,
    /// Tax id (INN/VAT).
    pub tax_id: Option<String>,
    /// Owner (an e-mail when the vendor shows one).
    pub owner: Option<String>,
    /// The records it was merged from.
    pub sources: Vec<SourceView>,
}

impl ClientView {
    /// `entity` with the links of its records (`links` may hold other entities' too).
    pub fn new(entity: &EntityRow, links: &[&LinkRow]) -> Self {
        let golden = golden(entity);
        let domains = golden.list(Field::Domains);
        Self {
            id: entity.id.clone(),
            name: entity.name.clone(),
            domains_unicode: domains.iter().map(|d| domain_unicode(d)).collect(),
            domains,
            emails: golden.list(Field::Emails),
            phones: golden.list(Field::Phones),
            tax_id: golden.text(Field::TaxId).map(str::to_string),
            owner: golden.text(Field::Owner).map(str::to_string),
            sources: links.iter().filter(|l| l.entity_id == entity.id).map(|l| SourceView::from(*l)).collect(),
        }
    }
}

/// An entity's golden values and provenance, read back.
pub fn golden(entity: &EntityRow) -> Golden {
    Golden {
        values: serde_json::from_str(&entity.golden).unwrap_or_default(),
        provenance: serde_json::from_str(&entity.provenance).unwrap_or_default(),
    }
}

/// A golden field and the records it came from, for the card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldView {
    /// The value (text, list or null).
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// The records (connector, external id, remote time) it came from.
    #[schema(value_type = Vec<Object>)]
    pub from: Vec<Won>,
}

/// How a task found its client.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachedBy {
    /// The rule (`association`, `hint_domain`, …, `unattached`).
    pub rule: String,
    /// The reference used, or why none resolved.
    pub detail: String,
}

/// A task across trackers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    /// `connector:external_id`.
    pub id: String,
    /// The name people use for it in its system when it differs from the id (a Jira key
    /// such as `OPS-123`), read from its deep link.
    pub reference: Option<String>,
    /// Title.
    pub title: String,
    /// `todo`, `in_progress`, `done` or `cancelled`.
    #[schema(value_type = String)]
    pub status: TaskStatus,
    /// `low`, `medium`, `high` or `urgent`.
    #[schema(value_type = Option<String>)]
    pub priority: Option<Priority>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Due time (UTC).
    pub due: Option<DateTime<Utc>>,
    /// Whether the due time is a date (the end of that day), not a time of day.
    pub due_date_only: bool,
    /// Open and past due, decided in the view's zone.
    pub overdue: bool,
    /// The client it concerns, if one was found.
    pub client_id: Option<String>,
    /// How it was attached.
    pub attached_by: AttachedBy,
    /// Its record.
    pub sources: Vec<SourceView>,
}

impl TaskView {
    /// The task as of `time`.
    pub fn new(t: &TaskLinkRow, time: &ViewTime) -> Self {
        let due = t.due.and_then(DateTime::from_timestamp_millis);
        Self {
            id: format!("{}:{}", t.connector, t.external_id),
            reference: reference(t.url.as_deref(), &t.external_id),
            title: t.title.clone(),
            status: t.status,
            priority: t.priority,
            assignee: t.assignee.clone(),
            overdue: t.status.is_open() && due.is_some_and(|d| time.is_past_due(d)),
            due_date_only: due.is_some_and(|d| time.is_date_only(d)),
            due,
            client_id: t.client_id.clone(),
            attached_by: AttachedBy { rule: t.rule.clone(), detail: t.detail.clone() },
            sources: vec![SourceView {
                connector: t.connector.clone(),
                external_id: t.external_id.clone(),
                url: t.url.clone(),
            }],
        }
    }

    /// What to call the task in a list: its reference (`OPS-123`) or its id.
    pub fn label(&self) -> &str {
        self.reference.as_deref().unwrap_or(&self.id)
    }
}

/// The last segment of a deep link when it is a key people type (letters, digits and a
/// dash, like `OPS-123`) rather than the record's numeric id: trackers whose API ids are
/// not what people say link by key.
fn reference(url: Option<&str>, external_id: &str) -> Option<String> {
    let url = url::Url::parse(url?).ok()?;
    let last = url.path_segments()?.rev().find(|s| !s.is_empty())?;
    let (project, number) = last.split_once('-')?;
    let is_key = !project.is_empty()
        && project.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && project.starts_with(|c: char| c.is_ascii_alphabetic())
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit());
    (is_key && last != external_id).then(|| last.to_string())
}

/// The name of a status as stored and typed (`in_progress`).
pub fn status_name(status: TaskStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_keys_read_from_deep_links() {
        let r = |url: &str, id: &str| reference(Some(url), id);
        assert_eq!(r("https://acme.tracker.example/browse/OPS-123", "10042"), Some("OPS-123".into()));
        assert_eq!(r("https://app.crm.example/contacts/1/record/0-27/987", "987"), None);
        assert_eq!(r("https://x.portal.example/company/personal/user/1/tasks/task/view/12/", "12"), None);
        assert_eq!(r("https://x.example/items/2024-05", "7"), None, "a date is not a key");
        assert_eq!(reference(None, "1"), None);
    }
}
