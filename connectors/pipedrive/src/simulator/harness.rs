//! The simulator under the `zveno-sim` conformance suite ([`PipedriveHarness`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Clock, Connector, Kind, ManualClock};
use zveno_sim::conformance::SimulatedVendor;
use zveno_sim::kit::Kit;
use zveno_sim::world::{World, WorldSpec};

use super::{demo_token, PipedriveSim, SimOptions};

/// Clients in the harness's world.
pub const HARNESS_CLIENTS: usize = 400;

/// The page the harness's simulator serves: with it every kind spans several pages, so the
/// suite's resume and fault checks cross many page boundaries (and the connector follows
/// `next_cursor` through pages shorter than it asked for).
pub const HARNESS_PAGE: usize = 50;

/// A simulated company and connectors built for it through the factory.
#[derive(Debug)]
pub struct PipedriveHarness {
    sim: PipedriveSim,
    clock: Arc<ManualClock>,
}

impl PipedriveHarness {
    /// The simulator handle.
    pub fn sim(&self) -> &PipedriveSim {
        &self.sim
    }

    fn build(&self, token: &str, http: HttpOptions) -> Arc<dyn Connector> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        match self.sim.connector("pipedrive", clock, token, |ctx, _| ctx.http = http) {
            Ok(connector) => connector,
            Err(e) => panic!("the harness's own Pipedrive config is invalid: {e}"),
        }
    }
}

#[async_trait]
impl SimulatedVendor for PipedriveHarness {
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self {
        let world = World::generate(&WorldSpec::new(seed, HARNESS_CLIENTS, &[crate::simulator::SYSTEM]));
        let sim_clock: Arc<dyn Clock> = clock.clone();
        let options = SimOptions { max_page: HARNESS_PAGE, ..SimOptions::new(&demo_token(seed)) };
        match PipedriveSim::start(&world.system(crate::simulator::SYSTEM), sim_clock, seed, options).await {
            Ok(sim) => Self { sim, clock },
            Err(e) => panic!("cannot start the Pipedrive simulator: {e}"),
        }
    }

    fn kinds(&self) -> Vec<Kind> {
        Kind::ALL.to_vec()
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.build(&self.sim.token(), HttpOptions::default())
    }

    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        self.build("0000000000000000000000000000000000000000", HttpOptions::default())
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

    /// Pipedrive's burst 429 names its wait in `x-ratelimit-reset` (whole seconds).
    async fn throttle_next(&self, wait: Duration) -> Option<Duration> {
        self.sim.throttle_next(wait);
        Some(wait)
    }

    fn writes(&self) -> u64 {
        self.sim.writes()
    }
}
