//! Writing tasks to the simulator: bulk creates, field edits, transitions, per-op failures.

use crate::common::{harness, options};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use zveno_connector::http::Call;
use zveno_connector::{ClientRef, Kind, Priority, RecordData, Task, TaskStatus, WriteAction, WriteErrorKind, WriteOp};
use zveno_jira::simulator::harness::JiraHarness;
use zveno_jira::SimOptions;

fn task(title: &str, status: TaskStatus) -> Task {
    Task {
        title: title.into(),
        description: Some("Prepare pricing\n\n- tiers".into()),
        status,
        status_name: None,
        priority: Some(Priority::High),
        assignee: None,
        reporter: None,
        due: DateTime::parse_from_rfc3339("2026-09-30T21:30:00Z").ok().map(|d| d.with_timezone(&Utc)),
        resolved_at: None,
        labels: vec!["zveno".into()],
        clients: vec![ClientRef::Hint("romashka.ru".into()), ClientRef::External("17".into())],
        contact_ids: Vec::new(),
        labels_removed: Vec::new(),
    }
}

fn create(op: &str, task: Task) -> WriteOp {
    WriteOp { op_id: op.into(), action: WriteAction::Create { data: RecordData::Task(task) } }
}

fn update(op: &str, id: &str, task: Task) -> WriteOp {
    WriteOp { op_id: op.into(), action: WriteAction::Update { external_id: id.into(), data: RecordData::Task(task) } }
}

#[tokio::test]
async fn creates_go_in_one_bulk_call_and_reach_their_status_by_transition() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let ops = [
        create("a", task("Call client", TaskStatus::Todo)),
        create("b", task("Send offer", TaskStatus::Done)),
        create("c", task("Drop it", TaskStatus::Cancelled)),
    ];
    let outcomes = c.push(Kind::Task, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> =
        outcomes.iter().map(|o| o.result.clone().unwrap_or_else(|e| panic!("{}: {e}", o.op_id))).collect();
    assert_eq!(outcomes.iter().map(|o| o.op_id.as_str()).collect::<Vec<_>>(), vec!["a", "b", "c"]);
    let log = h.sim.kit().log();
    assert_eq!(log.endpoint("bulk create").requests, 1);
    assert_eq!(log.endpoint("transition issue").requests, 2);

    let issue = |id: &str| h.sim.issue(id).unwrap_or(Value::Null);
    let a = issue(&ids[0]);
    assert_eq!(a["fields"]["summary"], json!("Call client"));
    assert_eq!(a["fields"]["status"]["name"], json!("To Do"));
    assert_eq!(a["fields"]["priority"]["name"], json!("High"));
    assert_eq!(a["fields"]["duedate"], json!("2026-10-01"), "the date in the account's zone (Moscow)");
    assert_eq!(a["fields"]["labels"], json!(["zveno", "client:romashka.ru", "zveno-a"]), "the handle label too");
    assert_eq!(a["fields"]["project"]["key"], json!("OPS"));
    assert_eq!(
        zveno_jira::mapping::adf::to_text(&a["fields"]["description"]),
        "Prepare pricing\n\n- tiers",
        "ADF round trip"
    );
    assert_eq!(issue(&ids[1])["fields"]["status"]["name"], json!("Done"));
    assert_eq!(issue(&ids[2])["fields"]["status"]["name"], json!("Won't Do"), "cancelled is not just done");
}

#[tokio::test]
async fn updates_touch_only_set_fields_and_transition_when_the_status_differs() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let id = h.sim.ids()[0].to_string();
    let before = h.sim.issue(&id).unwrap_or(Value::Null);
    let mut edit = task("Renamed", TaskStatus::InProgress);
    edit.description = None;
    edit.due = None;
    edit.priority = None;
    edit.labels.clear();
    edit.clients.clear();
    let outcomes = c.push(Kind::Task, &[update("u", &id, edit.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes[0].result, Ok(id.clone()));
    let after = h.sim.issue(&id).unwrap_or(Value::Null);
    assert_eq!(after["fields"]["summary"], json!("Renamed"));
    assert_eq!(after["fields"]["status"]["name"], json!("In Progress"));
    for kept in ["description", "duedate", "priority", "labels"] {
        assert_eq!(after["fields"][kept], before["fields"][kept], "{kept} was not set, so not touched");
    }
    // Same status again: an edit, no transition.
    let log = h.sim.kit().log();
    let transitions = log.endpoint("transition issue").requests;
    let again = c.push(Kind::Task, &[update("u2", &id, edit)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(again[0].result.is_ok());
    assert_eq!(log.endpoint("transition issue").requests, transitions);
    assert_eq!(log.endpoint("get transitions").requests, 0, "the edit returned the transitions");
}

#[tokio::test]
async fn failures_are_reported_per_op_and_the_rest_are_written() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let ok_id = h.sim.ids()[0].to_string();
    let mut no_title = task("", TaskStatus::Todo);
    no_title.title = "  ".into();
    let ops = [
        create("empty", no_title),
        update("missing", "99999", task("Ghost", TaskStatus::Todo)),
        WriteOp { op_id: "archive".into(), action: WriteAction::Archive { external_id: ok_id.clone() } },
        update("fine", &ok_id, task("Still fine", TaskStatus::Todo)),
        create("good", task("Created anyway", TaskStatus::Todo)),
        WriteOp {
            op_id: "client".into(),
            action: WriteAction::Create { data: RecordData::Client(zveno_connector::Client::default()) },
        },
    ];
    let outcomes = c.push(Kind::Task, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    let result = |op: &str| outcomes.iter().find(|o| o.op_id == op).map(|o| o.result.clone());
    assert!(result("empty").is_some_and(|r| r.is_err_and(|e| e.message.contains("summary"))));
    assert!(result("missing").is_some_and(|r| r.is_err_and(|e| e.message.contains("not found"))));
    let kind = |op: &str| result(op).and_then(|r| r.err()).map(|e| e.kind);
    assert_eq!(
        [kind("empty"), kind("missing"), kind("archive"), kind("client")],
        [WriteErrorKind::Invalid, WriteErrorKind::NotFound, WriteErrorKind::Unsupported, WriteErrorKind::Invalid]
            .map(Some),
        "each failure says what kind it is"
    );
    assert!(result("client").is_some_and(|r| r.is_err_and(|e| e.message.contains("only write tasks"))));
    assert_eq!(result("fine"), Some(Ok(ok_id)));
    assert!(result("good").is_some_and(|r| r.is_ok()));
    assert_eq!(outcomes.len(), ops.len());
}

#[tokio::test]
async fn a_rejected_input_of_a_bulk_create_fails_alone() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let mut bad = task("Bad assignee", TaskStatus::Todo);
    bad.assignee = Some("5b10a2844c20165700deadbee".into());
    let ops =
        [create("1", task("First", TaskStatus::Todo)), create("2", bad), create("3", task("Third", TaskStatus::Todo))];
    let outcomes = c.push(Kind::Task, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(outcomes[0].result.is_ok() && outcomes[2].result.is_ok());
    assert!(outcomes[1].result.as_ref().is_err_and(|e| e.message.contains("assignee")), "{:?}", outcomes[1]);
    let third = h.sim.issue(outcomes[2].result.as_deref().unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(third["fields"]["summary"], json!("Third"), "ids were matched to the right ops");
}

#[tokio::test]
async fn assignees_given_by_email_are_looked_up_and_hidden_emails_fail_clearly() {
    let (h, _) = harness(30, SimOptions { hidden_email_share: 0.5, ..SimOptions::default() }).await;
    let c = h.connector();
    let data = crate::common::jira_data(7, 30);
    let site = h.sim.ids();
    // Find one visible and one hidden user through the issues the simulator serves.
    let mut visible = None;
    let mut hidden = None;
    for id in site {
        let issue = h.sim.issue(&id.to_string()).unwrap_or(Value::Null);
        let a = &issue["fields"]["assignee"];
        let Some(account) = a["accountId"].as_str() else { continue };
        let user = data.users.iter().find(|u| zveno_jira::simulator::harness::account_id(u.id) == account);
        match (a.get("emailAddress"), user) {
            (Some(_), Some(u)) => visible = Some((u.email.clone(), account.to_string())),
            (None, Some(u)) => hidden = Some(u.email.clone()),
            _ => {}
        }
    }
    let (Some((email, account)), Some(hidden)) = (visible, hidden) else { panic!("world lacks users of both kinds") };
    let mut t = task("Assigned by e-mail", TaskStatus::Todo);
    t.assignee = Some(email.to_uppercase());
    let mut h2 = task("Hidden", TaskStatus::Todo);
    h2.assignee = Some(hidden);
    let outcomes = c.push(Kind::Task, &[create("v", t), create("h", h2)]).await.unwrap_or_else(|e| panic!("{e}"));
    let created = h.sim.issue(outcomes[0].result.as_deref().unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(created["fields"]["assignee"]["accountId"], json!(account));
    assert!(outcomes[1].result.as_ref().is_err_and(|e| e.message.contains("hidden")), "{:?}", outcomes[1]);
}

#[tokio::test]
async fn creates_need_a_project_and_a_client_field_is_written_when_no_label_prefix_is_set() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let no_project = h.must_build(options(&json!({"create_project": null})));
    let outcomes = no_project.push(Kind::Task, &[create("x", task("T", TaskStatus::Todo))]).await;
    assert!(outcomes.is_ok_and(|o| o[0].result.as_ref().is_err_and(|e| e.message.contains("create_project"))));
    assert_eq!(h.sim.writes(), 0);

    let field_only = h.must_build(options(&json!({"client_label_prefix": null, "create_project": "SUP"})));
    let outcomes = field_only.push(Kind::Task, &[create("y", task("T", TaskStatus::Todo))]).await;
    let id = outcomes.ok().and_then(|o| o[0].result.clone().ok()).unwrap_or_default();
    let issue = h.sim.issue(&id).unwrap_or(Value::Null);
    assert_eq!(issue["fields"]["customfield_10050"], json!("romashka.ru"));
    assert_eq!(issue["fields"]["labels"], json!(["zveno", "zveno-y"]));
    assert_eq!(issue["key"].as_str().map(|k| k.starts_with("SUP-")), Some(true));
}

#[tokio::test]
async fn labels_are_added_through_update_never_set_over_what_people_added() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let id = h.sim.ids()[0].to_string();
    let mut person = task("Call client", TaskStatus::Todo);
    person.labels = vec!["vip".into()];
    person.clients.clear();
    c.push(Kind::Task, &[update("person", &id, person)]).await.unwrap_or_else(|e| panic!("{e}"));
    let mut edit = task("Call client", TaskStatus::Todo);
    edit.clients.clear();
    let outcomes = c.push(Kind::Task, &[update("u", &id, edit)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes[0].result, Ok(id.clone()));
    let labels = h.sim.issue(&id).unwrap_or(Value::Null)["fields"]["labels"].clone();
    let labels: Vec<&str> = labels.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert!(labels.contains(&"vip") && labels.contains(&"zveno"), "the person's label kept: {labels:?}");
}

fn labels_of(h: &JiraHarness, id: &str) -> Vec<String> {
    let labels = h.sim.issue(id).unwrap_or(Value::Null)["fields"]["labels"].clone();
    labels.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

#[tokio::test]
async fn a_label_a_flow_no_longer_has_is_removed_and_a_person_s_own_label_survives() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let id = h.sim.ids()[0].to_string();
    let mut written = task("Call client", TaskStatus::Todo);
    written.labels = vec!["renewal".into(), "q3".into()];
    written.clients.clear();
    c.push(Kind::Task, &[update("zveno-1", &id, written)]).await.unwrap_or_else(|e| panic!("{e}"));
    let mut person = task("Call client", TaskStatus::Todo);
    person.labels = vec!["vip".into()];
    person.clients.clear();
    c.push(Kind::Task, &[update("person", &id, person)]).await.unwrap_or_else(|e| panic!("{e}"));
    let before = labels_of(&h, &id);
    assert!(["renewal", "q3", "vip"].iter().all(|l| before.contains(&l.to_string())), "{before:?}");

    // The flow's value lost "renewal": it is taken off; "vip", never written by zveno, is
    // not named and stays, as does every other label.
    let mut edit = task("Call client", TaskStatus::Todo);
    edit.labels = vec!["q3".into()];
    edit.labels_removed = vec!["renewal".into()];
    edit.clients.clear();
    let outcomes = c.push(Kind::Task, &[update("zveno-2", &id, edit)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes[0].result, Ok(id.clone()));
    let after = labels_of(&h, &id);
    assert!(!after.contains(&"renewal".to_string()), "the removed label is gone: {after:?}");
    let kept: Vec<String> = before.into_iter().filter(|l| l != "renewal").collect();
    assert_eq!(after, kept, "every other label kept, in place");

    // Removing a label the issue no longer has is no error (another edit took it off).
    let mut again = task("Call client", TaskStatus::Todo);
    again.labels.clear();
    again.labels_removed = vec!["renewal".into()];
    again.clients.clear();
    let outcomes = c.push(Kind::Task, &[update("zveno-3", &id, again)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes[0].result, Ok(id.clone()));
    assert_eq!(labels_of(&h, &id), kept);
}

#[tokio::test]
async fn only_fields_on_the_edit_screen_are_sent() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let id = h.sim.ids()[0].to_string();
    h.sim.hide_from_edit_screen("duedate");
    let before = h.sim.issue(&id).unwrap_or(Value::Null);
    let mut edit = task("Renamed off screen", TaskStatus::Todo);
    edit.clients.clear();
    let outcomes = c.push(Kind::Task, &[update("u", &id, edit)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes[0].result, Ok(id.clone()), "the edit went through without the hidden field");
    let after = h.sim.issue(&id).unwrap_or(Value::Null);
    assert_eq!(after["fields"]["summary"], json!("Renamed off screen"));
    assert_eq!(after["fields"]["duedate"], before["fields"]["duedate"], "not sent, not changed");
    assert_eq!(h.sim.kit().log().endpoint("editmeta").requests, 1);

    // The simulator refuses the field as Jira does when a client sends it anyway.
    h.sim.hide_from_edit_screen("summary");
    let mut only_hidden = task("Renamed again", TaskStatus::Todo);
    (only_hidden.description, only_hidden.due, only_hidden.priority) = (None, None, None);
    only_hidden.labels.clear();
    only_hidden.clients.clear();
    h.sim.hide_from_edit_screen("duedate");
    let outcomes = c.push(Kind::Task, &[update("v", &id, only_hidden)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(outcomes[0].result.as_ref().is_err_and(|e| e.message.contains("summary")), "{:?}", outcomes[0]);
}

#[tokio::test]
async fn the_simulator_refuses_an_edit_of_a_field_off_the_edit_screen() {
    let (h, _) = harness(5, SimOptions::default()).await;
    h.sim.hide_from_edit_screen("duedate");
    let id = h.sim.ids()[0].to_string();
    let http = h.http().unwrap_or_else(|e| panic!("{e}"));
    let body = json!({"fields": {"duedate": "2026-10-01", "summary": "S"}});
    let call = Call::new(http::Method::PUT, h.api(&format!("rest/api/3/issue/{id}"))).json(&body);
    let refused = http.send(call).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("HTTP 400"), "{refused}");
    let body = json!({"errors": {"duedate": refused}});
    assert!(body["errors"]["duedate"].as_str().is_some_and(|m| m.contains("not on the appropriate screen")), "{body}");
}

#[tokio::test]
async fn an_all_failed_bulk_create_keeps_each_element_s_error() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let mut bad_assignee = task("Bad assignee", TaskStatus::Todo);
    bad_assignee.assignee = Some("5b10a2844c20165700deadbee".into());
    let mut bad_due = task("Also bad", TaskStatus::Todo);
    bad_due.assignee = Some("5b10a2844c20165700deadbef".into());
    let ops = [create("1", bad_assignee), create("2", bad_due)];
    let outcomes = c.push(Kind::Task, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    for (outcome, (own, other)) in outcomes.iter().zip([("deadbee'", "deadbef'"), ("deadbef'", "deadbee'")]) {
        let Err(error) = &outcome.result else { panic!("{outcome:?}") };
        assert_eq!(error.kind, WriteErrorKind::Invalid, "{error:?}: refused, not maybe-written");
        assert!(error.message.contains(own) && !error.message.contains(other), "its own element's error: {error:?}");
        assert!(!error.message.contains("may have"), "nothing was created: {error:?}");
    }
    assert_eq!(h.sim.kit().log().endpoint("bulk create").requests, 1, "never resent");
}

#[tokio::test]
async fn creates_go_fifty_to_a_bulk_request() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let ops: Vec<WriteOp> =
        (0..120).map(|i| create(&format!("op{i}"), task(&format!("Task {i}"), TaskStatus::Todo))).collect();
    let outcomes = c.push(Kind::Task, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    assert_eq!(h.sim.kit().log().endpoint("bulk create").requests, 3, "50 + 50 + 20");
}
