//! Records as HubSpot's JSON: `SimplePublicObject[WithAssociations]`.

use serde_json::{json, Map, Value};

use super::store::{Db, SimObject};
use crate::dto::object::Object;
use crate::mapping::values::format_time;

/// Properties HubSpot returns without being asked (the object's defaults plus the ids and
/// times search always adds).
fn defaults(object: Object) -> &'static [&'static str] {
    match object {
        Object::Companies => &["name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"],
        Object::Contacts => &["firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"],
        Object::Tasks => &["hs_task_subject", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
    }
}

/// The value of any property of a record, the computed ones included, as HubSpot
/// stores it (times as epoch ms here; rendering turns them into ISO text).
pub fn value(object: Object, o: &SimObject, name: &str) -> Option<String> {
    if name == "hs_object_id" {
        Some(o.id.to_string())
    } else if name == object.modified_property() {
        Some(o.updated_ms.to_string())
    } else if name == object.created_property() {
        Some(o.created_ms.to_string())
    } else {
        o.props.get(name).cloned()
    }
}

fn iso(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms).map_or(Value::Null, |t| Value::String(format_time(t)))
}

/// A record. `asked` are the requested properties (unset ones come back as `null`, the
/// rest are left out); `associations` the object types whose links to include.
pub fn object(db: &Db, object: Object, o: &SimObject, asked: &[String], associations: &[Object]) -> Value {
    let mut props = Map::new();
    let names = defaults(object).iter().map(|s| s.to_string()).chain(asked.iter().cloned());
    for name in names {
        let v = match value(object, o, &name) {
            Some(ms) if name == object.modified_property() || name == object.created_property() => {
                ms.parse().map_or(Value::Null, iso)
            }
            Some(v) => Value::String(v),
            None => Value::Null,
        };
        props.insert(name, v);
    }
    let mut out = json!({
        "id": o.id.to_string(),
        "properties": if o.corrupt { json!("<<corrupted by the simulator>>") } else { Value::Object(props) },
        "createdAt": iso(o.created_ms),
        "updatedAt": iso(o.updated_ms),
        "archived": o.archived_ms.is_some(),
    });
    if let Some(at) = o.archived_ms {
        out["archivedAt"] = iso(at);
    }
    let mut links = Map::new();
    for to in associations {
        let ids = db.linked(object, o.id, *to);
        if ids.is_empty() {
            continue;
        }
        let label = format!("{}_to_{}", singular(object), singular(*to));
        let mut results = Vec::new();
        for id in ids {
            results.push(json!({"id": id.to_string(), "type": label}));
            // Since the v4 migration HubSpot lists a link once per label, the unlabelled
            // default included.
            results.push(json!({"id": id.to_string(), "type": format!("{label}_unlabeled")}));
        }
        links.insert(to.name().to_string(), json!({ "results": results }));
    }
    if !links.is_empty() {
        out["associations"] = Value::Object(links);
    }
    out
}

/// `company`, `contact`, `task`.
pub fn singular(object: Object) -> &'static str {
    match object {
        Object::Companies => "company",
        Object::Contacts => "contact",
        Object::Tasks => "task",
    }
}

/// The HubSpot-defined default association type ids (tasks → companies 192 and → contacts
/// 204 as the vendor note gives them; the company/contact pair's unlabelled 279/280).
pub fn association_type(from: Object, to: Object) -> Option<u32> {
    match (from, to) {
        (Object::Tasks, Object::Companies) => Some(192),
        (Object::Tasks, Object::Contacts) => Some(204),
        (Object::Companies, Object::Tasks) => Some(191),
        (Object::Contacts, Object::Tasks) => Some(203),
        (Object::Contacts, Object::Companies) => Some(279),
        (Object::Companies, Object::Contacts) => Some(280),
        _ => None,
    }
}
