//! `crm.contact.list` rows → contacts.
//!
//! The client link is `COMPANY_ID`, the contact's main company. The list method does not
//! return `COMPANY_IDS` (further companies), so those are not synced (vendor note §3.3).

use serde_json::Value;
use zveno_connector::{Contact, RecordData, RecordError, SourceRecord};

use super::fields::{emails, phones};
use super::{datetime, identity_text, object, record_id, show, MapContext};
use crate::dto::{field, id_of, number_of, Field};

/// Maps one contact row.
pub fn contact(row: Value, ctx: &MapContext<'_>) -> Result<SourceRecord, RecordError> {
    let record = object(&row)?;
    let id = record_id(record, "ID")?;
    let parts = [
        identity_text(record, "NAME", id)?,
        identity_text(record, "SECOND_NAME", id)?,
        identity_text(record, "LAST_NAME", id)?,
    ];
    let name = parts.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join(" ");
    let mut warnings = Vec::new();
    let client_ids = match field(record, "COMPANY_ID") {
        Field::Missing | Field::Empty => Vec::new(),
        _ => match id_of(record.get("COMPANY_ID")) {
            Some(company) => vec![company.to_string()],
            None if number_of(record.get("COMPANY_ID")) == Some(0) => Vec::new(),
            None => {
                warnings.push(format!("COMPANY_ID: not a company id: {}", show(record.get("COMPANY_ID"))));
                Vec::new()
            }
        },
    };
    let contact = Contact {
        name,
        emails: emails(record, &mut warnings),
        phones: phones(record, ctx, &mut warnings),
        client_ids,
        owner: ctx.person(record, "ASSIGNED_BY_ID", &mut warnings),
    };
    let created = datetime(record, "DATE_CREATE", &mut warnings);
    let updated = datetime(record, "DATE_MODIFY", &mut warnings);
    let mut source = SourceRecord::new(ctx.connector, id.to_string(), RecordData::Contact(contact), row)
        .with_times(created, updated)
        .with_url(ctx.link(&format!("/crm/contact/details/{id}/")));
    source.warnings = warnings;
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{context, people, portal};
    use super::*;
    use crate::config::StatusTable;
    use serde_json::json;

    fn map(row: &Value) -> Result<SourceRecord, RecordError> {
        let (portal, people, statuses) = (portal(), people(), StatusTable::default());
        contact(row.clone(), &context(&portal, &people, &statuses))
    }

    fn data(record: &SourceRecord) -> Contact {
        match &record.data {
            Some(RecordData::Contact(c)) => c.clone(),
            other => panic!("not a contact: {other:?}"),
        }
    }

    #[test]
    fn a_contact_gets_its_full_name_company_and_channels() {
        let record = map(&json!({
            "ID": "75", "NAME": "Анастасия", "SECOND_NAME": "Петровна", "LAST_NAME": "Ильина",
            "COMPANY_ID": "2919", "ASSIGNED_BY_ID": "6",
            "DATE_CREATE": "2024-02-26T00:00:00+03:00", "DATE_MODIFY": "2024-02-27T10:00:00+03:00",
            "EMAIL": [{"ID": "215", "VALUE_TYPE": "WORK", "VALUE": "A.Ilyina@Romashka.ru", "TYPE_ID": "EMAIL"}],
            "PHONE": [{"ID": "216", "VALUE_TYPE": "MOBILE", "VALUE": "8-916-123-45-67", "TYPE_ID": "PHONE"}]
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let c = data(&record);
        assert_eq!(c.name, "Анастасия Петровна Ильина");
        assert_eq!(c.client_ids, ["2919"]);
        assert_eq!(c.emails.first().map(|e| e.as_str()), Some("a.ilyina@romashka.ru"));
        assert_eq!(c.phones.first().map(|p| p.as_str()), Some("+79161234567"));
        assert_eq!(c.owner.as_deref(), Some("6"), "unknown users fall back to their id");
        assert_eq!(record.url.as_deref(), Some("https://romashka.bitrix24.ru/crm/contact/details/75/"));
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    }

    #[test]
    fn no_company_and_missing_fields_are_fine() {
        let record = map(&json!({"ID": "76", "NAME": "Ivan", "COMPANY_ID": "0", "ASSIGNED_BY_ID": null}))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let c = data(&record);
        assert_eq!(c.name, "Ivan");
        assert!(c.client_ids.is_empty() && c.owner.is_none() && record.warnings.is_empty());
    }

    #[test]
    fn a_malformed_name_is_a_record_error() {
        let err = map(&json!({"ID": "77", "NAME": {"first": "Ivan"}})).err();
        assert_eq!(err.and_then(|e| e.external_id), Some("77".into()));
    }
}
