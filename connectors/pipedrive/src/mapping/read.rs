//! Pipedrive records → [`SourceRecord`]s (field map: vendor note §4).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;
use zveno_connector::{
    Client, ClientRef, Contact, Domain, Email, Phone, RecordData, RecordError, SourceRecord, Task, TaxId,
};

use super::{Mapper, Users};
use crate::dto::entity::Entity;
use crate::dto::{read_record, Activity, LabelledValue, Organization, Person, UnreadableRecord};

/// Field warnings collected while one record is mapped.
#[derive(Default)]
struct Warnings(Vec<String>);

impl Warnings {
    /// `parse(raw)`, or `None` with a warning naming the field.
    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        parse(raw).map_err(|e| self.0.push(format!("{field} {:?} dropped: {e}", clip(raw)))).ok()
    }

    fn time(&mut self, field: &str, raw: Option<&str>) -> Option<DateTime<Utc>> {
        let raw = text(raw)?;
        self.parsed(field, raw, |t| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)))
    }

    /// Every value of a `{value, primary, label}` list, primary first, parsed and deduplicated.
    fn each<T: PartialEq, E: std::fmt::Display>(
        &mut self,
        field: &str,
        values: Option<&[LabelledValue]>,
        mut parse: impl FnMut(&str) -> Result<T, E>,
    ) -> Vec<T> {
        let mut sorted: Vec<&LabelledValue> = values.unwrap_or_default().iter().collect();
        sorted.sort_by_key(|v| !v.primary);
        let mut out = Vec::new();
        for raw in sorted.into_iter().filter_map(|v| text(v.value.as_deref())) {
            if let Some(v) = self.parsed(field, raw, &mut parse) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }
}

fn text(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|t| !t.is_empty())
}

/// Long values are cut in warnings.
fn clip(raw: &str) -> String {
    if raw.chars().count() > 60 {
        format!("{}…", raw.chars().take(60).collect::<String>())
    } else {
        raw.to_string()
    }
}

/// A custom field's value as text: Pipedrive returns a text field as a string, a numeric
/// one as a number.
fn custom_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => text(Some(s)).map(str::to_string),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Plain text of an HTML note: tags dropped, the common entities decoded, blank runs folded.
fn note_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Mapper {
    /// Maps one record of a v2 list. A deleted one (`is_deleted`) is a tombstone.
    pub fn read(&self, entity: Entity, raw: Value, users: &Users) -> Result<SourceRecord, RecordError> {
        let unreadable = |e: UnreadableRecord| RecordError {
            external_id: e.id,
            message: format!("Pipedrive {} record: {}", entity.singular(), e.message),
        };
        let mut w = Warnings::default();
        let (id, deleted, data, added, updated) = match entity {
            Entity::Organizations => {
                let o: Organization = read_record(&raw).map_err(unreadable)?;
                let (added, updated) =
                    (w.time("add_time", o.add_time.as_deref()), w.time("update_time", o.update_time.as_deref()));
                (o.id, o.is_deleted, RecordData::Client(self.client(&o, users, &mut w)), added, updated)
            }
            Entity::Persons => {
                let p: Person = read_record(&raw).map_err(unreadable)?;
                let (added, updated) =
                    (w.time("add_time", p.add_time.as_deref()), w.time("update_time", p.update_time.as_deref()));
                (p.id, p.is_deleted, RecordData::Contact(self.contact(&p, users, &mut w)), added, updated)
            }
            Entity::Activities => {
                let a: Activity = read_record(&raw).map_err(unreadable)?;
                let (added, updated) =
                    (w.time("add_time", a.add_time.as_deref()), w.time("update_time", a.update_time.as_deref()));
                (a.id, a.is_deleted, RecordData::Task(self.task(&a, users, &mut w)), added, updated)
            }
        };
        if deleted {
            return Ok(self.tombstone(entity, id, updated));
        }
        let mut record =
            SourceRecord::new(&self.settings.connector, id.to_string(), data, raw).with_times(added, updated);
        if let Some(url) = self.url(entity, id) {
            record = record.with_url(url);
        }
        record.warnings = w.0;
        Ok(record)
    }

    /// A tombstone for a record known to be gone (deleted, or merged into another).
    pub fn tombstone(&self, entity: Entity, id: u64, at: Option<DateTime<Utc>>) -> SourceRecord {
        SourceRecord::tombstone(&self.settings.connector, entity.kind(), id.to_string(), at)
    }

    /// The record's page in the web app, when the company subdomain is configured.
    /// Activities open in a list, not a page of their own, so they get none.
    pub fn url(&self, entity: Entity, id: u64) -> Option<String> {
        let domain = self.settings.company_domain.as_deref()?;
        (entity != Entity::Activities).then(|| format!("https://{domain}.pipedrive.com/{}/{id}", entity.singular()))
    }

    fn client(&self, o: &Organization, users: &Users, w: &mut Warnings) -> Client {
        let name = text(o.name.as_deref()).unwrap_or_else(|| {
            w.0.push("name is empty".into());
            ""
        });
        let domains =
            text(o.website.as_deref()).and_then(|site| w.parsed("website", site, Domain::parse)).into_iter().collect();
        let tax_id = self.tax_id_field().and_then(|key| {
            let value = o.custom_fields.as_ref()?.get(key)?;
            match custom_text(value) {
                Some(raw) => w.parsed(&format!("custom field {key}"), &raw, |v| TaxId::parse(v, None)),
                None if value.is_null() => None,
                None => {
                    w.0.push(format!(
                        "custom field {key} dropped: {} is not a text or number",
                        clip(&value.to_string())
                    ));
                    None
                }
            }
        });
        Client {
            name: name.to_string(),
            domains,
            emails: Vec::new(),
            phones: Vec::new(),
            tax_id,
            owner: o.owner_id.map(|id| users.person(id)),
        }
    }

    fn contact(&self, p: &Person, users: &Users, w: &mut Warnings) -> Contact {
        let emails: Vec<Email> = w.each("emails", p.emails.as_deref(), Email::parse);
        let region = self.settings.region;
        let phones = w.each("phones", p.phones.as_deref(), |raw| Phone::parse(raw, region));
        let joined = format!("{} {}", p.first_name.as_deref().unwrap_or(""), p.last_name.as_deref().unwrap_or(""));
        let name = text(p.name.as_deref())
            .or_else(|| text(Some(&joined)))
            .map(str::to_string)
            // A person known only by e-mail is common (imported leads).
            .or_else(|| emails.first().map(ToString::to_string))
            .unwrap_or_default();
        Contact {
            name,
            emails,
            phones,
            client_ids: p.org_id.map(|id| id.to_string()).into_iter().collect(),
            owner: p.owner_id.map(|id| users.person(id)),
        }
    }

    fn task(&self, a: &Activity, users: &Users, w: &mut Warnings) -> Task {
        let title = text(a.subject.as_deref()).unwrap_or_else(|| {
            w.0.push("subject is empty".into());
            ""
        });
        Task {
            title: title.to_string(),
            description: text(a.note.as_deref()).map(note_text).filter(|n| !n.is_empty()),
            status: self.status(a.done),
            status_name: Some(if a.done { "done" } else { "open" }.to_string()),
            priority: None,
            assignee: a.owner_id.map(|id| users.person(id)),
            reporter: a.creator_user_id.map(|id| users.person(id)),
            due: due(a, w),
            resolved_at: if a.done { w.time("marked_as_done_time", a.marked_as_done_time.as_deref()) } else { None },
            labels: text(a.activity_type.as_deref()).map(str::to_string).into_iter().collect(),
            clients: a.org_id.map(|id| ClientRef::External(id.to_string())).into_iter().collect(),
            contact_ids: a.person_id.map(|id| id.to_string()).into_iter().collect(),
            labels_removed: Vec::new(),
        }
    }
}

/// `due_date` plus `due_time` (UTC); a date alone is due by the end of that day.
fn due(a: &Activity, w: &mut Warnings) -> Option<DateTime<Utc>> {
    let date = w.parsed("due_date", text(a.due_date.as_deref())?, |d| NaiveDate::parse_from_str(d, "%Y-%m-%d"))?;
    let time = text(a.due_time.as_deref()).and_then(|t| {
        w.parsed("due_time", t, |t| {
            NaiveTime::parse_from_str(t, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
        })
    });
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    Some(date.and_time(time.unwrap_or(end_of_day)).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::UserDto;
    use crate::mapping::MapperSettings;
    use serde_json::json;
    use std::collections::BTreeMap;
    use zveno_connector::TaskStatus;

    const INN: &str = "10bb7c1dbf2e5b7f721354c231293e6c54722528";

    fn mapper() -> Mapper {
        Mapper::new(MapperSettings {
            connector: "pd".into(),
            tax_id_field: Some(INN.into()),
            region: Phone::region("RU").ok(),
            company_domain: Some("acme".into()),
            status_map: BTreeMap::new(),
        })
    }

    fn users() -> Users {
        Users::new([UserDto { id: 103, name: None, email: Some("am@example.com".into()), active_flag: Some(true) }])
    }

    #[test]
    fn an_organization_becomes_a_client() {
        let raw = json!({"id": 1, "name": " Zarya PJSC ", "owner_id": 103, "website": "https://www.zarya.ru/about",
            "address": {"value": "London EC1"}, "custom_fields": {INN: "5727053300"},
            "add_time": "2025-11-26T18:19:05Z", "update_time": "2026-09-21T14:10:48Z", "is_deleted": false});
        let record = mapper().read(Entity::Organizations, raw.clone(), &users()).unwrap();
        let Some(RecordData::Client(c)) = &record.data else { panic!("a client") };
        assert_eq!(c.name, "Zarya PJSC");
        assert_eq!(c.domains, [Domain::parse("zarya.ru").unwrap()]);
        assert_eq!(c.tax_id, TaxId::parse("5727053300", None).ok());
        assert_eq!(c.owner.as_deref(), Some("am@example.com"));
        assert_eq!((record.external_id.as_str(), record.raw == raw), ("1", true));
        assert_eq!(record.url.as_deref(), Some("https://acme.pipedrive.com/organization/1"));
        assert_eq!(record.updated_at.map(|t| t.to_rfc3339()), Some("2026-09-21T14:10:48+00:00".into()));
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    }

    #[test]
    fn bad_fields_are_dropped_with_warnings_and_the_record_kept() {
        let raw = json!({"id": 2, "name": "", "owner_id": 7, "website": "not a site", "custom_fields": {INN: "7707083890"},
            "update_time": "yesterday"});
        let record = mapper().read(Entity::Organizations, raw, &users()).unwrap();
        let Some(RecordData::Client(c)) = &record.data else { panic!("a client") };
        assert_eq!((c.domains.len(), c.tax_id.is_none(), c.owner.as_deref()), (0, true, Some("7")));
        assert_eq!(record.warnings.len(), 4, "{:?}", record.warnings);
        let numeric = json!({"id": 3, "name": "X", "custom_fields": {INN: 5727053300u64}});
        let Some(RecordData::Client(c)) = mapper().read(Entity::Organizations, numeric, &users()).unwrap().data else {
            panic!("a client")
        };
        assert!(c.tax_id.is_some());
    }

    #[test]
    fn a_person_keeps_every_email_and_phone_primary_first() {
        let raw = json!({"id": 3, "name": "Ann Lee", "owner_id": 103, "org_id": 1,
            "emails": [{"value": "ann@home.example", "primary": false, "label": "home"},
                       {"value": "ANN@ACME.COM", "primary": true, "label": "work"},
                       {"value": "not-an-email", "primary": false}],
            "phones": [{"value": "8 (495) 123-45-67", "primary": true, "label": "work"}]});
        let record = mapper().read(Entity::Persons, raw, &users()).unwrap();
        let Some(RecordData::Contact(c)) = &record.data else { panic!("a contact") };
        let emails: Vec<String> = c.emails.iter().map(ToString::to_string).collect();
        assert_eq!(emails, ["ann@acme.com", "ann@home.example"]);
        assert_eq!(c.phones.len(), 1);
        assert_eq!(c.client_ids, ["1"]);
        assert_eq!(record.warnings.len(), 1);
        let nameless = json!({"id": 4, "first_name": "Ann", "last_name": null});
        let Some(RecordData::Contact(c)) = mapper().read(Entity::Persons, nameless, &users()).unwrap().data else {
            panic!("a contact")
        };
        assert_eq!(c.name, "Ann");
    }

    #[test]
    fn an_activity_becomes_a_task_with_its_links_and_due_moment() {
        let raw = json!({"id": 5, "subject": "Call about renewal", "type": "call", "owner_id": 103,
            "creator_user_id": 9, "org_id": 7, "person_id": 6, "deal_id": 5, "due_date": "2026-09-30",
            "due_time": "14:00", "done": true, "marked_as_done_time": "2026-09-30T15:30:00Z",
            "note": "<p>Prepare&nbsp;<b>pricing</b></p>"});
        let record = mapper().read(Entity::Activities, raw, &users()).unwrap();
        let Some(RecordData::Task(t)) = &record.data else { panic!("a task") };
        assert_eq!((t.status, t.title.as_str()), (TaskStatus::Done, "Call about renewal"));
        assert_eq!(t.due.map(|d| d.to_rfc3339()), Some("2026-09-30T14:00:00+00:00".into()));
        assert_eq!(t.resolved_at.map(|d| d.to_rfc3339()), Some("2026-09-30T15:30:00+00:00".into()));
        assert_eq!(t.clients, [ClientRef::External("7".into())]);
        assert_eq!(
            (t.contact_ids.as_slice(), t.labels.as_slice()),
            (&["6".to_string()][..], &["call".to_string()][..])
        );
        assert_eq!((t.assignee.as_deref(), t.reporter.as_deref()), (Some("am@example.com"), Some("9")));
        assert_eq!(t.description.as_deref(), Some("Prepare pricing"));
        assert_eq!(record.url, None);
        let open = json!({"id": 6, "subject": "Later", "due_date": "2026-10-01", "done": false});
        let Some(RecordData::Task(t)) = mapper().read(Entity::Activities, open, &users()).unwrap().data else {
            panic!("a task")
        };
        assert_eq!(t.status, TaskStatus::Todo);
        assert_eq!(t.due.map(|d| d.to_rfc3339()), Some("2026-10-01T23:59:59+00:00".into()));
    }

    #[test]
    fn the_status_table_is_overridable() {
        let m = Mapper::new(MapperSettings {
            status_map: BTreeMap::from([("open".to_string(), TaskStatus::InProgress)]),
            ..MapperSettings::default()
        });
        assert_eq!((m.status(false), m.status(true)), (TaskStatus::InProgress, TaskStatus::Done));
        assert!(m.is_done(TaskStatus::Done) && m.is_done(TaskStatus::Cancelled));
        assert!(!m.is_done(TaskStatus::InProgress) && !m.is_done(TaskStatus::Todo));
    }

    #[test]
    fn unreadable_records_are_errors_naming_the_id_and_deleted_ones_tombstones() {
        let err = mapper().read(Entity::Persons, json!({"id": 9, "owner_id": "x"}), &users()).unwrap_err();
        assert_eq!(err.external_id.as_deref(), Some("9"));
        let gone = mapper()
            .read(
                Entity::Organizations,
                json!({"id": 4, "is_deleted": true, "update_time": "2026-01-01T00:00:00Z"}),
                &users(),
            )
            .unwrap();
        assert!(gone.deleted && gone.data.is_none());
    }
}
