//! HubSpot records → [`SourceRecord`]s.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use zveno_connector::{
    Client, ClientRef, Contact, Domain, Email, Phone, RecordData, SourceRecord, Task, TaskStatus, TaxId,
};

use super::values::{html_to_text, parse_time, split_multi};
use super::{Mapper, Owners};
use crate::dto::object::Object;
use crate::dto::ObjectDto;

/// Collects field warnings while one record is mapped.
struct Fields<'a> {
    dto: &'a ObjectDto,
    warnings: Vec<String>,
}

impl<'a> Fields<'a> {
    fn text(&mut self, name: &str) -> Option<&'a str> {
        match self.dto.text(name) {
            Ok(v) => v,
            Err(why) => {
                self.warnings.push(format!("{name} dropped: {why}"));
                None
            }
        }
    }

    /// A property parsed with `parse`; a value that does not parse is dropped with a warning.
    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match parse(raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.warnings.push(format!("{name} {:?} dropped: {e}", clip(raw)));
                None
            }
        }
    }

    fn time(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let raw = self.text(name)?;
        self.parsed(name, raw, parse_time)
    }

    /// Every value of a multi-value property, parsed, invalid ones dropped with warnings.
    fn each<T: PartialEq, E: std::fmt::Display>(
        &mut self,
        name: &str,
        out: &mut Vec<T>,
        mut parse: impl FnMut(&str) -> Result<T, E>,
    ) {
        let Some(raw) = self.text(name) else {
            return;
        };
        for part in split_multi(raw) {
            if let Some(v) = self.parsed(name, part, &mut parse) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
    }
}

/// Long values are cut in warnings: a property can hold 64 KB.
fn clip(raw: &str) -> String {
    if raw.chars().count() > 60 {
        format!("{}…", raw.chars().take(60).collect::<String>())
    } else {
        raw.to_string()
    }
}

impl Mapper {
    /// Maps a live record. `raw` is the payload as received (associations canonicalised by
    /// [`canonical_raw`]); it is kept on the record for custom fields and hashed.
    pub fn read(&self, object: Object, dto: &ObjectDto, raw: Value, owners: &Owners) -> SourceRecord {
        let mut f = Fields { dto, warnings: dto.warnings.clone() };
        let data = match object {
            Object::Companies => RecordData::Client(self.client(&mut f, owners)),
            Object::Contacts => RecordData::Contact(self.contact(&mut f, owners)),
            Object::Tasks => RecordData::Task(self.task(&mut f, owners)),
        };
        let created = f.time(object.created_property()).or_else(|| envelope_time(dto.created_at.as_deref()));
        let updated = f.time(object.modified_property()).or_else(|| envelope_time(dto.updated_at.as_deref()));
        let mut record = SourceRecord::new(&self.connector, dto.id.clone(), data, raw).with_times(created, updated);
        if let Some(portal) = self.portal_id {
            record = record.with_url(object.deep_link(portal, &dto.id));
        }
        record.warnings = f.warnings;
        record
    }

    /// Maps an archived record (from an `archived=true` list) to a tombstone stamped with
    /// `archivedAt` (or `updatedAt` when HubSpot leaves it out).
    pub fn tombstone(&self, object: Object, dto: &ObjectDto) -> SourceRecord {
        let at = envelope_time(dto.archived_at.as_deref()).or_else(|| envelope_time(dto.updated_at.as_deref()));
        let mut record = SourceRecord::tombstone(&self.connector, object.kind(), dto.id.clone(), at);
        if let Some(portal) = self.portal_id {
            record = record.with_url(object.deep_link(portal, &dto.id));
        }
        record
    }

    fn owner(&self, f: &mut Fields<'_>, owners: &Owners) -> Option<String> {
        f.text("hubspot_owner_id").map(|id| owners.person(id))
    }

    fn client(&self, f: &mut Fields<'_>, owners: &Owners) -> Client {
        let name = f.text("name").map(str::to_string).unwrap_or_else(|| {
            f.warnings.push("name is empty".into());
            String::new()
        });
        let mut domains = Vec::new();
        f.each("domain", &mut domains, Domain::parse);
        f.each("website", &mut domains, Domain::parse);
        let mut phones = Vec::new();
        f.each("phone", &mut phones, |p| Phone::parse(p, self.region));
        let found: Vec<(String, TaxId)> = self
            .tax_id_properties
            .iter()
            .filter_map(|prop| {
                let raw = match f.dto.text_lenient(prop) {
                    Ok(v) => v,
                    Err(why) => {
                        f.warnings.push(format!("{prop} dropped: {why}"));
                        None
                    }
                }?;
                f.parsed(prop, &raw, |v| TaxId::parse(v, None)).map(|id| (prop.clone(), id))
            })
            .collect();
        let (tax_id, conflict) = TaxId::first_of(found);
        f.warnings.extend(conflict);
        Client { name, domains, emails: Vec::new(), phones, tax_id, owner: self.owner(f, owners) }
    }

    fn contact(&self, f: &mut Fields<'_>, owners: &Owners) -> Contact {
        let mut emails = Vec::new();
        f.each("email", &mut emails, Email::parse);
        f.each("hs_additional_emails", &mut emails, Email::parse);
        let mut phones = Vec::new();
        f.each("phone", &mut phones, |p| Phone::parse(p, self.region));
        f.each("mobilephone", &mut phones, |p| Phone::parse(p, self.region));
        let first = f.text("firstname").unwrap_or("");
        let last = f.text("lastname").unwrap_or("");
        let mut name = format!("{first} {last}").trim().to_string();
        if name.is_empty() {
            // A contact known only by e-mail is common (form submissions).
            name = emails.first().map(ToString::to_string).unwrap_or_default();
        }
        Contact { name, emails, phones, client_ids: associated(f.dto, Object::Companies), owner: self.owner(f, owners) }
    }

    fn task(&self, f: &mut Fields<'_>, owners: &Owners) -> Task {
        let title = f.text("hs_task_subject").map(str::to_string).unwrap_or_else(|| {
            f.warnings.push("hs_task_subject is empty".into());
            String::new()
        });
        let status_name = f.text("hs_task_status").map(str::to_string);
        let status = match status_name.as_deref() {
            None => TaskStatus::Todo,
            Some(raw) => self.statuses.read(raw).unwrap_or_else(|| {
                f.warnings.push(format!(
                    "hs_task_status {:?} is not in the status table; read as todo (add it to status_map)",
                    clip(raw)
                ));
                TaskStatus::Todo
            }),
        };
        let priority = match f.text("hs_task_priority") {
            None => None,
            Some(raw) if raw.eq_ignore_ascii_case("NONE") => None,
            Some(raw) => {
                let p = self.priorities.read(raw);
                if p.is_none() {
                    f.warnings.push(format!(
                        "hs_task_priority {:?} is not in the priority table; dropped (add it to priority_map)",
                        clip(raw)
                    ));
                }
                p
            }
        };
        let description = f.text("hs_task_body").map(html_to_text).filter(|d| !d.is_empty());
        Task {
            title,
            description,
            status,
            status_name,
            priority,
            assignee: self.owner(f, owners),
            reporter: None,
            due: f.time("hs_timestamp"),
            resolved_at: None,
            labels: Vec::new(),
            clients: associated(f.dto, Object::Companies).into_iter().map(ClientRef::External).collect(),
            contact_ids: associated(f.dto, Object::Contacts),
            labels_removed: Vec::new(),
        }
    }
}

fn envelope_time(raw: Option<&str>) -> Option<DateTime<Utc>> {
    raw.and_then(|r| parse_time(r).ok())
}

fn associated(dto: &ObjectDto, to: Object) -> Vec<String> {
    dto.associations.get(to.name()).cloned().unwrap_or_default()
}

/// The raw payload to keep and hash: the record as received, with `associations` in one
/// canonical shape (`{"companies": {"results": [{"id": "1"}]}}`, ids sorted) whether they
/// came inline from a list call or from the v4 batch read that follows a search, so the
/// same record hashes the same on both paths.
pub fn canonical_raw(mut raw: Value, dto: &ObjectDto) -> Value {
    if let Some(obj) = raw.as_object_mut() {
        if dto.associations.is_empty() {
            obj.remove("associations");
        } else {
            let canonical: serde_json::Map<String, Value> = dto
                .associations
                .iter()
                .map(|(object, ids)| {
                    let results: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
                    (object.clone(), json!({ "results": results }))
                })
                .collect();
            obj.insert("associations".into(), Value::Object(canonical));
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::OwnerDto;
    use crate::mapping::MapperSettings;
    use std::collections::BTreeMap;
    use zveno_connector::{Phone, Priority};

    fn mapper(tax: Option<&str>, region: Option<&str>) -> Mapper {
        Mapper::new(MapperSettings {
            connector: "crm".into(),
            tax_id_properties: tax.map(Into::into).into_iter().collect(),
            region: region.and_then(|r| Phone::region(r).ok()),
            portal_id: Some(62515),
            status_map: BTreeMap::from([("ON_HOLD".to_string(), TaskStatus::InProgress)]),
            priority_map: BTreeMap::new(),
        })
    }

    fn owners() -> Owners {
        Owners::new([OwnerDto {
            id: "64492917".into(),
            email: Some("am@example.com".into()),
            user_id: Some(9_586_504),
            first_name: None,
            last_name: None,
            owner_type: None,
            archived: false,
        }])
    }

    fn record(props: &Value) -> ObjectDto {
        let raw = json!({"id": "512", "properties": props,
            "createdAt": "2019-10-30T03:30:17.883Z", "updatedAt": "2024-09-13T20:23:03.333Z",
            "archived": false});
        match ObjectDto::parse(&raw) {
            Ok(dto) => dto,
            Err(e) => panic!("test record should parse: {e:?}"),
        }
    }

    fn client(m: &Mapper, props: &Value) -> (Client, Vec<String>) {
        let rec = m.read(Object::Companies, &record(props), Value::Null, &owners());
        match rec.data {
            Some(RecordData::Client(c)) => (c, rec.warnings),
            other => panic!("expected a client, got {other:?}"),
        }
    }

    fn contact(m: &Mapper, props: &Value) -> (Contact, Vec<String>) {
        let rec = m.read(Object::Contacts, &record(props), Value::Null, &owners());
        match rec.data {
            Some(RecordData::Contact(c)) => (c, rec.warnings),
            other => panic!("expected a contact, got {other:?}"),
        }
    }

    fn task(m: &Mapper, props: &Value) -> (Task, Vec<String>) {
        let rec = m.read(Object::Tasks, &record(props), Value::Null, &owners());
        match rec.data {
            Some(RecordData::Task(t)) => (t, rec.warnings),
            other => panic!("expected a task, got {other:?}"),
        }
    }

    fn strings<T: ToString>(items: &[T]) -> Vec<String> {
        items.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn companies_map_with_every_field() {
        let m = mapper(Some("inn"), Some("RU"));
        let (c, warnings) = client(
            &m,
            &json!({"name": "ООО «Ромашка»", "domain": "romashka.ru", "website": "https://www.romashka.ru/",
                   "phone": "8 (495) 123-45-67", "hubspot_owner_id": "64492917", "inn": "7707083893",
                   "createdate": "1572480000000", "hs_lastmodifieddate": "2024-09-13T20:23:03.333Z"}),
        );
        assert_eq!(c.name, "ООО «Ромашка»");
        assert_eq!(strings(&c.domains), ["romashka.ru"]);
        assert_eq!(strings(&c.phones), ["+74951234567"]);
        assert_eq!(c.tax_id.map(|t| t.to_string()), Some("7707083893".into()));
        assert_eq!(c.owner.as_deref(), Some("am@example.com"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn messy_company_fields_are_dropped_with_warnings_never_the_record() {
        let m = mapper(Some("inn"), None);
        // (properties, expected domains, expected phones, tax id, warning fragments)
        type Case<'a> = (Value, Vec<&'a str>, Vec<&'a str>, Option<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (json!({"name": "Acme"}), vec![], vec![], None, vec![]),
            (json!({"name": "Acme", "domain": "", "website": null, "phone": "   "}), vec![], vec![], None, vec![]),
            (
                json!({"name": "Acme", "domain": "not a domain", "website": "acme.com"}),
                vec!["acme.com"],
                vec![],
                None,
                vec!["domain \"not a domain\" dropped"],
            ),
            // national format without a default region: dropped, not guessed
            (
                json!({"name": "Acme", "phone": "8 (495) 123-45-67"}),
                vec![],
                vec![],
                None,
                vec!["phone \"8 (495) 123-45-67\" dropped"],
            ),
            (
                json!({"name": "Acme", "phone": "+1 (415) 555-2671;call me"}),
                vec![],
                vec!["+14155552671"],
                None,
                vec!["phone \"call me\" dropped"],
            ),
            (json!({"name": "Acme", "inn": "7707083894"}), vec![], vec![], None, vec!["inn \"7707083894\" dropped"]),
            (json!({"name": "Acme", "inn": 7707083893u64}), vec![], vec![], Some("7707083893"), vec![]),
            (json!({"name": "Acme", "inn": ["x"]}), vec![], vec![], None, vec!["inn dropped: an array"]),
            (json!({"name": 42}), vec![], vec![], None, vec!["name dropped: a number", "name is empty"]),
            (json!({"name": "Acme", "phone": {"n": 1}}), vec![], vec![], None, vec!["phone dropped: an object"]),
            (
                json!({"name": "Acme", "hs_lastmodifieddate": "yesterday"}),
                vec![],
                vec![],
                None,
                vec!["hs_lastmodifieddate \"yesterday\" dropped"],
            ),
        ];
        for (props, domains, phones, tax, fragments) in cases {
            let (c, warnings) = client(&m, &props);
            assert_eq!(strings(&c.domains), domains, "{props}");
            assert_eq!(strings(&c.phones), phones, "{props}");
            assert_eq!(c.tax_id.map(|t| t.to_string()).as_deref(), tax, "{props}");
            assert_eq!(warnings.len(), fragments.len(), "{props}: {warnings:?}");
            for fragment in fragments {
                assert!(warnings.iter().any(|w| w.contains(fragment)), "{props}: {fragment:?} not in {warnings:?}");
            }
        }
    }

    #[test]
    fn the_tax_id_is_read_only_when_configured() {
        let (c, warnings) = client(&mapper(None, None), &json!({"name": "A", "inn": "7707083893"}));
        assert_eq!(c.tax_id, None);
        assert!(warnings.is_empty());
    }

    #[test]
    fn several_tax_id_properties_are_read_and_the_first_valid_one_wins() {
        let m = Mapper::new(MapperSettings {
            connector: "crm".into(),
            tax_id_properties: vec!["inn".into(), "tax_number".into()],
            ..MapperSettings::default()
        });
        let (c, warnings) = client(&m, &json!({"name": "A", "inn": "", "tax_number": "7707083893"}));
        assert_eq!(c.tax_id.map(|t| t.to_string()), Some("7707083893".into()));
        assert!(warnings.is_empty(), "{warnings:?}");
        let (c, warnings) = client(&m, &json!({"name": "A", "inn": "500100732259", "tax_number": "7707083893"}));
        assert_eq!(c.tax_id.map(|t| t.to_string()), Some("500100732259".into()));
        assert_eq!(warnings, ["different tax ids: 7707083893 in tax_number; using 500100732259 of inn"]);
    }

    #[test]
    fn contacts_join_names_and_multi_values() {
        let m = mapper(None, Some("RU"));
        type Case<'a> = (Value, &'a str, Vec<&'a str>, Vec<&'a str>, usize);
        let cases: Vec<Case> = vec![
            (
                json!({"firstname": "Ann", "lastname": "Lee", "email": "Ann@Acme.com",
                    "hs_additional_emails": "ann.lee@acme.de;ann@acme.com; ", "phone": "+49 30 901820",
                    "mobilephone": "8 (495) 123-45-67"}),
                "Ann Lee",
                vec!["ann@acme.com", "ann.lee@acme.de"],
                vec!["+4930901820", "+74951234567"],
                0,
            ),
            (
                json!({"firstname": "Анна", "lastname": null, "email": "анна@почта.рф"}),
                "Анна",
                vec!["анна@почта.рф"],
                vec![],
                0,
            ),
            (
                json!({"firstname": "", "lastname": "  ", "email": "info@acme.com"}),
                "info@acme.com",
                vec!["info@acme.com"],
                vec![],
                0,
            ),
            (
                json!({"firstname": "José", "lastname": "Müller-Łukasz", "email": "not-an-email",
                    "hs_additional_emails": "x@y;ok@acme.com"}),
                "José Müller-Łukasz",
                vec!["ok@acme.com"],
                vec![],
                2,
            ),
            (json!({}), "", vec![], vec![], 0),
        ];
        for (props, name, emails, phones, warning_count) in cases {
            let (c, warnings) = contact(&m, &props);
            assert_eq!(c.name, name, "{props}");
            assert_eq!(strings(&c.emails), emails, "{props}");
            assert_eq!(strings(&c.phones), phones, "{props}");
            assert_eq!(warnings.len(), warning_count, "{props}: {warnings:?}");
        }
    }

    #[test]
    fn contacts_and_tasks_carry_their_associations() {
        let m = mapper(None, None);
        let raw = json!({"id": "9", "properties": {"hs_task_subject": "Call"},
            "associations": {"companies": {"results": [{"id": "512", "type": "task_to_company"}]},
                             "contacts": {"results": [{"id": "104901", "type": "task_to_contact"}]}}});
        let Ok(dto) = ObjectDto::parse(&raw) else {
            panic!("parses");
        };
        let rec = m.read(Object::Tasks, &dto, canonical_raw(raw.clone(), &dto), &owners());
        let Some(RecordData::Task(t)) = rec.data else {
            panic!("task expected");
        };
        assert_eq!(t.clients, vec![ClientRef::External("512".into())]);
        assert_eq!(t.contact_ids, vec!["104901".to_string()]);
        assert_eq!(rec.raw["associations"]["companies"]["results"], json!([{"id": "512"}]));
        let (c, _) = contact(&m, &json!({"email": "a@b.co"}));
        assert!(c.client_ids.is_empty());
    }

    #[test]
    fn task_statuses_priorities_and_dates_map_through_the_tables() {
        let m = mapper(None, None);
        // (status, priority, due, expected status, expected priority, due set, warnings)
        let cases: Vec<(Value, TaskStatus, Option<Priority>, bool, usize)> = vec![
            (
                json!({"hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH", "hs_timestamp": "2019-10-30T03:30:17.883Z"}),
                TaskStatus::Todo,
                Some(Priority::High),
                true,
                0,
            ),
            (
                json!({"hs_task_status": "WAITING", "hs_task_priority": "LOW", "hs_timestamp": "1572406217883"}),
                TaskStatus::InProgress,
                Some(Priority::Low),
                true,
                0,
            ),
            (json!({"hs_task_status": "COMPLETED", "hs_task_priority": "NONE"}), TaskStatus::Done, None, false, 0),
            (json!({"hs_task_status": "DEFERRED"}), TaskStatus::Cancelled, None, false, 0),
            (json!({"hs_task_status": "on_hold"}), TaskStatus::InProgress, None, false, 0),
            (
                json!({"hs_task_status": "SOMETHING_NEW", "hs_task_priority": "CRITICAL", "hs_timestamp": "soon"}),
                TaskStatus::Todo,
                None,
                false,
                3,
            ),
            (json!({}), TaskStatus::Todo, None, false, 0),
        ];
        for (mut props, status, priority, due, warning_count) in cases {
            props["hs_task_subject"] = json!("Follow-up");
            let (t, warnings) = task(&m, &props);
            assert_eq!(t.status, status, "{props}");
            assert_eq!(t.priority, priority, "{props}");
            assert_eq!(t.due.is_some(), due, "{props}");
            assert_eq!(warnings.len(), warning_count, "{props}: {warnings:?}");
        }
    }

    #[test]
    fn tasks_keep_the_vendor_status_name_and_plain_text_body() {
        let (t, _) = task(
            &mapper(None, None),
            &json!({"hs_task_subject": "Позвонить", "hs_task_status": "WAITING",
                   "hs_task_body": "<p>Send <b>proposal</b></p>", "hubspot_owner_id": "999"}),
        );
        assert_eq!(t.title, "Позвонить");
        assert_eq!(t.status_name.as_deref(), Some("WAITING"));
        assert_eq!(t.description.as_deref(), Some("Send proposal"));
        // An owner missing from the directory stays visible as its id.
        assert_eq!(t.assignee.as_deref(), Some("999"));
        let (untitled, warnings) = task(&mapper(None, None), &json!({"hs_task_body": "<p></p>"}));
        assert_eq!(untitled.description, None);
        assert_eq!(warnings, ["hs_task_subject is empty"]);
    }

    #[test]
    fn records_carry_times_links_and_a_stable_hash() {
        let m = mapper(None, None);
        let dto = record(&json!({"name": "Acme", "createdate": "2019-10-30T03:30:17.883Z"}));
        let raw = json!({"id": "512", "properties": {"name": "Acme"}});
        let rec = m.read(Object::Companies, &dto, raw.clone(), &owners());
        assert_eq!(rec.external_id, "512");
        assert_eq!(rec.url.as_deref(), Some("https://app.hubspot.com/contacts/62515/company/512"));
        assert_eq!(rec.created_at, parse_time("2019-10-30T03:30:17.883Z").ok());
        // No hs_lastmodifieddate property: the envelope's updatedAt is used.
        assert_eq!(rec.updated_at, parse_time("2024-09-13T20:23:03.333Z").ok());
        let again = m.read(Object::Companies, &dto, raw, &owners());
        assert_eq!(rec.payload_hash, again.payload_hash);
    }

    #[test]
    fn archived_records_become_tombstones() {
        let raw = json!({"id": "77", "properties": {}, "archived": true,
            "archivedAt": "2024-10-01T00:00:00.000Z", "updatedAt": "2024-09-01T00:00:00.000Z"});
        let Ok(dto) = ObjectDto::parse(&raw) else {
            panic!("parses");
        };
        let t = mapper(None, None).tombstone(Object::Contacts, &dto);
        assert!(t.deleted && t.data.is_none());
        assert_eq!(t.kind, zveno_connector::Kind::Contact);
        assert_eq!(t.updated_at, parse_time("2024-10-01T00:00:00.000Z").ok());
    }
}
