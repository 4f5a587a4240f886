//! The conformance suite against the test vendor: one test per check, so a failure names
//! the property that broke.

use zveno_sim::conformance;
use zveno_sim::testvendor::TestVendorHarness;

#[tokio::test]
async fn pagination_terminates() {
    conformance::pagination_terminates::<TestVendorHarness>().await;
}

#[tokio::test]
async fn cursor_resumes_after_restart() {
    conformance::cursor_resumes_after_restart::<TestVendorHarness>().await;
}

#[tokio::test]
async fn incremental_returns_only_changes() {
    conformance::incremental_returns_only_changes::<TestVendorHarness>().await;
}

#[tokio::test]
async fn unauthorized_is_auth_error() {
    conformance::unauthorized_is_auth_error::<TestVendorHarness>().await;
}

#[tokio::test]
async fn throttling_waits_then_succeeds() {
    conformance::throttling_waits_then_succeeds::<TestVendorHarness>().await;
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried() {
    conformance::server_errors_and_timeouts_are_retried::<TestVendorHarness>().await;
}

#[tokio::test]
async fn malformed_record_is_reported_not_fatal() {
    conformance::malformed_record_is_reported_not_fatal::<TestVendorHarness>().await;
}

#[tokio::test]
async fn check_never_writes() {
    conformance::check_never_writes::<TestVendorHarness>().await;
}

#[tokio::test]
async fn full_sync_under_faults() {
    conformance::full_sync_under_faults::<TestVendorHarness>().await;
}
