//! [`TokenHarness`]: the conformance harness of a vendor whose connectors present one API
//! token, written once. The vendor's simulator says how it starts for the suite, which
//! token it accepts, how a connector is built for it and how it throttles
//! ([`TokenSimulator`]); the harness does the rest, so two vendors' harnesses are not two
//! copies of the same forty lines.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Clock, Connector, Kind, ManualClock};

use super::{SimControls, SimulatedVendor};

/// A simulator whose connectors authenticate with one token, as [`TokenHarness`] drives it.
#[async_trait]
pub trait TokenSimulator: SimControls + Sized + 'static {
    /// The vendor's name, for the harness's panics.
    const VENDOR: &'static str;

    /// A well-formed token the simulator rejects.
    const WRONG_TOKEN: &'static str;

    /// Starts the simulator the suite runs against (a generated world of the harness's
    /// size, pages small enough that every kind spans several), on `clock`.
    async fn start_for_suite(seed: u64, clock: Arc<dyn Clock>) -> std::io::Result<Self>;

    /// The token the simulator accepts.
    fn token(&self) -> String;

    /// A connector presenting `token`, with `http` options, built through the vendor's
    /// registry entry; an error names every config problem.
    fn connector_for(
        &self,
        clock: Arc<dyn Clock>,
        token: &str,
        http: HttpOptions,
    ) -> Result<Arc<dyn Connector>, String>;

    /// Makes the next data request answer with the vendor's throttling response; the wait
    /// it tells the client (see [`SimulatedVendor::throttle_next`]).
    async fn throttle_next(&self, wait: Duration) -> Option<Duration>;
}

/// The conformance harness of a [`TokenSimulator`].
#[derive(Debug)]
pub struct TokenHarness<S> {
    sim: S,
    clock: Arc<ManualClock>,
}

impl<S: TokenSimulator> TokenHarness<S> {
    /// The simulator.
    pub fn sim(&self) -> &S {
        &self.sim
    }

    fn build(&self, token: &str, http: HttpOptions) -> Arc<dyn Connector> {
        self.build_on(self.clock.clone(), token, http)
    }

    fn build_on(&self, clock: Arc<dyn Clock>, token: &str, http: HttpOptions) -> Arc<dyn Connector> {
        match self.sim.connector_for(clock, token, http) {
            Ok(connector) => connector,
            Err(e) => panic!("the harness's own {} config is invalid: {e}", S::VENDOR),
        }
    }
}

#[async_trait]
impl<S: TokenSimulator> SimulatedVendor for TokenHarness<S> {
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self {
        match S::start_for_suite(seed, clock.clone()).await {
            Ok(sim) => Self { sim, clock },
            Err(e) => panic!("cannot start the {} simulator: {e}", S::VENDOR),
        }
    }

    fn kinds(&self) -> Vec<Kind> {
        Kind::ALL.to_vec()
    }

    fn controls(&self) -> &dyn SimControls {
        &self.sim
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.build(&self.sim.token(), HttpOptions::default())
    }

    fn connector_on_clock(&self, clock: Arc<dyn Clock>) -> Arc<dyn Connector> {
        self.build_on(clock, &self.sim.token(), HttpOptions::default())
    }

    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        self.build(S::WRONG_TOKEN, HttpOptions::default())
    }

    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>> {
        Some(self.build(&self.sim.token(), http))
    }

    async fn throttle_next(&self, wait: Duration) -> Option<Duration> {
        self.sim.throttle_next(wait).await
    }
}
