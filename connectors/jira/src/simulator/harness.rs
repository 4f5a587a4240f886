//! A Jira simulator with connectors pointed at it, for tests, the conformance suite and
//! the benchmark: connectors are built through [`JiraFactory`] exactly as the daemon
//! builds them (options validated, token by environment reference).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use zveno_connector::factory::VendorEntry;
use zveno_connector::http::{BasicAuth, Call, HttpClient, HttpOptions, HttpSemantics, RateLimit, VendorHttp};
use zveno_connector::{BuildContext, Clock, Connector, ConnectorError, Env, Kind, ManualClock, Redactor, Secret};
use zveno_sim::conformance::SimulatedVendor;
use zveno_sim::kit::Kit;
use zveno_sim::world::{SystemData, World, WorldSpec};

pub use super::site::account_id;
use super::{JiraSim, SimOptions, TOKEN_ENV};
use crate::JiraFactory;

/// Clients in the conformance world (about two issues each).
pub const HARNESS_CLIENTS: usize = 50;
/// Issues per search page in the conformance simulator, so a full pull spans pages.
pub const HARNESS_PAGE: usize = 10;

/// How to build one connector.
#[derive(Debug, Clone, Default)]
pub struct Build {
    /// Options merged over the simulator's own (`jql`, `status_map`, ...).
    pub options: serde_json::Map<String, Value>,
    /// The token to present (default: the one the simulator accepts).
    pub token: Option<String>,
    /// Timeouts and retries.
    pub http: HttpOptions,
    /// Rate-limit overrides (`default` bucket).
    pub rate_limits: BTreeMap<String, RateLimit>,
}

/// A running simulator and the clock its connectors share.
#[derive(Debug)]
pub struct JiraHarness {
    /// The simulator.
    pub sim: JiraSim,
    clock: Arc<dyn Clock>,
}

impl JiraHarness {
    /// A simulator holding `data`.
    pub async fn start(data: SystemData, clock: Arc<dyn Clock>, seed: u64, options: SimOptions) -> Self {
        match JiraSim::start(data, clock.clone(), seed, options).await {
            Ok(sim) => Self { sim, clock },
            Err(e) => panic!("cannot start the Jira simulator: {e}"),
        }
    }

    /// Builds a connector through the factory, as the daemon does.
    pub fn build(&self, build: Build) -> Result<Arc<dyn Connector>, String> {
        let mut ctx = BuildContext::new("jira", self.clock.clone());
        ctx.kinds = vec![Kind::Task];
        ctx.base_url = url::Url::parse(&self.sim.url()).ok();
        let token = build.token.unwrap_or_else(|| self.sim.options().token.clone());
        ctx.env = Env::from_pairs([(TOKEN_ENV, token)]);
        ctx.http = build.http;
        ctx.rate_limits = build.rate_limits;
        let mut options = self.sim.connector_options();
        if let Some(map) = options.as_object_mut() {
            map.extend(build.options);
        }
        VendorEntry::of::<JiraFactory>().build_checked(&options, ctx)
    }

    /// A raw HTTP client with the simulator's credentials, for talking to it directly.
    pub fn http(&self) -> Result<HttpClient, ConnectorError> {
        let token = Secret::new(&self.sim.options().token);
        let vendor = VendorHttp {
            rate_limits: BTreeMap::new(),
            classifier: Arc::new(HttpSemantics),
            auth: Arc::new(BasicAuth { user: self.sim.options().email.clone(), password: token.clone() }),
            redactor: Redactor::new([token]),
        };
        HttpClient::new("jira-raw", vendor, &BTreeMap::new(), HttpOptions::default(), self.clock.clone())
    }

    /// The URL of an API path on the simulator (`rest/api/3/myself`).
    pub fn api(&self, path: &str) -> url::Url {
        match url::Url::parse(&self.sim.url()).and_then(|u| u.join(path)) {
            Ok(u) => u,
            Err(e) => panic!("bad simulator URL: {e}"),
        }
    }

    /// Ids a raw `search/jql` for `jql` returns (one id-only page of up to 5,000).
    pub async fn search_ids(&self, jql: &str) -> Result<Vec<u64>, String> {
        let body = serde_json::json!({"jql": jql, "fields": ["id"], "maxResults": 5000});
        let response = self
            .http()
            .map_err(|e| e.to_string())?
            .send(Call::post_json(self.api("rest/api/3/search/jql"), &body))
            .await;
        let page: Value = response.map_err(|e| e.to_string())?.json().map_err(|e| e.to_string())?;
        Ok(page["issues"].as_array().into_iter().flatten().filter_map(|i| i["id"].as_str()?.parse().ok()).collect())
    }

    /// A connector with the simulator's own options and credentials.
    pub fn connector(&self) -> Arc<dyn Connector> {
        self.must_build(Build::default())
    }

    /// [`JiraHarness::build`], panicking on a config problem (a bug in the test itself).
    pub fn must_build(&self, build: Build) -> Arc<dyn Connector> {
        match self.build(build) {
            Ok(c) => c,
            Err(e) => panic!("the harness's Jira config is invalid: {e}"),
        }
    }
}

#[async_trait]
impl SimulatedVendor for JiraHarness {
    async fn start(seed: u64, clock: Arc<ManualClock>) -> Self {
        let world = World::generate(&WorldSpec::new(seed, HARNESS_CLIENTS, &[crate::simulator::SYSTEM]));
        // Search lag is off here: the suite checks generic behaviour and does not wait for
        // indexing; the crate's own tests cover lag against the overlap.
        let options = SimOptions { fields_page: HARNESS_PAGE, lag: Duration::ZERO, ..SimOptions::default() };
        JiraHarness::start(world.system(crate::simulator::SYSTEM), clock, seed, options).await
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![Kind::Task]
    }

    fn connector(&self) -> Arc<dyn Connector> {
        JiraHarness::connector(self)
    }

    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        self.must_build(Build { token: Some("not-the-token".into()), ..Build::default() })
    }

    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>> {
        Some(self.must_build(Build { http, ..Build::default() }))
    }

    fn kit(&self) -> &Kit {
        self.sim.kit()
    }

    fn count(&self, kind: Kind) -> usize {
        if kind == Kind::Task {
            self.sim.count()
        } else {
            0
        }
    }

    async fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        if kind == Kind::Task {
            self.sim.touch(n)
        } else {
            Vec::new()
        }
    }

    async fn corrupt(&self, _kind: Kind) -> String {
        self.sim.corrupt()
    }

    async fn throttle_next(&self, wait: Duration) -> Option<Duration> {
        Some(self.sim.throttle_next(wait))
    }

    fn writes(&self) -> u64 {
        self.sim.writes()
    }
}
