//! The connector conformance suite against the simulated portal, one test per check.

use zveno_bitrix24::simulator::Bitrix24Harness;
use zveno_sim::conformance;

#[tokio::test]
async fn pagination_terminates() {
    conformance::pagination_terminates::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn cursor_resumes_after_restart() {
    conformance::cursor_resumes_after_restart::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn incremental_returns_only_changes() {
    conformance::incremental_returns_only_changes::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn unauthorized_is_auth_error() {
    conformance::unauthorized_is_auth_error::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn throttling_waits_then_succeeds() {
    conformance::throttling_waits_then_succeeds::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried() {
    conformance::server_errors_and_timeouts_are_retried::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn malformed_record_is_reported_not_fatal() {
    conformance::malformed_record_is_reported_not_fatal::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn check_never_writes() {
    conformance::check_never_writes::<Bitrix24Harness>().await;
}

#[tokio::test]
async fn full_sync_under_faults() {
    conformance::full_sync_under_faults::<Bitrix24Harness>().await;
}
