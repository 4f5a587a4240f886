//! The conformance suite cannot be passed by saying nothing: a connector that reports no
//! HTTP statistics fails the retry check, however well it syncs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Capabilities, Connector, ConnectorError, Cursor, Kind, ManualClock, Page, SyncMode};
use zveno_sim::conformance::{server_errors_and_timeouts_are_retried, SimulatedVendor};
use zveno_sim::kit::Kit;
use zveno_sim::testvendor::TestVendorHarness;

/// A connector that syncs through the real one but keeps its HTTP statistics to itself
/// (the trait's default `http_stats`).
#[derive(Debug)]
struct Silent(Arc<dyn Connector>);

#[async_trait]
impl Connector for Silent {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn vendor(&self) -> &str {
        self.0.vendor()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn check(&self) -> Result<(), ConnectorError> {
        self.0.check().await
    }
    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        self.0.pull(kind, mode, cursor).await
    }
}

/// The test vendor's harness, handing out silent connectors.
struct SilentHarness(TestVendorHarness);

#[async_trait]
impl SimulatedVendor for SilentHarness {
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self {
        Self(TestVendorHarness::start(seed, clock).await)
    }
    fn kinds(&self) -> Vec<Kind> {
        self.0.kinds()
    }
    fn connector(&self) -> Arc<dyn Connector> {
        Arc::new(Silent(self.0.connector()))
    }
    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        Arc::new(Silent(self.0.connector_with_wrong_credentials()))
    }
    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>> {
        self.0.connector_with_http(http).map(|c| Arc::new(Silent(c)) as Arc<dyn Connector>)
    }
    fn kit(&self) -> &Kit {
        self.0.kit()
    }
    fn count(&self, kind: Kind) -> usize {
        self.0.count(kind)
    }
    async fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        self.0.touch(kind, n).await
    }
    async fn corrupt(&self, kind: Kind) -> String {
        self.0.corrupt(kind).await
    }
    async fn throttle_next(&self, wait: Duration) -> Option<Duration> {
        self.0.throttle_next(wait).await
    }
    fn writes(&self) -> u64 {
        self.0.writes()
    }
}

#[tokio::test]
async fn a_connector_without_http_statistics_fails_the_retry_check() {
    let outcome = tokio::spawn(server_errors_and_timeouts_are_retried::<SilentHarness>()).await;
    let Err(failure) = outcome else {
        panic!("the retry check passed a connector that reports no HTTP statistics");
    };
    assert!(failure.is_panic(), "{failure}");
    let message = failure.into_panic();
    let text = message.downcast_ref::<String>().map(String::as_str).unwrap_or_default();
    assert!(text.contains("no HTTP statistics"), "{text}");
}
