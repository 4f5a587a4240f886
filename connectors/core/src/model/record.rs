//! The record envelope and the three kinds of data zveno syncs.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Domain, Email, Phone, TaxId};

/// The kinds of record zveno syncs. Vendors' objects map onto these: HubSpot companies,
/// Pipedrive organizations and Bitrix24 companies are clients; Jira issues, HubSpot tasks,
/// Pipedrive activities and Bitrix24 tasks are tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A company or organisation.
    Client,
    /// A person at a client.
    Contact,
    /// A task, issue or activity.
    Task,
}

impl Kind {
    /// Every kind, in the order a sync pulls them (clients before what links to them).
    pub const ALL: [Kind; 3] = [Kind::Client, Kind::Contact, Kind::Task];

    /// The stable name used in config, the store and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Contact => "contact",
            Kind::Task => "task",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown kind {s:?} (expected client, contact or task)"))
    }
}

/// The common task status. Vendors' own statuses map onto it through a per-connector table
/// the operator can override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    Todo,
    /// Being worked on (or waiting on someone).
    InProgress,
    /// Finished.
    Done,
    /// Will not be done.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task still needs doing.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Todo | Self::InProgress)
    }
}

impl FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "todo" => Ok(Self::Todo),
            "in_progress" => Ok(Self::InProgress),
            "done" => Ok(Self::Done),
            "cancelled" => Ok(Self::Cancelled),
            other => Err(format!("unknown task status {other:?} (expected todo, in_progress, done or cancelled)")),
        }
    }
}

/// The common task priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low (Jira Lowest/Low, HubSpot LOW, Bitrix24 0).
    Low,
    /// Normal (Jira Medium, HubSpot MEDIUM, Bitrix24 1).
    Medium,
    /// High (Jira High, HubSpot HIGH, Bitrix24 2).
    High,
    /// Urgent (Jira Highest).
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Medium, Priority::High, Priority::Urgent];

    /// The stable name used in config and the store (`low`, `medium`, `high`, `urgent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

/// Reads the names `as_str` writes, as [`TaskStatus`] does, so override tables of either
/// (`priorities = { Blocker = "urgent" }`) parse one way.
impl FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown priority {s:?} (expected low, medium, high or urgent)"))
    }
}

/// A company or organisation as one system sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// Display name as the system has it (legal form and quotes included).
    pub name: String,
    /// Registrable domains from the website and domain fields.
    pub domains: Vec<Domain>,
    /// Company e-mail addresses.
    pub emails: Vec<Email>,
    /// Company phones.
    pub phones: Vec<Phone>,
    /// Tax id, when the system stores one.
    pub tax_id: Option<TaxId>,
    /// The owner's e-mail when known, else the vendor's user id.
    pub owner: Option<String>,
}

/// A person at a client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Full display name.
    pub name: String,
    /// E-mail addresses, primary first.
    pub emails: Vec<Email>,
    /// Phones, primary first.
    pub phones: Vec<Phone>,
    /// External ids of the clients (in the same connector) this contact belongs to.
    pub client_ids: Vec<String>,
    /// The owner's e-mail when known, else the vendor's user id.
    pub owner: Option<String>,
}

/// How a task names its client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum ClientRef {
    /// The external id of a client record in the same connector (HubSpot association,
    /// Bitrix24 `CO_5`).
    External(String),
    /// A raw value to be resolved against client names, domains and CRM ids (a Jira custom
    /// field or label). Kept verbatim; the engine resolves it.
    Hint(String),
}

/// A task, issue or activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Title or summary.
    pub title: String,
    /// Plain-text description.
    pub description: Option<String>,
    /// Common status.
    pub status: TaskStatus,
    /// The vendor's own status name, for display.
    pub status_name: Option<String>,
    /// Common priority.
    pub priority: Option<Priority>,
    /// Assignee e-mail when visible, else the vendor's user id.
    pub assignee: Option<String>,
    /// Reporter or creator, same convention as `assignee`.
    pub reporter: Option<String>,
    /// Due time. Date-only vendors give the end of that day in the account's zone.
    pub due: Option<DateTime<Utc>>,
    /// When it was completed.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Labels or tags.
    pub labels: Vec<String>,
    /// The clients it concerns.
    pub clients: Vec<ClientRef>,
    /// External ids of contacts (same connector) it concerns.
    pub contact_ids: Vec<String>,
    /// Labels to take off, in an update only: labels a write-back flow wrote earlier and no
    /// longer has. Never read from a vendor (always empty in records read), so a push
    /// removes no label a person added; `labels` are added, never set (setting the list
    /// would wipe people's labels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels_removed: Vec<String>,
}

impl Task {
    /// A task with `title` and `status` and nothing else: what a write names when it
    /// changes only those (closing a task), and the base of a literal that sets a few
    /// more fields with `..Task::new(title, status)`.
    pub fn new(title: impl Into<String>, status: TaskStatus) -> Task {
        Task {
            title: title.into(),
            description: None,
            status,
            status_name: None,
            priority: None,
            assignee: None,
            reporter: None,
            due: None,
            resolved_at: None,
            labels: Vec::new(),
            clients: Vec::new(),
            contact_ids: Vec::new(),
            labels_removed: Vec::new(),
        }
    }
}

/// The normalised content of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RecordData {
    /// A client.
    Client(Client),
    /// A contact.
    Contact(Contact),
    /// A task.
    Task(Task),
}

impl RecordData {
    /// The kind this data is.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Client(_) => Kind::Client,
            Self::Contact(_) => Kind::Contact,
            Self::Task(_) => Kind::Task,
        }
    }
}

/// One vendor record, normalised, with everything needed to store it idempotently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The connector instance name from config (not the vendor).
    pub connector: String,
    /// What kind of record this is.
    pub kind: Kind,
    /// The vendor's stable id.
    pub external_id: String,
    /// When the vendor says it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When the vendor says it was last modified; the store never replaces a newer version
    /// with an older one.
    pub updated_at: Option<DateTime<Utc>>,
    /// Deleted or archived in the vendor (a tombstone).
    pub deleted: bool,
    /// Deep link to the record in the vendor's UI.
    pub url: Option<String>,
    /// SHA-256 of the canonical raw payload, to skip unchanged writes.
    pub payload_hash: String,
    /// The raw vendor payload, kept for custom fields.
    pub raw: serde_json::Value,
    /// `raw` as the compact JSON text that was hashed, when the record was built from its
    /// payload: the store keeps this text, so a pulled payload is serialised once, not once
    /// for the hash and again for the row.
    #[serde(skip)]
    pub raw_text: RawText,
    /// The normalised data; `None` for tombstones that carry no payload.
    pub data: Option<RecordData>,
    /// Field-level problems: a bad field is dropped with a warning, never the record.
    pub warnings: Vec<String>,
}

impl SourceRecord {
    /// A live record built from its normalised data and raw payload.
    pub fn new(connector: &str, external_id: impl Into<String>, data: RecordData, raw: serde_json::Value) -> Self {
        let raw_text = RawText::of(&raw);
        Self {
            connector: connector.to_string(),
            kind: data.kind(),
            external_id: external_id.into(),
            created_at: None,
            updated_at: None,
            deleted: false,
            url: None,
            payload_hash: raw_text.get().map_or_else(|| payload_hash(&raw), text_hash),
            raw,
            raw_text,
            data: Some(data),
            warnings: Vec::new(),
        }
    }

    /// A tombstone: the vendor reports the record deleted or archived at `at`.
    pub fn tombstone(connector: &str, kind: Kind, external_id: impl Into<String>, at: Option<DateTime<Utc>>) -> Self {
        let raw = serde_json::Value::Null;
        Self {
            connector: connector.to_string(),
            kind,
            external_id: external_id.into(),
            created_at: None,
            updated_at: at,
            deleted: true,
            url: None,
            payload_hash: payload_hash(&raw),
            raw,
            raw_text: RawText::default(),
            data: None,
            warnings: Vec::new(),
        }
    }

    /// Sets the remote timestamps.
    pub fn with_times(mut self, created_at: Option<DateTime<Utc>>, updated_at: Option<DateTime<Utc>>) -> Self {
        self.created_at = created_at;
        self.updated_at = updated_at;
        self
    }

    /// Sets the deep link.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
}

/// The compact JSON text of a record's raw payload, kept beside it (see
/// [`SourceRecord::raw_text`]).
///
/// A cache, not part of the record's value: two records are equal whether or not either
/// kept its text (a record read back from the store has none), so it always compares equal
/// and is left out of `Debug`.
#[derive(Clone, Default)]
pub struct RawText(Option<Box<str>>);

impl RawText {
    fn of(raw: &serde_json::Value) -> Self {
        // Cannot fail: a `Value`'s keys are strings.
        Self(serde_json::to_string(raw).ok().map(String::into_boxed_str))
    }

    /// The text, when it was kept.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl PartialEq for RawText {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for RawText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "RawText(kept)" } else { "RawText(none)" })
    }
}

fn text_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// SHA-256 of the canonical JSON text. `serde_json` maps are sorted (no `preserve_order`),
/// so equal payloads hash equally whatever order the vendor sent keys in.
///
/// The text is written straight into the hasher, not built as a `String` first: every
/// pulled record is hashed, and the copy was a few percent of a full sync's CPU.
pub fn payload_hash(raw: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    // Cannot fail: a `Value`'s keys are strings, and writing to a hasher never fails.
    if let Err(e) = serde_json::to_writer(&mut hasher, raw) {
        tracing::error!(error = %e, "payload did not serialise for hashing");
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_hash_ignores_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":[1,2]}"#).unwrap_or_default();
        let b: serde_json::Value = serde_json::from_str(r#"{"b":[1,2],"a":1}"#).unwrap_or_default();
        assert_eq!(payload_hash(&a), payload_hash(&b));
        assert_ne!(payload_hash(&a), payload_hash(&serde_json::Value::Null));
    }

    #[test]
    fn payload_hash_is_the_hash_of_the_compact_text_stores_already_hold() {
        let raw = serde_json::json!({"NAME": "Ромашка \"ООО\"", "PHONE": [{"VALUE": "+7 495 123-45-67"}], "n": 1.5});
        let expected = hex::encode(Sha256::digest(raw.to_string().as_bytes()));
        assert_eq!(payload_hash(&raw), expected);
    }

    #[test]
    fn a_record_keeps_the_text_it_hashed() {
        let raw = serde_json::json!({"b": [1, 2], "a": "Ромашка"});
        let record = SourceRecord::new("c", "1", RecordData::Client(Client::default()), raw.clone());
        assert_eq!(record.raw_text.get(), Some(r#"{"a":"Ромашка","b":[1,2]}"#));
        assert_eq!(record.payload_hash, payload_hash(&raw));
        // Equal to the same record without its text, as one read back from a store is.
        let read_back = SourceRecord { raw_text: RawText::default(), ..record.clone() };
        assert_eq!(read_back, record);
    }

    #[test]
    fn priorities_round_trip_through_their_names_like_serde_writes_them() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
            assert_eq!(serde_json::to_value(p).ok(), Some(serde_json::Value::from(p.as_str())));
        }
        assert!("Highest".parse::<Priority>().is_err_and(|e| e.contains("expected low, medium, high or urgent")));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
        }
        assert!("deal".parse::<Kind>().is_err());
    }
}
