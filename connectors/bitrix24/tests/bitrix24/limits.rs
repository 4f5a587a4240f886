//! Limits and failures: the leaky bucket, `QUERY_LIMIT_EXCEEDED`, HTML pages,
//! `OPERATION_TIME_LIMIT`, wrong webhook codes, malformed bodies.

use std::time::Duration;

use serde_json::json;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Cursor, ErrorKind, Kind, SyncMode};
use zveno_sim::kit::FaultConfig;

use zveno_connector::Clock as _;
use zveno_sim::conformance::SimulatedVendor as _;

use super::{connector, drain, harness, portal, world};

#[tokio::test]
async fn the_governor_keeps_a_long_sync_free_of_503s() {
    // 400 tasks at one call per batch: 8 pages a scan, 30 scans, 240+ requests at full speed.
    let h = portal(&world(200)).await;
    let c = connector(&h, &json!({"calls_per_batch": 1}));
    let start = h.clock().now();
    for _ in 0..30 {
        drain(c.as_ref(), Kind::Task, SyncMode::Full, Cursor::default()).await;
    }
    let log = h.sim().kit().log().endpoint("batch");
    assert!(log.requests >= 240, "{log:?}");
    assert_eq!(log.throttled, 0, "no QUERY_LIMIT_EXCEEDED in the steady state");
    assert_eq!(c.http_stats().throttled, 0);
    let elapsed = (h.clock().now() - start).num_milliseconds() as f64 / 1000.0;
    let floor = (log.requests as f64 - 50.0) / 2.0;
    assert!(elapsed >= floor, "faster than the portal allows: {elapsed} s < {floor} s");
    assert!(elapsed <= floor * 1.1 + 1.0, "much slower than the bucket: {elapsed} s vs {floor} s");
}

#[tokio::test]
async fn a_query_limit_503_is_waited_out_and_the_page_still_arrives() {
    let h = harness(21).await;
    let c = h.connector();
    h.sim().throttle_next();
    let out = drain(c.as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    assert_eq!(out.records.len(), h.sim().count(Kind::Client));
    assert_eq!(c.http_stats().throttled, 1);
    assert_eq!(h.sim().kit().log().total().throttled, 1);
    assert!(h.clock().slept() >= Duration::from_secs(1), "waited {:?}", h.clock().slept());
}

#[tokio::test]
async fn an_html_page_on_a_503_is_throttling_too() {
    let h = harness(22).await;
    let c = h.connector();
    h.sim().html_next();
    let out = drain(c.as_ref(), Kind::Contact, SyncMode::Full, Cursor::default()).await;
    assert_eq!(out.records.len(), h.sim().count(Kind::Contact));
    assert_eq!(c.http_stats().throttled, 1);
}

#[tokio::test]
async fn operation_time_limit_pauses_only_that_method_until_its_basket_resets() {
    let h = harness(23).await;
    h.sim().set_operating_limit(150.0);
    h.sim().set_operating_cost("crm.company.list", 100.0);
    let c = h.connector();
    let first = c.pull(Kind::Client, SyncMode::Full, &Cursor::default()).await.unwrap();
    let second = c.pull(Kind::Client, SyncMode::Full, &first.cursor).await.unwrap();
    // 200 s used > 150 s: the portal refuses the third call. Its basket resets ~595 s from
    // now; the pause is clamped to `http.max_wait_secs` (300 s), like every vendor wait.
    let err = c.pull(Kind::Client, SyncMode::Full, &second.cursor).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited { retry_after: Some(Duration::from_secs(300)) }, "{err}");
    assert!(err.message().contains("OPERATION_TIME_LIMIT"), "{err}");
    // Other methods keep working at once.
    let slept = h.clock().slept();
    c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.expect("tasks are not blocked");
    assert!(h.clock().slept() - slept < Duration::from_secs(5));
    // The next company pages wait (at most max_wait each) until the basket drops out, then arrive.
    let mut third = c.pull(Kind::Client, SyncMode::Full, &second.cursor).await;
    for _ in 0..3 {
        match &third {
            Err(e) if matches!(e.kind(), ErrorKind::RateLimited { .. }) => {
                third = c.pull(Kind::Client, SyncMode::Full, &second.cursor).await;
            }
            _ => break,
        }
    }
    assert!(third.is_ok(), "{third:?}");
    assert!(h.clock().slept() - slept >= Duration::from_secs(590));
}

#[tokio::test]
async fn a_slow_portal_gets_shorter_batches_and_never_hits_its_limits() {
    // 300 companies (6 pages of 50), each list call taking 6 s of the portal's time: a
    // batch of 50 calls would take 300 s (the cloud cuts requests off at 60 s) and most of
    // the method's 480 s budget.
    let h = portal(&world(300)).await;
    h.sim().set_operating_cost("crm.company.list", 6.0);
    let c = super::fast(&h);
    let mut calls_per_batch = Vec::new();
    for _ in 0..5 {
        let mut cursor = Cursor::default();
        let mut read = 0;
        loop {
            let before = h.sim().calls("crm.company.list");
            let page = c.pull(Kind::Client, SyncMode::Full, &cursor).await.expect("no limit is ever hit");
            calls_per_batch.push(h.sim().calls("crm.company.list") - before);
            read += page.records.len();
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        assert_eq!(read, 300, "every scan reads every company");
    }
    assert_eq!(calls_per_batch[0], 50, "nothing is known before the first answer: a full batch");
    assert!(calls_per_batch[1..].iter().all(|n| *n <= 5), "half of 60 s at 6 s a call: {calls_per_batch:?}");
    assert!(
        calls_per_batch.iter().any(|n| *n < 5),
        "batches shrink further as the 480 s budget nears: {calls_per_batch:?}"
    );
    assert_eq!(h.sim().refused(), 0, "never an OPERATION_TIME_LIMIT");
    assert!(h.clock().slept() >= Duration::from_secs(250), "the method paused before the wall");
    let stats = c.http_stats();
    assert!(stats.slowed >= calls_per_batch.len() as u64 - 1, "shortened batches are counted: {stats:?}");
}

#[tokio::test]
async fn a_wrong_webhook_code_is_an_auth_error_that_never_shows_the_code() {
    let h = harness(24).await;
    let c = h.connector_with_wrong_credentials();
    let err = c.check().await.err().unwrap_or_else(|| panic!("accepted a wrong code"));
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.message().contains("NO_AUTH_FOUND"), "{err}");
    assert!(!err.to_string().contains("wrongwebhookcode"), "{err}");
    let pull = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await;
    assert_eq!(pull.err().map(|e| e.kind()), Some(ErrorKind::Auth));
}

#[tokio::test]
async fn errors_from_the_http_client_never_contain_the_webhook_code() {
    let h = harness(25).await;
    let code = h.sim().options().code.clone();
    // Every answer a 5xx: the error names the endpoint, with the code masked.
    h.sim().kit().faults().set(FaultConfig { server_errors: 1.0, ..FaultConfig::NONE });
    let err = h.connector().check().await.err().unwrap_or_else(|| panic!("5xx accepted"));
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("/rest/1/***/batch.json"), "{err}");
    assert!(!err.to_string().contains(&code), "{err}");
}

#[tokio::test]
async fn truncated_bodies_and_dropped_connections_are_retried() {
    let h = portal(&world(300)).await;
    h.sim().kit().faults().set(FaultConfig::CONFORMANCE);
    let c = connector(&h, &json!({"calls_per_batch": 1}));
    for kind in Kind::ALL {
        let out = drain(c.as_ref(), kind, SyncMode::Full, Cursor::default()).await;
        assert_eq!(out.unique().len(), h.sim().count(kind), "{kind}");
        assert!(out.errors.is_empty());
    }
    assert!(c.http_stats().retried > 0);
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let h = portal(&world(10)).await;
    h.sim().kit().faults().set(FaultConfig { latency_ms: 1500, ..FaultConfig::NONE });
    let http = HttpOptions { timeout_secs: Some(1), max_attempts: 2, ..HttpOptions::default() };
    let c = h.build(&h.webhook_url(), &json!({}), http).unwrap();
    let err = c.check().await.err().unwrap_or_else(|| panic!("no timeout"));
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(c.http_stats().retried >= 1);
    h.sim().kit().faults().set(FaultConfig::NONE);
    assert!(c.check().await.is_ok());
}
