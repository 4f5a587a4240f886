//! The simulator under the `zveno-sim` conformance suite ([`HubSpotHarness`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Clock, Connector, Kind, ManualClock};
use zveno_sim::conformance::SimulatedVendor;
use zveno_sim::kit::Kit;
use zveno_sim::world::{World, WorldSpec};

use super::{demo_token, HubSpotSim, SimOptions};

/// Clients in the harness's world: enough that every kind spans several list pages.
pub const HARNESS_CLIENTS: usize = 150;

/// The harness portal's index lag: real, but shorter than the one second the suite lets
/// pass between touching records and pulling them.
pub const HARNESS_INDEX_LAG: Duration = Duration::from_millis(500);

/// A simulated portal and connectors built for it through the factory.
#[derive(Debug)]
pub struct HubSpotHarness {
    sim: HubSpotSim,
    clock: Arc<ManualClock>,
}

impl HubSpotHarness {
    /// The simulator handle.
    pub fn sim(&self) -> &HubSpotSim {
        &self.sim
    }

    fn build(&self, token: &str, http: HttpOptions) -> Arc<dyn Connector> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        match self.sim.connector("hubspot", clock, token, |ctx, _| ctx.http = http) {
            Ok(connector) => connector,
            Err(e) => panic!("the harness's own HubSpot config is invalid: {e}"),
        }
    }
}

#[async_trait]
impl SimulatedVendor for HubSpotHarness {
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self {
        let world = World::generate(&WorldSpec::new(seed, HARNESS_CLIENTS, &[crate::simulator::SYSTEM]));
        let mut options = SimOptions::new(&demo_token(seed));
        options.index_lag = HARNESS_INDEX_LAG;
        let sim_clock: Arc<dyn Clock> = clock.clone();
        match HubSpotSim::start(&world.system(crate::simulator::SYSTEM), sim_clock, seed, options).await {
            Ok(sim) => Self { sim, clock },
            Err(e) => panic!("cannot start the HubSpot simulator: {e}"),
        }
    }

    fn kinds(&self) -> Vec<Kind> {
        Kind::ALL.to_vec()
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.build(&self.sim.token(), HttpOptions::default())
    }

    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        self.build("pat-na1-00000000-0000-0000-0000-000000000000", HttpOptions::default())
    }

    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>> {
        Some(self.build(&self.sim.token(), http))
    }

    fn kit(&self) -> &Kit {
        self.sim.kit()
    }

    fn count(&self, kind: Kind) -> usize {
        self.sim.count(kind)
    }

    async fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        self.sim.touch(kind, n)
    }

    async fn corrupt(&self, kind: Kind) -> String {
        self.sim.corrupt(kind).unwrap_or_default()
    }

    /// HubSpot's 429 names no wait (no `Retry-After`); it states the window it counts in
    /// (`X-HubSpot-RateLimit-Interval-Milliseconds: 10000`), and that is what zveno waits.
    async fn throttle_next(&self, _wait: Duration) -> Option<Duration> {
        self.sim.throttle_next();
        Some(Duration::from_secs(10))
    }

    fn writes(&self) -> u64 {
        self.sim.writes()
    }
}
