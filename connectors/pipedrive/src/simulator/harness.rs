//! The simulator under the `zveno-sim` conformance suite ([`PipedriveHarness`]): the shared
//! token harness, told how a Pipedrive company starts for the suite and how it throttles.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Clock, Connector};
use zveno_sim::conformance::{TokenHarness, TokenSimulator};
use zveno_sim::world::{World, WorldSpec};

use super::{demo_token, PipedriveSim, SimOptions};

/// Clients in the harness's world.
pub const HARNESS_CLIENTS: usize = 400;

/// The page the harness's simulator serves: with it every kind spans several pages, so the
/// suite's resume and fault checks cross many page boundaries (and the connector follows
/// `next_cursor` through pages shorter than it asked for).
pub const HARNESS_PAGE: usize = 50;

/// A simulated company and connectors built for it through the factory.
pub type PipedriveHarness = TokenHarness<PipedriveSim>;

#[async_trait]
impl TokenSimulator for PipedriveSim {
    const VENDOR: &'static str = "Pipedrive";
    const WRONG_TOKEN: &'static str = "0000000000000000000000000000000000000000";

    async fn start_for_suite(seed: u64, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let world = World::generate(&WorldSpec::new(seed, HARNESS_CLIENTS, &[crate::simulator::SYSTEM]));
        let options = SimOptions { max_page: HARNESS_PAGE, ..SimOptions::new(&demo_token(seed)) };
        PipedriveSim::start(&world.system(crate::simulator::SYSTEM), clock, seed, options).await
    }

    fn token(&self) -> String {
        PipedriveSim::token(self)
    }

    fn connector_for(
        &self,
        clock: Arc<dyn Clock>,
        token: &str,
        http: HttpOptions,
    ) -> Result<Arc<dyn Connector>, String> {
        self.connector("pipedrive", clock, token, |ctx, _| ctx.http = http)
    }

    /// Pipedrive's burst 429 names its wait in `x-ratelimit-reset` (whole seconds).
    async fn throttle_next(&self, wait: Duration) -> Option<Duration> {
        PipedriveSim::throttle_next(self, wait);
        Some(wait)
    }
}
