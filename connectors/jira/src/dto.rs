//! Jira REST v3 wire shapes, as far as zveno reads and writes them.
//!
//! Issues themselves stay `serde_json::Value` until [`crate::mapping`] reads them field by
//! field: one issue with a field of an unexpected shape must cost that field (or, at
//! worst, that issue), never the page. The shapes follow the v3 OpenAPI spec
//! (`swagger-v3.v3.json`); field names are Jira's camelCase.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Body of `POST /rest/api/3/search/jql` (enhanced search).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// The query; must be bounded.
    pub jql: String,
    /// Page size ceiling; the server returns fewer when many fields are requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    /// Fields to return (default: `id` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The token of the page to read; absent for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Up to 50 issue ids to read consistently despite search lag (sent on every page).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconcile_issues: Vec<u64>,
}

/// Answer of the enhanced search (`SearchAndReconcileResults`). There is no `total`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    /// The issues, raw.
    #[serde(default)]
    pub issues: Vec<Value>,
    /// Token of the next page; absent on the last.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Whether this is the last page.
    #[serde(default)]
    pub is_last: Option<bool>,
}

/// Body of `POST /rest/api/3/issue/bulkfetch`: up to 100 issues by id or key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkFetchRequest {
    /// Issue ids or keys, mixed as the caller likes.
    pub issue_ids_or_keys: Vec<String>,
    /// Fields to return.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Answer of the bulk fetch (`BulkIssueResults`): the issues found, in ascending id order,
/// and per-issue errors. Unknown ids are not an HTTP error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkFetchResponse {
    /// The issues, raw.
    #[serde(default)]
    pub issues: Vec<Value>,
    /// Issues not returned, with why.
    #[serde(default)]
    pub issue_errors: Vec<IssueError>,
}

/// One issue a bulk fetch did not return.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueError {
    /// The id or key as requested.
    #[serde(default)]
    pub id: String,
    /// Why.
    #[serde(default)]
    pub error_message: String,
}

/// `GET /rest/api/3/myself`, trimmed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    /// The token user's account id.
    pub account_id: String,
    /// IANA zone JQL dates are read in, e.g. `Europe/Moscow`.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A user as issues embed it (`assignee`, `reporter`) and `user/search` lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    /// Stable account id.
    #[serde(default)]
    pub account_id: Option<String>,
    /// E-mail, absent when the profile hides it.
    #[serde(default)]
    pub email_address: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A status category (`new`, `indeterminate`, `done`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryRef {
    /// The category key.
    #[serde(default)]
    pub key: Option<String>,
}

/// An issue status, or a transition's target status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRef {
    /// Status name, per workflow (`To Do`, `Won't Do`).
    #[serde(default)]
    pub name: Option<String>,
    /// Its category.
    #[serde(default)]
    pub status_category: Option<CategoryRef>,
}

impl StatusRef {
    /// The category key, if given.
    pub fn category(&self) -> Option<&str> {
        self.status_category.as_ref().and_then(|c| c.key.as_deref())
    }
}

/// Anything identified by a `name` (priority, resolution).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct NamedRef {
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One transition available from an issue's current status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Transition id, sent back to perform it.
    pub id: String,
    /// Transition name.
    #[serde(default)]
    pub name: Option<String>,
    /// The status it leads to.
    pub to: StatusRef,
}

/// `GET /rest/api/3/issue/{id}/editmeta`: the fields on the edit screen, by id.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EditMeta {
    /// Field id → its metadata (only presence is used).
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
}

/// `GET /rest/api/3/issue/{id}/transitions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Transitions {
    /// Available transitions.
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

/// The issue returned by `PUT /rest/api/3/issue/{id}?returnIssue=true&expand=transitions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReturnedIssue {
    /// Its fields (only `status` is read).
    #[serde(default)]
    pub fields: ReturnedFields,
    /// Transitions from the current status.
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

/// Fields of a [`ReturnedIssue`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReturnedFields {
    /// Current status.
    #[serde(default)]
    pub status: Option<StatusRef>,
}

/// `{"id": "10000", "key": "ED-24", "self": "..."}` of a created issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedIssue {
    /// The new issue's id.
    pub id: String,
    /// Its key.
    pub key: String,
}

/// Answer of `POST /rest/api/3/issue/bulk`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BulkCreated {
    /// Created issues, in the order of the successful inputs.
    #[serde(default)]
    pub issues: Vec<CreatedIssue>,
    /// Inputs that failed.
    #[serde(default)]
    pub errors: Vec<BulkError>,
}

/// One failed input of a bulk create.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkError {
    /// Zero-based index of the input.
    pub failed_element_number: usize,
    /// Why.
    #[serde(default)]
    pub element_errors: ErrorCollection,
    /// HTTP status it would have had alone.
    #[serde(default)]
    pub status: Option<u16>,
}

/// Jira's general error body: `{"errorMessages": [...], "errors": {"field": "message"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCollection {
    /// Messages not tied to a field.
    #[serde(default)]
    pub error_messages: Vec<String>,
    /// Messages by field id.
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

impl fmt::Display for ErrorCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.error_messages.iter().cloned().chain(self.errors.iter().map(|(k, v)| format!("{k}: {v}"))).collect();
        if parts.is_empty() {
            f.write_str("no reason given")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}
