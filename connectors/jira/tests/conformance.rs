//! The zveno connector conformance suite against the Jira simulator (faults included).

use zveno_jira::simulator::harness::JiraHarness;
use zveno_sim::conformance;

#[tokio::test]
async fn pagination_terminates() {
    conformance::pagination_terminates::<JiraHarness>().await;
}

#[tokio::test]
async fn cursor_resumes_after_restart() {
    conformance::cursor_resumes_after_restart::<JiraHarness>().await;
}

#[tokio::test]
async fn incremental_returns_only_changes() {
    conformance::incremental_returns_only_changes::<JiraHarness>().await;
}

#[tokio::test]
async fn unauthorized_is_auth_error() {
    conformance::unauthorized_is_auth_error::<JiraHarness>().await;
}

#[tokio::test]
async fn throttling_waits_then_succeeds() {
    conformance::throttling_waits_then_succeeds::<JiraHarness>().await;
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried() {
    conformance::server_errors_and_timeouts_are_retried::<JiraHarness>().await;
}

#[tokio::test]
async fn malformed_record_is_reported_not_fatal() {
    conformance::malformed_record_is_reported_not_fatal::<JiraHarness>().await;
}

#[tokio::test]
async fn check_never_writes() {
    conformance::check_never_writes::<JiraHarness>().await;
}

#[tokio::test]
async fn full_sync_under_faults() {
    conformance::full_sync_under_faults::<JiraHarness>().await;
}
