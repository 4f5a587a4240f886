//! The fields a flow compares, read from a stored record's normalised data into canonical
//! JSON values, and hashed for the agreed-values base and the write ledger.
//!
//! Canonical means two systems holding the same thing give the same value: text trimmed,
//! e-mails (owners, assignees) lower-case, lists de-duplicated and sorted (systems keep
//! phones in different orders), a tax id by its normalised value. An empty text or list is
//! `null`: zveno never writes "nothing" over a value (a push leaves empty fields alone), so
//! an empty side has no opinion.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use zveno_connector::Kind;

/// Field name → canonical value (`null` when the record has none).
pub type Values = BTreeMap<String, Value>;

/// Reads `fields` of a stored record's data (the JSON of `RecordData`).
pub fn read(kind: Kind, data: &Value, fields: &[String]) -> Values {
    fields.iter().map(|f| (f.clone(), canonical(kind, f, data.get(f.as_str()).unwrap_or(&Value::Null)))).collect()
}

/// The canonical form of one field's stored value.
pub fn canonical(kind: Kind, field: &str, value: &Value) -> Value {
    match (kind, field, value) {
        (_, _, Value::Null) => Value::Null,
        (Kind::Client, "tax_id", Value::Object(tax)) => tax.get("value").map_or(Value::Null, |v| text(v, false)),
        (_, "owner" | "assignee" | "emails", v) => text_or_list(v, true),
        (_, _, v) => text_or_list(v, false),
    }
}

fn text_or_list(value: &Value, lower: bool) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<String> =
                items.iter().filter_map(|v| text(v, lower).as_str().map(str::to_string)).collect();
            items.sort();
            items.dedup();
            if items.is_empty() {
                Value::Null
            } else {
                Value::Array(items.into_iter().map(Value::String).collect())
            }
        }
        other => text(other, lower),
    }
}

fn text(value: &Value, lower: bool) -> Value {
    match value {
        Value::String(s) => {
            let s = s.trim();
            match (s.is_empty(), lower) {
                (true, _) => Value::Null,
                (false, true) => Value::String(s.to_lowercase()),
                (false, false) => Value::String(s.to_string()),
            }
        }
        Value::Null => Value::Null,
        other => other.clone(),
    }
}

/// A short, stable hash of a canonical value: what the agreed base and the ledger keep.
/// `serde_json` maps are sorted, so equal values hash equally.
pub fn hash(value: &Value) -> String {
    let digest = Sha256::digest(value.to_string().as_bytes());
    hex::encode(&digest[..12])
}

/// Whether a field holds a person (mapped across systems by e-mail).
pub fn is_person(field: &str) -> bool {
    matches!(field, "owner" | "assignee")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_compare_as_sets_and_empty_is_null() {
        let a = read(
            Kind::Client,
            &json!({"phones": ["+7900", "+7495", "+7900"], "emails": []}),
            &["phones".into(), "emails".into()],
        );
        let b = read(Kind::Client, &json!({"phones": ["+7495", "+7900"]}), &["phones".into(), "emails".into()]);
        assert_eq!(a, b);
        assert_eq!(a["emails"], Value::Null);
        assert_eq!(hash(&a["phones"]), hash(&b["phones"]));
    }

    #[test]
    fn tax_ids_compare_by_value_and_people_by_lower_case_email() {
        let v = read(
            Kind::Client,
            &json!({"tax_id": {"scheme": "ru_inn", "value": "7707083893"}, "owner": " AM@Example.com "}),
            &["tax_id".into(), "owner".into()],
        );
        assert_eq!(v["tax_id"], json!("7707083893"));
        assert_eq!(v["owner"], json!("am@example.com"));
        assert_ne!(hash(&v["tax_id"]), hash(&Value::Null));
    }
}
