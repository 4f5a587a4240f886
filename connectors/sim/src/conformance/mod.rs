//! The connector conformance suite.
//!
//! Every connector must pass it against its own simulator, with faults on. A vendor crate
//! implements [`SimulatedVendor`] for its simulator + connector pair and writes
//! `zveno_sim::conformance_suite!(MyHarness);` in its integration tests: one `#[tokio::test]`
//! per check, so a failure names the property that broke, and a check added here runs for
//! every vendor without editing any vendor crate.
//!
//! The suite owns the clock: it creates a [`ManualClock`] and hands it to
//! [`SimulatedVendor::start`], so rate-limit waits and `Retry-After` cost no wall time and
//! the simulator's timestamps move with the connector's idea of "now".

mod checks;

/// One `#[tokio::test]` per conformance check, for the [`SimulatedVendor`] harness given.
/// Use it once per vendor, in the crate's integration tests; the list of checks lives here
/// only.
#[macro_export]
macro_rules! conformance_suite {
    ($harness:ty) => {
        $crate::conformance_suite!(@checks $harness;
            pagination_terminates,
            cursor_resumes_after_restart,
            incremental_returns_only_changes,
            unauthorized_is_auth_error,
            throttling_waits_then_succeeds,
            server_errors_and_timeouts_are_retried,
            malformed_record_is_reported_not_fatal,
            check_never_writes,
            full_sync_under_faults,
            fetch_reads_by_id,
        );
    };
    (@checks $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::conformance::$check::<$harness>().await;
            }
        )*
    };
}

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Connector, Kind, ManualClock};

pub use checks::*;

use crate::kit::Kit;

/// A vendor simulator and a connector pointed at it, as the suite drives them.
#[async_trait]
pub trait SimulatedVendor: Send + Sync + Sized + 'static {
    /// Starts a fresh simulator seeded from a small world generated with `seed`, on `clock`.
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self;

    /// Kinds the connector reads.
    fn kinds(&self) -> Vec<Kind>;

    /// A connector with valid credentials. Each call builds a new instance (a "restart").
    fn connector(&self) -> Arc<dyn Connector>;

    /// A connector whose credentials the simulator rejects.
    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector>;

    /// A connector with valid credentials and these timeout/retry settings, so the suite
    /// can check timeouts with a 1-second timeout instead of waiting 30 real seconds.
    /// `None` fails [`server_errors_and_timeouts_are_retried`]: no check is skipped.
    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>>;

    /// The simulator's kit: faults and request log.
    fn kit(&self) -> &Kit;

    /// Live (not deleted) records of `kind` the simulator holds.
    fn count(&self, kind: Kind) -> usize;

    /// Modifies `n` existing records of `kind`, stamping them with the clock's now, and
    /// returns their external ids.
    async fn touch(&self, kind: Kind, n: usize) -> Vec<String>;

    /// Corrupts one record of `kind` so that the connector cannot normalise it (e.g. a
    /// required field of the wrong JSON type) while the rest of its page stays valid;
    /// returns its external id.
    async fn corrupt(&self, kind: Kind) -> String;

    /// Makes the next data request answer with the vendor's own throttling response asking
    /// to wait `wait` (429 + `Retry-After`, or Bitrix24's 503 `QUERY_LIMIT_EXCEEDED`).
    /// Returns the wait the response tells the client, or `None` when the vendor's
    /// throttling answer carries no wait (Bitrix24), so the suite knows what to assert.
    async fn throttle_next(&self, wait: Duration) -> Option<Duration>;

    /// Write requests the simulator has received (creates, updates, deletes).
    fn writes(&self) -> u64;
}
