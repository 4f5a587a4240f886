//! What the simulated portal stores, and how each record looks on the wire.
//!
//! Shapes follow the official method pages: legacy CRM rows with UPPER_CASE keys and every
//! value a string, multi-fields `[{ID, VALUE_TYPE, VALUE, TYPE_ID}]` present only when named
//! in `select` (and left out when empty), `ID` always returned; tasks selected in UPPER_CASE
//! and answered in camelCase; users with a boolean `ACTIVE`. Datetimes are written in the
//! portal's offset (`2024-03-11T16:36:46+03:00`).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Map, Value};

/// A value a list filter or order can look at.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Integers (ids, codes).
    Int(i64),
    /// Text.
    Text(String),
    /// Instants.
    Time(Option<DateTime<Utc>>),
    /// A multiple field (`UF_CRM_TASK`): a condition matches if any element does.
    List(Vec<String>),
}

/// What a list method needs from a record.
pub trait Row {
    /// The record's id.
    fn id(&self) -> u64;
    /// A field for filters and ordering, by UPPER_CASE name; `None` if unknown.
    fn scalar(&self, field: &str) -> Option<Scalar>;
    /// The record as the method answers it, for `select` (upper-cased names).
    fn render(&self, select: &[String], offset: FixedOffset) -> Value;
}

/// One multi-field entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Multi {
    /// Entry id (unique across the portal).
    pub id: u64,
    /// `WORK`, `MOBILE`, ...
    pub value_type: String,
    /// The value.
    pub value: String,
}

/// A company.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    /// `ID`.
    pub id: u64,
    /// `TITLE`.
    pub title: String,
    /// `ASSIGNED_BY_ID`.
    pub assigned_by: u64,
    /// `DATE_CREATE`.
    pub created: DateTime<Utc>,
    /// `DATE_MODIFY`.
    pub modified: DateTime<Utc>,
    /// `PHONE`, `EMAIL`, `WEB` entries by type id.
    pub multi: BTreeMap<String, Vec<Multi>>,
    /// `ORIGINATOR_ID`.
    pub originator: Option<String>,
    /// `ORIGIN_ID`.
    pub origin: Option<String>,
    /// `UF_*` fields.
    pub user_fields: BTreeMap<String, String>,
    /// Rendered with a `TITLE` of the wrong JSON type (conformance: a malformed record).
    pub corrupt: bool,
}

/// A contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// `ID`.
    pub id: u64,
    /// `NAME`.
    pub name: String,
    /// `LAST_NAME`.
    pub last_name: String,
    /// `COMPANY_ID` (0: none).
    pub company_id: u64,
    /// `ASSIGNED_BY_ID`.
    pub assigned_by: u64,
    /// `DATE_CREATE`.
    pub created: DateTime<Utc>,
    /// `DATE_MODIFY`.
    pub modified: DateTime<Utc>,
    /// `PHONE`, `EMAIL` entries.
    pub multi: BTreeMap<String, Vec<Multi>>,
    /// Rendered with a malformed `NAME`.
    pub corrupt: bool,
}

/// A requisite (where the INN lives).
#[derive(Debug, Clone, PartialEq)]
pub struct Requisite {
    /// `ID`.
    pub id: u64,
    /// `ENTITY_TYPE_ID` (4: company, 3: contact).
    pub entity_type: i64,
    /// `ENTITY_ID`.
    pub entity_id: u64,
    /// `NAME`.
    pub name: String,
    /// `RQ_INN`.
    pub inn: String,
    /// `RQ_VAT_ID`.
    pub vat_id: String,
    /// `DATE_CREATE` and `DATE_MODIFY`.
    pub modified: DateTime<Utc>,
}

/// A task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// `id`.
    pub id: u64,
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// `status` (2–6).
    pub status: i64,
    /// `priority` (0–2).
    pub priority: i64,
    /// `responsibleId`.
    pub responsible: u64,
    /// `createdBy`.
    pub created_by: u64,
    /// `deadline`.
    pub deadline: Option<DateTime<Utc>>,
    /// `createdDate`.
    pub created: DateTime<Utc>,
    /// `changedDate`.
    pub changed: DateTime<Utc>,
    /// `closedDate`.
    pub closed: Option<DateTime<Utc>>,
    /// `ufCrmTask`.
    pub crm: Vec<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `xmlId`: an external key a client sets on create and filters on.
    pub xml_id: Option<String>,
    /// Rendered with a malformed `title`.
    pub corrupt: bool,
}

/// A portal user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// `ID`.
    pub id: u64,
    /// `NAME`.
    pub name: String,
    /// `LAST_NAME`.
    pub last_name: String,
    /// `EMAIL`.
    pub email: String,
}

/// `instant` in the portal's offset, as Bitrix24 writes datetimes.
pub fn portal_time(instant: DateTime<Utc>, offset: FixedOffset) -> String {
    instant.with_timezone(&offset).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn time_or_null(instant: Option<DateTime<Utc>>, offset: FixedOffset) -> Value {
    instant.map_or(Value::Null, |t| Value::String(portal_time(t, offset)))
}

/// The fields `select` names: `*` adds `standard`, `UF_*` adds `user_fields`; an empty select
/// means both. Multi-fields come only when named, and `ID` always.
fn wanted<'a>(select: &'a [String], standard: &[&'a str], user_fields: &'a [String]) -> Vec<&'a str> {
    let mut out = vec!["ID"];
    let all = select.is_empty();
    for name in select.iter().map(String::as_str) {
        match name {
            "*" => out.extend(standard),
            "UF_*" => out.extend(user_fields.iter().map(String::as_str)),
            other => out.push(other),
        }
    }
    if all {
        out.extend(standard);
        out.extend(user_fields.iter().map(String::as_str));
    }
    out.dedup();
    out
}

fn render_multi(entries: &[Multi], type_id: &str) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|m| json!({"ID": m.id.to_string(), "VALUE_TYPE": m.value_type, "VALUE": m.value, "TYPE_ID": type_id}))
            .collect(),
    )
}

fn text(s: &str) -> Scalar {
    Scalar::Text(s.to_string())
}

fn int(n: u64) -> Scalar {
    Scalar::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The multi-field type ids.
pub const MULTI_TYPES: [&str; 5] = ["PHONE", "EMAIL", "WEB", "IM", "LINK"];

const COMPANY_FIELDS: [&str; 15] = [
    "TITLE",
    "COMPANY_TYPE",
    "INDUSTRY",
    "ASSIGNED_BY_ID",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "OPENED",
    "IS_MY_COMPANY",
    "HAS_PHONE",
    "HAS_EMAIL",
    "COMMENTS",
    "ORIGINATOR_ID",
    "ORIGIN_ID",
];

impl Row for Company {
    fn id(&self) -> u64 {
        self.id
    }

    fn scalar(&self, field: &str) -> Option<Scalar> {
        Some(match field {
            "ID" => int(self.id),
            "TITLE" => text(&self.title),
            "COMPANY_TYPE" => text("CUSTOMER"),
            "ASSIGNED_BY_ID" => int(self.assigned_by),
            "DATE_CREATE" => Scalar::Time(Some(self.created)),
            "DATE_MODIFY" => Scalar::Time(Some(self.modified)),
            "ORIGINATOR_ID" => text(self.originator.as_deref().unwrap_or("")),
            "ORIGIN_ID" => text(self.origin.as_deref().unwrap_or("")),
            "PHONE" | "EMAIL" | "WEB" => Scalar::List(
                self.multi.get(field).map(|m| m.iter().map(|e| e.value.clone()).collect()).unwrap_or_default(),
            ),
            uf if uf.starts_with("UF_") => text(self.user_fields.get(uf)?),
            _ => return None,
        })
    }

    fn render(&self, select: &[String], offset: FixedOffset) -> Value {
        let user_fields: Vec<String> = self.user_fields.keys().cloned().collect();
        let mut out = Map::new();
        for name in wanted(select, &COMPANY_FIELDS, &user_fields) {
            let value = match name {
                "ID" => json!(self.id.to_string()),
                "TITLE" if self.corrupt => json!([4, 0, 4]),
                "TITLE" => json!(self.title),
                "COMPANY_TYPE" => json!("CUSTOMER"),
                "INDUSTRY" => json!("OTHER"),
                "ASSIGNED_BY_ID" | "CREATED_BY_ID" | "MODIFY_BY_ID" => json!(self.assigned_by.to_string()),
                "DATE_CREATE" => json!(portal_time(self.created, offset)),
                "DATE_MODIFY" => json!(portal_time(self.modified, offset)),
                "OPENED" => json!("Y"),
                "IS_MY_COMPANY" => json!("N"),
                "HAS_PHONE" => json!(if self.multi.get("PHONE").is_some_and(|m| !m.is_empty()) { "Y" } else { "N" }),
                "HAS_EMAIL" => json!(if self.multi.get("EMAIL").is_some_and(|m| !m.is_empty()) { "Y" } else { "N" }),
                "COMMENTS" => Value::Null,
                "ORIGINATOR_ID" => self.originator.as_ref().map_or(Value::Null, |v| json!(v)),
                "ORIGIN_ID" => self.origin.as_ref().map_or(Value::Null, |v| json!(v)),
                multi if MULTI_TYPES.contains(&multi) => match self.multi.get(multi) {
                    Some(entries) if !entries.is_empty() => render_multi(entries, multi),
                    _ => continue,
                },
                uf => match self.user_fields.get(uf) {
                    Some(v) => json!(v),
                    None => continue,
                },
            };
            out.insert(name.to_string(), value);
        }
        Value::Object(out)
    }
}

const CONTACT_FIELDS: [&str; 13] = [
    "NAME",
    "SECOND_NAME",
    "LAST_NAME",
    "POST",
    "COMPANY_ID",
    "ASSIGNED_BY_ID",
    "CREATED_BY_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "OPENED",
    "HAS_PHONE",
    "HAS_EMAIL",
    "COMMENTS",
];

impl Row for Contact {
    fn id(&self) -> u64 {
        self.id
    }

    fn scalar(&self, field: &str) -> Option<Scalar> {
        Some(match field {
            "ID" => int(self.id),
            "NAME" => text(&self.name),
            "LAST_NAME" => text(&self.last_name),
            "COMPANY_ID" => int(self.company_id),
            "ASSIGNED_BY_ID" => int(self.assigned_by),
            "DATE_CREATE" => Scalar::Time(Some(self.created)),
            "DATE_MODIFY" => Scalar::Time(Some(self.modified)),
            _ => return None,
        })
    }

    fn render(&self, select: &[String], offset: FixedOffset) -> Value {
        let mut out = Map::new();
        for name in wanted(select, &CONTACT_FIELDS, &[]) {
            let value = match name {
                "ID" => json!(self.id.to_string()),
                "NAME" if self.corrupt => json!({"first": self.name}),
                "NAME" => json!(self.name),
                "SECOND_NAME" | "POST" | "COMMENTS" => Value::Null,
                "LAST_NAME" => json!(self.last_name),
                "COMPANY_ID" if self.company_id == 0 => Value::Null,
                "COMPANY_ID" => json!(self.company_id.to_string()),
                "ASSIGNED_BY_ID" | "CREATED_BY_ID" => json!(self.assigned_by.to_string()),
                "DATE_CREATE" => json!(portal_time(self.created, offset)),
                "DATE_MODIFY" => json!(portal_time(self.modified, offset)),
                "OPENED" => json!("Y"),
                "HAS_PHONE" => json!(if self.multi.get("PHONE").is_some_and(|m| !m.is_empty()) { "Y" } else { "N" }),
                "HAS_EMAIL" => json!(if self.multi.get("EMAIL").is_some_and(|m| !m.is_empty()) { "Y" } else { "N" }),
                multi if MULTI_TYPES.contains(&multi) => match self.multi.get(multi) {
                    Some(entries) if !entries.is_empty() => render_multi(entries, multi),
                    _ => continue,
                },
                _ => continue,
            };
            out.insert(name.to_string(), value);
        }
        Value::Object(out)
    }
}

const REQUISITE_FIELDS: [&str; 11] = [
    "ENTITY_TYPE_ID",
    "ENTITY_ID",
    "PRESET_ID",
    "NAME",
    "ACTIVE",
    "RQ_INN",
    "RQ_VAT_ID",
    "RQ_KPP",
    "RQ_OGRN",
    "DATE_CREATE",
    "DATE_MODIFY",
];

impl Row for Requisite {
    fn id(&self) -> u64 {
        self.id
    }

    fn scalar(&self, field: &str) -> Option<Scalar> {
        Some(match field {
            "ID" => int(self.id),
            "ENTITY_TYPE_ID" => Scalar::Int(self.entity_type),
            "ENTITY_ID" => int(self.entity_id),
            "RQ_INN" => text(&self.inn),
            "RQ_VAT_ID" => text(&self.vat_id),
            "DATE_MODIFY" | "DATE_CREATE" => Scalar::Time(Some(self.modified)),
            _ => return None,
        })
    }

    fn render(&self, select: &[String], offset: FixedOffset) -> Value {
        let mut out = Map::new();
        for name in wanted(select, &REQUISITE_FIELDS, &[]) {
            let value = match name {
                "ID" => json!(self.id.to_string()),
                "ENTITY_TYPE_ID" => json!(self.entity_type.to_string()),
                "ENTITY_ID" => json!(self.entity_id.to_string()),
                "PRESET_ID" => json!("1"),
                "NAME" => json!(self.name),
                "ACTIVE" => json!("Y"),
                "RQ_INN" => json!(self.inn),
                "RQ_VAT_ID" => json!(self.vat_id),
                "RQ_KPP" | "RQ_OGRN" => json!(""),
                "DATE_CREATE" | "DATE_MODIFY" => json!(portal_time(self.modified, offset)),
                _ => continue,
            };
            out.insert(name.to_string(), value);
        }
        Value::Object(out)
    }
}

/// Task fields: the UPPER_CASE name `select` and `filter` use, and the camelCase key the
/// answer uses. `UF_CRM_TASK` comes only when selected.
const TASK_FIELDS: [(&str, &str); 15] = [
    ("ID", "id"),
    ("TITLE", "title"),
    ("DESCRIPTION", "description"),
    ("STATUS", "status"),
    ("PRIORITY", "priority"),
    ("RESPONSIBLE_ID", "responsibleId"),
    ("CREATED_BY", "createdBy"),
    ("DEADLINE", "deadline"),
    ("CREATED_DATE", "createdDate"),
    ("CHANGED_DATE", "changedDate"),
    ("CLOSED_DATE", "closedDate"),
    ("GROUP_ID", "groupId"),
    ("TAGS", "tags"),
    ("XML_ID", "xmlId"),
    ("UF_CRM_TASK", "ufCrmTask"),
];

impl Row for Task {
    fn id(&self) -> u64 {
        self.id
    }

    fn scalar(&self, field: &str) -> Option<Scalar> {
        Some(match field {
            "ID" => int(self.id),
            "TITLE" => text(&self.title),
            "STATUS" | "REAL_STATUS" => Scalar::Int(self.status),
            "PRIORITY" => Scalar::Int(self.priority),
            "RESPONSIBLE_ID" => int(self.responsible),
            "CREATED_BY" => int(self.created_by),
            "GROUP_ID" => Scalar::Int(0),
            "DEADLINE" => Scalar::Time(self.deadline),
            "CREATED_DATE" => Scalar::Time(Some(self.created)),
            "CHANGED_DATE" => Scalar::Time(Some(self.changed)),
            "CLOSED_DATE" => Scalar::Time(self.closed),
            "UF_CRM_TASK" => Scalar::List(self.crm.clone()),
            "TAG" => Scalar::List(self.tags.clone()),
            "XML_ID" => text(self.xml_id.as_deref().unwrap_or("")),
            _ => return None,
        })
    }

    fn render(&self, select: &[String], offset: FixedOffset) -> Value {
        let mut out = Map::new();
        let names: Vec<&str> = if select.is_empty() {
            TASK_FIELDS.iter().map(|(upper, _)| *upper).filter(|u| *u != "UF_CRM_TASK").collect()
        } else {
            let mut names: Vec<&str> = vec!["ID"];
            names.extend(select.iter().map(String::as_str));
            names
        };
        for name in names {
            let Some((_, key)) = TASK_FIELDS.iter().find(|(upper, _)| *upper == name) else {
                continue;
            };
            let value = match name {
                "ID" => json!(self.id.to_string()),
                "TITLE" if self.corrupt => json!({"ru": self.title}),
                "TITLE" => json!(self.title),
                "DESCRIPTION" => json!(self.description),
                "STATUS" => {
                    out.insert("subStatus".into(), json!(self.status.to_string()));
                    json!(self.status.to_string())
                }
                "PRIORITY" => json!(self.priority.to_string()),
                "RESPONSIBLE_ID" => json!(self.responsible.to_string()),
                "CREATED_BY" => json!(self.created_by.to_string()),
                "DEADLINE" => time_or_null(self.deadline, offset),
                "CREATED_DATE" => json!(portal_time(self.created, offset)),
                "CHANGED_DATE" => json!(portal_time(self.changed, offset)),
                "CLOSED_DATE" => time_or_null(self.closed, offset),
                "GROUP_ID" => json!("0"),
                "TAGS" if self.tags.is_empty() => json!([]),
                "TAGS" => Value::Object(
                    self.tags
                        .iter()
                        .enumerate()
                        .map(|(i, t)| ((i + 1).to_string(), json!({"id": i + 1, "title": t})))
                        .collect(),
                ),
                "XML_ID" => json!(self.xml_id),
                "UF_CRM_TASK" => {
                    // Selecting one of the three system user fields returns all three; PHP
                    // sends `false` for an empty one.
                    out.insert("ufTaskWebdavFiles".into(), json!(false));
                    out.insert("ufMailMessage".into(), Value::Null);
                    if self.crm.is_empty() {
                        json!(false)
                    } else {
                        json!(self.crm)
                    }
                }
                _ => continue,
            };
            out.insert((*key).to_string(), value);
        }
        Value::Object(out)
    }
}

impl Row for User {
    fn id(&self) -> u64 {
        self.id
    }

    fn scalar(&self, field: &str) -> Option<Scalar> {
        Some(match field {
            "ID" => int(self.id),
            "EMAIL" => text(&self.email),
            "NAME" => text(&self.name),
            "LAST_NAME" => text(&self.last_name),
            "ACTIVE" => Scalar::Int(1),
            _ => return None,
        })
    }

    fn render(&self, _select: &[String], _offset: FixedOffset) -> Value {
        json!({
            "ID": self.id.to_string(), "ACTIVE": true, "NAME": self.name, "LAST_NAME": self.last_name,
            "EMAIL": self.email, "UF_DEPARTMENT": [1], "USER_TYPE": "employee",
        })
    }
}
