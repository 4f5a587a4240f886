//! Starting the simulated portal for the daemon ([`launch`]) and for the conformance suite
//! ([`Bitrix24Harness`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use zveno_connector::factory::VendorEntry;
use zveno_connector::http::HttpOptions;
use zveno_connector::{BuildContext, Clock, Connector, Env, Kind, ManualClock};
use zveno_sim::conformance::SimulatedVendor;
use zveno_sim::kit::{Kit, LaunchedSim, SimServer};
use zveno_sim::world::{SystemData, World, WorldSpec};

use super::{Bitrix24Sim, SimOptions};
use crate::{Bitrix24Factory, VENDOR};

/// The environment variable [`launch`] tells the daemon to read the webhook URL from.
pub const WEBHOOK_ENV: &str = "ZVENO_BITRIX24_WEBHOOK_URL";

/// Starts a simulated portal holding `data` on `127.0.0.1:0`, for `zveno demo` and
/// benchmarks. The webhook code is derived from `seed`, so a demo is reproducible; it is a
/// demo credential, not a secret.
pub async fn launch(data: SystemData, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<LaunchedSim> {
    Ok(launch_with_handle(&data, clock, seed).await?.0)
}

/// [`launch`], also returning the handle to inspect and change the portal.
pub async fn launch_with_handle(
    data: &SystemData,
    clock: Arc<dyn Clock>,
    seed: u64,
) -> std::io::Result<(LaunchedSim, Bitrix24Sim)> {
    let sim = Bitrix24Sim::new(data, Kit::new(clock, seed), demo_options(seed));
    serve(sim).await
}

/// Starts a simulated portal holding recorded list rows (see [`Bitrix24Sim::recorded`]), for
/// measuring zveno on data recorded elsewhere.
pub async fn launch_recorded(
    responses: &serde_json::Value,
    clock: Arc<dyn Clock>,
    seed: u64,
) -> std::io::Result<(LaunchedSim, Bitrix24Sim)> {
    serve(Bitrix24Sim::recorded(responses, Kit::new(clock, seed), demo_options(seed))?).await
}

/// The webhook code is derived from `seed`, so a demo is reproducible.
fn demo_options(seed: u64) -> SimOptions {
    SimOptions { code: format!("demo{:012x}", seed & 0xffff_ffff_ffff), ..SimOptions::default() }
}

async fn serve(sim: Bitrix24Sim) -> std::io::Result<(LaunchedSim, Bitrix24Sim)> {
    let server = sim.serve().await?;
    let webhook = sim.webhook_url(&server.url());
    let help = format!(
        "Bitrix24 portal at {url}: curl '{webhook}crm.company.list.json?select[]=ID&select[]=TITLE&select[]=PHONE&start=-1'",
        url = server.url()
    );
    let launched = LaunchedSim {
        vendor: VENDOR,
        server,
        options: json!({"webhook_url_env": WEBHOOK_ENV}),
        env: vec![(WEBHOOK_ENV.to_string(), webhook)],
        help,
    };
    Ok((launched, sim))
}

/// The portal under the conformance suite: a world of [`HARNESS_CLIENTS`] clients read with
/// [`HARNESS_CALLS_PER_BATCH`] list call per batch, so every kind spans several pages.
#[derive(Debug)]
pub struct Bitrix24Harness {
    sim: Bitrix24Sim,
    server: SimServer,
    clock: Arc<ManualClock>,
}

/// Clients in the harness's world.
pub const HARNESS_CLIENTS: usize = 150;
/// List calls per batch in the harness's connectors: pages of 50 rows.
pub const HARNESS_CALLS_PER_BATCH: usize = 1;

impl Bitrix24Harness {
    /// A portal holding `data` (a hand-built world), on `clock`.
    pub async fn with_data(data: &SystemData, clock: Arc<ManualClock>, seed: u64) -> Self {
        let sim = Bitrix24Sim::new(data, Kit::new(clock.clone(), seed), SimOptions::default());
        let server = match sim.serve().await {
            Ok(server) => server,
            Err(e) => panic!("cannot start the Bitrix24 simulator: {e}"),
        };
        Self { sim, server, clock }
    }

    /// The simulator handle.
    pub fn sim(&self) -> &Bitrix24Sim {
        &self.sim
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.clock
    }

    /// A connector built through the factory, as the daemon builds it, with the webhook
    /// `url` and extra vendor `options`.
    pub fn build(
        &self,
        url: &str,
        options: &serde_json::Value,
        http: HttpOptions,
    ) -> Result<Arc<dyn Connector>, String> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        let mut ctx = BuildContext::new("b24", clock);
        ctx.env = Env::from_pairs([(WEBHOOK_ENV, url)]);
        ctx.http = http;
        let mut all = json!({"webhook_url_env": WEBHOOK_ENV, "calls_per_batch": HARNESS_CALLS_PER_BATCH});
        if let (Some(all), Some(extra)) = (all.as_object_mut(), options.as_object()) {
            all.extend(extra.clone());
        }
        VendorEntry::of::<Bitrix24Factory>().build_checked(&all, ctx)
    }

    /// The webhook URL the simulator accepts.
    pub fn webhook_url(&self) -> String {
        self.sim.webhook_url(&self.server.url())
    }

    fn must_build(&self, url: &str, http: HttpOptions) -> Arc<dyn Connector> {
        match self.build(url, &json!({}), http) {
            Ok(connector) => connector,
            Err(e) => panic!("the harness's own Bitrix24 config is invalid: {e}"),
        }
    }
}

#[async_trait]
impl SimulatedVendor for Bitrix24Harness {
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self {
        let world = World::generate(&WorldSpec::new(seed, HARNESS_CLIENTS, &[crate::simulator::SYSTEM]));
        Self::with_data(&world.system(crate::simulator::SYSTEM), clock, seed).await
    }

    fn kinds(&self) -> Vec<Kind> {
        Kind::ALL.to_vec()
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.must_build(&self.webhook_url(), HttpOptions::default())
    }

    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        let wrong = self.webhook_url().replace(&self.sim.options().code, "wrongwebhookcode");
        self.must_build(&wrong, HttpOptions::default())
    }

    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>> {
        Some(self.must_build(&self.webhook_url(), http))
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

    /// Bitrix24's throttling answer carries no wait: a 503 `QUERY_LIMIT_EXCEEDED`.
    async fn throttle_next(&self, _wait: Duration) -> Option<Duration> {
        self.sim.throttle_next();
        None
    }

    fn writes(&self) -> u64 {
        self.sim.writes()
    }
}
