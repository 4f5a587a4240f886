//! The unified view's JSON shapes — the ones ARCHITECTURE.md ("Interfaces") promises
//! outside tools — built from the store's rows. Human output renders the same structs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zveno_connector::{Priority, TaskStatus};

use crate::resolve::{domain_unicode, Field, Golden, Won};
use crate::store::{EntityRow, LinkRow, TaskLinkRow};

/// A source record as listings show it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct SourceView {
    pub connector: String,
    pub external_id: String,
    pub url: Option<String>,
}

impl From<&LinkRow> for SourceView {
    fn from(l: &LinkRow) -> Self {
        Self { connector: l.key.connector.clone(), external_id: l.key.external_id.clone(), url: l.url.clone() }
    }
}

/// A unified client (also a contact, without domains and tax id).
#[derive(Debug, Clone, Serialize)]
pub(super) struct ClientView {
    pub id: String,
    pub name: String,
    pub domains: Vec<String>,
    /// `domains` as people read them (`пример.рф` for `xn--e1afmkfd.xn--p1ai`).
    pub domains_unicode: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub tax_id: Option<String>,
    pub owner: Option<String>,
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
            sources: links.iter().map(|l| SourceView::from(*l)).collect(),
        }
    }
}

/// An entity's golden values and provenance, read back.
pub(super) fn golden(entity: &EntityRow) -> Golden {
    Golden {
        values: serde_json::from_value(entity.golden.clone()).unwrap_or_default(),
        provenance: serde_json::from_value(entity.provenance.clone()).unwrap_or_default(),
    }
}

/// A golden field and the records it came from, for the card.
#[derive(Debug, Clone, Serialize)]
pub(super) struct FieldView {
    pub value: serde_json::Value,
    pub from: Vec<Won>,
}

/// How a task found its client.
#[derive(Debug, Clone, Serialize)]
pub(super) struct AttachedBy {
    pub rule: String,
    pub detail: String,
}

/// A task across trackers.
#[derive(Debug, Clone, Serialize)]
pub(super) struct TaskView {
    /// `connector:external_id`.
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
    pub priority: Option<Priority>,
    pub assignee: Option<String>,
    pub due: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub client_id: Option<String>,
    pub attached_by: AttachedBy,
    pub sources: Vec<SourceView>,
}

impl TaskView {
    pub fn new(t: &TaskLinkRow, now: DateTime<Utc>) -> Self {
        let due = t.due.and_then(DateTime::from_timestamp_millis);
        Self {
            id: format!("{}:{}", t.connector, t.external_id),
            title: t.title.clone(),
            status: t.status,
            priority: t.priority,
            assignee: t.assignee.clone(),
            overdue: t.status.is_open() && due.is_some_and(|d| d < now),
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
}

/// The name of a status as stored and typed (`in_progress`).
pub(super) fn status_name(status: TaskStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// `2026-03-01` (or `-`).
pub(super) fn date(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d").to_string())
}
