//! Multi-fields (`PHONE`, `EMAIL`, `WEB`): reading them, and planning writes that keep their
//! entry ids.
//!
//! A multi-field is a list of entries `{ID, TYPE_ID, VALUE_TYPE, VALUE}`, returned only when
//! named in `select` (and, on the portals we know, left out when empty). Writes address entries
//! by `ID`: an entry without one is *added*, so sending a list back without ids duplicates
//! every phone, and `{ID, DELETE: "Y"}` removes one
//! (<https://apidocs.bitrix24.com/api-reference/crm/contacts/crm-contact-update.html>).

use serde_json::{Map, Value};
use zveno_connector::{Domain, Email, Phone};

use super::{show, MapContext};
use crate::dto::id_of;

/// One entry of a multi-field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiValue {
    /// The entry id (absent only in hand-built data).
    pub id: Option<u64>,
    /// `WORK`, `MOBILE`, `VK`, ...
    pub value_type: String,
    /// The value as typed.
    pub value: String,
}

/// Reads the entries of multi-field `key`. Missing means none; a malformed field or entry is
/// dropped with a warning.
pub fn multifield(record: &Map<String, Value>, key: &str, warnings: &mut Vec<String>) -> Vec<MultiValue> {
    let entries = match record.get(key) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            warnings.push(format!("{key}: not a list of entries: {}", show(Some(other))));
            return Vec::new();
        }
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let value = entry.get("VALUE").and_then(Value::as_str);
            match (entry.as_object(), value) {
                (Some(obj), Some(value)) => Some(MultiValue {
                    id: id_of(obj.get("ID")),
                    value_type: obj.get("VALUE_TYPE").and_then(Value::as_str).unwrap_or("").to_ascii_uppercase(),
                    value: value.to_string(),
                }),
                _ => {
                    warnings.push(format!("{key}[{i}]: malformed entry: {}", show(Some(entry))));
                    None
                }
            }
        })
        .collect()
}

/// `WEB` entry types that are a company's own site. The rest (`VK`, `TWITTER`,
/// `LIVEJOURNAL`, `FACEBOOK`, `INSTAGRAM`, ...) are profiles on someone else's domain: taking
/// `vk.com` as the company's domain would merge every client with a VK page.
pub fn is_own_site(value_type: &str) -> bool {
    matches!(value_type, "WORK" | "HOME" | "OTHER" | "")
}

fn parsed<T: PartialEq, E: std::fmt::Display>(
    key: &str,
    entries: &[MultiValue],
    parse: impl Fn(&str) -> Result<T, E>,
    warnings: &mut Vec<String>,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.value.trim().is_empty() {
            continue;
        }
        match parse(&entry.value) {
            Ok(v) if !out.contains(&v) => out.push(v),
            Ok(_) => {}
            Err(e) => warnings.push(format!("{key}[{i}]: {e}")),
        }
    }
    out
}

/// Phones of `PHONE`, in E.164, de-duplicated (every type, fax included: a number is a number).
pub fn phones(record: &Map<String, Value>, ctx: &MapContext<'_>, warnings: &mut Vec<String>) -> Vec<Phone> {
    let entries = multifield(record, "PHONE", warnings);
    parsed("PHONE", &entries, |v| Phone::parse(v, Some(ctx.region)), warnings)
}

/// E-mails of `EMAIL`, normalised and de-duplicated.
pub fn emails(record: &Map<String, Value>, warnings: &mut Vec<String>) -> Vec<Email> {
    let entries = multifield(record, "EMAIL", warnings);
    parsed("EMAIL", &entries, Email::parse, warnings)
}

/// Registrable domains of the company's own sites in `WEB`.
pub fn domains(record: &Map<String, Value>, warnings: &mut Vec<String>) -> Vec<Domain> {
    let entries: Vec<MultiValue> =
        multifield(record, "WEB", warnings).into_iter().filter(|e| is_own_site(&e.value_type)).collect();
    parsed("WEB", &entries, Domain::parse, warnings)
}

/// One change to a multi-field in an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultifieldEdit {
    /// Give entry `id` a new value (keeping its type).
    Change {
        /// The entry.
        id: u64,
        /// The new value.
        value: String,
        /// The entry's type, sent back unchanged.
        value_type: String,
    },
    /// Add an entry.
    Add {
        /// The value.
        value: String,
        /// Its type.
        value_type: String,
    },
    /// Remove entry `id`.
    Delete {
        /// The entry.
        id: u64,
    },
}

/// Plans the edits that make a multi-field hold exactly `desired` (already normalised
/// values), touching as little as possible: existing entries whose value already matches
/// (compared through `normalise`) are left alone; other existing entries are *changed* to the
/// remaining desired values, carrying their ids; what is left over is added (type
/// `default_type`) or deleted. Entries `managed` rejects (a VK page among websites) are
/// never touched.
pub fn merge_multifield(
    existing: &[MultiValue],
    desired: &[String],
    normalise: impl Fn(&str) -> Option<String>,
    managed: impl Fn(&MultiValue) -> bool,
    default_type: &str,
) -> Vec<MultifieldEdit> {
    let mut open: Vec<&MultiValue> = existing.iter().filter(|e| e.id.is_some() && managed(e)).collect();
    let mut missing: Vec<&String> = Vec::new();
    for want in desired {
        let found = open.iter().position(|e| normalise(&e.value).as_deref() == Some(want.as_str()));
        match found {
            Some(i) => {
                open.remove(i);
            }
            None if !missing.contains(&want) => missing.push(want),
            None => {}
        }
    }
    let mut edits = Vec::new();
    let mut reusable = open.into_iter();
    for want in missing {
        match reusable.next() {
            Some(MultiValue { id: Some(id), value_type, .. }) => {
                edits.push(MultifieldEdit::Change { id: *id, value: want.clone(), value_type: value_type.clone() })
            }
            _ => edits.push(MultifieldEdit::Add { value: want.clone(), value_type: default_type.to_string() }),
        }
    }
    edits.extend(reusable.filter_map(|e| e.id).map(|id| MultifieldEdit::Delete { id }));
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: &Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn mv(id: u64, value_type: &str, value: &str) -> MultiValue {
        MultiValue { id: Some(id), value_type: value_type.into(), value: value.into() }
    }

    #[test]
    fn entries_of_several_types_are_read_and_malformed_ones_warned_about() {
        let record = obj(&json!({"PHONE": [
            {"ID": "11", "VALUE_TYPE": "WORK", "VALUE": "8 (495) 123-45-67", "TYPE_ID": "PHONE"},
            {"ID": "12", "VALUE_TYPE": "mobile", "VALUE": "+7 916 123-45-67", "TYPE_ID": "PHONE"},
            {"ID": "13", "VALUE_TYPE": "FAX"},
            "garbage"
        ]}));
        let mut warnings = Vec::new();
        let entries = multifield(&record, "PHONE", &mut warnings);
        assert_eq!(entries, vec![mv(11, "WORK", "8 (495) 123-45-67"), mv(12, "MOBILE", "+7 916 123-45-67")]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(multifield(&obj(&json!({})), "PHONE", &mut warnings).is_empty());
    }

    #[test]
    fn merging_keeps_matches_changes_by_id_adds_and_deletes() {
        let existing = vec![
            mv(1, "WORK", "8 (495) 123-45-67"),
            mv(2, "MOBILE", "+7 916 000-00-00"),
            mv(3, "FAX", "+7 495 000-00-01"),
        ];
        let norm = |v: &str| Phone::parse(v, Phone::region("RU").ok()).ok().map(|p| p.to_string());
        let desired = vec!["+74951234567".to_string(), "+74957654321".to_string()];
        let edits = merge_multifield(&existing, &desired, norm, |_| true, "WORK");
        assert_eq!(
            edits,
            vec![
                MultifieldEdit::Change { id: 2, value: "+74957654321".into(), value_type: "MOBILE".into() },
                MultifieldEdit::Delete { id: 3 },
            ]
        );
        let grown = vec![
            "+74951234567".to_string(),
            "+74957654321".to_string(),
            "+74957654321".to_string(),
            "+74950000002".to_string(),
            "+74950000003".to_string(),
        ];
        let edits = merge_multifield(&existing, &grown, norm, |_| true, "WORK");
        assert_eq!(edits.len(), 3, "{edits:?}");
        assert!(matches!(&edits[2], MultifieldEdit::Add { value, .. } if value == "+74950000003"));
    }

    #[test]
    fn unmanaged_entries_are_never_touched() {
        let existing = vec![mv(1, "WORK", "https://romashka.ru"), mv(2, "VK", "https://vk.com/romashka")];
        let norm = |v: &str| Domain::parse(v).ok().map(|d| d.to_string());
        let edits =
            merge_multifield(&existing, &["romashka.com".to_string()], norm, |e| is_own_site(&e.value_type), "WORK");
        assert_eq!(
            edits,
            vec![MultifieldEdit::Change { id: 1, value: "romashka.com".into(), value_type: "WORK".into() }]
        );
    }
}
