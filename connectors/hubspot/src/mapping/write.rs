//! The common model → HubSpot properties for batch creates and updates.
//!
//! Updates send only what the engine filled in ("fields left empty are not touched"), since
//! an empty string *clears* a HubSpot property. Associations (a task's company and contacts)
//! travel separately: inline with a create, through the v4 association batch after an
//! update.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use zveno_connector::{ClientRef, RecordData};

use super::values::format_time;
use super::{Mapper, Owners};
use crate::dto::object::Object;

/// What to send for one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteInput {
    /// Properties to set.
    pub properties: BTreeMap<String, String>,
    /// Companies to associate (tasks).
    pub companies: Vec<String>,
    /// Contacts to associate (tasks).
    pub contacts: Vec<String>,
    /// Values that could not be written (logged by the connector).
    pub warnings: Vec<String>,
}

impl Mapper {
    /// Properties and associations for writing `data` as a record of `object`. `create`
    /// fills the properties HubSpot requires on a new record (a task's `hs_timestamp`
    /// defaults to `now`). Wrong-kind data is an error for that op alone.
    pub fn write(
        &self,
        object: Object,
        data: &RecordData,
        owners: &Owners,
        create: bool,
        now: DateTime<Utc>,
    ) -> Result<WriteInput, String> {
        let mut input = WriteInput::default();
        let set = |input: &mut WriteInput, key: &str, value: String| {
            input.properties.insert(key.to_string(), value);
        };
        let owner = |input: &mut WriteInput, person: Option<&String>| {
            let person = person?;
            let id = owners.owner_id(person);
            if id.is_none() {
                input
                    .warnings
                    .push(format!("owner {person:?} is not a HubSpot owner; hubspot_owner_id left unchanged"));
            }
            id
        };
        match (object, data) {
            (Object::Companies, RecordData::Client(c)) => {
                if !c.name.trim().is_empty() {
                    set(&mut input, "name", c.name.trim().to_string());
                } else if create {
                    return Err("a company needs a name".into());
                }
                if let Some(d) = c.domains.first() {
                    set(&mut input, "domain", d.to_string());
                }
                if let Some(p) = c.phones.first() {
                    set(&mut input, "phone", p.to_string());
                }
                if let (Some(prop), Some(tax)) = (self.tax_id_properties.first(), &c.tax_id) {
                    set(&mut input, prop, tax.to_string());
                }
                if let Some(id) = owner(&mut input, c.owner.as_ref()) {
                    set(&mut input, "hubspot_owner_id", id);
                }
            }
            (Object::Tasks, RecordData::Task(t)) => {
                if !t.title.trim().is_empty() {
                    set(&mut input, "hs_task_subject", t.title.trim().to_string());
                } else if create {
                    return Err("a task needs a title".into());
                }
                if let Some(body) = &t.description {
                    set(&mut input, "hs_task_body", body.clone());
                }
                match self.statuses.write(t.status) {
                    Some(s) => set(&mut input, "hs_task_status", s.to_string()),
                    None => input.warnings.push(format!("no HubSpot status for {:?}", t.status)),
                }
                if let Some(p) = t.priority.and_then(|p| self.priorities.write(p)) {
                    set(&mut input, "hs_task_priority", p.to_string());
                }
                match (t.due, create) {
                    (Some(due), _) => set(&mut input, "hs_timestamp", format_time(due)),
                    // hs_timestamp is required on create; "due now" is what HubSpot's UI does.
                    (None, true) => set(&mut input, "hs_timestamp", format_time(now)),
                    (None, false) => {}
                }
                if create {
                    set(&mut input, "hs_task_type", "TODO".into());
                }
                if let Some(id) = owner(&mut input, t.assignee.as_ref()) {
                    set(&mut input, "hubspot_owner_id", id);
                }
                for client in &t.clients {
                    match client {
                        ClientRef::External(id) => input.companies.push(id.clone()),
                        ClientRef::Hint(h) => input
                            .warnings
                            .push(format!("client hint {h:?} is not a HubSpot company id; not associated")),
                    }
                }
                input.contacts = t.contact_ids.clone();
            }
            (object, data) => return Err(format!("cannot write {} data as HubSpot {object}", data.kind())),
        }
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::OwnerDto;
    use crate::mapping::MapperSettings;
    use zveno_connector::{Client, Domain, Phone, Priority, Task, TaskStatus, TaxId};

    fn mapper() -> Mapper {
        Mapper::new(MapperSettings {
            connector: "crm".into(),
            tax_id_properties: vec!["inn".into()],
            ..MapperSettings::default()
        })
    }

    fn owners() -> Owners {
        Owners::new([OwnerDto {
            id: "64492917".into(),
            email: Some("am@example.com".into()),
            user_id: None,
            first_name: None,
            last_name: None,
            owner_type: None,
            archived: false,
        }])
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
    }

    fn task() -> Task {
        Task {
            title: "Follow-up".into(),
            description: None,
            status: TaskStatus::Cancelled,
            status_name: None,
            priority: Some(Priority::Urgent),
            assignee: Some("AM@example.com".into()),
            reporter: None,
            due: None,
            resolved_at: None,
            labels: vec![],
            clients: vec![ClientRef::External("512".into()), ClientRef::Hint("acme".into())],
            contact_ids: vec!["104901".into()],
            labels_removed: Vec::new(),
        }
    }

    #[test]
    fn companies_write_normalised_values() {
        let client = Client {
            name: " Acme ".into(),
            domains: Domain::parse("https://www.acme.com").into_iter().collect(),
            phones: Phone::parse("+1 415 555 2671", None).into_iter().collect(),
            tax_id: TaxId::parse("7707083893", None).ok(),
            owner: Some("stranger@example.com".into()),
            ..Client::default()
        };
        let input = mapper().write(Object::Companies, &RecordData::Client(client), &owners(), true, now());
        let Ok(input) = input else {
            panic!("writes");
        };
        let props: Vec<(&str, &str)> = input.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(props, [("domain", "acme.com"), ("inn", "7707083893"), ("name", "Acme"), ("phone", "+14155552671")]);
        assert_eq!(input.warnings.len(), 1, "unknown owner is reported");
    }

    #[test]
    fn task_creates_fill_required_properties_and_associations() {
        let Ok(input) = mapper().write(Object::Tasks, &RecordData::Task(task()), &owners(), true, now()) else {
            panic!("writes");
        };
        assert_eq!(input.properties["hs_task_status"], "DEFERRED");
        assert_eq!(input.properties["hs_task_priority"], "HIGH");
        assert_eq!(input.properties["hs_timestamp"], "2026-09-21T14:13:20.000Z");
        assert_eq!(input.properties["hs_task_type"], "TODO");
        assert_eq!(input.properties["hubspot_owner_id"], "64492917");
        assert_eq!(input.companies, ["512"]);
        assert_eq!(input.contacts, ["104901"]);
        assert_eq!(input.warnings.len(), 1, "the client hint is reported");
    }

    #[test]
    fn updates_leave_empty_fields_untouched() {
        let mut t = task();
        t.title = String::new();
        t.priority = None;
        t.assignee = None;
        let Ok(input) = mapper().write(Object::Tasks, &RecordData::Task(t), &owners(), false, now()) else {
            panic!("writes");
        };
        let keys: Vec<&str> = input.properties.keys().map(String::as_str).collect();
        assert_eq!(keys, ["hs_task_status"]);
    }

    #[test]
    fn impossible_writes_fail_that_op_only() {
        let m = mapper();
        let mut untitled = task();
        untitled.title = " ".into();
        for (object, data) in [
            (Object::Tasks, RecordData::Task(untitled)),
            (Object::Companies, RecordData::Client(Client::default())),
            (Object::Companies, RecordData::Task(task())),
        ] {
            assert!(m.write(object, &data, &owners(), true, now()).is_err(), "{data:?}");
        }
    }
}
