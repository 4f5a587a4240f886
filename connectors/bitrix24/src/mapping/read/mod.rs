//! Bitrix24 records → the common model. Pure functions, tested table by table.
//!
//! One rule throughout: a record whose identity cannot be read (no numeric id, a title or
//! name of the wrong JSON type — a malformed payload) becomes a [`RecordError`]; any other
//! bad field is dropped with a warning on the record, never taking the record with it.
//! The raw row is kept (custom fields, deal and lead links, requisites live there).

mod company;
mod contact;
mod fields;
mod task;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use phonenumber::country::Id as Region;
use serde_json::{Map, Value};
use zveno_connector::RecordError;

pub use company::company;
pub use contact::contact;
pub use fields::{is_own_site, merge_multifield, multifield, MultiValue, MultifieldEdit};
pub use task::{task, CrmLink};

use crate::config::StatusTable;
use crate::dto::{field, id_of, Field};

/// Portal users' e-mails by user id (from `user.get`), for owners and assignees.
pub type People = HashMap<u64, String>;

/// What mapping needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct MapContext<'a> {
    /// The connector instance name.
    pub connector: &'a str,
    /// The portal origin, for deep links.
    pub portal: &'a url::Url,
    /// The webhook's user, for task links when a task has no responsible.
    pub webhook_user: u64,
    /// Region for national phone formats.
    pub region: Region,
    /// Country tax ids are read for (`RU`: INN with check digits).
    pub country: &'a str,
    /// Company user fields holding the tax id, read after requisites.
    pub tax_id_fields: &'a [String],
    /// Task status table.
    pub statuses: &'a StatusTable,
    /// Users' e-mails.
    pub people: &'a People,
}

impl MapContext<'_> {
    /// A deep link into the portal's UI.
    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.portal.as_str().trim_end_matches('/'))
    }

    /// The person a user-id field names: the user's e-mail when known, else the id.
    fn person(&self, record: &Map<String, Value>, key: &str, warnings: &mut Vec<String>) -> Option<String> {
        match field(record, key) {
            Field::Missing | Field::Empty => None,
            _ => match id_of(record.get(key)) {
                Some(id) => Some(self.people.get(&id).cloned().unwrap_or_else(|| id.to_string())),
                None if crate::dto::number_of(record.get(key)) == Some(0) => None,
                None => {
                    warnings.push(format!("{key}: not a user id: {}", show(record.get(key))));
                    None
                }
            },
        }
    }
}

/// A row as a JSON object, or the error that makes it unmappable.
fn object(row: &Value) -> Result<&Map<String, Value>, RecordError> {
    row.as_object().ok_or_else(|| RecordError {
        external_id: None,
        message: format!("expected a record object, got {}", show(Some(row))),
    })
}

/// The record's id, required.
fn record_id(record: &Map<String, Value>, key: &str) -> Result<u64, RecordError> {
    id_of(record.get(key)).ok_or_else(|| RecordError {
        external_id: None,
        message: format!("{key} is not a record id: {}", show(record.get(key))),
    })
}

/// A text field that identifies the record (title): required to be text when present.
fn identity_text(record: &Map<String, Value>, key: &str, id: u64) -> Result<String, RecordError> {
    match field(record, key) {
        Field::Text(s) => Ok(s.trim().to_string()),
        Field::Empty | Field::Missing => Ok(String::new()),
        Field::Other(v) => Err(RecordError {
            external_id: Some(id.to_string()),
            message: format!("{key} is not text: {}", show(Some(v))),
        }),
    }
}

/// An optional text field; a non-text value is dropped with a warning.
fn text(record: &Map<String, Value>, key: &str, warnings: &mut Vec<String>) -> Option<String> {
    match field(record, key) {
        Field::Text(s) => Some(s.trim().to_string()),
        Field::Empty | Field::Missing => None,
        Field::Other(v) => {
            warnings.push(format!("{key}: not text: {}", show(Some(v))));
            None
        }
    }
}

/// A datetime field (`2024-03-11T16:36:46+03:00`); unreadable values are dropped with a
/// warning.
fn datetime(record: &Map<String, Value>, key: &str, warnings: &mut Vec<String>) -> Option<DateTime<Utc>> {
    let raw = text(record, key, warnings)?;
    match DateTime::parse_from_rfc3339(&raw) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            warnings.push(format!("{key}: {raw:?} is not an ISO 8601 datetime ({e})"));
            None
        }
    }
}

/// A short rendering of a value for messages.
fn show(value: Option<&Value>) -> String {
    match value {
        None => "missing".to_string(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 60 {
                format!("{}…", text.chars().take(60).collect::<String>())
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A mapping context for the unit tests of each kind.

    use super::*;

    pub fn portal() -> url::Url {
        url::Url::parse("https://romashka.bitrix24.ru/").unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn people() -> People {
        People::from([(3, "anna@romashka.ru".to_string())])
    }

    pub fn context<'a>(portal: &'a url::Url, people: &'a People, statuses: &'a StatusTable) -> MapContext<'a> {
        MapContext {
            connector: "b24",
            portal,
            webhook_user: 1,
            region: zveno_connector::Phone::region("RU").unwrap_or_else(|e| panic!("{e}")),
            country: "RU",
            tax_id_fields: &[],
            statuses,
            people,
        }
    }
}
