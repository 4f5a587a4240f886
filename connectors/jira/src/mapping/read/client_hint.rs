//! Reading the client an issue concerns.
//!
//! Jira has no company object, so each site names the client its own way. zveno reads two
//! configurable places and keeps the value verbatim as a [`ClientRef::Hint`] for the
//! engine to resolve against client names, domains and CRM ids:
//!
//! - a custom field (`client_field`), whose value comes in whatever shape its field type
//!   has: a text field gives a string, a select list `{"value": ...}`, a multi-select or
//!   labels field an array, a number field a float (`12345.0`), a paragraph field an ADF
//!   document, a component or version picker `{"name": ...}`;
//! - labels starting with `client_label_prefix` (`client:romashka.ru` → `romashka.ru`).

use serde_json::Value;
use zveno_connector::ClientRef;

use crate::mapping::adf;

/// The hints in a custom field value, or why its shape is not understood.
pub fn from_field(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(non_empty(s)),
        Value::Number(n) => Ok(vec![number_text(n)]),
        Value::Array(items) => {
            let mut hints = Vec::new();
            for item in items {
                hints.extend(from_field(item)?);
            }
            Ok(hints)
        }
        Value::Object(_) if adf::is_doc(value) => Ok(non_empty(&adf::to_text(value))),
        Value::Object(map) => {
            // Select options carry `value`; cascading selects add a `child` we do not need
            // (the parent option names the client). Pickers carry `name` or `displayName`.
            for key in ["value", "name", "displayName", "key"] {
                if let Some(inner) = map.get(key).filter(|v| v.is_string() || v.is_number()) {
                    return from_field(inner);
                }
            }
            Err(format!("object without value/name: {}", snippet(value)))
        }
        Value::Bool(_) => Err(format!("boolean {value}")),
    }
}

/// The hints in labels carrying `prefix`.
pub fn from_labels(labels: &[String], prefix: &str) -> Vec<String> {
    labels.iter().filter_map(|l| l.strip_prefix(prefix)).flat_map(non_empty).collect()
}

/// Hints as client references, in order, without duplicates.
pub fn to_refs(hints: impl IntoIterator<Item = String>) -> Vec<ClientRef> {
    let mut refs: Vec<ClientRef> = Vec::new();
    for hint in hints {
        let r = ClientRef::Hint(hint);
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    refs
}

fn non_empty(s: &str) -> Vec<String> {
    let t = s.trim();
    if t.is_empty() {
        Vec::new()
    } else {
        vec![t.to_string()]
    }
}

/// Number fields are floats in Jira: a CRM id typed as 12345 comes back as `12345.0`.
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

fn snippet(value: &Value) -> String {
    value.to_string().chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn custom_field_shapes_all_give_their_raw_value() {
        let cases = [
            (json!("romashka.ru"), vec!["romashka.ru"]),
            (json!("  ООО «Ромашка» "), vec!["ООО «Ромашка»"]),
            (json!(""), vec![]),
            (json!(null), vec![]),
            (
                json!({"self": "https://x/rest/api/3/customFieldOption/10020", "value": "Acme", "id": "10020"}),
                vec!["Acme"],
            ),
            (json!({"value": "Romashka", "id": "1", "child": {"value": "Moscow office", "id": "2"}}), vec!["Romashka"]),
            (json!([{"value": "Acme", "id": "1"}, {"value": "Globex", "id": "2"}]), vec!["Acme", "Globex"]),
            (json!(["acme.com", "globex.com"]), vec!["acme.com", "globex.com"]),
            (json!(12345.0), vec!["12345"]),
            (json!(7707083893_i64), vec!["7707083893"]),
            (json!(12.5), vec!["12.5"]),
            (json!({"name": "Acme component"}), vec!["Acme component"]),
            (
                json!({"type": "doc", "version": 1, "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "romashka.ru"}]}
                ]}),
                vec!["romashka.ru"],
            ),
        ];
        for (value, want) in cases {
            assert_eq!(from_field(&value), Ok(want.iter().map(|s| s.to_string()).collect()), "{value}");
        }
    }

    #[test]
    fn shapes_without_a_value_are_errors() {
        assert!(from_field(&json!(true)).is_err());
        assert!(from_field(&json!({"id": "10020"})).is_err());
        assert!(from_field(&json!([{"value": "ok"}, {"weird": 1}])).is_err());
    }

    #[test]
    fn prefixed_labels_give_hints_and_duplicates_collapse() {
        let labels: Vec<String> =
            ["client:romashka.ru", "urgent", "client:", "client:Acme"].iter().map(|s| s.to_string()).collect();
        let hints = from_labels(&labels, "client:");
        assert_eq!(hints, vec!["romashka.ru", "Acme"]);
        let refs = to_refs(hints.into_iter().chain(["Acme".to_string()]));
        assert_eq!(refs, vec![ClientRef::Hint("romashka.ru".into()), ClientRef::Hint("Acme".into())]);
    }
}
