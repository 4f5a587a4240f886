//! Seeding the simulated portal from recorded CRM v3 list results (`{"companies": [...],
//! "contacts": [...], "tasks": [...]}`, each object as `GET /crm/v3/objects/{type}` lists
//! it), so a labelled world made elsewhere is served exactly as it was recorded: every
//! non-null property verbatim (custom ones such as the tax id included), the create and
//! modify times, `archived`, and the associations given inline.

use serde_json::Value;
use zveno_sim::kit::recorded::{rfc3339, rows, text, RecordedError};

use super::store::Db;
use crate::dto::object::Object;

const OBJECTS: [Object; 3] = [Object::Companies, Object::Contacts, Object::Tasks];

impl Db {
    /// A portal holding the recorded objects of `responses`.
    pub fn from_recorded(responses: &Value) -> Result<Self, RecordedError> {
        let mut db = Db::default();
        for object in OBJECTS {
            for row in rows(responses, object.name()) {
                let id = row.id("id")?;
                let created = row.time("createdAt", rfc3339)?.timestamp_millis();
                let updated = row.time("updatedAt", rfc3339)?.timestamp_millis();
                let properties =
                    row.get("properties").and_then(Value::as_object).ok_or_else(|| row.error("no `properties`"))?;
                // The id and the times are the record's own; rendering writes them back.
                let computed = ["hs_object_id", object.created_property(), object.modified_property()];
                let mut props: std::collections::BTreeMap<String, String> = properties
                    .iter()
                    .filter(|(name, _)| !computed.contains(&name.as_str()))
                    .filter_map(|(name, value)| Some((name.clone(), text(value)?)))
                    .collect();
                props.insert("hs_object_id".into(), id.to_string());
                db.insert(object, props, created, updated);
                if row.get("archived").and_then(Value::as_bool) == Some(true) {
                    if let Some(o) = db.get_mut(object, id) {
                        o.archived_ms = Some(updated);
                    }
                }
                for (to, linked) in row.get("associations").and_then(Value::as_object).into_iter().flatten() {
                    let Some(to) = Object::parse(to) else { continue };
                    let results = linked.get("results").and_then(Value::as_array).map(Vec::as_slice);
                    for other in results.unwrap_or_default() {
                        let other = other.get("id").and_then(text).and_then(|t| t.parse().ok());
                        let other = other.ok_or_else(|| row.error("an association without a numeric id"))?;
                        db.link(object, id, to, other);
                    }
                }
            }
        }
        Ok(db)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::simulator::render;

    #[test]
    fn recorded_objects_render_as_they_were_listed() {
        let responses = json!({
            "companies": [{"id": "52", "properties": {"name": "АО \"Север\"", "domain": "sever.ru", "website": null,
                "inn": "7732720232", "createdate": "2026-03-03T20:05:18.865Z", "hs_lastmodifieddate": "2026-08-29T01:49:00.128Z",
                "hs_object_id": "52"}, "createdAt": "2026-03-03T20:05:18.865Z", "updatedAt": "2026-08-29T01:49:00.128Z",
                "archived": false}],
            "tasks": [{"id": "9", "properties": {"hs_task_subject": "Позвонить"}, "createdAt": "2026-03-03T20:05:18.865Z",
                "updatedAt": "2026-03-04T20:05:18.865Z", "archived": true,
                "associations": {"companies": {"results": [{"id": "52", "type": "task_to_company"}]}}}]
        });
        let db = Db::from_recorded(&responses).unwrap_or_else(|e| panic!("{e}"));
        let company = db.of(Object::Companies).next().unwrap_or_else(|| panic!("no company"));
        let asked = vec!["inn".to_string(), "website".to_string()];
        let listed = render::object(&db, Object::Companies, company, &asked, &[Object::Tasks]);
        assert_eq!(listed["properties"]["inn"], "7732720232");
        assert_eq!(listed["properties"]["website"], Value::Null);
        assert_eq!(listed["properties"]["hs_lastmodifieddate"], "2026-08-29T01:49:00.128Z");
        assert_eq!(listed["associations"]["tasks"]["results"][0]["id"], "9");
        assert!(db.of(Object::Tasks).all(|t| t.archived_ms.is_some()), "archived stays archived");

        let broken = json!({"contacts": [{"id": "x", "properties": {}}]});
        let e = Db::from_recorded(&broken).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("recorded contacts[0]: `id` is not a numeric id"));
    }
}
