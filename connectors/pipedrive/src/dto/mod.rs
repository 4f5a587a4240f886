//! Pipedrive's JSON shapes, as zveno reads them (vendor note §3).
//!
//! Page envelopes are strict serde types: a page without this shape is a malformed answer
//! and the HTTP client's retry handles it. Records inside a page stay raw JSON and are read
//! one by one into the typed records below, so one broken record becomes a `RecordError`
//! (naming its id when that much is readable) while the rest of its page is stored.

pub mod entity;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A v2 list answer: `{"success": true, "data": [...], "additional_data": {"next_cursor"}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListResponse {
    /// The records of this page (`null` when there are none).
    #[serde(default)]
    pub data: Option<Vec<Value>>,
    /// Paging.
    #[serde(default)]
    pub additional_data: Option<NextCursor>,
}

impl ListResponse {
    /// The records.
    pub fn records(self) -> (Vec<Value>, Option<String>) {
        let next = self.additional_data.and_then(|a| a.next_cursor).filter(|c| !c.is_empty());
        (self.data.unwrap_or_default(), next)
    }
}

/// `additional_data` of a v2 list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NextCursor {
    /// The opaque cursor of the next page; `null` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A v2 search answer: `{"data": {"items": [{"result_score": .., "item": {"id": .., ...}}]}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchResponse {
    /// The hits (`null` when there are none).
    #[serde(default)]
    pub data: Option<SearchData>,
}

/// The `data` of a search answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchData {
    /// The hits, best first.
    #[serde(default)]
    pub items: Vec<SearchItem>,
}

/// One search hit.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchItem {
    /// The record found, in the search's own short shape.
    pub item: Value,
}

impl SearchResponse {
    /// The ids of the hits.
    pub fn ids(&self) -> Vec<u64> {
        let items = self.data.as_ref().map(|d| d.items.as_slice()).unwrap_or_default();
        items.iter().filter_map(|i| i.item.get("id").and_then(Value::as_u64)).collect()
    }
}

/// A v2 field schema page (`GET /api/v2/{entity}Fields`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FieldsResponse {
    /// The fields (`null` when there are none).
    #[serde(default)]
    pub data: Option<Vec<FieldDto>>,
    /// Paging.
    #[serde(default)]
    pub additional_data: Option<NextCursor>,
}

/// One field definition: the part zveno checks.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldDto {
    /// The key records carry it under (a 40-character hash for custom fields).
    pub field_code: String,
    /// The name people see.
    #[serde(default)]
    pub field_name: String,
    /// `varchar` (Text), `text` (Large text), `double`, `enum`, ...
    #[serde(default)]
    pub field_type: String,
    /// Whether a person (not Pipedrive) made it.
    #[serde(default)]
    pub is_custom_field: bool,
}

/// A single-record answer (`GET`/`POST`/`PATCH /api/v2/{entity}[/{id}]`).
#[derive(Debug, Clone, Deserialize)]
pub struct ItemResponse {
    /// The record.
    pub data: Value,
}

/// The v1/v2 error body: `{"success": false, "error": "...", "error_info": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// The short message.
    #[serde(default)]
    pub error: Option<String>,
    /// More detail.
    #[serde(default)]
    pub error_info: Option<String>,
}

/// `GET /v1/users`: the whole company, unpaged.
#[derive(Debug, Clone, Deserialize)]
pub struct UsersResponse {
    /// Every user (deactivated and deleted ones too).
    #[serde(default)]
    pub data: Option<Vec<Value>>,
}

/// One user. Users are metadata; a malformed one is skipped with a log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDto {
    /// What `owner_id` / `creator_user_id` point at.
    pub id: u64,
    /// The user's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The user's e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the user is active.
    #[serde(default)]
    pub active_flag: Option<bool>,
}

/// `{value, primary, label}`: one e-mail or phone of a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledValue {
    /// The e-mail address or phone as typed.
    #[serde(default)]
    pub value: Option<String>,
    /// Whether it is the primary one.
    #[serde(default)]
    pub primary: bool,
    /// `work`, `home`, ...
    #[serde(default)]
    pub label: Option<String>,
}

/// `address` of an organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// The formatted address.
    #[serde(default)]
    pub value: Option<String>,
}

/// An organization (§3.2).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Organization {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Owner (a user id).
    #[serde(default)]
    pub owner_id: Option<u64>,
    /// Website: the only source of a domain.
    #[serde(default)]
    pub website: Option<String>,
    /// Address.
    #[serde(default)]
    pub address: Option<Address>,
    /// RFC 3339 UTC.
    #[serde(default)]
    pub add_time: Option<String>,
    /// RFC 3339 UTC.
    #[serde(default)]
    pub update_time: Option<String>,
    /// Whether it is deleted.
    #[serde(default)]
    pub is_deleted: bool,
    /// Custom fields by 40-character key.
    #[serde(default)]
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

/// A person (§3.3).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Person {
    /// Id.
    pub id: u64,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Owner (a user id).
    #[serde(default)]
    pub owner_id: Option<u64>,
    /// The one organization the person belongs to.
    #[serde(default)]
    pub org_id: Option<u64>,
    /// Every e-mail.
    #[serde(default)]
    pub emails: Option<Vec<LabelledValue>>,
    /// Every phone.
    #[serde(default)]
    pub phones: Option<Vec<LabelledValue>>,
    /// RFC 3339 UTC.
    #[serde(default)]
    pub add_time: Option<String>,
    /// RFC 3339 UTC.
    #[serde(default)]
    pub update_time: Option<String>,
    /// Whether it is deleted.
    #[serde(default)]
    pub is_deleted: bool,
}

/// An activity (§3.5).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Activity {
    /// Id.
    pub id: u64,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The activity type's key (`call`, `meeting`, `task`, ...).
    #[serde(default, rename = "type")]
    pub activity_type: Option<String>,
    /// Assigned user.
    #[serde(default)]
    pub owner_id: Option<u64>,
    /// Creator.
    #[serde(default)]
    pub creator_user_id: Option<u64>,
    /// Linked organization.
    #[serde(default)]
    pub org_id: Option<u64>,
    /// Linked person.
    #[serde(default)]
    pub person_id: Option<u64>,
    /// Linked deal.
    #[serde(default)]
    pub deal_id: Option<u64>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due_date: Option<String>,
    /// `HH:MM[:SS]`, UTC (v1 documents it so; v2 does not say).
    #[serde(default)]
    pub due_time: Option<String>,
    /// Whether it is done.
    #[serde(default)]
    pub done: bool,
    /// When it was marked done (RFC 3339).
    #[serde(default)]
    pub marked_as_done_time: Option<String>,
    /// Free-text note (HTML in the web app).
    #[serde(default)]
    pub note: Option<String>,
    /// RFC 3339 UTC.
    #[serde(default)]
    pub add_time: Option<String>,
    /// RFC 3339 UTC.
    #[serde(default)]
    pub update_time: Option<String>,
    /// Whether it is deleted.
    #[serde(default)]
    pub is_deleted: bool,
}

/// Why a record could not be read at all, with its id when that much was readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRecord {
    /// The id, if readable.
    pub id: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Reads one record of a page into `T`; failure names the record's id when it has one.
pub fn read_record<T: serde::de::DeserializeOwned>(raw: &Value) -> Result<T, UnreadableRecord> {
    T::deserialize(raw).map_err(|e| UnreadableRecord {
        id: raw.get("id").and_then(Value::as_u64).map(|id| id.to_string()),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_list_page_reads_its_records_and_cursor() {
        let page: ListResponse = serde_json::from_value(json!({"success": true, "data": [{"id": 1}],
            "additional_data": {"next_cursor": "eyJmaWVsZCI6ImlkIn0"}}))
        .unwrap();
        let (records, next) = page.records();
        assert_eq!((records.len(), next.as_deref()), (1, Some("eyJmaWVsZCI6ImlkIn0")));
        let last: ListResponse =
            serde_json::from_value(json!({"success": true, "data": null, "additional_data": {"next_cursor": null}}))
                .unwrap();
        assert_eq!(last.records(), (Vec::new(), None));
    }

    #[test]
    fn a_broken_record_names_its_id() {
        let bad = json!({"id": 7, "name": "Acme", "emails": "not-a-list"});
        let err = read_record::<Person>(&bad).unwrap_err();
        assert_eq!(err.id.as_deref(), Some("7"));
        let no_id = read_record::<Organization>(&json!({"name": "x"})).unwrap_err();
        assert_eq!(no_id.id, None);
        let ok: Organization = read_record(&json!({"id": 1, "name": "Acme", "custom_fields": {}})).unwrap();
        assert_eq!(ok.name.as_deref(), Some("Acme"));
    }
}
