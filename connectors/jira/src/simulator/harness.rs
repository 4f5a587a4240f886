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
use zveno_connector::{Clock, Connector, ConnectorError, Kind, ManualClock, Redactor, Secret};
use zveno_sim::conformance::{SimControls, SimulatedVendor};
use zveno_sim::kit::{Connect, Kit};
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
    /// The connector's own clock (default: the simulator's), to skew it against the site's.
    pub clock: Option<Arc<dyn Clock>>,
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
        let token = build.token.unwrap_or_else(|| self.sim.options().token.clone());
        let Build { http, rate_limits, options, clock, .. } = build;
        Connect::new(
            "jira",
            clock.unwrap_or_else(|| self.clock.clone()),
            Some(&self.sim.url()),
            self.sim.connector_options(),
        )
        .secret(TOKEN_ENV, &token)
        .http(http)
        .options(&Value::Object(options))
        .tune(|ctx, _| {
            ctx.kinds = vec![Kind::Task];
            ctx.rate_limits = rate_limits;
        })
        .build(VendorEntry::of::<JiraFactory>())
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

    fn controls(&self) -> &dyn SimControls {
        &self.sim
    }

    fn connector(&self) -> Arc<dyn Connector> {
        JiraHarness::connector(self)
    }

    fn connector_on_clock(&self, clock: Arc<dyn Clock>) -> Arc<dyn Connector> {
        self.must_build(Build { clock: Some(clock), ..Build::default() })
    }

    fn connector_with_wrong_credentials(&self) -> Arc<dyn Connector> {
        self.must_build(Build { token: Some("not-the-token".into()), ..Build::default() })
    }

    fn connector_with_http(&self, http: HttpOptions) -> Option<Arc<dyn Connector>> {
        Some(self.must_build(Build { http, ..Build::default() }))
    }

    async fn throttle_next(&self, wait: Duration) -> Option<Duration> {
        Some(self.sim.throttle_next(wait))
    }
}

/// The site holds issues only: tasks are its records, and it has none of other kinds.
impl SimControls for JiraSim {
    fn kit(&self) -> &Kit {
        JiraSim::kit(self)
    }

    fn count(&self, kind: Kind) -> usize {
        if kind == Kind::Task {
            JiraSim::count(self)
        } else {
            0
        }
    }

    fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        if kind == Kind::Task {
            JiraSim::touch(self, n)
        } else {
            Vec::new()
        }
    }

    fn corrupt(&self, kind: Kind) -> Option<String> {
        (kind == Kind::Task).then(|| JiraSim::corrupt(self))
    }

    fn writes(&self) -> u64 {
        JiraSim::writes(self)
    }
}
