//! Starting the test vendor for the daemon ([`launch`]) and for the conformance suite
//! ([`TestVendorHarness`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use zveno_connector::factory::VendorEntry;
use zveno_connector::http::HttpOptions;
use zveno_connector::{BuildContext, Clock, Connector, Env, Kind, ManualClock};

use super::{TestVendorFactory, TestVendorSim, VENDOR};
use crate::conformance::SimulatedVendor;
use crate::kit::{Kit, LaunchedSim, SimServer};
use crate::world::{SystemData, World, WorldSpec};

/// The environment variable [`launch`] tells the daemon to read the token from.
pub const TOKEN_ENV: &str = "ZVENO_TESTVENDOR_TOKEN";

/// Starts a test vendor holding `data` on `127.0.0.1:0` for `zveno demo` and benchmarks:
/// the [`LaunchedSim`] says how to point a connector at it, the [`TestVendorSim`] handle
/// lets the caller change its data. The token is derived from `seed`, so a demo is
/// reproducible; it is a demo credential, not a secret.
pub async fn launch(
    data: &SystemData,
    clock: Arc<dyn Clock>,
    seed: u64,
) -> std::io::Result<(LaunchedSim, TestVendorSim)> {
    let token = format!("tv-demo-{seed:016x}");
    let sim = TestVendorSim::new(data, Kit::new(clock, seed), &token);
    let server = sim.serve().await?;
    let help = format!(
        "test vendor at {url}: curl -H 'Authorization: Bearer {token}' '{url}/v1/clients?limit=5'",
        url = server.url()
    );
    let launched = LaunchedSim {
        vendor: VENDOR,
        server,
        options: json!({"token_env": TOKEN_ENV, "default_region": "RU"}),
        env: vec![(TOKEN_ENV.to_string(), token)],
        help,
    };
    Ok((launched, sim))
}

/// The test vendor under the conformance suite: a world of [`HARNESS_CLIENTS`] clients and
/// a page size of [`HARNESS_PAGE_SIZE`], so every kind spans several pages.
#[derive(Debug)]
pub struct TestVendorHarness {
    sim: TestVendorSim,
    server: SimServer,
    clock: Arc<ManualClock>,
}

/// Clients in the harness's world.
pub const HARNESS_CLIENTS: usize = 40;
/// Records per page in the harness's connectors.
pub const HARNESS_PAGE_SIZE: usize = 10;

impl TestVendorHarness {
    /// The simulator handle.
    pub fn sim(&self) -> &TestVendorSim {
        &self.sim
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A connector built through the factory, as the daemon would, with `token` and `http`.
    pub fn build(&self, token: &str, http: HttpOptions) -> Result<Arc<dyn Connector>, String> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        let mut ctx = BuildContext::new("tv", clock);
        ctx.base_url = url::Url::parse(&self.server.url()).ok();
        ctx.env = Env::from_pairs([(TOKEN_ENV, token)]);
        ctx.http = http;
        let options = json!({
            "token_env": TOKEN_ENV,
            "page_size": HARNESS_PAGE_SIZE,
            "default_region": "RU",
        });
        VendorEntry::of::<TestVendorFactory>().build_checked(&options, ctx)
    }

    fn must_build(&self, token: &str, http: HttpOptions) -> Arc<dyn Connector> {
        match self.build(token, http) {
            Ok(connector) => connector,
            Err(e) => panic!("the harness's own test vendor config is invalid: {e}"),
        }
    }
}

#[async_trait]
impl SimulatedVendor for TestVendorHarness {
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self {
        let world = World::generate(&WorldSpec::new(seed, HARNESS_CLIENTS, &[super::SYSTEM]));
        let sim =
            TestVendorSim::new(&world.system(super::SYSTEM), Kit::new(clock.clone(), seed), &format!("tv-{seed:x}"));
        let server = match sim.serve().await {
            Ok(server) => server,
            Err(e) => panic!("cannot start the test vendor simulator: {e}"),
        };
        Self { sim, server, clock }
    }

    fn kinds(&self) -> Vec<Kind> {
        Kind::ALL.to_vec()
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.must_build(self.sim.token(), HttpOptions::default())
    }

    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        self.must_build("not-the-token", HttpOptions::default())
    }

    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>> {
        Some(self.must_build(self.sim.token(), http))
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

    async fn throttle_next(&self, wait: Duration) -> Option<Duration> {
        Some(self.sim.throttle_next(wait))
    }

    fn writes(&self) -> u64 {
        self.sim.writes()
    }
}
