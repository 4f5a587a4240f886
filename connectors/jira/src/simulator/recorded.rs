//! Seeding the simulated site from recorded search results (`{"issues": [...]}`, each issue
//! as `/rest/api/3/search/jql` returns it with fields), so a labelled world made elsewhere
//! is served as it was recorded: every field verbatim (the client custom field included, in
//! whatever shape the site used), the issue's id and key, its times, and the accounts its
//! people fields name.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use zveno_sim::kit::recorded::{rows, RecordedError};

use super::site::{Account, Doc, Project, SimIssue, Site};
use super::SimOptions;
use crate::mapping::time::parse_timestamp;

const TIMES: [&str; 3] = ["created", "updated", "resolutiondate"];

/// A site holding the recorded issues of `responses`; projects are the issue keys' prefixes.
pub fn site(responses: &Value, options: &SimOptions) -> Result<Site, RecordedError> {
    let mut site = super::site::seed(&zveno_sim::world::SystemData::default(), options, 0, super::SITE);
    let mut projects: BTreeMap<String, u64> = BTreeMap::new();
    let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
    for row in rows(responses, "issues") {
        let id = row.id("id")?;
        let key = row.text("key").ok_or_else(|| row.error("no `key`"))?;
        let (project, number) = key
            .rsplit_once('-')
            .and_then(|(p, n)| Some((p.to_string(), n.parse::<u64>().ok()?)))
            .ok_or_else(|| row.error(format!("`{key}` is not an issue key")))?;
        let mut fields: Map<String, Value> =
            row.get("fields").and_then(Value::as_object).cloned().ok_or_else(|| row.error("no `fields`"))?;
        let time = |name: &str| fields.get(name).and_then(Value::as_str).and_then(parse_timestamp);
        let created = time("created").ok_or_else(|| row.error("`fields.created` is not a time"))?;
        let updated = time("updated").ok_or_else(|| row.error("`fields.updated` is not a time"))?;
        let resolved = time("resolutiondate");
        for name in TIMES {
            fields.remove(name);
        }
        for person in ["assignee", "reporter"].iter().filter_map(|f| fields.get(*f)) {
            if let Some(account) = account(person, &site.time_zone) {
                accounts.entry(account.account_id.clone()).or_insert(account);
            }
        }
        let next = projects.entry(project.clone()).or_default();
        *next = (*next).max(number + 1);
        let doc = Doc { fields, created, updated, resolved };
        site.issues.insert(id, SimIssue::new(id, key, project, doc));
        site.next_id = site.next_id.max(id + 1);
    }
    site.users = accounts.into_values().collect();
    site.projects = projects
        .into_iter()
        .enumerate()
        .map(|(i, (key, next_number))| Project { id: 10000 + i as u64, key, next_number })
        .collect();
    Ok(site)
}

/// An account as an issue's people field shows it (the e-mail only when visible).
fn account(person: &Value, zone: &str) -> Option<Account> {
    let text = |name: &str| person.get(name).and_then(Value::as_str).map(str::to_string);
    let email = text("emailAddress");
    Some(Account {
        account_id: text("accountId")?,
        display_name: text("displayName").unwrap_or_default(),
        email_visible: email.is_some(),
        email: email.unwrap_or_default(),
        time_zone: text("timeZone").unwrap_or_else(|| zone.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn recorded_issues_keep_their_ids_keys_fields_and_people() {
        let responses = json!({"issues": [{"id": "11290", "key": "OPS-1290", "fields": {
            "assignee": {"accountId": "5f01", "emailAddress": "anna@zveno-demo.example", "displayName": "Anna"},
            "created": "2024-09-30T20:58:45.486+0300", "updated": "2026-03-08T11:43:42.496+0300",
            "customfield_10050": "https://orionstroytsentr.ru", "labels": [], "summary": "Позвонить"}}]});
        let site = site(&responses, &SimOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let issue = &site.issues[&11290];
        assert_eq!((issue.key.as_str(), issue.project.as_str()), ("OPS-1290", "OPS"));
        assert_eq!(issue.live.fields["customfield_10050"], "https://orionstroytsentr.ru");
        assert_eq!(issue.live.updated, parse_timestamp("2026-03-08T08:43:42.496Z").unwrap_or_default());
        assert!(issue.indexed().is_some(), "recorded issues are searchable");
        assert_eq!(site.projects.iter().map(|p| (p.key.as_str(), p.next_number)).collect::<Vec<_>>(), [("OPS", 1291)]);
        assert_eq!(site.next_id, 11291);
        assert_eq!(site.account("5f01").map(|a| a.email.as_str()), Some("anna@zveno-demo.example"));

        let broken = json!({"issues": [{"id": "1", "key": "OPS", "fields": {}}]});
        let e = site_error(&broken);
        assert_eq!(e.as_deref(), Some("recorded issues[0]: `OPS` is not an issue key"));
    }

    fn site_error(responses: &Value) -> Option<String> {
        site(responses, &SimOptions::default()).err().map(|e| e.to_string())
    }
}
