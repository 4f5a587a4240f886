//! `[[flows]]` in the config file: the documented shape and defaults, and every problem named with its path.

use std::path::Path;

use zveno_connector::{Env, Kind};

use zveno::flows::{Direction, OnConflict, OnDelete};
use zveno::settings::load;

const CONNECTORS: &str = r#"
[connectors.hubspot]
vendor = "hubspot"
token_env = "HUBSPOT_TOKEN"
[connectors.bitrix24]
vendor = "bitrix24"
webhook_url_env = "BITRIX24_WEBHOOK_URL"
[connectors.jira]
vendor = "jira"
base_url = "https://acme.atlassian.net"
email = "bot@acme.com"
token_env = "JIRA_TOKEN"
jql = "project = OPS"
[connectors.pipedrive]
vendor = "pipedrive"
token_env = "PIPEDRIVE_TOKEN"
"#;

fn env() -> Env {
    Env::from_pairs([
        ("HUBSPOT_TOKEN", "pat-na1-x"),
        ("BITRIX24_WEBHOOK_URL", "https://acme.bitrix24.ru/rest/1/abcdef0123456789/"),
        ("JIRA_TOKEN", "jira-token"),
        ("PIPEDRIVE_TOKEN", "pd-token"),
    ])
}

fn load_flows(dir: &Path, flows: &str) -> Result<zveno::settings::Settings, Vec<String>> {
    let path = dir.join("zveno.toml");
    std::fs::write(&path, format!("{CONNECTORS}\n{flows}")).unwrap_or_else(|e| panic!("{e}"));
    load(Some(&path), &env()).map_err(|e| e.0.iter().map(ToString::to_string).collect())
}

#[test]
fn the_issue_s_two_flows_load_with_their_keys_and_the_documented_defaults() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let settings = load_flows(
        dir.path(),
        r#"
[[flows]]
name = "clients-to-portal"
kind = "client"
from = ["hubspot"]
to = "bitrix24"
create = true
fields = ["name", "tax_id", "domains", "phones", "emails", "owner"]
direction = "one-way"
on_conflict = "source"

[[flows]]
name = "jira-tasks-to-portal"
kind = "task"
from = ["jira"]
to = "bitrix24"
create = true
fields = ["title", "status", "due", "assignee"]
direction = "two-way"
on_conflict = "most_recent"

[[flows]]
name = "defaults"
kind = "client"
from = ["hubspot"]
to = "bitrix24"
"#,
    )
    .unwrap_or_else(|p| panic!("{p:#?}"));
    let [clients, tasks, defaults] = settings.flows.as_slice() else { panic!("three flows: {:?}", settings.flows) };
    assert_eq!((clients.kind, clients.to.as_str(), clients.create), (Kind::Client, "bitrix24", true));
    assert_eq!(clients.fields, ["name", "tax_id", "domains", "phones", "emails", "owner"]);
    assert_eq!((clients.direction, clients.on_conflict), (Direction::OneWay, OnConflict::Source));
    assert_eq!(
        (tasks.kind, tasks.direction, tasks.on_conflict),
        (Kind::Task, Direction::TwoWay, OnConflict::MostRecent)
    );
    assert_eq!(tasks.from, ["jira"]);
    assert_eq!(
        (defaults.direction, defaults.on_conflict, defaults.create, defaults.apply, defaults.on_delete),
        (Direction::OneWay, OnConflict::Manual, false, false, OnDelete::Ignore)
    );
    assert_eq!(defaults.fields.len(), 6, "every client field Bitrix24 holds: {:?}", defaults.fields);
}

#[test]
fn every_flow_problem_is_named_with_its_path() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let found = load_flows(
        dir.path(),
        r#"
[[flows]]
name = "a"
kind = "client"
from = ["hubspot", "hubspt"]
to = "pipedrive"
fields = ["name", "phones", "inn"]
direction = "both"
on_conflict = "newest"
on_delete = "drop"
aply = true

[[flows]]
name = "a"
kind = "client"
from = ["hubspot"]
to = "jira"

[[flows]]
name = "c"
kind = "contact"
from = ["hubspot"]
to = "hubspot"

[[flows]]
name = "d"
kind = "task"
from = ["jira"]
to = "pipedrive"
direction = "two-way"
fields = ["title", "priority"]
"#,
    )
    .err()
    .unwrap_or_default();
    for expected in [
        "flows[0].aply: unknown key",
        "flows[0].direction: unknown value \"both\" (expected one of one-way, two-way)",
        "flows[0].on_conflict: unknown value \"newest\" (expected one of source, target, most_recent, manual)",
        "flows[0].on_delete: unknown value \"drop\"",
        "flows[0].from[1]: \"hubspt\" names no configured connector",
        "flows[0].fields[1]: \"pipedrive\" (pipedrive) cannot hold the client field \"phones\"",
        "flows[0].fields[2]: unknown client field \"inn\"",
        "flows[1].name: \"a\" is already the name of flows[0]",
        "flows[1].to: \"jira\" (jira) does not write client records",
        "flows[2].kind: \"contact\" is not a kind flows write",
        "flows[2].from[0]: \"hubspot\" is also the flow's target",
        "flows[3].fields[1]: \"pipedrive\" (pipedrive) cannot hold the task field \"priority\"",
    ] {
        assert!(found.iter().any(|p| p.starts_with(expected)), "missing {expected:?} in {found:#?}");
    }
    assert!(!found.iter().any(|p| p.starts_with("flows[0].fields[0]")), "name is a field Pipedrive holds: {found:#?}");
}

#[test]
fn a_two_way_flow_needs_every_source_to_hold_its_fields() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let flow = |direction: &str| {
        format!(
            "[[flows]]\nname = \"x\"\nkind = \"client\"\nfrom = [\"pipedrive\"]\nto = \"bitrix24\"\n\
             fields = [\"name\", \"emails\"]\ndirection = \"{direction}\"\n"
        )
    };
    assert!(load_flows(dir.path(), &flow("one-way")).is_ok(), "one-way: only the target must hold e-mails");
    let found = load_flows(dir.path(), &flow("two-way")).err().unwrap_or_default();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("flows[0].fields[1]: \"pipedrive\" (pipedrive) cannot hold the client field \"emails\"")
    );
}

#[test]
fn task_labels_are_written_only_when_named_and_only_where_they_can_be_added_and_removed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let flow = |name: &str, to: &str, fields: &str| {
        format!("[[flows]]\nname = \"{name}\"\nkind = \"task\"\nfrom = [\"bitrix24\"]\nto = \"{to}\"\n{fields}\n")
    };
    let settings = load_flows(
        dir.path(),
        &format!("{}{}", flow("named", "jira", "fields = [\"title\", \"labels\"]"), flow("default", "jira", "")),
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(settings.flows[0].fields, ["title", "labels"]);
    assert!(
        !settings.flows[1].fields.iter().any(|f| f == "labels"),
        "not in the default: {:?}",
        settings.flows[1].fields
    );

    let found =
        load_flows(dir.path(), &flow("to-portal", "bitrix24", "fields = [\"labels\"]")).err().unwrap_or_default();
    assert!(
        found.iter().any(|p| p.starts_with("flows[0].fields[0]: \"bitrix24\" (bitrix24) cannot hold the task field \"labels\"")),
        "{found:#?}"
    );
    let found = load_flows(dir.path(), &flow("typo", "jira", "fields = [\"label\"]")).err().unwrap_or_default();
    assert!(found.iter().any(|p| p.contains("unknown task field \"label\"") && p.contains("labels")), "{found:#?}");
}
