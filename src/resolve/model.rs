//! The slice of a stored source record that resolution reads.
//!
//! The store keeps each record's normalised [`zveno_connector::RecordData`] as JSON. Its
//! newtypes (`Email`, `Phone`, `Domain`) re-validate when deserialised — a phone goes
//! through libphonenumber again — which is right at the edge and wasted here: the values
//! were parsed when the connector mapped them, and a full resolve reads every record in the
//! store. So resolution reads the same JSON into these plain-string mirrors instead.
//! Fields it does not need (descriptions, labels, raw payloads) are never materialised.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use zveno_connector::{ClientRef, Kind, Priority, TaskStatus};

use crate::store::RecordKey;

/// A tax id as stored (`{"scheme": "ru_inn", "value": "7707083893"}`); the value is
/// already normalised, which is all matching needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaxValue {
    /// The normalised value.
    pub value: String,
}

/// A client's identifying fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ClientFields {
    /// Name as typed.
    pub name: String,
    /// Registrable domains.
    pub domains: Vec<String>,
    /// E-mail addresses (lower-case).
    pub emails: Vec<String>,
    /// E.164 phones.
    pub phones: Vec<String>,
    /// Tax id.
    pub tax_id: Option<TaxValue>,
    /// Owner e-mail (or vendor user id).
    pub owner: Option<String>,
}

/// A contact's identifying fields and the clients it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ContactFields {
    /// Full name.
    pub name: String,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// E.164 phones.
    pub phones: Vec<String>,
    /// External ids of its clients in the same connector.
    pub client_ids: Vec<String>,
    /// Owner.
    pub owner: Option<String>,
}

/// What a task listing shows and how a task names its client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskFields {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Common status.
    pub status: TaskStatus,
    /// Common priority.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Assignee e-mail (or vendor user id).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Due time.
    #[serde(default)]
    pub due: Option<DateTime<Utc>>,
    /// The clients it concerns.
    #[serde(default)]
    pub clients: Vec<ClientRef>,
}

/// One live source record as resolution sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Source<T> {
    /// Identity.
    pub key: RecordKey,
    /// Remote modification time (epoch ms), for "most recent" survivorship.
    pub updated_at: Option<i64>,
    /// Deep link.
    pub url: Option<String>,
    /// The fields.
    pub fields: T,
}

/// The kinds' field types, so loading can be written once.
pub trait Fields: for<'de> Deserialize<'de> {
    /// The kind these fields belong to.
    const KIND: Kind;
}

impl Fields for ClientFields {
    const KIND: Kind = Kind::Client;
}
impl Fields for ContactFields {
    const KIND: Kind = Kind::Contact;
}
impl Fields for TaskFields {
    const KIND: Kind = Kind::Task;
}

#[cfg(test)]
mod tests {
    use super::*;
    use zveno_connector::{Client, Email, Phone, RecordData, TaxId};

    #[test]
    fn stored_client_json_reads_into_plain_strings() {
        let client = Client {
            name: "ООО «Ромашка»".into(),
            emails: Email::parse("Info@Romashka.ru").into_iter().collect(),
            phones: Phone::parse("+7 495 123 45 67", None).into_iter().collect(),
            tax_id: TaxId::parse("7707083893", None).ok(),
            ..Client::default()
        };
        let text = serde_json::to_string(&RecordData::Client(client)).unwrap_or_default();
        let fields: ClientFields = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(fields.emails, ["info@romashka.ru"]);
        assert_eq!(fields.phones, ["+74951234567"]);
        assert_eq!(fields.tax_id.map(|t| t.value), Some("7707083893".to_string()));
    }
}
