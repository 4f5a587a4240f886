//! Failure paths against the simulator: bad credentials, Jira's 429s, 5xx, cut-off bodies,
//! unmappable issues, and the vendor behaviours the connector must never trip (410 search,
//! unbounded JQL, page ceilings).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{drain, harness};
use serde_json::json;
use zveno_connector::http::{Call, RateLimit};
use zveno_connector::{Clock, Cursor, ErrorKind, Kind, SyncMode};
use zveno_jira::simulator::harness::Build;
use zveno_jira::SimOptions;
use zveno_sim::kit::FaultConfig;

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_that_never_leaks_the_token() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.must_build(Build { token: Some("wrong-token-value".into()), ..Build::default() });
    let err = c.check().await.err();
    assert_eq!(err.as_ref().map(|e| e.kind()), Some(ErrorKind::Auth));
    assert!(err.is_some_and(|e| !e.to_string().contains("wrong-token-value")));
    let pull = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await;
    assert_eq!(pull.err().map(|e| e.kind()), Some(ErrorKind::Auth));
    assert_eq!(h.sim.kit().log().endpoint("myself").requests, 2, "401 is not retried");
}

#[tokio::test]
async fn a_429_is_waited_out_for_retry_after_then_the_page_arrives() {
    let (h, clock) = harness(10, SimOptions::default()).await;
    let c = h.connector();
    let told = h.sim.throttle_next(Duration::from_millis(6500));
    assert_eq!(told, Duration::from_secs(7));
    let before = clock.slept();
    let page = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await;
    assert!(page.is_ok_and(|p| !p.records.is_empty()));
    assert!(clock.slept() - before >= told, "waited {:?}", clock.slept() - before);
    assert_eq!(h.sim.kit().log().total().throttled, 1);
    assert_eq!(c.http_stats().throttled, 1);
}

#[tokio::test]
async fn the_default_budget_stays_under_a_10_rps_site_without_a_single_429() {
    let options = SimOptions { reads_per_sec: 10, fields_page: 5, ..SimOptions::default() };
    let (h, _) = harness(60, options).await;
    let c = h.connector();
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    assert_eq!(run.records.len(), h.sim.count());
    assert!(run.pages > 20);
    assert_eq!(h.sim.kit().log().total().throttled, 0);
}

#[tokio::test]
async fn an_over_budget_connector_is_throttled_by_jira_and_still_completes() {
    let options = SimOptions { reads_per_sec: 10, fields_page: 5, ..SimOptions::default() };
    let (h, clock) = harness(60, options).await;
    let c = h.must_build(Build {
        rate_limits: BTreeMap::from([(
            "default".to_string(),
            RateLimit { requests: 50, per_secs: 1, burst: Some(50) },
        )]),
        ..Build::default()
    });
    let started = clock.now();
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    assert_eq!(run.records.len(), h.sim.count());
    let throttled = h.sim.kit().log().total().throttled;
    assert!(throttled > 0, "a 50 rps burst must hit a 10 rps limit");
    assert_eq!(c.http_stats().throttled, throttled);
    assert!(clock.now() - started >= chrono::Duration::seconds(1), "Retry-After was honoured");
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let (h, _) = harness(30, SimOptions { fields_page: 10, ..SimOptions::default() }).await;
    h.sim.kit().faults().set(FaultConfig { server_errors: 0.3, dropped: 0.1, ..FaultConfig::NONE });
    let c = h.connector();
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    assert_eq!(run.records.len(), h.sim.count());
    assert!(h.sim.kit().log().total().errors > 0, "faults were injected");
    assert!(c.http_stats().retried > 0);
}

#[tokio::test]
async fn a_body_cut_short_is_a_transient_error_and_the_cursor_does_not_move() {
    let (h, _) = harness(10, SimOptions::default()).await;
    let c = h.connector();
    c.check().await.unwrap_or_else(|e| panic!("{e}"));
    h.sim.kit().faults().set(FaultConfig { malformed: 1.0, ..FaultConfig::NONE });
    let err = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.err();
    assert_eq!(err.as_ref().map(|e| e.kind()), Some(ErrorKind::Transient), "{err:?}");
    h.sim.kit().faults().set(FaultConfig::NONE);
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    assert_eq!(run.records.len(), h.sim.count());
}

#[tokio::test]
async fn an_unmappable_issue_is_reported_and_its_page_still_commits() {
    let (h, _) = harness(20, SimOptions { fields_page: 10, ..SimOptions::default() }).await;
    let bad = h.sim.corrupt();
    let c = h.connector();
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    assert_eq!(run.errors.len(), 1);
    assert_eq!(run.errors[0].external_id.as_deref(), Some(bad.as_str()));
    assert!(run.errors[0].message.contains("summary"), "{}", run.errors[0].message);
    assert_eq!(run.records.len(), h.sim.count() - 1);
}

#[tokio::test]
async fn check_reads_myself_and_writes_nothing() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    assert!(c.check().await.is_ok());
    assert_eq!(h.sim.writes(), 0);
    assert_eq!(h.sim.kit().log().total().requests, 1);
}

#[tokio::test]
async fn clients_and_contacts_are_unsupported() {
    let (h, _) = harness(5, SimOptions::default()).await;
    let c = h.connector();
    let err = c.pull(Kind::Client, SyncMode::Full, &Cursor::default()).await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Unsupported));
    assert_eq!(h.sim.kit().log().total().requests, 0);
}

#[tokio::test]
async fn the_simulator_speaks_jiras_search_rules() {
    let (h, _) = harness(80, SimOptions::default()).await;
    let http = h.http().unwrap_or_else(|e| panic!("{e}"));
    // The old search is gone.
    let old = http.send(Call::get(h.api("rest/api/3/search?jql=project%3DOPS"))).await.err();
    assert!(old.is_some_and(|e| e.to_string().contains("HTTP 410") && e.to_string().contains("/rest/api/3/search/jql")));
    // Unbounded JQL is refused.
    let body = json!({"jql": "order by key desc"});
    let unbounded = http.send(Call::post_json(h.api("rest/api/3/search/jql"), &body)).await.err();
    assert!(unbounded.is_some_and(|e| e.to_string().contains("Unbounded JQL")));
    // maxResults is a ceiling: 5,000 ids, but 100 issues with fields; no total.
    let n = h.sim.count();
    assert!(n > 100, "{n}");
    let ids = h.search_ids("project in (OPS, SUP)").await;
    assert_eq!(ids.map(|i| i.len()), Ok(n));
    let body = json!({"jql": "project in (OPS, SUP)", "fields": ["summary"], "maxResults": 5000});
    let page: serde_json::Value = http
        .send(Call::post_json(h.api("rest/api/3/search/jql"), &body))
        .await
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page["issues"].as_array().map(Vec::len), Some(100));
    assert_eq!(page["isLast"], json!(false));
    assert!(page["nextPageToken"].is_string() && page.get("total").is_none());
    // GET works too, with the default page of 50 and id-only issues.
    let get = http.send(Call::get(h.api("rest/api/3/search/jql?jql=project%20%3D%20OPS"))).await;
    let page: serde_json::Value = get.and_then(|r| r.json()).unwrap_or_else(|e| panic!("{e}"));
    let first = &page["issues"][0];
    assert_eq!(first.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()), Some(vec!["id".to_string()]));
    // A token from another query is refused.
    let body = json!({"jql": "project = SUP", "nextPageToken": page["nextPageToken"]});
    let mixed = http.send(Call::post_json(h.api("rest/api/3/search/jql"), &body)).await.err();
    assert!(mixed.is_some_and(|e| e.to_string().contains("next page token")));
}

#[tokio::test]
async fn hidden_emails_on_the_site_reach_records_as_account_ids() {
    let (h, _) = harness(40, SimOptions { hidden_email_share: 0.5, ..SimOptions::default() }).await;
    let c = h.connector();
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    let assignees: Vec<String> = run
        .records
        .iter()
        .filter_map(|r| match &r.data {
            Some(zveno_connector::RecordData::Task(t)) => t.assignee.clone(),
            _ => None,
        })
        .collect();
    assert!(assignees.iter().any(|a| a.contains('@')));
    assert!(assignees.iter().any(|a| a.starts_with("5b10a2844c2016570")), "hidden e-mails give account ids");
}
