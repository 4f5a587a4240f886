//! The simulator under the `zveno-sim` conformance suite ([`HubSpotHarness`]): the shared
//! token harness, told how a HubSpot portal starts for the suite and how it throttles.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Clock, Connector};
use zveno_sim::conformance::{TokenHarness, TokenSimulator};
use zveno_sim::world::{World, WorldSpec};

use super::{demo_token, HubSpotSim, SimOptions};

/// Clients in the harness's world: enough that every kind spans several list pages.
pub const HARNESS_CLIENTS: usize = 150;

/// The harness portal's index lag: real, but shorter than the one second the suite lets
/// pass between touching records and pulling them.
pub const HARNESS_INDEX_LAG: Duration = Duration::from_millis(500);

/// A simulated portal and connectors built for it through the factory.
pub type HubSpotHarness = TokenHarness<HubSpotSim>;

#[async_trait]
impl TokenSimulator for HubSpotSim {
    const VENDOR: &'static str = "HubSpot";
    const WRONG_TOKEN: &'static str = "pat-na1-00000000-0000-0000-0000-000000000000";

    async fn start_for_suite(seed: u64, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let world = World::generate(&WorldSpec::new(seed, HARNESS_CLIENTS, &[crate::simulator::SYSTEM]));
        let mut options = SimOptions::new(&demo_token(seed));
        options.index_lag = HARNESS_INDEX_LAG;
        HubSpotSim::start(&world.system(crate::simulator::SYSTEM), clock, seed, options).await
    }

    fn token(&self) -> String {
        HubSpotSim::token(self)
    }

    fn connector_for(
        &self,
        clock: Arc<dyn Clock>,
        token: &str,
        http: HttpOptions,
    ) -> Result<Arc<dyn Connector>, String> {
        self.connector("hubspot", clock, token, |ctx, _| ctx.http = http)
    }

    /// HubSpot's 429 names no wait (no `Retry-After`); it states the window it counts in
    /// (`X-HubSpot-RateLimit-Interval-Milliseconds: 10000`), and that is what zveno waits.
    async fn throttle_next(&self, _wait: Duration) -> Option<Duration> {
        HubSpotSim::throttle_next(self);
        Some(Duration::from_secs(10))
    }
}
