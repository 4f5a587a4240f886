//! The `zveno-sim` conformance suite against the Pipedrive simulator, one test per check.
#![cfg(feature = "simulator")]

use zveno_pipedrive::simulator::PipedriveHarness;
use zveno_sim::conformance;

#[tokio::test]
async fn pagination_terminates() {
    conformance::pagination_terminates::<PipedriveHarness>().await;
}

#[tokio::test]
async fn cursor_resumes_after_restart() {
    conformance::cursor_resumes_after_restart::<PipedriveHarness>().await;
}

#[tokio::test]
async fn incremental_returns_only_changes() {
    conformance::incremental_returns_only_changes::<PipedriveHarness>().await;
}

#[tokio::test]
async fn unauthorized_is_auth_error() {
    conformance::unauthorized_is_auth_error::<PipedriveHarness>().await;
}

#[tokio::test]
async fn throttling_waits_then_succeeds() {
    conformance::throttling_waits_then_succeeds::<PipedriveHarness>().await;
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried() {
    conformance::server_errors_and_timeouts_are_retried::<PipedriveHarness>().await;
}

#[tokio::test]
async fn malformed_record_is_reported_not_fatal() {
    conformance::malformed_record_is_reported_not_fatal::<PipedriveHarness>().await;
}

#[tokio::test]
async fn check_never_writes() {
    conformance::check_never_writes::<PipedriveHarness>().await;
}

#[tokio::test]
async fn full_sync_under_faults() {
    conformance::full_sync_under_faults::<PipedriveHarness>().await;
}
