//! HubSpot's JSON shapes, as zveno reads and writes them.
//!
//! Page envelopes (`results` + `paging.next.after`, search's `total`, batch responses) are
//! strict serde types: a page that does not have this shape is a malformed response and the
//! HTTP client's retry handles it. Records inside a page are kept as raw JSON and read one by
//! one with [`ObjectDto::parse`], so that one broken record becomes a `RecordError` while the
//! rest of its page is stored. Property values stay `serde_json::Value` here (HubSpot sends
//! strings or `null`; anything else is judged field by field in the mapping).

pub mod object;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `paging` of a list, search or owners response. No `paging` (or no `next`) means the
/// last page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Paging {
    /// The next page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextPage>,
}

/// `paging.next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextPage {
    /// Opaque cursor for lists and owners; an offset written as a string for search.
    pub after: String,
    /// A relative link to the next page (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// `CollectionResponseSimplePublicObjectWithAssociationsForwardPaging` and the owners list.
#[derive(Debug, Clone, Deserialize)]
pub struct ListResponse<T = Value> {
    /// The records of this page.
    pub results: Vec<T>,
    /// Where the next page starts.
    #[serde(default)]
    pub paging: Option<Paging>,
}

impl<T> ListResponse<T> {
    /// The `after` of the next page, if any.
    pub fn next_after(&self) -> Option<String> {
        next_after(self.paging.as_ref())
    }
}

/// `CollectionResponseWithTotalSimplePublicObjectForwardPaging` (a search answer).
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResponse {
    /// How many records match the query in all (capped pages or not).
    pub total: u64,
    /// This page.
    pub results: Vec<Value>,
    /// The offset of the next page, if any.
    #[serde(default)]
    pub paging: Option<Paging>,
}

impl SearchResponse {
    /// Whether the query has results past this page.
    pub fn has_more(&self) -> bool {
        next_after(self.paging.as_ref()).is_some()
    }
}

fn next_after(paging: Option<&Paging>) -> Option<String> {
    paging.and_then(|p| p.next.as_ref()).map(|n| n.after.clone()).filter(|a| !a.is_empty())
}

/// One owner (`PublicOwner`). Owners are metadata; a malformed one is skipped with a log
/// line rather than failing a pull.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerDto {
    /// The owner id, which records' `hubspot_owner_id` holds.
    pub id: String,
    /// The owner's e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// The user id (not what records point at).
    #[serde(default)]
    pub user_id: Option<u64>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// `PERSON` or `QUEUE`.
    #[serde(default, rename = "type")]
    pub owner_type: Option<String>,
    /// Whether the owner is deactivated.
    #[serde(default)]
    pub archived: bool,
}

/// One record (`SimplePublicObject[WithAssociations]`) read leniently from raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDto {
    /// The record id (a string of digits).
    pub id: String,
    /// Property values as sent: strings, `null`, or (wrongly) anything else.
    pub properties: BTreeMap<String, Value>,
    /// `createdAt`, when it is a string.
    pub created_at: Option<String>,
    /// `updatedAt`, when it is a string.
    pub updated_at: Option<String>,
    /// `archived`.
    pub archived: bool,
    /// `archivedAt`, when it is a string.
    pub archived_at: Option<String>,
    /// Associated record ids by object type name (`companies` → ids).
    pub associations: BTreeMap<String, Vec<String>>,
    /// Problems found while reading the envelope (the record is still usable).
    pub warnings: Vec<String>,
}

/// Why a record could not be read at all, with its id when that much was readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRecord {
    /// The id, if it could be read.
    pub id: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ObjectDto {
    /// Reads a record. Only a missing/unusable `id` or a `properties` that is not an object
    /// make a record unreadable; every other defect becomes a warning.
    pub fn parse(raw: &Value) -> Result<Self, UnreadableRecord> {
        let Some(obj) = raw.as_object() else {
            return Err(UnreadableRecord {
                id: None,
                message: format!("record is not a JSON object but {}", type_name(raw)),
            });
        };
        let id = match obj.get("id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            other => {
                return Err(UnreadableRecord {
                    id: None,
                    message: format!("record has no usable id ({})", other.map_or("missing", type_name)),
                })
            }
        };
        let properties = match obj.get("properties") {
            Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            other => {
                return Err(UnreadableRecord {
                    id: Some(id),
                    message: format!("`properties` is {}, not an object", other.map_or("missing", type_name)),
                })
            }
        };
        let mut warnings = Vec::new();
        let mut text = |key: &str| match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                warnings.push(format!("`{key}` ignored: {} is not a string", type_name(other)));
                None
            }
        };
        let created_at = text("createdAt");
        let updated_at = text("updatedAt");
        let archived_at = text("archivedAt");
        let archived = obj.get("archived").and_then(Value::as_bool).unwrap_or(false);
        let associations = match obj.get("associations") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(value) => read_associations(value, &mut warnings),
        };
        Ok(Self { id, properties, created_at, updated_at, archived, archived_at, associations, warnings })
    }

    /// A property as text: `None` for absent, `null`, or blank; numbers and booleans are
    /// taken as their text (HubSpot sends strings, but a proxy or an old API may not).
    /// Other JSON types are reported through `Err` with a reason.
    pub fn text(&self, name: &str) -> Result<Option<&str>, String> {
        match self.properties.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let t = s.trim();
                Ok((!t.is_empty()).then_some(t))
            }
            Some(other) => Err(format!("{} is not a string", type_name(other))),
        }
    }

    /// A property as owned text, accepting numbers and booleans as their JSON text.
    pub fn text_lenient(&self, name: &str) -> Result<Option<String>, String> {
        match self.properties.get(name) {
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            _ => self.text(name).map(|t| t.map(str::to_string)),
        }
    }
}

/// `associations: {"companies": {"results": [{"id": "512", "type": "..."}], "paging": ...}}`.
fn read_associations(value: &Value, warnings: &mut Vec<String>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Some(map) = value.as_object() else {
        warnings.push("`associations` ignored: not an object".into());
        return out;
    };
    for (object, list) in map {
        let results = list.get("results").and_then(Value::as_array);
        let Some(results) = results else {
            warnings.push(format!("`associations.{object}` ignored: no `results` list"));
            continue;
        };
        let mut ids: Vec<String> = Vec::new();
        for item in results {
            match item.get("id") {
                Some(Value::String(s)) if !s.is_empty() => ids.push(s.clone()),
                Some(Value::Number(n)) => ids.push(n.to_string()),
                _ => warnings.push(format!("`associations.{object}`: an entry has no id")),
            }
        }
        if list.pointer("/paging/next/after").is_some() {
            warnings.push(format!(
                "`associations.{object}`: more associations than HubSpot lists inline; only the first {} kept",
                ids.len()
            ));
        }
        ids.sort();
        ids.dedup();
        out.insert(object.clone(), ids);
    }
    out
}

/// The JSON type of a value, for messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A batch answer (`BatchResponseSimplePublicObject`, with `errors` on a 207).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// `COMPLETE`, `PENDING`, `PROCESSING` or `CANCELED`.
    #[serde(default)]
    pub status: Option<String>,
    /// Records written; each may carry the `objectWriteTraceId` it was sent with.
    #[serde(default)]
    pub results: Vec<BatchResult>,
    /// Failed inputs (207 only).
    #[serde(default)]
    pub errors: Vec<StandardError>,
}

/// A property definition (`GET /crm/v3/properties/{object}/{name}`): the part zveno checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDto {
    /// Internal name.
    pub name: String,
    /// `string`, `number`, `enumeration`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Whether HubSpot keeps its values unique ("require unique values"): only such a
    /// property can key `batch/upsert` and `idProperty` reads.
    #[serde(default)]
    pub has_unique_value: bool,
    /// Archived (deleted) properties are kept for 90 days; writes to them fail.
    #[serde(default)]
    pub archived: bool,
}

/// A `batch/read` answer: the records found, raw (mapped like list results), and on a 207
/// the `OBJECT_NOT_FOUND` error naming the ids that were not.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BatchRead {
    /// The records found.
    #[serde(default)]
    pub results: Vec<Value>,
    /// Failed inputs (207 only).
    #[serde(default)]
    pub errors: Vec<StandardError>,
}

/// One written record of a batch answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    /// The record id.
    pub id: String,
    /// The trace id of the input that produced it, when HubSpot echoes it.
    #[serde(default)]
    pub object_write_trace_id: Option<String>,
}

/// HubSpot's `StandardError` (also the general error body). Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardError {
    /// `error`.
    #[serde(default)]
    pub status: Option<String>,
    /// `VALIDATION_ERROR`, `OBJECT_NOT_FOUND`, ...
    #[serde(default)]
    pub category: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// Which inputs failed: `objectWriteTraceId` and/or `id` lists.
    #[serde(default)]
    pub context: BTreeMap<String, Vec<String>>,
    /// To trace a failure with HubSpot support.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl StandardError {
    /// `CATEGORY: message (correlationId ...)`.
    pub fn describe(&self) -> String {
        let mut text = match (&self.category, &self.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => "unspecified error".to_string(),
        };
        if let Some(id) = &self.correlation_id {
            text.push_str(&format!(" (correlationId {id})"));
        }
        text
    }

    /// The values of one context key (`objectWriteTraceId`, `id`, `ids`).
    pub fn context_values(&self, key: &str) -> &[String] {
        self.context.get(key).map_or(&[], Vec::as_slice)
    }
}

/// The answer of `POST /crm/v4/associations/{from}/{to}/batch/read`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssociationBatchResponse {
    /// One entry per input that has associations.
    #[serde(default)]
    pub results: Vec<AssociationResult>,
}

/// One `from` record's associations.
#[derive(Debug, Clone, Deserialize)]
pub struct AssociationResult {
    /// The record asked about.
    pub from: AssociationFrom,
    /// What it is associated with.
    #[serde(default)]
    pub to: Vec<AssociationTo>,
    /// Present when the record has more associations than one answer holds.
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// `from` of an association result.
#[derive(Debug, Clone, Deserialize)]
pub struct AssociationFrom {
    /// The record id.
    pub id: String,
}

/// `to` of an association result (`toObjectId` is a number in v4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationTo {
    /// The associated record id.
    pub to_object_id: Value,
}

impl AssociationTo {
    /// The id as text, whether HubSpot sent a number or a string.
    pub fn id(&self) -> Option<String> {
        match &self.to_object_id {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }
}

/// The answer of `GET /crm/v4/associations/{from}/{to}/labels`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssociationLabels {
    /// The association types between the two object types.
    #[serde(default)]
    pub results: Vec<AssociationLabel>,
}

/// One association type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationLabel {
    /// `HUBSPOT_DEFINED`, `USER_DEFINED` or `INTEGRATOR_DEFINED`.
    pub category: String,
    /// The type id to send in writes.
    pub type_id: u32,
    /// `null` for the unlabelled default type.
    #[serde(default)]
    pub label: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_list_record_with_associations_parses() {
        let raw = json!({"id": "512", "properties": {"name": "Acme", "phone": null},
            "createdAt": "2019-10-30T03:30:17.883Z", "updatedAt": "2024-09-13T20:23:03.333Z",
            "archived": false,
            "associations": {"contacts": {"results": [
                {"id": "104901", "type": "company_to_contact"},
                {"id": "104901", "type": "company_to_contact_unlabeled"}]}}});
        let dto = ObjectDto::parse(&raw);
        let dto = dto.as_ref().ok();
        assert_eq!(dto.map(|d| d.id.as_str()), Some("512"));
        assert_eq!(dto.and_then(|d| d.text("name").ok().flatten()), Some("Acme"));
        assert_eq!(dto.map(|d| d.text("phone")), Some(Ok(None)));
        assert_eq!(dto.map(|d| d.associations.get("contacts").cloned()), Some(Some(vec!["104901".to_string()])));
        assert_eq!(dto.map(|d| d.warnings.len()), Some(0));
    }

    #[test]
    fn unreadable_records_say_why_and_keep_the_id_when_they_can() {
        let cases = [
            (json!("text"), None, "not a JSON object"),
            (json!({"properties": {}}), None, "no usable id"),
            (json!({"id": {"x": 1}, "properties": {}}), None, "no usable id"),
            (json!({"id": "7", "properties": "broken"}), Some("7"), "`properties` is a string"),
            (json!({"id": 8}), Some("8"), "`properties` is missing"),
        ];
        for (raw, id, message) in cases {
            let err = ObjectDto::parse(&raw).err();
            assert_eq!(err.as_ref().and_then(|e| e.id.as_deref()), id, "{raw}");
            assert!(err.as_ref().is_some_and(|e| e.message.contains(message)), "{raw}: {err:?}");
        }
    }

    #[test]
    fn envelope_defects_are_warnings() {
        let raw = json!({"id": "1", "properties": {}, "updatedAt": 17, "associations": []});
        let dto = ObjectDto::parse(&raw);
        assert_eq!(dto.as_ref().map(|d| d.updated_at.clone()), Ok(None));
        assert_eq!(dto.map(|d| d.warnings.len()), Ok(2));
    }

    #[test]
    fn property_text_is_trimmed_and_typed() {
        let raw = json!({"id": "1", "properties": {"a": "  x ", "b": "", "c": 5, "d": [1]}});
        let Ok(dto) = ObjectDto::parse(&raw) else {
            panic!("record should parse");
        };
        assert_eq!(dto.text("a"), Ok(Some("x")));
        assert_eq!(dto.text("b"), Ok(None));
        assert_eq!(dto.text("missing"), Ok(None));
        assert!(dto.text("c").is_err());
        assert_eq!(dto.text_lenient("c"), Ok(Some("5".to_string())));
        assert!(dto.text_lenient("d").is_err());
    }

    #[test]
    fn pages_expose_their_next_cursor() {
        let page: Result<ListResponse, _> = serde_json::from_value(json!({
            "results": [], "paging": {"next": {"after": "NTI1Cg%3D%3D", "link": "?after=x"}}}));
        assert_eq!(page.ok().and_then(|p| p.next_after()), Some("NTI1Cg%3D%3D".to_string()));
        let last: Result<ListResponse, _> = serde_json::from_value(json!({"results": []}));
        assert_eq!(last.ok().and_then(|p| p.next_after()), None);
        let search: Result<SearchResponse, _> =
            serde_json::from_value(json!({"total": 1234, "results": [], "paging": {"next": {"after": "200"}}}));
        assert!(search.is_ok_and(|s| s.has_more() && s.total == 1234));
    }

    #[test]
    fn batch_errors_name_their_inputs() {
        let body: Result<BatchResponse, _> = serde_json::from_value(json!({
            "status": "COMPLETE", "numErrors": 1,
            "results": [{"id": "9", "objectWriteTraceId": "op-1", "properties": {}}],
            "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "bad",
                        "context": {"objectWriteTraceId": ["op-2"]}, "correlationId": "c-1"}]}));
        let Ok(body) = body else {
            panic!("batch body should parse");
        };
        assert_eq!(body.results[0].object_write_trace_id.as_deref(), Some("op-1"));
        assert_eq!(body.errors[0].context_values("objectWriteTraceId"), ["op-2"]);
        assert_eq!(body.errors[0].describe(), "VALIDATION_ERROR: bad (correlationId c-1)");
    }
}
