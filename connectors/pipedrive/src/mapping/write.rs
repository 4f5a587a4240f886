//! The common model → Pipedrive v2 write bodies (vendor note §9).
//!
//! Creates send every field zveno has; updates only the fields that are set, since a
//! `PATCH` replaces what it names ("fields left empty are not touched"). Values Pipedrive
//! cannot take — an owner who is not a user of the company, a client named by a hint
//! rather than a Pipedrive id — are left out with a warning instead of failing the write.

use chrono::Timelike;
use serde_json::{json, Map, Value};
use zveno_connector::{Client, ClientRef, RecordData, Task};

use super::{Mapper, Users};
use crate::dto::entity::Entity;

/// A body ready to send, and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBody {
    /// The JSON body.
    pub body: Value,
    /// Values that could not be written.
    pub warnings: Vec<String>,
}

impl Mapper {
    /// The body creating (`create`) or updating a record of `entity` with `data`; an error
    /// says why the op cannot be written at all.
    pub fn write(&self, entity: Entity, data: &RecordData, users: &Users, create: bool) -> Result<WriteBody, String> {
        let mut out = WriteBody { body: Value::Null, warnings: Vec::new() };
        let mut body = Map::new();
        match (entity, data) {
            (Entity::Organizations, RecordData::Client(c)) => {
                self.organization(c, users, create, &mut body, &mut out)?
            }
            (Entity::Activities, RecordData::Task(t)) => self.activity(t, users, create, &mut body, &mut out)?,
            (entity, data) => {
                return Err(format!("zveno does not write {} records as Pipedrive {}", data.kind(), entity.path()))
            }
        }
        out.body = Value::Object(body);
        Ok(out)
    }

    fn owner(users: &Users, person: Option<&str>, body: &mut Map<String, Value>, out: &mut WriteBody) {
        let Some(person) = person else { return };
        match users.id_of(person) {
            Some(id) => {
                body.insert("owner_id".into(), json!(id));
            }
            None => out.warnings.push(format!("owner {person:?} is not a Pipedrive user; left unchanged")),
        }
    }

    fn organization(
        &self,
        c: &Client,
        users: &Users,
        create: bool,
        body: &mut Map<String, Value>,
        out: &mut WriteBody,
    ) -> Result<(), String> {
        let name = c.name.trim();
        if create && name.is_empty() {
            return Err("a Pipedrive organization needs a name".into());
        }
        if !name.is_empty() {
            body.insert("name".into(), json!(name));
        }
        if let Some(domain) = c.domains.first() {
            body.insert("website".into(), json!(format!("https://{}", domain.as_str())));
        }
        Self::owner(users, c.owner.as_deref(), body, out);
        match (&c.tax_id, self.tax_id_field()) {
            (Some(tax), Some(key)) => {
                body.insert("custom_fields".into(), json!({ key: tax.as_str() }));
            }
            (Some(_), None) => out.warnings.push("tax id not written: no tax_id_field is configured".into()),
            (None, _) => {}
        }
        Ok(())
    }

    fn activity(
        &self,
        t: &Task,
        users: &Users,
        create: bool,
        body: &mut Map<String, Value>,
        out: &mut WriteBody,
    ) -> Result<(), String> {
        let subject = t.title.trim();
        if create && subject.is_empty() {
            return Err("a Pipedrive activity needs a subject".into());
        }
        if !subject.is_empty() {
            body.insert("subject".into(), json!(subject));
        }
        match t.labels.first() {
            Some(kind) => {
                body.insert("type".into(), json!(kind));
            }
            None if create => {
                body.insert("type".into(), json!("task"));
            }
            None => {}
        }
        body.insert("done".into(), json!(self.is_done(t.status)));
        if let Some(due) = t.due {
            body.insert("due_date".into(), json!(due.format("%Y-%m-%d").to_string()));
            // The end of a day is how a date without a time reads back; send the date alone.
            if (due.hour(), due.minute(), due.second()) != (23, 59, 59) {
                body.insert("due_time".into(), json!(due.format("%H:%M").to_string()));
            }
        }
        Self::owner(users, t.assignee.as_deref(), body, out);
        for client in &t.clients {
            match client {
                ClientRef::External(id) if id.parse::<u64>().is_ok() && !body.contains_key("org_id") => {
                    body.insert("org_id".into(), json!(id.parse::<u64>().unwrap_or_default()));
                }
                other => out.warnings.push(format!("client {other:?} not linked: an activity has one organization id")),
            }
        }
        if let Some(person) = t.contact_ids.iter().find_map(|id| id.parse::<u64>().ok()) {
            body.insert("person_id".into(), json!(person));
        }
        if let Some(note) = t.description.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            body.insert("note".into(), json!(note));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::UserDto;
    use crate::mapping::MapperSettings;
    use zveno_connector::{Contact, Domain, TaskStatus, TaxId};

    const INN: &str = "10bb7c1dbf2e5b7f721354c231293e6c54722528";

    fn mapper(field: Option<&str>) -> Mapper {
        Mapper::new(MapperSettings { tax_id_field: field.map(Into::into), ..MapperSettings::default() })
    }

    fn users() -> Users {
        Users::new([UserDto { id: 103, name: None, email: Some("am@example.com".into()), active_flag: None }])
    }

    fn task() -> Task {
        Task {
            title: "Call about renewal".into(),
            description: Some("Prepare pricing".into()),
            status: TaskStatus::Todo,
            status_name: None,
            priority: None,
            assignee: Some("am@example.com".into()),
            reporter: None,
            due: chrono::DateTime::parse_from_rfc3339("2026-09-30T14:00:00Z").ok().map(|d| d.to_utc()),
            resolved_at: None,
            labels: Vec::new(),
            clients: vec![ClientRef::External("7".into()), ClientRef::Hint("romashka.ru".into())],
            contact_ids: vec!["6".into()],
            labels_removed: Vec::new(),
        }
    }

    #[test]
    fn an_organization_create_carries_name_website_owner_and_the_inn_field() {
        let client = Client {
            name: "Acme".into(),
            domains: vec![Domain::parse("acme.com").unwrap()],
            tax_id: TaxId::parse("7707083893", None).ok(),
            owner: Some("AM@example.com".into()),
            ..Client::default()
        };
        let out = mapper(Some(INN))
            .write(Entity::Organizations, &RecordData::Client(client.clone()), &users(), true)
            .unwrap();
        assert_eq!(
            out.body,
            json!({"name": "Acme", "website": "https://acme.com", "owner_id": 103, "custom_fields": {INN: "7707083893"}})
        );
        assert!(out.warnings.is_empty());
        let unnamed = Client { name: " ".into(), ..client.clone() };
        assert!(mapper(Some(INN))
            .write(Entity::Organizations, &RecordData::Client(unnamed.clone()), &users(), true)
            .is_err());
        // An update leaves the name alone when it is empty; without a field the INN waits.
        let out = mapper(None).write(Entity::Organizations, &RecordData::Client(unnamed), &users(), false).unwrap();
        assert!(out.body.get("name").is_none() && out.body.get("custom_fields").is_none());
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn an_activity_body_follows_the_v2_shape() {
        let out = mapper(None).write(Entity::Activities, &RecordData::Task(task()), &users(), true).unwrap();
        assert_eq!(
            out.body,
            json!({"subject": "Call about renewal", "type": "task", "done": false, "due_date": "2026-09-30",
                   "due_time": "14:00", "owner_id": 103, "org_id": 7, "person_id": 6, "note": "Prepare pricing"})
        );
        assert_eq!(out.warnings.len(), 1, "the hint cannot be linked");
        let done = Task {
            status: TaskStatus::Cancelled,
            due: chrono::DateTime::parse_from_rfc3339("2026-09-30T23:59:59Z").ok().map(|d| d.to_utc()),
            assignee: Some("stranger@example.com".into()),
            labels: vec!["call".into()],
            ..task()
        };
        let out = mapper(None).write(Entity::Activities, &RecordData::Task(done), &users(), false).unwrap();
        assert_eq!((out.body["done"].clone(), out.body["type"].clone()), (json!(true), json!("call")));
        assert!(out.body.get("due_time").is_none() && out.body.get("owner_id").is_none());
    }

    #[test]
    fn contacts_are_not_written() {
        let err = mapper(None).write(Entity::Persons, &RecordData::Contact(Contact::default()), &users(), true);
        assert!(err.is_err());
    }
}
