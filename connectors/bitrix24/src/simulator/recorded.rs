//! Seeding the simulated portal from recorded list rows (`{"companies": [...],
//! "requisites": [...], "contacts": [...], "tasks": [...]}` as `crm.company.list`,
//! `crm.requisite.list`, `crm.contact.list` and `tasks.task.list` answer), so a labelled
//! world made elsewhere is served as it was recorded: titles, names and multi-field entries
//! (`PHONE`/`EMAIL`/`WEB`/`IM`, with their entry ids and types) verbatim, every `UF_*`
//! field, requisites with their own `DATE_MODIFY`, and tasks with their `ufCrmTask` links.
//! Fields the simulator does not model (`COMPANY_TYPE`, `RQ_KPP`, ...) are not served.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use serde_json::Value;
use zveno_sim::kit::recorded::{rows, text, RecordedError, Row};

use super::entities::{Company, Contact, Multi, Requisite, Task, User};
use super::listing::parse_time;
use super::store::Store;

const MULTI_FIELDS: [&str; 4] = ["PHONE", "EMAIL", "WEB", "IM"];

impl Store {
    /// A portal holding the recorded rows of `responses`; wall-clock times without an offset
    /// are read in the portal's `offset`.
    pub fn from_recorded(responses: &Value, offset: FixedOffset) -> Result<Self, RecordedError> {
        let mut store = Store::default();
        let time = |row: &Row<'_>, name: &str| row.time(name, |t| parse_time(t, offset));
        let optional_time = |row: &Row<'_>, name: &str| row.text(name).and_then(|t| parse_time(&t, offset));
        for row in rows(responses, "users") {
            let id = row.id("ID")?;
            let text = |name: &str| row.text(name).unwrap_or_default();
            store.users.insert(id, User { id, name: text("NAME"), last_name: text("LAST_NAME"), email: text("EMAIL") });
        }
        for row in rows(responses, "companies") {
            let id = row.id("ID")?;
            let user_fields = row.value.as_object().into_iter().flatten().filter(|(k, _)| k.starts_with("UF_"));
            let company = Company {
                id,
                title: row.text("TITLE").unwrap_or_default(),
                assigned_by: row.id("ASSIGNED_BY_ID").unwrap_or(0),
                created: time(&row, "DATE_CREATE")?,
                modified: time(&row, "DATE_MODIFY")?,
                multi: store.multi(&row)?,
                originator: row.text("ORIGINATOR_ID"),
                origin: row.text("ORIGIN_ID"),
                user_fields: user_fields.map(|(k, v)| (k.clone(), text(v).unwrap_or_default())).collect(),
                corrupt: false,
            };
            store.companies.insert(id, company);
        }
        for row in rows(responses, "requisites") {
            let id = row.id("ID")?;
            let requisite = Requisite {
                id,
                entity_type: row
                    .id("ENTITY_TYPE_ID")?
                    .try_into()
                    .map_err(|_| row.error("`ENTITY_TYPE_ID` too large"))?,
                entity_id: row.id("ENTITY_ID")?,
                name: row.text("NAME").unwrap_or_default(),
                inn: row.text("RQ_INN").unwrap_or_default(),
                vat_id: row.text("RQ_VAT_ID").unwrap_or_default(),
                modified: time(&row, "DATE_MODIFY")?,
            };
            store.requisites.insert(id, requisite);
        }
        for row in rows(responses, "contacts") {
            let id = row.id("ID")?;
            let contact = Contact {
                id,
                name: row.text("NAME").unwrap_or_default(),
                last_name: row.text("LAST_NAME").unwrap_or_default(),
                company_id: row.id("COMPANY_ID").unwrap_or(0),
                assigned_by: row.id("ASSIGNED_BY_ID").unwrap_or(0),
                created: time(&row, "DATE_CREATE")?,
                modified: time(&row, "DATE_MODIFY")?,
                multi: store.multi(&row)?,
                corrupt: false,
            };
            store.contacts.insert(id, contact);
        }
        for row in rows(responses, "tasks") {
            let id = row.id("id")?;
            let list = |name: &str| -> Vec<String> {
                row.get(name).and_then(Value::as_array).into_iter().flatten().filter_map(text).collect()
            };
            let task = Task {
                id,
                title: row.text("title").unwrap_or_default(),
                description: row.text("description").unwrap_or_default(),
                status: row.id("status")?.try_into().map_err(|_| row.error("`status` too large"))?,
                priority: row.id("priority").ok().and_then(|p| p.try_into().ok()).unwrap_or(1),
                responsible: row.id("responsibleId").unwrap_or(0),
                created_by: row.id("createdBy").unwrap_or(1),
                deadline: optional_time(&row, "deadline"),
                created: time(&row, "createdDate")?,
                changed: time(&row, "changedDate")?,
                closed: optional_time(&row, "closedDate"),
                crm: list("ufCrmTask"),
                tags: list("tags"),
                xml_id: row.text("xmlId"),
                corrupt: false,
            };
            store.tasks.insert(id, task);
        }
        Ok(store)
    }

    /// A row's multi-field entries, keeping their ids (new entries get ids above them all).
    fn multi(&mut self, row: &Row<'_>) -> Result<BTreeMap<String, Vec<Multi>>, RecordedError> {
        let mut out = BTreeMap::new();
        for field in MULTI_FIELDS {
            let Some(entries) = row.get(field).and_then(Value::as_array) else { continue };
            let mut kept = Vec::new();
            for entry in entries {
                let get = |k: &str| entry.get(k).and_then(text);
                let id = get("ID")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| row.error(format!("a {field} entry without an ID")))?;
                self.next_multi = self.next_multi.max(id);
                kept.push(Multi {
                    id,
                    value_type: get("VALUE_TYPE").unwrap_or_else(|| "WORK".into()),
                    value: get("VALUE").unwrap_or_default(),
                });
            }
            out.insert(field.to_string(), kept);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    #[test]
    fn recorded_rows_keep_entries_user_fields_requisites_and_task_links() {
        let responses = json!({
            "companies": [{"ID": "15", "TITLE": "Полюс Медиа", "ASSIGNED_BY_ID": "6", "UF_CRM_INN": "",
                "DATE_CREATE": "2025-04-18T00:09:10+03:00", "DATE_MODIFY": "2025-12-03T21:50:47+03:00",
                "PHONE": [{"ID": "27", "VALUE_TYPE": "WORK", "VALUE": "8 (812) 466-69-81", "TYPE_ID": "PHONE"}],
                "WEB": [{"ID": "29", "VALUE_TYPE": "WORK", "VALUE": "polyusmedia.com", "TYPE_ID": "WEB"}]}],
            "requisites": [{"ID": "10", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "15", "NAME": "Организация",
                "RQ_INN": "6873146629", "DATE_MODIFY": "2025-06-17T20:01:27+03:00"}],
            "tasks": [{"id": "2328", "title": "Провести демо", "status": "2", "priority": "2", "responsibleId": "5",
                "createdDate": "2026-04-02T11:33:46+03:00", "changedDate": "2026-04-19T09:03:43+03:00",
                "closedDate": null, "deadline": null, "ufCrmTask": ["CO_15"]}]
        });
        let offset = FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| panic!("offset"));
        let mut store = Store::from_recorded(&responses, offset).unwrap_or_else(|e| panic!("{e}"));
        let company = &store.companies[&15];
        assert_eq!(company.multi["PHONE"][0].value, "8 (812) 466-69-81");
        assert_eq!(company.user_fields.get("UF_CRM_INN").map(String::as_str), Some(""));
        assert_eq!(Some(company.modified), parse_time("2025-12-03T18:50:47Z", offset));
        assert_eq!((store.requisites[&10].entity_id, store.requisites[&10].inn.as_str()), (15, "6873146629"));
        assert_eq!(store.tasks[&2328].crm, ["CO_15"]);
        assert_eq!(store.tasks[&2328].deadline, None);
        // A new entry written later does not reuse a recorded entry id.
        let fields = json!({"PHONE": [{"VALUE": "+74951112233"}]});
        assert!(store.update_company(15, fields.as_object().unwrap_or(&serde_json::Map::new()), Utc::now()));
        assert_eq!(store.companies[&15].multi["PHONE"].iter().map(|m| m.id).collect::<Vec<_>>(), [27, 30]);

        let broken = json!({"contacts": [{"ID": "1", "DATE_CREATE": "never"}]});
        let e = Store::from_recorded(&broken, offset).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("recorded contacts[0]: `DATE_CREATE` is not a time"));
    }
}
