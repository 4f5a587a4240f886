//! The shapes of Bitrix24 responses, as far as the connector relies on them.
//!
//! Classic REST answers `{"result": ..., "total": n, "next": n, "time": {...}}`; `batch` nests
//! one such answer per command under `result.result`, `result.result_error`,
//! `result.result_total`, `result.result_next` and `result.result_time`. Bitrix24 is PHP: an
//! empty associative array serialises as `[]`, not `{}`, so every keyed part accepts both.
//! Records themselves stay `serde_json::Value` (all values are strings in the legacy CRM
//! methods, numbers sneak in elsewhere); `mapping` reads them field by field so one bad field
//! costs a warning, not the record.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The `time` object of every answer (and of every batch command in `result_time`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Time {
    /// When the portal started the call, with the portal's UTC offset
    /// (`2026-05-14T10:26:32+02:00`): how the connector learns the portal's zone.
    #[serde(default)]
    pub date_start: Option<String>,
    /// Seconds the call (or the whole batch) took.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Seconds this method has run for this webhook in the last ten minutes.
    #[serde(default)]
    pub operating: Option<f64>,
    /// Unix time when the oldest one-minute basket of `operating` drops out.
    #[serde(default)]
    pub operating_reset_at: Option<f64>,
}

/// A method-level error: `{"error": "CODE", "error_description": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ApiError {
    /// The code (often empty for method-level errors, e.g. `Access denied.`).
    #[serde(default, deserialize_with = "string_or_number")]
    pub error: String,
    /// The human-readable description.
    #[serde(default)]
    pub error_description: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.error.is_empty(), self.error_description.is_empty()) {
            (false, false) => write!(f, "{}: {}", self.error, self.error_description),
            (false, true) => f.write_str(&self.error),
            (true, _) => f.write_str(&self.error_description),
        }
    }
}

/// The answer to a `batch` call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BatchEnvelope {
    /// The per-command parts.
    pub result: BatchResult,
    /// Timing of the batch itself (not counted in `operating`).
    #[serde(default)]
    pub time: Option<Time>,
}

/// The per-command parts of a batch answer, keyed by command key.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BatchResult {
    /// Results of commands that succeeded.
    #[serde(default, deserialize_with = "keyed")]
    pub result: BTreeMap<String, Value>,
    /// Errors of commands that failed.
    #[serde(default, deserialize_with = "keyed")]
    pub result_error: BTreeMap<String, ApiError>,
    /// Per-command timing, with each method's `operating`.
    #[serde(default, deserialize_with = "keyed")]
    pub result_time: BTreeMap<String, Time>,
}

/// A PHP associative array: a JSON object, or `[]` when empty (or a list when the keys were
/// numeric, which the connector never sends but tolerates).
fn keyed<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    let entries: Vec<(String, Value)> = match value {
        Value::Object(map) => map.into_iter().collect(),
        Value::Array(list) => list.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        Value::Null => Vec::new(),
        other => return Err(serde::de::Error::custom(format!("expected an object, got {other}"))),
    };
    entries
        .into_iter()
        .map(|(k, v)| serde_json::from_value(v).map(|t| (k, t)).map_err(serde::de::Error::custom))
        .collect()
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// What a field of a record holds, as far as mapping cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// Not in the record (not selected, or Bitrix24 omits empty multi-fields).
    Missing,
    /// `null` or `""`.
    Empty,
    /// Text (numbers are read as their decimal text).
    Text(&'a str),
    /// Something else (an object where text belongs: a malformed record).
    Other(&'a Value),
}

/// Reads `key` of a record object.
pub fn field<'a>(record: &'a serde_json::Map<String, Value>, key: &str) -> Field<'a> {
    match record.get(key) {
        None => Field::Missing,
        Some(Value::Null) => Field::Empty,
        Some(Value::String(s)) if s.trim().is_empty() => Field::Empty,
        Some(Value::String(s)) => Field::Text(s.as_str()),
        Some(other) => Field::Other(other),
    }
}

/// A record id: a positive integer sent as a string (legacy) or a number.
pub fn id_of(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

/// A numeric field (`ASSIGNED_BY_ID`, `status`), string or number; `None` when absent,
/// empty or `0`-like garbage is left to the caller to judge.
pub fn number_of(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_answers_accept_php_empty_arrays() {
        let body = r#"{"result":{"result":[],"result_error":{"c0":{"error":"insufficient_scope","error_description":""}},
            "result_total":[],"result_next":[],"result_time":[]},"time":{"date_start":"2024-08-29T10:30:38+03:00"}}"#;
        let envelope: BatchEnvelope = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}"));
        assert!(envelope.result.result.is_empty());
        assert_eq!(envelope.result.result_error["c0"].error, "insufficient_scope");
        assert_eq!(envelope.time.and_then(|t| t.date_start).as_deref(), Some("2024-08-29T10:30:38+03:00"));
    }

    #[test]
    fn numeric_error_codes_read_as_text() {
        let e: ApiError =
            serde_json::from_str(r#"{"error":0,"error_description":"Invalid sorting key"}"#).unwrap_or_default();
        assert_eq!(e.to_string(), "0: Invalid sorting key");
    }

    #[test]
    fn ids_are_positive_integers_as_text_or_numbers() {
        assert_eq!(id_of(Some(&Value::from("42"))), Some(42));
        assert_eq!(id_of(Some(&Value::from(42))), Some(42));
        assert_eq!(id_of(Some(&Value::from("0"))), None);
        assert_eq!(id_of(Some(&Value::from("x"))), None);
        assert_eq!(id_of(Some(&serde_json::json!({"a": 1}))), None);
        assert_eq!(id_of(None), None);
    }
}
