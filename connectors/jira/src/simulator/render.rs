//! Jira's JSON shapes as the simulator serves them: statuses with categories, priorities,
//! users (with hidden e-mails), and issues filtered by the `fields` parameter.

use chrono_tz::Tz;
use serde_json::{json, Map, Value};
use zveno_connector::{Priority, TaskStatus};

use super::site::{Account, Doc};
use crate::mapping::time::format_timestamp;

/// The workflow every simulated project uses: (status id, name, category key, category id,
/// category name, transition id). "Won't Do" is a done-category status with its own name,
/// as in Jira's stock software workflow.
pub const STATUSES: [(&str, &str, &str, u32, &str, &str); 4] = [
    ("10000", "To Do", "new", 2, "To Do", "11"),
    ("3", "In Progress", "indeterminate", 4, "In Progress", "21"),
    ("10001", "Done", "done", 3, "Done", "31"),
    ("10002", "Won't Do", "done", 3, "Done", "41"),
];

/// The status index for a common status.
pub fn status_index(status: TaskStatus) -> usize {
    match status {
        TaskStatus::Todo => 0,
        TaskStatus::InProgress => 1,
        TaskStatus::Done => 2,
        TaskStatus::Cancelled => 3,
    }
}

/// A status object (`fields.status`, `transitions[].to`).
pub fn status_json(index: usize, host: &str) -> Value {
    let (id, name, key, cat_id, cat_name, _) = STATUSES[index.min(STATUSES.len() - 1)];
    json!({
        "self": format!("{host}/rest/api/3/status/{id}"),
        "description": "",
        "iconUrl": format!("{host}/images/icons/statuses/generic.png"),
        "name": name,
        "id": id,
        "statusCategory": {
            "self": format!("{host}/rest/api/3/statuscategory/{cat_id}"),
            "id": cat_id,
            "key": key,
            "colorName": match key { "new" => "blue-gray", "indeterminate" => "yellow", _ => "green" },
            "name": cat_name,
        },
    })
}

/// A resolution for done-category statuses (`null` otherwise).
pub fn resolution_json(index: usize, host: &str) -> Value {
    match index {
        2 => json!({"self": format!("{host}/rest/api/3/resolution/10000"), "id": "10000", "name": "Done"}),
        3 => json!({"self": format!("{host}/rest/api/3/resolution/10001"), "id": "10001", "name": "Won't Do"}),
        _ => Value::Null,
    }
}

/// Jira's stock priorities: (id, name).
pub const PRIORITIES: [(&str, &str); 5] =
    [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")];

/// A priority object.
pub fn priority_json(priority: Priority, host: &str) -> Value {
    let index = match priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Medium => 2,
        Priority::Low => 3,
    };
    priority_by_index(index, host)
}

/// A priority object by its index in [`PRIORITIES`].
pub fn priority_by_index(index: usize, host: &str) -> Value {
    let (id, name) = PRIORITIES[index.min(PRIORITIES.len() - 1)];
    json!({"self": format!("{host}/rest/api/3/priority/{id}"), "iconUrl": format!("{host}/images/icons/priorities/{}.svg", name.to_lowercase()), "name": name, "id": id})
}

/// A user object; `emailAddress` is left out when the profile hides it.
pub fn user_json(account: &Account, host: &str) -> Value {
    let mut user = json!({
        "self": format!("{host}/rest/api/3/user?accountId={}", account.account_id),
        "accountId": account.account_id,
        "accountType": "atlassian",
        "avatarUrls": {"48x48": format!("{host}/avatar/{}.png", account.account_id)},
        "displayName": account.display_name,
        "active": true,
        "timeZone": account.time_zone,
        "locale": "en_US",
    });
    if account.email_visible {
        user["emailAddress"] = json!(account.email);
    }
    user
}

/// Which fields a request asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldSelection {
    /// `fields` absent or only `id`: the search default.
    IdOnly,
    /// Only `key` (and maybe `id`).
    IdAndKey,
    /// `*all` / `*navigable`, minus exclusions.
    All(Vec<String>),
    /// Named fields.
    Named(Vec<String>),
}

impl FieldSelection {
    /// Reads the `fields` list.
    pub fn parse(fields: &[String]) -> Self {
        let fields: Vec<String> =
            fields.iter().flat_map(|f| f.split(',')).map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect();
        let excluded: Vec<String> = fields.iter().filter_map(|f| f.strip_prefix('-')).map(str::to_string).collect();
        if fields.iter().any(|f| f == "*all" || f == "*navigable") {
            return Self::All(excluded);
        }
        let named: Vec<String> = fields.into_iter().filter(|f| !f.starts_with('-')).collect();
        match named.iter().filter(|f| *f != "id").map(String::as_str).collect::<Vec<_>>().as_slice() {
            [] => Self::IdOnly,
            ["key"] => Self::IdAndKey,
            _ => Self::Named(named),
        }
    }

    /// Whether only identifiers were asked for (the large-page case).
    pub fn ids_only(&self) -> bool {
        matches!(self, Self::IdOnly | Self::IdAndKey)
    }

    fn wants(&self, field: &str) -> bool {
        match self {
            Self::IdOnly | Self::IdAndKey => false,
            Self::All(excluded) => !excluded.iter().any(|e| e == field),
            Self::Named(named) => named.iter().any(|n| n == field),
        }
    }
}

/// An issue as `search/jql` and `GET issue` return it.
pub fn issue_json(id: u64, key: &str, doc: &Doc, selection: &FieldSelection, zone: Option<Tz>, host: &str) -> Value {
    let this = format!("{host}/rest/api/3/issue/{id}");
    match selection {
        FieldSelection::IdOnly => return json!({"id": id.to_string()}),
        FieldSelection::IdAndKey => return json!({"id": id.to_string(), "key": key}),
        _ => {}
    }
    let mut fields = Map::new();
    for (name, value) in &doc.fields {
        if selection.wants(name) {
            fields.insert(name.clone(), value.clone());
        }
    }
    let times = [("created", Some(doc.created)), ("updated", Some(doc.updated)), ("resolutiondate", doc.resolved)];
    for (name, at) in times {
        if selection.wants(name) {
            fields.insert(name.into(), at.map_or(Value::Null, |t| json!(format_timestamp(t, zone))));
        }
    }
    json!({"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
           "id": id.to_string(), "self": this, "key": key, "fields": fields})
}

/// The transitions available from status `current` (every other status: the simulated
/// workflow is all global transitions).
pub fn transitions_json(current: usize, host: &str) -> Vec<Value> {
    STATUSES
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != current)
        .map(|(i, (_, name, ..))| {
            json!({"id": STATUSES[i].5, "name": name, "to": status_json(i, host), "hasScreen": false,
                   "isGlobal": true, "isInitial": false, "isAvailable": true, "isConditional": false,
                   "isLooped": false})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selection_reads_jiras_forms() {
        let s = |f: &[&str]| FieldSelection::parse(&f.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]), FieldSelection::IdOnly);
        assert_eq!(s(&["id"]), FieldSelection::IdOnly);
        assert_eq!(s(&["id", "key"]), FieldSelection::IdAndKey);
        assert!(s(&["summary,status"]).wants("status"));
        assert!(!s(&["*all", "-description"]).wants("description"));
        assert!(s(&["*navigable"]).wants("summary"));
        assert!(s(&["key"]).ids_only() && !s(&["summary"]).ids_only());
    }
}
