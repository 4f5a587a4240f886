//! Real-shaped pages, records and webhook deliveries the mutations start from, one set per
//! vendor, written after the vendors' documented answers (/work/shared/vendors) and what
//! each simulator serves: every field the mapping reads is present, so a mutation of any
//! of them reaches the code that reads it.

use serde_json::{json, Value};

/// HubSpot CRM v3 answers: list pages (`GET /crm/v3/objects/{type}`) of companies,
/// contacts and tasks, with inline associations, and a search page.
pub fn hubspot_pages() -> Vec<(&'static str, Value)> {
    let companies = json!({
        "results": [{
            "id": "512", "createdAt": "2024-03-11T16:36:46.123Z", "updatedAt": "2025-01-02T08:00:00Z",
            "archived": false,
            "properties": {
                "name": "ООО «Ромашка»", "domain": "romashka.ru", "website": "https://www.romashka.ru/",
                "phone": "+7 495 123-45-67", "hubspot_owner_id": "31", "inn": "7707083893",
                "createdate": "2024-03-11T16:36:46.123Z", "hs_lastmodifieddate": "1735804800000",
                "hs_object_id": "512"
            }
        }, {
            "id": "513", "createdAt": "2024-03-12T10:00:00Z", "updatedAt": "2024-03-12T10:00:00Z",
            "archived": true, "archivedAt": "2024-04-01T00:00:00Z",
            "properties": {"name": null, "hs_object_id": "513"}
        }],
        "paging": {"next": {"after": "514", "link": "?after=514"}}
    });
    let contacts = json!({
        "results": [{
            "id": "77", "createdAt": "2024-05-01T09:30:00Z", "updatedAt": "2024-05-02T09:30:00Z",
            "properties": {
                "firstname": "Анна", "lastname": "Иванова", "email": "anna@romashka.ru",
                "hs_additional_emails": "a.ivanova@mail.ru;anna@romashka.ru", "phone": "8 (495) 123-45-67",
                "mobilephone": "+79991234567", "hubspot_owner_id": "31",
                "createdate": "2024-05-01T09:30:00Z", "lastmodifieddate": "2024-05-02T09:30:00Z"
            },
            "associations": {"companies": {"results": [
                {"id": "512", "type": "contact_to_company"},
                {"id": "512", "type": "contact_to_company_unlabeled"}
            ]}}
        }]
    });
    let tasks = json!({
        "results": [{
            "id": "31", "createdAt": "2024-06-01T12:00:00Z", "updatedAt": "2024-06-02T12:00:00Z",
            "properties": {
                "hs_task_subject": "Позвонить по договору", "hs_task_body": "<p>Уточнить &amp; <b>подписать</b></p>",
                "hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH", "hs_task_type": "CALL",
                "hs_timestamp": "2024-06-10T15:00:00Z", "hubspot_owner_id": "31",
                "hs_createdate": "2024-06-01T12:00:00Z", "hs_lastmodifieddate": "2024-06-02T12:00:00Z"
            },
            "associations": {
                "companies": {"results": [{"id": "512", "type": "task_to_company"}]},
                "contacts": {"results": [{"id": 77, "type": "task_to_contact"}]}
            }
        }]
    });
    let search = json!({"total": 2, "results": companies["results"].clone(), "paging": {"next": {"after": "2"}}});
    vec![("companies", companies), ("contacts", contacts), ("tasks", tasks), ("companies/search", search)]
}

/// HubSpot owners (`GET /crm/v3/owners`).
pub fn hubspot_owners() -> Value {
    json!({"results": [{"id": "31", "email": "anna@romashka.ru", "userId": 9, "firstName": "Анна",
                        "lastName": "Иванова", "type": "PERSON", "archived": false}]})
}

/// Jira Cloud enhanced search pages (`POST /rest/api/3/search/jql`), one issue with every
/// field the mapping reads (ADF description, the client custom field, labels).
pub fn jira_pages() -> Vec<Value> {
    let host = "https://acme.atlassian.net";
    let issue = json!({
        "id": "10002", "key": "OPS-3", "self": format!("{host}/rest/api/3/issue/10002"),
        "fields": {
            "summary": "Продлить договор",
            "description": {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "Позвонить ", "marks": [{"type": "strong"}]},
                    {"type": "mention", "attrs": {"id": "5b10", "text": "@Анна"}},
                    {"type": "hardBreak"},
                    {"type": "inlineCard", "attrs": {"url": "https://romashka.ru"}}
                ]},
                {"type": "bulletList", "content": [{"type": "listItem", "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "ИНН 7707083893"}]}
                ]}]},
                {"type": "codeBlock", "attrs": {"language": "bash"}, "content": [{"type": "text", "text": "ls"}]}
            ]},
            "status": {"self": format!("{host}/rest/api/3/status/3"), "id": "3", "name": "In Progress",
                       "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"}},
            "priority": {"id": "2", "name": "High"},
            "assignee": {"accountId": "5b10", "emailAddress": "anna@acme.com", "displayName": "Анна"},
            "reporter": {"accountId": "5b11", "displayName": "Борис"},
            "duedate": "2024-06-10",
            "created": "2024-06-01T12:00:00.000+0300",
            "updated": "2024-06-02T12:00:00.000+0300",
            "resolution": null,
            "resolutiondate": null,
            "labels": ["client:ООО_Ромашка", "urgent"],
            "project": {"id": "10000", "key": "OPS", "name": "Operations"},
            "issuetype": {"id": "10001", "name": "Task"},
            "customfield_10050": [{"value": "Romashka"}, "Acme"]
        }
    });
    let mut done = issue.clone();
    done["id"] = json!("10003");
    done["fields"]["resolution"] = json!({"id": "1", "name": "Done"});
    done["fields"]["resolutiondate"] = json!("2024-06-03T09:00:00.000+0300");
    done["fields"]["status"] = json!({"id": "5", "name": "Done", "statusCategory": {"key": "done"}});
    done["fields"]["customfield_10050"] = json!({"value": "Globex", "child": {"value": "Moscow"}});
    let first = json!({"issues": [issue, done.clone()], "nextPageToken": "Ch0jU3RyaW5nJlQxQlRUUT09", "isLast": false});
    vec![first, json!({"issues": [done], "isLast": true})]
}

/// Bitrix24 answers: `crm.company.list` with its `crm.requisite.list`, `crm.contact.list`
/// and `tasks.task.list` (camelCase fields, `result.tasks`).
pub fn bitrix24_pages() -> Vec<(&'static str, Value)> {
    let multi = |kind: &str, value: &str, kind_id: &str| json!([{"ID": "11", "VALUE_TYPE": kind, "VALUE": value, "TYPE_ID": kind_id}]);
    let company = json!({
        "ID": "2917", "TITLE": "ООО «Ромашка»", "COMPANY_TYPE": "CUSTOMER", "ASSIGNED_BY_ID": "3",
        "DATE_CREATE": "2024-03-11T16:36:46+03:00", "DATE_MODIFY": "2024-03-12T10:00:00+03:00",
        "PHONE": multi("WORK", "+7 (495) 123-45-67", "PHONE"), "EMAIL": multi("WORK", "info@romashka.ru", "EMAIL"),
        "WEB": multi("WORK", "romashka.ru", "WEB"), "UF_CRM_INN": "7707083893"
    });
    let requisites = json!({"result": [{"ID": "5", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "2917",
                                        "RQ_INN": "7707083893", "RQ_VAT_ID": ""}], "total": 1});
    let contact = json!({
        "ID": "41", "NAME": "Анна", "SECOND_NAME": "Петровна", "LAST_NAME": "Иванова", "COMPANY_ID": "2917",
        "ASSIGNED_BY_ID": 3, "DATE_CREATE": "2024-05-01T09:30:00+03:00", "DATE_MODIFY": "2024-05-02T09:30:00+03:00",
        "PHONE": multi("MOBILE", "89991234567", "PHONE"), "EMAIL": multi("HOME", "anna@mail.ru", "EMAIL")
    });
    let task = json!({
        "id": "812", "title": "Позвонить", "description": "[B]Уточнить[/B] условия", "status": "3", "subStatus": "-1",
        "priority": "2", "responsibleId": "3", "createdBy": "1", "deadline": "2024-06-10T19:00:00+03:00",
        "createdDate": "2024-06-01T12:00:00+03:00", "changedDate": "2024-06-02T12:00:00+03:00",
        "closedDate": null, "ufCrmTask": ["CO_2917", "C_41"], "tags": ["звонок"]
    });
    vec![
        ("companies", json!([{"result": [company], "next": 50, "total": 51}, requisites])),
        ("contacts", json!({"result": [contact], "total": 1})),
        ("tasks", json!({"result": {"tasks": [task]}, "total": 1})),
    ]
}

/// Pipedrive API v2 list pages (`GET /api/v2/{organizations,persons,activities}`).
pub fn pipedrive_pages() -> Vec<(&'static str, Value)> {
    let inn = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    let organizations = json!({
        "success": true,
        "data": [{
            "id": 5, "name": "ООО «Ромашка»", "owner_id": 9, "website": "https://romashka.ru",
            "address": {"value": "Москва, ул. Ленина, 1"}, "add_time": "2024-03-11T16:36:46Z",
            "update_time": "2024-03-12T10:00:00Z", "is_deleted": false, "custom_fields": {inn: "7707083893"}
        }, {"id": 6, "name": "Gone", "is_deleted": true, "update_time": "2024-04-01T00:00:00Z"}],
        "additional_data": {"next_cursor": "eyJmaWVsZCI6ImlkIiwiaWQiOjZ9"}
    });
    let persons = json!({
        "success": true,
        "data": [{
            "id": 41, "name": "Анна Иванова", "first_name": "Анна", "last_name": "Иванова", "owner_id": 9,
            "org_id": 5, "add_time": "2024-05-01T09:30:00Z", "update_time": "2024-05-02T09:30:00Z",
            "emails": [{"value": "anna@romashka.ru", "primary": true, "label": "work"}],
            "phones": [{"value": "+7 999 123-45-67", "primary": true, "label": "mobile"}]
        }],
        "additional_data": {"next_cursor": null}
    });
    let activities = json!({
        "success": true,
        "data": [{
            "id": 812, "subject": "Позвонить", "type": "call", "owner_id": 9, "creator_user_id": 9, "org_id": 5,
            "person_id": 41, "deal_id": null, "due_date": "2024-06-10", "due_time": "15:00", "done": false,
            "marked_as_done_time": null, "note": "<p>Уточнить &amp; подписать</p>",
            "add_time": "2024-06-01T12:00:00Z", "update_time": "2024-06-02T12:00:00Z", "is_deleted": false
        }],
        "additional_data": {"next_cursor": null}
    });
    vec![("organizations", organizations), ("persons", persons), ("activities", activities)]
}

/// Pipedrive users (`GET /v1/users`).
pub fn pipedrive_users() -> Value {
    json!({"success": true, "data": [{"id": 9, "name": "Анна", "email": "anna@romashka.ru", "active_flag": true}]})
}

/// A HubSpot delivery: a batch of events of every family the connector reads.
pub fn hubspot_delivery() -> Value {
    json!([
        {"eventId": 100, "subscriptionId": 25, "portalId": 62515, "appId": 1160452, "occurredAt": 1_764_000_000_000_i64,
         "subscriptionType": "company.propertyChange", "attemptNumber": 0, "objectId": 512,
         "propertyName": "name", "propertyValue": "Ромашка", "changeSource": "CRM_UI"},
        {"eventId": "101", "subscriptionType": "contact.deletion", "objectId": 77, "occurredAt": 1},
        {"eventId": 102, "subscriptionType": "object.creation", "objectTypeId": "0-27", "objectId": 31},
        {"eventId": 103, "subscriptionType": "company.merge", "objectId": 600, "primaryObjectId": 600,
         "mergedObjectIds": [512, 600], "newObjectId": 600},
        {"eventId": 104, "subscriptionType": "contact.privacyDeletion", "objectId": 78}
    ])
}

/// A Jira Cloud `jira:issue_updated` delivery.
pub fn jira_delivery() -> Value {
    json!({
        "timestamp": 1_727_866_060_000_i64, "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10", "displayName": "Анна"},
        "issue": {"id": "10002", "key": "OPS-3", "fields": {"summary": "Продлить договор"}},
        "changelog": {"id": "10400", "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"}]}
    })
}

/// A Pipedrive webhooks v2 delivery (`change` of a person, a merge's `delete`).
pub fn pipedrive_deliveries() -> Vec<Value> {
    vec![
        json!({
            "meta": {"action": "change", "entity": "person", "entity_id": "41", "id": "8c1b5a7e-43f5",
                     "timestamp": "2024-05-02T09:30:00.123Z", "company_id": "1", "user_id": "9", "version": "2.0",
                     "webhook_id": "12", "type": "general", "is_bulk_edit": false, "correlation_id": "x", "attempt": 1},
            "data": {"id": 41, "name": "Анна Иванова", "org_id": 5},
            "previous": {"name": "Анна"}
        }),
        json!({
            "meta": {"action": "delete", "entity": "organization", "entity_id": 6, "id": "9d2c",
                     "timestamp": "2024-05-02T09:31:00Z", "merged_to_id": 5},
            "data": null,
            "previous": {"id": 6, "name": "Gone"}
        }),
    ]
}

/// A Bitrix24 outgoing-webhook event, as form fields.
pub fn bitrix24_events() -> Vec<Vec<(&'static str, &'static str)>> {
    let auth = [
        ("auth[domain]", "romashka.bitrix24.ru"),
        ("auth[client_endpoint]", "https://romashka.bitrix24.ru/rest/"),
        ("auth[member_id]", "a223c6b3710f85df22e9377d6c4f7553"),
        ("auth[application_token]", BITRIX24_TOKEN),
    ];
    let mut company = vec![("event", "ONCRMCOMPANYUPDATE"), ("event_handler_id", "735"), ("data[FIELDS][ID]", "2917")];
    company.push(("ts", "1743165490"));
    company.extend(auth);
    let mut task = vec![("event", "ONTASKDELETE"), ("data[FIELDS_BEFORE][ID]", "812"), ("ts", "1743165491")];
    task.extend(auth);
    vec![company, task]
}

/// The application token the Bitrix24 events carry.
pub const BITRIX24_TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";
