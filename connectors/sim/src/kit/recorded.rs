//! Reading recorded vendor responses, to seed a simulator with records exactly as a vendor
//! lists them (a labelled evaluation world keeps each vendor's list results in one JSON
//! object: `{"companies": [...], "contacts": [...]}`).
//!
//! Each vendor simulator turns these rows into its own store; what they share is here: the
//! rows under a key, typed field reads, and one error naming the row that could not be read,
//! so a bad file fails the launch with a clear message instead of a panic.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A recorded row a simulator cannot hold.
#[derive(Debug, thiserror::Error)]
#[error("recorded {list}[{index}]: {problem}")]
pub struct RecordedError {
    /// The list the row is in (`companies`).
    pub list: String,
    /// Its position in the list.
    pub index: usize,
    /// What is wrong with it.
    pub problem: String,
}

impl From<RecordedError> for std::io::Error {
    fn from(e: RecordedError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// The rows under `key` (none when the key is missing: a vendor without that kind).
pub fn rows<'a>(responses: &'a Value, key: &'a str) -> impl Iterator<Item = Row<'a>> {
    let list = responses.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    list.iter().enumerate().map(move |(index, value)| Row { list: key, index, value })
}

/// One recorded row and where it is.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The list it is in.
    pub list: &'a str,
    /// Its position.
    pub index: usize,
    /// The row as the vendor listed it.
    pub value: &'a Value,
}

impl<'a> Row<'a> {
    /// An error about this row.
    pub fn error(&self, problem: impl Into<String>) -> RecordedError {
        RecordedError { list: self.list.to_string(), index: self.index, problem: problem.into() }
    }

    /// Field `name`, if present and not `null`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.value.get(name).filter(|v| !v.is_null())
    }

    /// Field `name` as text: a string as it is, a number or boolean written out.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(text)
    }

    /// Field `name` as an id: a number, or a string holding one (vendors differ).
    pub fn id(&self, name: &str) -> Result<u64, RecordedError> {
        self.text(name)
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| self.error(format!("`{name}` is not a numeric id")))
    }

    /// Field `name` as an instant, read by `parse` (vendors write times differently).
    pub fn time(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<DateTime<Utc>>,
    ) -> Result<DateTime<Utc>, RecordedError> {
        self.text(name).as_deref().and_then(parse).ok_or_else(|| self.error(format!("`{name}` is not a time")))
    }
}

/// A scalar JSON value as text (`null`, arrays and objects: none).
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An RFC 3339 instant (`2026-03-03T20:05:18.865Z`, `2026-02-14T10:34:19+03:00`).
pub fn rfc3339(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim()).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_read_ids_and_times_of_either_json_type_and_name_the_bad_row() {
        let responses = json!({"companies": [
            {"id": 7, "at": "2026-02-14T10:34:19+03:00"},
            {"id": "8", "at": "yesterday"},
            {"id": null}
        ]});
        let listed: Vec<Row<'_>> = rows(&responses, "companies").collect();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].id("id").ok(), Some(7));
        assert_eq!(listed[1].id("id").ok(), Some(8));
        assert_eq!(listed[0].time("at", rfc3339).ok().map(|t| t.timestamp()), Some(1_771_054_459));
        let late = listed[1].time("at", rfc3339).err().map(|e| e.to_string());
        assert_eq!(late.as_deref(), Some("recorded companies[1]: `at` is not a time"));
        assert!(listed[2].id("id").is_err());
        assert_eq!(rows(&responses, "tasks").count(), 0, "a missing list is empty");
    }
}
