//! Test vendor JSON ⇄ zveno's common model. Pure functions, tested table by table.
//!
//! The reading is lenient field by field and strict about identity: a phone that does not
//! parse, an unknown status or a mistyped timestamp becomes a warning on the record (the
//! rest of the record is still worth having), while a record whose `id` cannot be read or
//! whose required text (`name`, `title`, a contact's names) has the wrong JSON type becomes
//! a [`RecordError`] — it cannot be stored, and the page goes on without it.

use chrono::{DateTime, Utc};
use phonenumber::country::Id as Region;
use serde_json::{json, Map, Value};
use zveno_connector::{
    Client, ClientRef, Contact, Domain, Email, Kind, Phone, Priority, RecordData, RecordError, SourceRecord, Task,
    TaskStatus, TaxId,
};

use super::wire::kind_path;

/// What mapping needs besides the payload.
#[derive(Debug, Clone)]
pub(super) struct MapContext<'a> {
    /// The connector instance name.
    pub connector: &'a str,
    /// The vendor's base URL, for deep links (`{base}/app/clients/7`).
    pub base_url: &'a str,
    /// Region for phones typed in national format.
    pub region: Option<Region>,
}

/// Maps one list item of `kind`.
pub(super) fn map_record(kind: Kind, item: &Value, cx: &MapContext<'_>) -> Result<SourceRecord, RecordError> {
    let (id, obj) = identify(item)?;
    let mut f = Fields { obj, region: cx.region, warnings: Vec::new() };
    let fail = |message: String| RecordError { external_id: Some(id.to_string()), message };
    let data = match kind {
        Kind::Client => RecordData::Client(client(&mut f).map_err(fail)?),
        Kind::Contact => RecordData::Contact(contact(&mut f).map_err(fail)?),
        Kind::Task => RecordData::Task(task(&mut f).map_err(fail)?),
    };
    let created = f.time("created_ms");
    let updated = f.time("updated_ms");
    let mut record = SourceRecord::new(cx.connector, id.to_string(), data, item.clone())
        .with_times(created, updated)
        .with_url(format!("{}/app/{}/{id}", cx.base_url.trim_end_matches('/'), kind_path(kind)));
    record.warnings = f.warnings;
    Ok(record)
}

/// Maps an item of `?deleted=true` (`{"id", "deleted_ms"}`) to a tombstone.
pub(super) fn map_tombstone(kind: Kind, item: &Value, cx: &MapContext<'_>) -> Result<SourceRecord, RecordError> {
    let (id, obj) = identify(item)?;
    let mut f = Fields { obj, region: cx.region, warnings: Vec::new() };
    let at = f.time("deleted_ms");
    let mut record = SourceRecord::tombstone(cx.connector, kind, id.to_string(), at);
    record.warnings = f.warnings;
    Ok(record)
}

/// The `(updated_ms or deleted_ms)` of an item, when readable (for watermarks).
pub(super) fn stamp(item: &Value, field: &str) -> Option<i64> {
    item.get(field).and_then(Value::as_i64)
}

/// The wire body of a write: everything for a create, only non-empty fields for an update
/// ("fields left empty are not touched"). Fails on values the vendor cannot hold.
pub(super) fn to_wire(data: &RecordData, update: bool) -> Result<Value, String> {
    let mut out = Map::new();
    let mut put = |key: &str, value: Value, empty: bool| {
        if !(update && empty) {
            out.insert(key.to_string(), value);
        }
    };
    let strings = |v: &[String]| json!(v);
    match data {
        RecordData::Client(c) => {
            put("name", json!(c.name), c.name.is_empty());
            let website = c.domains.first().map(Domain::as_str);
            put("website", json!(website), website.is_none());
            let phones: Vec<String> = c.phones.iter().map(ToString::to_string).collect();
            put("phones", strings(&phones), phones.is_empty());
            let emails: Vec<String> = c.emails.iter().map(ToString::to_string).collect();
            put("emails", strings(&emails), emails.is_empty());
            let tax = c.tax_id.as_ref().map(TaxId::as_str);
            put("tax_id", json!(tax), tax.is_none());
            let owner = c.owner.as_deref().filter(|o| o.contains('@'));
            put("owner_email", json!(owner), owner.is_none());
        }
        RecordData::Contact(c) => {
            let (first, last) = c.name.trim().split_once(' ').unwrap_or((c.name.trim(), ""));
            put("first_name", json!(first), c.name.trim().is_empty());
            put("last_name", json!(last.trim()), c.name.trim().is_empty());
            let phones: Vec<String> = c.phones.iter().map(ToString::to_string).collect();
            put("phones", strings(&phones), phones.is_empty());
            let emails: Vec<String> = c.emails.iter().map(ToString::to_string).collect();
            put("emails", strings(&emails), emails.is_empty());
            let client = c.client_ids.first().map(|id| numeric_id(id)).transpose()?;
            put("client_id", json!(client), client.is_none());
            let owner = c.owner.as_deref().filter(|o| o.contains('@'));
            put("owner_email", json!(owner), owner.is_none());
        }
        RecordData::Task(t) => {
            put("title", json!(t.title), t.title.is_empty());
            put("description", json!(t.description), t.description.is_none());
            put("status", json!(t.status), false);
            put("priority", json!(t.priority), t.priority.is_none());
            let due = t.due.map(|d| d.timestamp_millis());
            put("due_ms", json!(due), due.is_none());
            put("labels", strings(&t.labels), t.labels.is_empty());
            let assignee = t.assignee.as_deref().filter(|a| a.contains('@'));
            put("assignee_email", json!(assignee), assignee.is_none());
            let mut client = None;
            let mut hint = None;
            for r in &t.clients {
                match r {
                    ClientRef::External(id) if client.is_none() => client = Some(numeric_id(id)?),
                    ClientRef::Hint(h) if hint.is_none() => hint = Some(h.clone()),
                    _ => {}
                }
            }
            put("client_id", json!(client), client.is_none());
            put("client_hint", json!(hint), hint.is_none());
            let contact = t.contact_ids.first().map(|id| numeric_id(id)).transpose()?;
            put("contact_id", json!(contact), contact.is_none());
        }
    }
    Ok(Value::Object(out))
}

fn numeric_id(id: &str) -> Result<u64, String> {
    id.parse().map_err(|_| format!("{id:?} is not a test vendor id (a positive integer)"))
}

/// The item's id and object, or a [`RecordError`] when the item has no usable id.
fn identify(item: &Value) -> Result<(u64, &Map<String, Value>), RecordError> {
    let Value::Object(obj) = item else {
        return Err(RecordError {
            external_id: None,
            message: format!("item is not a JSON object: {}", snippet(item)),
        });
    };
    match obj.get("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok((n.as_u64().unwrap_or_default(), obj)),
        Some(Value::String(s)) => {
            Err(RecordError { external_id: Some(s.clone()), message: "id is a string, expected a number".into() })
        }
        Some(other) => Err(RecordError {
            external_id: Some(snippet(other)),
            message: format!("id must be a positive integer, got {}", snippet(other)),
        }),
        None => Err(RecordError { external_id: None, message: format!("item has no id: {}", snippet(item)) }),
    }
}

fn snippet(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// Typed access to an item's fields that turns type mismatches into warnings.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    region: Option<Region>,
    warnings: Vec<String>,
}

impl<'a> Fields<'a> {
    /// A required string: missing or mistyped is an error for the whole record.
    fn required_str(&self, key: &str) -> Result<&'a str, String> {
        match self.obj.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(format!("{key} must be a string, got {}", snippet(other))),
            None => Err(format!("{key} is missing")),
        }
    }

    /// An optional string that must be a string when present (a name part).
    fn strict_str(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{key} must be a string, got {}", snippet(other))),
        }
    }

    fn str(&mut self, key: &str) -> Option<&'a str> {
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.warn(key, &format!("expected a string, got {}", snippet(other)));
                None
            }
        }
    }

    fn u64(&mut self, key: &str) -> Option<u64> {
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => v.as_u64().or_else(|| {
                self.warn(key, &format!("expected an id, got {}", snippet(v)));
                None
            }),
        }
    }

    fn time(&mut self, key: &str) -> Option<DateTime<Utc>> {
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => v.as_i64().and_then(DateTime::from_timestamp_millis).or_else(|| {
                self.warn(key, &format!("expected epoch milliseconds, got {}", snippet(v)));
                None
            }),
        }
    }

    fn strings(&mut self, key: &str) -> Vec<&'a str> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(s) => out.push(s),
                        None => self.warn(key, &format!("non-string entry {}", snippet(item))),
                    }
                }
                out
            }
            Some(other) => {
                self.warn(key, &format!("expected a list, got {}", snippet(other)));
                Vec::new()
            }
        }
    }

    fn emails(&mut self, key: &str) -> Vec<Email> {
        let mut out: Vec<Email> = Vec::new();
        for raw in self.strings(key) {
            match Email::parse(raw) {
                Ok(e) if !out.contains(&e) => out.push(e),
                Ok(_) => {}
                Err(e) => self.warn(key, &e.to_string()),
            }
        }
        out
    }

    fn phones(&mut self, key: &str) -> Vec<Phone> {
        let mut out: Vec<Phone> = Vec::new();
        for raw in self.strings(key) {
            match Phone::parse(raw, self.region) {
                Ok(p) if !out.contains(&p) => out.push(p),
                Ok(_) => {}
                Err(e) => self.warn(key, &e.to_string()),
            }
        }
        out
    }

    /// The owner's e-mail when given, else the user id.
    fn person(&mut self, email_key: &str, id_key: &str) -> Option<String> {
        self.str(email_key).map(|e| e.trim().to_lowercase()).or_else(|| self.u64(id_key).map(|id| id.to_string()))
    }

    fn warn(&mut self, key: &str, message: &str) {
        self.warnings.push(format!("{key}: {message}"));
    }
}

fn client(f: &mut Fields<'_>) -> Result<Client, String> {
    let name = f.required_str("name")?.trim().to_string();
    let mut domains = Vec::new();
    if let Some(site) = f.str("website") {
        match Domain::parse(site) {
            Ok(d) => domains.push(d),
            Err(e) => f.warn("website", &e.to_string()),
        }
    }
    let tax_id =
        f.str("tax_id").and_then(|raw| TaxId::parse(raw, None).map_err(|e| f.warn("tax_id", &e.to_string())).ok());
    Ok(Client {
        name,
        domains,
        emails: f.emails("emails"),
        phones: f.phones("phones"),
        tax_id,
        owner: f.person("owner_email", "owner_id"),
    })
}

fn contact(f: &mut Fields<'_>) -> Result<Contact, String> {
    let first = f.strict_str("first_name")?.unwrap_or_default().trim();
    let last = f.strict_str("last_name")?.unwrap_or_default().trim();
    let emails = f.emails("emails");
    let mut name = format!("{first} {last}").trim().to_string();
    if name.is_empty() {
        f.warn("first_name", "contact has no name");
        name = emails.first().map(ToString::to_string).unwrap_or_default();
    }
    Ok(Contact {
        name,
        emails,
        phones: f.phones("phones"),
        client_ids: f.u64("client_id").map(|id| id.to_string()).into_iter().collect(),
        owner: f.person("owner_email", "owner_id"),
    })
}

fn task(f: &mut Fields<'_>) -> Result<Task, String> {
    let title = f.required_str("title")?.trim().to_string();
    let status_name = f.str("status").map(str::to_string);
    let status = match status_name.as_deref() {
        Some(s) => s.parse::<TaskStatus>().unwrap_or_else(|e| {
            f.warn("status", &format!("{e}; read as todo"));
            TaskStatus::Todo
        }),
        None => {
            f.warn("status", "missing; read as todo");
            TaskStatus::Todo
        }
    };
    let priority = f.str("priority").and_then(|p| {
        serde_json::from_value::<Priority>(json!(p))
            .map_err(|_| f.warn("priority", &format!("unknown priority {p:?}")))
            .ok()
    });
    let mut clients = Vec::new();
    if let Some(id) = f.u64("client_id") {
        clients.push(ClientRef::External(id.to_string()));
    }
    if let Some(hint) = f.str("client_hint") {
        clients.push(ClientRef::Hint(hint.to_string()));
    }
    Ok(Task {
        title,
        description: f.str("description").map(str::to_string),
        status,
        status_name,
        priority,
        assignee: f.person("assignee_email", "assignee_id"),
        reporter: f.person("reporter_email", "reporter_id"),
        due: f.time("due_ms"),
        resolved_at: None,
        labels: f.strings("labels").into_iter().map(str::to_string).collect(),
        clients,
        contact_ids: f.u64("contact_id").map(|id| id.to_string()).into_iter().collect(),
        labels_removed: Vec::new(),
    })
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
