//! The test vendor's JSON shapes, rendered from the world's records.
//!
//! The shapes are deliberately plain (flat objects, epoch-ms times, e-mail owners) so the
//! test vendor exercises zveno's engine rather than a vendor's quirks:
//!
//! ```json
//! {"id": 7, "name": "ООО «Ромашка»", "website": "https://romashka.ru", "phones": ["..."],
//!  "emails": ["..."], "tax_id": "7707083893", "owner_id": 2, "owner_email": "a@b.ru",
//!  "created_ms": 1700000000000, "updated_ms": 1710000000000, "version": 1}
//! ```

use std::collections::HashMap;

use serde_json::{json, Value};
use zveno_connector::Kind;

use crate::world::{SimCompany, SimContact, SimTask, SystemData};

/// The field a create's idempotency handle is kept in (any kind). zveno stamps each create
/// with its op id there, and `GET /v1/{kind}?external_ref=H` finds the record it made.
pub const HANDLE_FIELD: &str = "external_ref";

/// The path segment of a kind (`/v1/clients`).
pub fn kind_path(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "clients",
        Kind::Contact => "contacts",
        Kind::Task => "tasks",
    }
}

/// The kind of a path segment.
pub fn path_kind(segment: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| kind_path(*k) == segment)
}

/// Every record of `data` as the API returns it, by kind.
pub(super) fn render(data: &SystemData) -> [(Kind, Vec<Value>); 3] {
    let users: HashMap<u64, &str> = data.users.iter().map(|u| (u.id, u.email.as_str())).collect();
    let email = |id: Option<u64>| id.and_then(|id| users.get(&id).copied());
    [
        (Kind::Client, data.companies.iter().map(|c| company(c, email(c.owner_id))).collect()),
        (Kind::Contact, data.contacts.iter().map(|c| contact(c, email(c.owner_id))).collect()),
        (Kind::Task, data.tasks.iter().map(|t| task(t, email(t.assignee_id), email(t.reporter_id))).collect()),
    ]
}

fn company(c: &SimCompany, owner: Option<&str>) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "website": c.website,
        "phones": c.phones,
        "emails": c.emails,
        "tax_id": c.tax_id,
        "owner_id": c.owner_id,
        "owner_email": owner,
        "created_ms": c.created_at.timestamp_millis(),
        "updated_ms": c.updated_at.timestamp_millis(),
        "version": 1,
    })
}

fn contact(c: &SimContact, owner: Option<&str>) -> Value {
    json!({
        "id": c.id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "emails": c.emails,
        "phones": c.phones,
        "client_id": c.company_id,
        "owner_id": c.owner_id,
        "owner_email": owner,
        "created_ms": c.created_at.timestamp_millis(),
        "updated_ms": c.updated_at.timestamp_millis(),
        "version": 1,
    })
}

fn task(t: &SimTask, assignee: Option<&str>, reporter: Option<&str>) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "status": t.status,
        "priority": t.priority,
        "due_ms": t.due.map(|d| d.timestamp_millis()),
        "assignee_id": t.assignee_id,
        "assignee_email": assignee,
        "reporter_id": t.reporter_id,
        "reporter_email": reporter,
        "client_id": t.company_id,
        "client_hint": t.client_hint,
        "contact_id": t.contact_id,
        "labels": t.labels,
        "created_ms": t.created_at.timestamp_millis(),
        "updated_ms": t.updated_at.timestamp_millis(),
        "version": 1,
    })
}

/// The field [`super::TestVendorSim::corrupt`] breaks: the one a record cannot be
/// normalised without.
pub(super) fn required_field(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "name",
        Kind::Contact => "first_name",
        Kind::Task => "title",
    }
}
