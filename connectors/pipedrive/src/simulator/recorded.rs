//! Seeding the simulated company from recorded API v2 list items (`{"organizations": [...],
//! "persons": [...], "activities": [...]}`, each item as `GET /api/v2/{entity}` lists it), so
//! a labelled world made elsewhere is served exactly as it was recorded: every field
//! verbatim (custom fields keyed by their hash included), `add_time`/`update_time`, and
//! `is_deleted`.

use serde_json::Value;
use zveno_sim::kit::recorded::{rfc3339, rows, RecordedError};

use super::store::{Db, Row};
use crate::dto::entity::Entity;

const ENTITIES: [Entity; 3] = [Entity::Organizations, Entity::Persons, Entity::Activities];

impl Db {
    /// A company holding the recorded items of `responses` (no users: owners stay ids).
    pub fn from_recorded(responses: &Value) -> Result<Self, RecordedError> {
        let mut db = Db::default();
        for entity in ENTITIES {
            let table = db.tables.entry(entity).or_default();
            for row in rows(responses, entity.path()) {
                let id = row.id("id")?;
                let added = row.time("add_time", rfc3339)?;
                let updated = row.time("update_time", rfc3339)?;
                let mut fields = row.value.as_object().cloned().ok_or_else(|| row.error("not an object"))?;
                // Rendering writes these from the row's own bookkeeping.
                for own in ["id", "add_time", "update_time", "is_deleted"] {
                    fields.remove(own);
                }
                let mut stored = Row::new(id, Value::Object(fields), added, updated);
                stored.deleted = row.get("is_deleted").and_then(Value::as_bool) == Some(true);
                table.insert(id, stored);
            }
        }
        Ok(db)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn recorded_items_render_as_they_were_listed() {
        let item = json!({"id": 3, "name": "Лотос Медиа Урал (ПАО)", "owner_id": 104, "website": null,
            "custom_fields": {"10bb7c1dbf2e5b7f721354c231293e6c54722528": "7732720232"},
            "add_time": "2024-12-26T23:37:21Z", "update_time": "2025-03-31T01:21:56Z", "is_deleted": false});
        let db = Db::from_recorded(&json!({"organizations": [item.clone()]})).unwrap_or_else(|e| panic!("{e}"));
        let rendered = db.rows(Entity::Organizations).map(Row::render).collect::<Vec<_>>();
        assert_eq!(rendered, [item]);
        assert_eq!(db.rows(Entity::Persons).count(), 0);

        let broken = json!({"activities": [{"id": 1, "add_time": "2024-12-26T23:37:21Z", "update_time": "soon"}]});
        let e = Db::from_recorded(&broken).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("recorded activities[0]: `update_time` is not a time"));
    }
}
