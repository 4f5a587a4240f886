//! `crm.company.list` rows (and their requisites) → clients.
//!
//! Companies carry no tax id of their own: it lives in requisites (`crm.requisite.list`,
//! `RQ_INN`, `RQ_VAT_ID`), which the connector reads alongside and passes in here, and on
//! many portals also in company user fields named by `tax_id_field`. Portals commonly keep
//! it in both places, some companies in one and some in the other, so every source is read:
//! the first valid tax id wins (requisites by ID, then the fields in configured order), and
//! sources that disagree leave a warning on the record. A wrong-checksum INN is dropped with
//! a warning rather than stored: a wrong tax id would veto a true match.

use serde_json::Value;
use zveno_connector::{Client, RecordData, RecordError, SourceRecord, TaxId};

use super::fields::{domains, emails, phones};
use super::{datetime, identity_text, object, record_id, text, MapContext};
use crate::dto::id_of;

/// Maps one company row. `requisites` are the company's requisite rows when they were read
/// (`None` when they were not); they are kept in the raw payload under `REQUISITES`.
pub fn company(row: Value, requisites: Option<&[Value]>, ctx: &MapContext<'_>) -> Result<SourceRecord, RecordError> {
    let record = object(&row)?;
    let id = record_id(record, "ID")?;
    let name = identity_text(record, "TITLE", id)?;
    let mut warnings = Vec::new();
    if name.is_empty() {
        warnings.push("TITLE: empty".to_string());
    }
    let mut found = requisites.map(|r| requisite_tax_ids(r, ctx.country, &mut warnings)).unwrap_or_default();
    for key in ctx.tax_id_fields {
        let parsed = text(record, key, &mut warnings).and_then(|raw| {
            TaxId::parse(&raw, Some(ctx.country)).map_err(|e| warnings.push(format!("{key}: {e}"))).ok()
        });
        found.extend(parsed.map(|id| (key.clone(), id)));
    }
    let (tax_id, conflict) = TaxId::first_of(found);
    warnings.extend(conflict);
    let client = Client {
        name,
        domains: domains(record, &mut warnings),
        emails: emails(record, &mut warnings),
        phones: phones(record, ctx, &mut warnings),
        tax_id,
        owner: ctx.person(record, "ASSIGNED_BY_ID", &mut warnings),
    };
    let created = datetime(record, "DATE_CREATE", &mut warnings);
    let updated = datetime(record, "DATE_MODIFY", &mut warnings);
    let mut raw = row;
    if let (Some(requisites), Some(map)) = (requisites, raw.as_object_mut()) {
        map.insert("REQUISITES".into(), Value::Array(requisites.to_vec()));
    }
    let mut source = SourceRecord::new(ctx.connector, id.to_string(), RecordData::Client(client), raw)
        .with_times(created, updated)
        .with_url(ctx.link(&format!("/crm/company/details/{id}/")));
    source.warnings = warnings;
    Ok(source)
}

/// The valid tax ids of a company's requisites, each named by where it came from, lowest
/// requisite ID first: per requisite its INN (`RQ_INN`), else its VAT id (`RQ_VAT_ID`).
fn requisite_tax_ids(requisites: &[Value], country: &str, warnings: &mut Vec<String>) -> Vec<(String, TaxId)> {
    let mut ordered: Vec<&Value> = requisites.iter().collect();
    ordered.sort_by_key(|r| id_of(r.get("ID")).unwrap_or(u64::MAX));
    let mut found = Vec::new();
    for requisite in &ordered {
        let rq_id = id_of(requisite.get("ID")).unwrap_or(0);
        for (key, scheme) in [("RQ_INN", Some(country)), ("RQ_VAT_ID", None)] {
            let Some(raw) = requisite.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty()) else {
                continue;
            };
            match TaxId::parse(raw, scheme) {
                Ok(id) => {
                    found.push((format!("requisite {rq_id}"), id));
                    break;
                }
                Err(e) => warnings.push(format!("requisite {rq_id} {key}: {e}")),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::{context, people, portal};
    use super::*;
    use crate::config::StatusTable;
    use serde_json::json;
    use zveno_connector::model::TaxScheme;

    fn client(record: &SourceRecord) -> Client {
        match &record.data {
            Some(RecordData::Client(c)) => c.clone(),
            other => panic!("not a client: {other:?}"),
        }
    }

    fn map(row: &Value, requisites: Option<&[Value]>) -> Result<SourceRecord, RecordError> {
        let (portal, people, statuses) = (portal(), people(), StatusTable::default());
        company(row.clone(), requisites, &context(&portal, &people, &statuses))
    }

    fn row() -> Value {
        json!({
            "ID": "2919",
            "TITLE": "ООО «Ромашка»",
            "COMPANY_TYPE": "CUSTOMER",
            "ASSIGNED_BY_ID": "3",
            "DATE_CREATE": "2024-03-11T16:36:46+03:00",
            "DATE_MODIFY": "2024-08-01T16:08:08+03:00",
            "PHONE": [
                {"ID": "8303", "VALUE_TYPE": "WORK", "VALUE": "8 (495) 123-45-67", "TYPE_ID": "PHONE"},
                {"ID": "8304", "VALUE_TYPE": "MOBILE", "VALUE": "+7 916 123-45-67", "TYPE_ID": "PHONE"},
                {"ID": "8305", "VALUE_TYPE": "FAX", "VALUE": "+7 (495) 123-45-67", "TYPE_ID": "PHONE"},
                {"ID": "8306", "VALUE_TYPE": "OTHER", "VALUE": "звонить после 10", "TYPE_ID": "PHONE"}
            ],
            "EMAIL": [
                {"ID": "8307", "VALUE_TYPE": "WORK", "VALUE": "Info@Romashka.RU", "TYPE_ID": "EMAIL"},
                {"ID": "8308", "VALUE_TYPE": "MAILING", "VALUE": "news@romashka.ru", "TYPE_ID": "EMAIL"}
            ],
            "WEB": [
                {"ID": "8309", "VALUE_TYPE": "WORK", "VALUE": "https://www.romashka.ru/", "TYPE_ID": "WEB"},
                {"ID": "8310", "VALUE_TYPE": "VK", "VALUE": "https://vk.com/romashka", "TYPE_ID": "WEB"},
                {"ID": "8311", "VALUE_TYPE": "HOME", "VALUE": "ромашка.рф", "TYPE_ID": "WEB"}
            ]
        })
    }

    #[test]
    fn a_company_with_several_values_of_several_types_maps_fully() {
        let record = map(&row(), Some(&[])).unwrap_or_else(|e| panic!("{e:?}"));
        let c = client(&record);
        assert_eq!(c.name, "ООО «Ромашка»");
        let phones: Vec<&str> = c.phones.iter().map(|p| p.as_str()).collect();
        assert_eq!(phones, ["+74951234567", "+79161234567"], "fax duplicate merged");
        let emails: Vec<&str> = c.emails.iter().map(|e| e.as_str()).collect();
        assert_eq!(emails, ["info@romashka.ru", "news@romashka.ru"]);
        let domains: Vec<&str> = c.domains.iter().map(|d| d.as_str()).collect();
        assert_eq!(domains, ["romashka.ru", "xn--80aa3agjl3d.xn--p1ai"], "VK page is not a domain");
        assert_eq!(c.owner.as_deref(), Some("anna@romashka.ru"));
        assert_eq!(c.tax_id, None, "no requisites, no tax id");
        assert_eq!(record.warnings.len(), 1, "the unparseable phone: {:?}", record.warnings);
        assert_eq!(record.url.as_deref(), Some("https://romashka.bitrix24.ru/crm/company/details/2919/"));
        assert_eq!(record.updated_at.map(|t| t.to_rfc3339()), Some("2024-08-01T13:08:08+00:00".into()));
        assert_eq!(record.raw["REQUISITES"], json!([]));
    }

    #[test]
    fn missing_selects_give_empty_lists_not_errors() {
        let record = map(&json!({"ID": "5", "TITLE": "ИП Иванов И. И."}), None).unwrap_or_else(|e| panic!("{e:?}"));
        let c = client(&record);
        assert!(c.phones.is_empty() && c.emails.is_empty() && c.domains.is_empty());
        assert!(c.owner.is_none() && record.updated_at.is_none());
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
        assert!(record.raw.get("REQUISITES").is_none());
    }

    #[test]
    fn the_inn_comes_from_the_first_requisite_that_has_a_valid_one() {
        let requisites = [
            json!({"ID": "12", "ENTITY_ID": "2919", "RQ_INN": "7707083893", "RQ_VAT_ID": ""}),
            json!({"ID": "10", "ENTITY_ID": "2919", "RQ_INN": "7707083894"}),
            json!({"ID": "11", "ENTITY_ID": "2919", "RQ_INN": ""}),
        ];
        let record = map(&row(), Some(&requisites)).unwrap_or_else(|e| panic!("{e:?}"));
        let tax = client(&record).tax_id;
        assert_eq!(tax.as_ref().map(|t| t.as_str()), Some("7707083893"));
        assert_eq!(tax.map(|t| t.scheme()), Some(TaxScheme::RuInn));
        assert!(record.warnings.iter().any(|w| w.contains("requisite 10 RQ_INN")), "{:?}", record.warnings);
    }

    #[test]
    fn different_tax_ids_in_requisites_are_warned_about() {
        let requisites =
            [json!({"ID": "1", "RQ_INN": "7707083893"}), json!({"ID": "2", "RQ_INN": "", "RQ_VAT_ID": "DE123456789"})];
        let record = map(&row(), Some(&requisites)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(client(&record).tax_id.map(|t| t.to_string()), Some("7707083893".into()));
        assert!(record.warnings.iter().any(|w| w.contains("different tax ids")));
    }

    #[test]
    fn a_user_field_tax_id_is_used_when_configured() {
        let (portal, people, statuses) = (portal(), people(), StatusTable::default());
        let fields = ["UF_CRM_INN".to_string()];
        let ctx = MapContext { tax_id_fields: &fields, ..context(&portal, &people, &statuses) };
        let mut r = row();
        r["UF_CRM_INN"] = json!("500100732259");
        let record = company(r.clone(), Some(&[]), &ctx).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(client(&record).tax_id.map(|t| t.to_string()), Some("500100732259".into()));
        r["UF_CRM_INN"] = json!("500100732258");
        let record = company(r.clone(), Some(&[]), &ctx).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(client(&record).tax_id, None);
        assert!(record.warnings.iter().any(|w| w.starts_with("UF_CRM_INN")));
    }

    #[test]
    fn requisites_and_user_fields_are_all_read_and_the_first_valid_tax_id_wins() {
        let (portal, people, statuses) = (portal(), people(), StatusTable::default());
        let fields = ["UF_CRM_INN".to_string(), "UF_CRM_TAX".to_string()];
        let ctx = MapContext { tax_id_fields: &fields, ..context(&portal, &people, &statuses) };
        let mut r = row();
        r["UF_CRM_INN"] = json!("");
        r["UF_CRM_TAX"] = json!("500100732259");
        let only_field = company(r.clone(), Some(&[]), &ctx).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(client(&only_field).tax_id.map(|t| t.to_string()), Some("500100732259".into()));
        assert!(!only_field.warnings.iter().any(|w| w.contains("different")), "{:?}", only_field.warnings);
        let requisites = [json!({"ID": "4", "RQ_INN": "7707083893"})];
        let both = company(r.clone(), Some(&requisites), &ctx).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(client(&both).tax_id.map(|t| t.to_string()), Some("7707083893".into()), "requisites first");
        let conflict = both.warnings.iter().find(|w| w.contains("different tax ids"));
        assert_eq!(
            conflict.map(String::as_str),
            Some("different tax ids: 500100732259 in UF_CRM_TAX; using 7707083893 of requisite 4")
        );
        r["UF_CRM_TAX"] = json!("7707083893");
        let agreeing = company(r.clone(), Some(&requisites), &ctx).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!agreeing.warnings.iter().any(|w| w.contains("different")), "{:?}", agreeing.warnings);
    }

    #[test]
    fn a_malformed_title_or_id_makes_a_record_error_and_bad_fields_only_warnings() {
        let mut r = row();
        r["TITLE"] = json!([1, 2]);
        let err = map(&r, None).err().unwrap_or_else(|| panic!("accepted"));
        assert_eq!(err.external_id.as_deref(), Some("2919"));
        let mut r = row();
        r["ID"] = json!({"x": 1});
        assert!(map(&r, None).is_err());
        let mut r = row();
        r["DATE_MODIFY"] = json!("вчера");
        r["PHONE"] = json!("8 495 123 45 67");
        r["ASSIGNED_BY_ID"] = json!("nobody");
        let record = map(&r, None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(record.warnings.len(), 3, "{:?}", record.warnings);
        assert!(client(&record).phones.is_empty());
    }
}
