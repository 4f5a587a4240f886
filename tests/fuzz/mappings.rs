//! Each vendor's JSON mapping, from the page answer's bytes to `SourceRecord`s, as its
//! connector runs it: the page envelope parsed into the vendor's DTO (a malformed page is
//! an error the client retries), then every record mapped (a record that cannot be read
//! is a `RecordError`; a bad field a warning). Accepted means a record came out.

use std::collections::BTreeMap;

use rand::Rng;
use serde_json::Value;
use zveno_connector::{Phone, Secret, SourceRecord};

use super::{fuzz, mutate, seeds, Shown};

/// The vendor field names of `pages`, for the tree mutations to insert.
fn names<'a>(pages: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut out = Vec::new();
    pages.into_iter().for_each(|p| mutate::keys(p, &mut out));
    out
}

/// Every record came out with the id it was given: mapping kept the identity.
fn accepted(records: &[SourceRecord]) -> bool {
    records.iter().all(|r| !r.external_id.is_empty()) && !records.is_empty()
}

#[test]
fn hubspot_mapping_never_panics_on_mutated_pages() {
    use zveno_hubspot::dto::object::Object;
    use zveno_hubspot::dto::{ListResponse, ObjectDto, OwnerDto, SearchResponse};
    use zveno_hubspot::mapping::{canonical_raw, Mapper, MapperSettings, Owners};

    let mapper = Mapper::new(MapperSettings {
        connector: "crm".into(),
        tax_id_properties: vec!["inn".into()],
        region: Phone::region("RU").ok(),
        portal_id: Some(62515),
        ..MapperSettings::default()
    });
    let pages = seeds::hubspot_pages();
    let owners_page = seeds::hubspot_owners();
    let names = names(pages.iter().map(|(_, p)| p).chain([&owners_page]));
    fuzz(
        "hubspot mapping",
        101,
        0.15,
        |rng| {
            let (path, page) = &pages[rng.gen_range(0..pages.len())];
            // One case in eight mutates the owners list the records are mapped against.
            let owners = if rng.gen_range(0..8) == 0 {
                mutate::json_case(rng, &owners_page, &names)
            } else {
                owners_page.to_string().into_bytes()
            };
            (*path, Shown(mutate::json_case(rng, page, &names)), Shown(owners))
        },
        |(path, body, owners)| {
            let owners: Vec<OwnerDto> = serde_json::from_slice::<ListResponse>(&owners.0)
                .map(|page| page.results.into_iter().filter_map(|o| serde_json::from_value(o).ok()).collect())
                .unwrap_or_default();
            let owners = Owners::new(owners);
            let (object, results) = match path.split_once('/') {
                Some((name, _)) => match serde_json::from_slice::<SearchResponse>(&body.0) {
                    Ok(page) => (Object::parse(name), page.results),
                    Err(_) => return false,
                },
                None => match serde_json::from_slice::<ListResponse>(&body.0) {
                    Ok(page) => {
                        let _ = page.next_after();
                        (Object::parse(path), page.results)
                    }
                    Err(_) => return false,
                },
            };
            let object = object.expect("the seeds name HubSpot objects");
            let mut records = Vec::new();
            for raw in results {
                if let Ok(dto) = ObjectDto::parse(&raw) {
                    records.push(mapper.tombstone(object, &dto));
                    records.push(mapper.read(object, &dto, canonical_raw(raw, &dto), &owners));
                }
            }
            accepted(&records)
        },
    );
}

#[test]
fn jira_mapping_never_panics_on_mutated_search_pages() {
    use zveno_jira::config::Settings;
    use zveno_jira::dto::SearchResponse;
    use zveno_jira::mapping::{Mapper, PriorityTable, StatusTable};

    let site = url::Url::parse("https://acme.atlassian.net/").unwrap();
    let settings = Settings {
        email: "bot@acme.com".into(),
        token: Secret::new("fuzz-token"),
        jql: "project = OPS".into(),
        api_base: site.clone(),
        site,
        overlap_secs: 60,
        statuses: StatusTable::new(&BTreeMap::new()),
        priorities: PriorityTable::new(&BTreeMap::new()),
        client_field: Some("customfield_10050".into()),
        client_label_prefix: Some("client:".into()),
        create_project: None,
        issue_type: "Task".into(),
    };
    let mapper = Mapper::new("tracker", &settings);
    let zones = [None, Some(chrono_tz::Europe::Moscow), Some(chrono_tz::Pacific::Kiritimati)];
    let pages = seeds::jira_pages();
    let names = names(&pages);
    fuzz(
        "jira mapping",
        102,
        0.15,
        |rng| {
            let page = &pages[rng.gen_range(0..pages.len())];
            (rng.gen_range(0..zones.len()), Shown(mutate::json_case(rng, page, &names)))
        },
        |(zone, body)| {
            let Ok(page) = serde_json::from_slice::<SearchResponse>(&body.0) else { return false };
            let records: Vec<SourceRecord> =
                page.issues.iter().filter_map(|issue| mapper.map(issue.clone(), zones[*zone]).ok()).collect();
            accepted(&records)
        },
    );
}

#[test]
fn bitrix24_mapping_never_panics_on_mutated_lists() {
    use zveno_bitrix24::config::StatusTable;
    use zveno_bitrix24::mapping::{company, contact, task, MapContext, People};

    let portal = url::Url::parse("https://romashka.bitrix24.ru/").unwrap();
    let people = People::from([(3, "anna@romashka.ru".to_string())]);
    let statuses = StatusTable::default();
    let tax_id_fields = vec!["UF_CRM_INN".to_string()];
    let ctx = MapContext {
        connector: "b24",
        portal: &portal,
        webhook_user: 1,
        region: Phone::region("RU").unwrap(),
        country: "RU",
        tax_id_fields: &tax_id_fields,
        statuses: &statuses,
        people: &people,
    };
    let pages = seeds::bitrix24_pages();
    let names = names(pages.iter().map(|(_, p)| p));
    fuzz(
        "bitrix24 mapping",
        103,
        0.15,
        |rng| {
            let (kind, page) = &pages[rng.gen_range(0..pages.len())];
            (*kind, Shown(mutate::json_case(rng, page, &names)))
        },
        |(kind, body)| {
            // The client reads every answer as JSON and takes `result` (with `result.tasks`
            // for tasks); anything else is a malformed answer.
            let Ok(answer) = serde_json::from_slice::<Value>(&body.0) else { return false };
            let rows = |page: &Value, tasks: bool| -> Vec<Value> {
                let result = if tasks { &page["result"]["tasks"] } else { &page["result"] };
                result.as_array().cloned().unwrap_or_default()
            };
            let records: Vec<SourceRecord> = match *kind {
                "companies" => {
                    let requisites = rows(&answer[1], false);
                    rows(&answer[0], false)
                        .iter()
                        .filter_map(|row| {
                            let own: Vec<Value> =
                                requisites.iter().filter(|r| r.get("ENTITY_ID") == row.get("ID")).cloned().collect();
                            company(row.clone(), Some(own.as_slice()), &ctx).ok()
                        })
                        .collect()
                }
                "contacts" => rows(&answer, false).iter().filter_map(|row| contact(row.clone(), &ctx).ok()).collect(),
                _ => rows(&answer, true).iter().filter_map(|row| task(row.clone(), &ctx).ok()).collect(),
            };
            accepted(&records)
        },
    );
}

#[test]
fn pipedrive_mapping_never_panics_on_mutated_pages() {
    use zveno_pipedrive::dto::entity::Entity;
    use zveno_pipedrive::dto::{ListResponse, UserDto, UsersResponse};
    use zveno_pipedrive::mapping::{Mapper, MapperSettings, Users};

    let mapper = Mapper::new(MapperSettings {
        connector: "pd".into(),
        tax_id_field: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
        region: Phone::region("RU").ok(),
        company_domain: Some("romashka".into()),
        ..MapperSettings::default()
    });
    let pages = seeds::pipedrive_pages();
    let users_page = seeds::pipedrive_users();
    let names = names(pages.iter().map(|(_, p)| p).chain([&users_page]));
    fuzz(
        "pipedrive mapping",
        104,
        0.15,
        |rng| {
            let (entity, page) = &pages[rng.gen_range(0..pages.len())];
            let users = if rng.gen_range(0..8) == 0 {
                mutate::json_case(rng, &users_page, &names)
            } else {
                users_page.to_string().into_bytes()
            };
            (*entity, Shown(mutate::json_case(rng, page, &names)), Shown(users))
        },
        |(entity, body, users)| {
            let users: Vec<UserDto> = serde_json::from_slice::<UsersResponse>(&users.0)
                .ok()
                .and_then(|u| u.data)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|u| serde_json::from_value(u).ok())
                .collect();
            let users = Users::new(users);
            let entity = match *entity {
                "organizations" => Entity::Organizations,
                "persons" => Entity::Persons,
                _ => Entity::Activities,
            };
            let Ok(page) = serde_json::from_slice::<ListResponse>(&body.0) else { return false };
            let (rows, _next) = page.records();
            let records: Vec<SourceRecord> =
                rows.into_iter().filter_map(|raw| mapper.read(entity, raw, &users).ok()).collect();
            accepted(&records)
        },
    );
}
