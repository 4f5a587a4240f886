//! The simulated company's data: organizations, persons, activities and users, seeded from
//! a `zveno-sim` world and rendered in API v2's shapes (vendor note §3).

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde_json::{json, Map, Value};
use zveno_connector::TaskStatus;
use zveno_sim::world::{SimCompany, SimContact, SimTask, SimUser, SystemData};

use crate::connector::cursor::{rfc3339, to_second};
use crate::dto::entity::Entity;

/// One record: its fields as v2 renders them, and the bookkeeping the simulator needs.
#[derive(Debug, Clone)]
pub struct Row {
    /// Id.
    pub id: u64,
    /// Every field but the ones below.
    pub fields: Map<String, Value>,
    /// `add_time`.
    pub added: DateTime<Utc>,
    /// `update_time` (to the second).
    pub updated: DateTime<Utc>,
    /// Deleted: no longer listed.
    pub deleted: bool,
    /// Broken on purpose: rendered with an `owner_id` that is not a number.
    pub corrupt: bool,
}

impl Row {
    pub(crate) fn new(id: u64, fields: Value, added: DateTime<Utc>, updated: DateTime<Utc>) -> Self {
        let fields = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self { id, fields, added: to_second(added), updated: to_second(updated), deleted: false, corrupt: false }
    }

    /// The record as a v2 list or read returns it.
    pub fn render(&self) -> Value {
        let mut out = self.fields.clone();
        out.insert("id".into(), json!(self.id));
        out.insert("add_time".into(), json!(rfc3339(self.added)));
        out.insert("update_time".into(), json!(rfc3339(self.updated)));
        out.insert("is_deleted".into(), json!(self.deleted));
        if self.corrupt {
            out.insert("owner_id".into(), json!("corrupted"));
        }
        Value::Object(out)
    }

    /// The numeric value of a field, for filters (`owner_id`).
    pub fn number(&self, field: &str) -> Option<u64> {
        self.fields.get(field).and_then(Value::as_u64)
    }
}

/// Everything the company holds.
#[derive(Debug, Default)]
pub struct Db {
    /// Records by entity, by id.
    pub tables: BTreeMap<Entity, BTreeMap<u64, Row>>,
    /// Users.
    pub users: Vec<SimUser>,
    /// Organization field definitions (see [`super::fields`]).
    pub org_fields: Vec<super::fields::Field>,
}

fn labelled(values: &[String]) -> Value {
    let list: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"value": v, "primary": i == 0, "label": if i == 0 { "work" } else { "other" }}))
        .collect();
    Value::Array(list)
}

fn organization(c: &SimCompany, tax_id_field: &str) -> Row {
    let custom: Map<String, Value> = c.tax_id.iter().map(|t| (tax_id_field.to_string(), json!(t))).collect();
    let fields = json!({"name": c.name, "owner_id": c.owner_id, "website": c.website, "address": null,
        "visible_to": 3, "label_ids": [], "custom_fields": custom});
    Row::new(c.id, fields, c.created_at, c.updated_at)
}

fn person(c: &SimContact) -> Row {
    let fields = json!({"name": format!("{} {}", c.first_name, c.last_name).trim(), "first_name": c.first_name,
        "last_name": c.last_name, "owner_id": c.owner_id, "org_id": c.company_id, "emails": labelled(&c.emails),
        "phones": labelled(&c.phones), "im": [], "visible_to": 3, "label_ids": [], "custom_fields": {}});
    Row::new(c.id, fields, c.created_at, c.updated_at)
}

fn activity(t: &SimTask) -> Row {
    let done = matches!(t.status, TaskStatus::Done | TaskStatus::Cancelled);
    let updated = to_second(t.updated_at);
    let due_time =
        t.due.filter(|d| (d.hour(), d.minute(), d.second()) != (23, 59, 59)).map(|d| d.format("%H:%M:%S").to_string());
    let participants: Vec<Value> = t.contact_id.iter().map(|p| json!({"person_id": p, "primary": true})).collect();
    let fields = json!({"subject": t.title, "type": if t.id % 3 == 0 { "call" } else { "task" },
        "owner_id": t.assignee_id, "creator_user_id": t.reporter_id, "org_id": t.company_id,
        "person_id": t.contact_id, "deal_id": null, "lead_id": null, "project_id": null,
        "due_date": t.due.map(|d| d.format("%Y-%m-%d").to_string()), "due_time": due_time, "duration": null,
        "busy": false, "done": done, "marked_as_done_time": done.then(|| rfc3339(updated)),
        "priority": null, "note": t.description, "participants": participants, "attendees": []});
    Row::new(t.id, fields, t.created_at, t.updated_at)
}

impl Db {
    /// A company holding `data`, tax ids in the custom field `tax_id_field`.
    pub fn seed(data: &SystemData, tax_id_field: &str) -> Self {
        let table = |rows: Vec<Row>| rows.into_iter().map(|r| (r.id, r)).collect::<BTreeMap<u64, Row>>();
        let tables = BTreeMap::from([
            (Entity::Organizations, table(data.companies.iter().map(|c| organization(c, tax_id_field)).collect())),
            (Entity::Persons, table(data.contacts.iter().map(person).collect())),
            (Entity::Activities, table(data.tasks.iter().map(activity).collect())),
        ]);
        Self { tables, users: data.users.clone(), org_fields: Vec::new() }
    }

    /// The rows of `entity`, deleted ones included.
    pub fn rows(&self, entity: Entity) -> impl Iterator<Item = &Row> {
        self.tables.get(&entity).into_iter().flat_map(BTreeMap::values)
    }

    /// A row by id.
    pub fn get_mut(&mut self, entity: Entity, id: u64) -> Option<&mut Row> {
        self.tables.get_mut(&entity)?.get_mut(&id)
    }

    /// Adds a record with the next free id; returns the id.
    pub fn insert(&mut self, entity: Entity, fields: Map<String, Value>, now: DateTime<Utc>) -> u64 {
        let table = self.tables.entry(entity).or_default();
        let id = table.keys().next_back().map_or(1, |last| last + 1);
        table.insert(id, Row::new(id, Value::Object(fields), now, now));
        id
    }

    /// `n` live ids of `entity`, spread over the id range.
    pub fn pick(&self, entity: Entity, n: usize) -> Vec<u64> {
        let live: Vec<u64> = self.rows(entity).filter(|r| !r.deleted).map(|r| r.id).collect();
        if n == 0 || live.is_empty() {
            return Vec::new();
        }
        let step = (live.len() / n).max(1);
        live.iter().step_by(step).take(n).copied().collect()
    }

    /// The users as `/v1/users` renders them (v1 timestamps, per-app access).
    pub fn render_users(&self) -> Vec<Value> {
        let admin = self.users.iter().map(|u| u.id).min();
        self.users
            .iter()
            .map(|u| {
                json!({"id": u.id, "name": format!("{} {}", u.first_name, u.last_name), "email": u.email,
                       "phone": null, "active_flag": true, "activated": true, "is_deleted": false,
                       "access": [{"app": "sales", "admin": Some(u.id) == admin, "permission_set_id": "62cc4d7f-4038-4352-abf3-a8c1c822b631"}],
                       "timezone_name": "Europe/Moscow", "timezone_offset": "+03:00",
                       "created": "2018-11-13 09:16:26", "modified": "2019-11-21 08:45:56", "last_login": "2026-11-21 08:45:56"})
            })
            .collect()
    }
}
