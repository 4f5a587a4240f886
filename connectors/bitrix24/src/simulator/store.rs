//! The simulated portal's data, seeded from a `zveno-sim` [`SystemData`], and the write
//! rules of its add/update methods.
//!
//! Seeding turns the world's plain records into Bitrix24's: phones, e-mails and websites
//! become multi-field entries with portal-wide entry ids (phone types alternating `WORK` and
//! `MOBILE`, as users file them); a company's INN becomes a requisite (`RQ_INN`, or `RQ_VAT_ID`
//! for non-Russian ids) and is also kept in a `UF_CRM_INN` user field, as some portals do; task
//! links become `UF_CRM_TASK` entries `CO_<id>` and `C_<id>`.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound as _, Utc};
use serde_json::{Map, Value};
use zveno_connector::{Priority, TaskStatus};
use zveno_sim::world::SystemData;

use super::entities::{Company, Contact, Multi, Requisite, Task, User};
use super::listing::parse_time;
use super::params::{elements, scalar_text};

/// The user field seeded with each company's INN.
pub const INN_USER_FIELD: &str = "UF_CRM_INN";

/// Everything the portal holds.
#[derive(Debug, Default)]
pub struct Store {
    /// Companies by id.
    pub companies: BTreeMap<u64, Company>,
    /// Contacts by id.
    pub contacts: BTreeMap<u64, Contact>,
    /// Requisites by id.
    pub requisites: BTreeMap<u64, Requisite>,
    /// Tasks by id.
    pub tasks: BTreeMap<u64, Task>,
    /// Users by id.
    pub users: BTreeMap<u64, User>,
    pub(super) next_multi: u64,
}

/// The Bitrix24 status code of a common status (cancelled: deferred, the closest state).
pub fn status_code(status: TaskStatus) -> i64 {
    match status {
        TaskStatus::Todo => 2,
        TaskStatus::InProgress => 3,
        TaskStatus::Done => 5,
        TaskStatus::Cancelled => 6,
    }
}

fn priority_code(priority: Priority) -> i64 {
    match priority {
        Priority::Low => 0,
        Priority::Medium => 1,
        Priority::High | Priority::Urgent => 2,
    }
}

/// Bitrix24 keeps datetimes to the second.
fn second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(chrono::TimeDelta::seconds(1)).unwrap_or(at)
}

fn next_id<T>(table: &BTreeMap<u64, T>) -> u64 {
    table.keys().next_back().map_or(1, |id| id + 1)
}

impl Store {
    /// The portal holding `data`.
    pub fn seed(data: &SystemData) -> Self {
        let mut store = Self::default();
        for u in &data.users {
            store.users.insert(
                u.id,
                User { id: u.id, name: u.first_name.clone(), last_name: u.last_name.clone(), email: u.email.clone() },
            );
        }
        for c in &data.companies {
            let mut multi = BTreeMap::new();
            let phones: Vec<(String, String)> = c
                .phones
                .iter()
                .enumerate()
                .map(|(i, p)| (if i % 2 == 0 { "WORK" } else { "MOBILE" }.to_string(), p.clone()))
                .collect();
            multi.insert("PHONE".to_string(), store.entries(phones));
            let emails = c.emails.iter().map(|e| ("WORK".to_string(), e.clone())).collect();
            multi.insert("EMAIL".to_string(), store.entries(emails));
            let web = c.website.iter().map(|w| ("WORK".to_string(), w.clone())).collect();
            multi.insert("WEB".to_string(), store.entries(web));
            let inn = c.tax_id.clone().unwrap_or_default();
            store.companies.insert(
                c.id,
                Company {
                    id: c.id,
                    title: c.name.clone(),
                    assigned_by: c.owner_id.unwrap_or(0),
                    created: second(c.created_at),
                    modified: second(c.updated_at),
                    multi,
                    originator: None,
                    origin: None,
                    user_fields: BTreeMap::from([(INN_USER_FIELD.to_string(), inn.clone())]),
                    corrupt: false,
                },
            );
            if !inn.is_empty() {
                store.add_requisite(c.id, &c.name, &inn, second(c.updated_at));
            }
        }
        for p in &data.contacts {
            let mut multi = BTreeMap::new();
            let phones = p.phones.iter().map(|v| ("MOBILE".to_string(), v.clone())).collect();
            multi.insert("PHONE".to_string(), store.entries(phones));
            let emails = p.emails.iter().map(|v| ("WORK".to_string(), v.clone())).collect();
            multi.insert("EMAIL".to_string(), store.entries(emails));
            store.contacts.insert(
                p.id,
                Contact {
                    id: p.id,
                    name: p.first_name.clone(),
                    last_name: p.last_name.clone(),
                    company_id: p.company_id.unwrap_or(0),
                    assigned_by: p.owner_id.unwrap_or(0),
                    created: second(p.created_at),
                    modified: second(p.updated_at),
                    multi,
                    corrupt: false,
                },
            );
        }
        for t in &data.tasks {
            let mut crm: Vec<String> = t.company_id.map(|id| format!("CO_{id}")).into_iter().collect();
            crm.extend(t.contact_id.map(|id| format!("C_{id}")));
            let status = status_code(t.status);
            store.tasks.insert(
                t.id,
                Task {
                    id: t.id,
                    title: t.title.clone(),
                    description: t.description.clone().unwrap_or_default(),
                    status,
                    priority: priority_code(t.priority),
                    responsible: t.assignee_id.unwrap_or(1),
                    created_by: t.reporter_id.unwrap_or(1),
                    deadline: t.due.map(second),
                    created: second(t.created_at),
                    changed: second(t.updated_at),
                    closed: (status == 5).then_some(second(t.updated_at)),
                    crm,
                    tags: t.labels.clone(),
                    xml_id: None,
                    corrupt: false,
                },
            );
        }
        store
    }

    fn entries(&mut self, values: Vec<(String, String)>) -> Vec<Multi> {
        values
            .into_iter()
            .map(|(value_type, value)| {
                self.next_multi += 1;
                Multi { id: self.next_multi, value_type, value }
            })
            .collect()
    }

    /// Adds a requisite to company `company` (`RQ_INN` for a 10/12-digit id, else
    /// `RQ_VAT_ID`); returns its id.
    pub fn add_requisite(&mut self, company: u64, name: &str, tax_id: &str, at: DateTime<Utc>) -> u64 {
        let id = next_id(&self.requisites);
        let russian = tax_id.chars().all(|c| c.is_ascii_digit()) && matches!(tax_id.len(), 10 | 12);
        let (inn, vat_id) =
            if russian { (tax_id.to_string(), String::new()) } else { (String::new(), tax_id.to_string()) };
        self.requisites.insert(
            id,
            Requisite { id, entity_type: 4, entity_id: company, name: name.to_string(), inn, vat_id, modified: at },
        );
        id
    }

    /// `crm.company.add`: the new company's id.
    pub fn add_company(&mut self, fields: &Map<String, Value>, now: DateTime<Utc>) -> u64 {
        let id = next_id(&self.companies);
        let mut company = Company {
            id,
            title: String::new(),
            assigned_by: 1,
            created: now,
            modified: now,
            multi: BTreeMap::new(),
            originator: None,
            origin: None,
            user_fields: BTreeMap::new(),
            corrupt: false,
        };
        self.apply_company(&mut company, fields, now);
        self.companies.insert(id, company);
        id
    }

    /// `crm.company.update`; `false` when the company does not exist.
    pub fn update_company(&mut self, id: u64, fields: &Map<String, Value>, now: DateTime<Utc>) -> bool {
        let Some(mut company) = self.companies.remove(&id) else {
            return false;
        };
        self.apply_company(&mut company, fields, now);
        self.companies.insert(id, company);
        true
    }

    fn apply_company(&mut self, company: &mut Company, fields: &Map<String, Value>, now: DateTime<Utc>) {
        for (key, value) in fields {
            let key = key.to_ascii_uppercase();
            match key.as_str() {
                "TITLE" => company.title = scalar_text(value).unwrap_or_default(),
                "ASSIGNED_BY_ID" => {
                    company.assigned_by = scalar_text(value).and_then(|v| v.parse().ok()).unwrap_or(company.assigned_by)
                }
                "ORIGINATOR_ID" => company.originator = scalar_text(value),
                "ORIGIN_ID" => company.origin = scalar_text(value),
                "PHONE" | "EMAIL" | "WEB" | "IM" => {
                    let entries = company.multi.remove(&key).unwrap_or_default();
                    let updated = self.apply_multi(entries, value);
                    company.multi.insert(key, updated);
                }
                uf if uf.starts_with("UF_") => {
                    company.user_fields.insert(key.clone(), scalar_text(value).unwrap_or_default());
                }
                // Unknown fields are ignored, as the portal does.
                _ => {}
            }
        }
        company.modified = now;
    }

    /// The multi-field write rules: an entry with `ID` and a `VALUE` changes that entry; with
    /// `DELETE: "Y"`, an empty `VALUE` or nothing but its `ID` it deletes it; an entry without
    /// `ID` is added; entries not mentioned stay.
    fn apply_multi(&mut self, mut entries: Vec<Multi>, value: &Value) -> Vec<Multi> {
        for item in elements(value) {
            let get = |k: &str| item.get(k).and_then(scalar_text);
            let id = get("ID").and_then(|v| v.parse::<u64>().ok());
            let new_value = get("VALUE").filter(|v| !v.trim().is_empty());
            let delete = get("DELETE").is_some_and(|d| d.eq_ignore_ascii_case("Y"));
            match (id, new_value) {
                (Some(id), Some(v)) if !delete => {
                    if let Some(entry) = entries.iter_mut().find(|e| e.id == id) {
                        entry.value = v;
                        if let Some(t) = get("VALUE_TYPE") {
                            entry.value_type = t;
                        }
                    }
                }
                (Some(id), _) => entries.retain(|e| e.id != id),
                (None, Some(v)) => {
                    let value_type = get("VALUE_TYPE").unwrap_or_else(|| "WORK".to_string());
                    entries.extend(self.entries(vec![(value_type, v)]));
                }
                (None, None) => {}
            }
        }
        entries
    }

    /// `tasks.task.add` / `tasks.task.update` field rules; an error is the `ERROR_CORE`
    /// description the portal gives.
    pub fn apply_task(
        &self,
        task: &mut Task,
        fields: &Map<String, Value>,
        now: DateTime<Utc>,
        offset: chrono::FixedOffset,
    ) -> Result<(), String> {
        for (key, value) in fields {
            let text = scalar_text(value);
            match key.to_ascii_uppercase().as_str() {
                "TITLE" => task.title = text.unwrap_or_default(),
                "DESCRIPTION" => task.description = text.unwrap_or_default(),
                "RESPONSIBLE_ID" => {
                    let id = text.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                    if !self.users.contains_key(&id) {
                        return Err("The user specified in the \"Responsible\" field was not found<br>".into());
                    }
                    task.responsible = id;
                }
                "CREATED_BY" => task.created_by = text.and_then(|v| v.parse().ok()).unwrap_or(task.created_by),
                "STATUS" => {
                    let code = text.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
                    if !(2..=6).contains(&code) {
                        return Err("Invalid status<br>".into());
                    }
                    task.closed = (code == 5).then_some(now);
                    task.status = code;
                }
                "PRIORITY" => task.priority = text.and_then(|v| v.parse().ok()).unwrap_or(task.priority),
                "DEADLINE" => task.deadline = text.and_then(|v| parse_time(&v, offset)),
                "UF_CRM_TASK" => task.crm = elements(value).into_iter().filter_map(scalar_text).collect(),
                "TAGS" => task.tags = elements(value).into_iter().filter_map(scalar_text).collect(),
                "XML_ID" => task.xml_id = text.filter(|t| !t.is_empty()),
                _ => {}
            }
        }
        task.changed = now;
        Ok(())
    }

    /// A new task with defaults, before its fields are applied.
    pub fn blank_task(&self, now: DateTime<Utc>) -> Task {
        Task {
            id: next_id(&self.tasks),
            title: String::new(),
            description: String::new(),
            status: 2,
            priority: 1,
            responsible: 0,
            created_by: 1,
            deadline: None,
            created: now,
            changed: now,
            closed: None,
            crm: Vec::new(),
            tags: Vec::new(),
            xml_id: None,
            corrupt: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn multi_field_updates_follow_the_entry_id_rules() {
        let mut store = Store::default();
        let fields = json!({"TITLE": "ООО «Ромашка»", "PHONE": [
            {"VALUE": "+74951234567", "VALUE_TYPE": "WORK"},
            {"VALUE": "+79161234567", "VALUE_TYPE": "MOBILE"},
            {"VALUE": "+74950000000", "VALUE_TYPE": "FAX"}
        ]});
        let id = store.add_company(fields.as_object().unwrap_or(&Map::new()), now());
        let update = json!({"PHONE": {
            "0": {"ID": "1", "VALUE": "+74957654321", "VALUE_TYPE": "WORK"},
            "1": {"ID": "2", "DELETE": "Y"},
            "2": {"ID": "3"},
            "3": {"VALUE": "+74951112233"}
        }, "NOT_A_FIELD": "ignored"});
        assert!(store.update_company(id, update.as_object().unwrap_or(&Map::new()), now()));
        let phones: Vec<(u64, String)> =
            store.companies[&id].multi["PHONE"].iter().map(|m| (m.id, m.value.clone())).collect();
        assert_eq!(phones, [(1, "+74957654321".into()), (4, "+74951112233".into())]);
        assert!(!store.update_company(999, &Map::new(), now()));
    }
}
