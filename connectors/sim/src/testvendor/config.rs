//! [`TestVendorFactory`]: the test vendor's `[connectors.<name>]` options, validated before
//! anything is built.
//!
//! ```toml
//! [connectors.tv]
//! vendor = "testvendor"
//! base_url = "http://127.0.0.1:8081"   # required: the test vendor has no public address
//! token_env = "ZVENO_TESTVENDOR_TOKEN" # or token_file = "/run/secrets/tv"
//! page_size = 100                      # 1..=500
//! default_region = "RU"                # for phones typed without a country code
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use zveno_connector::http::{BearerToken, HttpClient, HttpSemantics, RateLimit, VendorHttp};
use zveno_connector::{
    BuildContext, ConfigProblem, Connector, ConnectorError, ConnectorFactory, Phone, Redactor, Secret, SecretRef,
};

use super::connector::TestVendorConnector;
use super::simulator::MAX_PAGE;
use super::VENDOR;

/// The vendor-specific options. Unknown keys are reported by `VendorEntry::of`.
#[derive(Debug, Clone, Deserialize)]
pub struct TestVendorConfig {
    /// Environment variable holding the bearer token.
    pub token_env: Option<String>,
    /// File holding the bearer token.
    pub token_file: Option<PathBuf>,
    /// Records per page (1..=500).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// ISO region (`RU`) for phones typed in national format.
    pub default_region: Option<String>,
}

fn default_page_size() -> usize {
    100
}

impl TestVendorConfig {
    fn token(&self) -> SecretRef {
        SecretRef::new(self.token_env.clone(), self.token_file.clone())
    }
}

/// Checked test-vendor options with the token read: what a connector is built from.
#[derive(Debug, Clone)]
pub struct TestVendorSettings {
    /// Where the simulator listens.
    pub base_url: url::Url,
    /// The bearer token.
    pub token: Secret,
    /// Records per page.
    pub page_size: usize,
    /// The region national phone numbers are read in.
    pub region: Option<phonenumber::country::Id>,
}

/// The test vendor's typed factory.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestVendorFactory;

impl ConnectorFactory for TestVendorFactory {
    type Config = TestVendorConfig;
    type Settings = TestVendorSettings;
    const VENDOR: &'static str = VENDOR;

    /// 100 requests per rolling 10 s: the simulator's own limit, so a steady pull never
    /// sees a 429.
    fn default_rate_limits() -> BTreeMap<String, RateLimit> {
        BTreeMap::from([("default".to_string(), RateLimit::new(100, 10))])
    }

    fn resolve(config: &TestVendorConfig, ctx: &BuildContext) -> Result<TestVendorSettings, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let base_url = match &ctx.base_url {
            None => {
                problems.push(ConfigProblem::new(
                    ctx.path("base_url"),
                    "required for the test vendor (it has no public address)",
                ));
                None
            }
            Some(url) if !matches!(url.scheme(), "http" | "https") => {
                problems.push(ConfigProblem::new(ctx.path("base_url"), format!("must be an http(s) URL, got {url}")));
                None
            }
            Some(url) => Some(url.clone()),
        };
        let token = config.token().resolve(&ctx.path("token"), &ctx.env).map_err(|p| problems.push(p)).ok();
        if !(1..=MAX_PAGE).contains(&config.page_size) {
            problems.push(ConfigProblem::new(
                ctx.path("page_size"),
                format!("must be between 1 and {MAX_PAGE}, got {}", config.page_size),
            ));
        }
        let region = match config.default_region.as_deref().map(Phone::region).transpose() {
            Ok(region) => region,
            Err(e) => {
                problems.push(ConfigProblem::new(ctx.path("default_region"), e.to_string()));
                None
            }
        };
        let defaults = Self::default_rate_limits();
        for (bucket, limit) in &ctx.rate_limits {
            let path = ctx.path(&format!("rate_limits.{bucket}"));
            if !defaults.contains_key(bucket) {
                let known: Vec<&String> = defaults.keys().collect();
                problems.push(ConfigProblem::new(path, format!("unknown bucket (the test vendor has {known:?})")));
            } else if let Some(reason) = limit.problem() {
                problems.push(ConfigProblem::new(path, reason));
            }
        }
        match (base_url, token) {
            (Some(base_url), Some(token)) if problems.is_empty() => {
                Ok(TestVendorSettings { base_url, token, page_size: config.page_size, region })
            }
            _ => Err(problems),
        }
    }

    fn build(settings: TestVendorSettings, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let TestVendorSettings { base_url, token, page_size, region } = settings;
        let vendor = VendorHttp {
            rate_limits: Self::default_rate_limits(),
            classifier: Arc::new(HttpSemantics),
            auth: Arc::new(BearerToken(token.clone())),
            redactor: Redactor::new([token]),
        };
        let http = HttpClient::new(&ctx.name, vendor, &ctx.rate_limits, ctx.http, ctx.clock.clone())?;
        let kinds = ctx.kinds.clone();
        Ok(Arc::new(TestVendorConnector::new(ctx.name, base_url, http, page_size, region, kinds)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use zveno_connector::factory::VendorEntry;
    use zveno_connector::{Env, ManualClock};

    use super::*;

    fn ctx(base_url: Option<&str>) -> BuildContext {
        let mut ctx = BuildContext::new("tv", Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)));
        ctx.base_url = base_url.and_then(|u| url::Url::parse(u).ok());
        ctx.env = Env::from_pairs([("TV_TOKEN", "secret-token")]);
        ctx
    }

    fn problems(options: &serde_json::Value, ctx: &BuildContext) -> Vec<String> {
        let entry = VendorEntry::of::<TestVendorFactory>();
        (entry.validate)(options, ctx).into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_good_config_builds() {
        let ctx = ctx(Some("http://127.0.0.1:9/"));
        let options = json!({"token_env": "TV_TOKEN", "default_region": "RU"});
        assert_eq!(problems(&options, &ctx), Vec::<String>::new());
        let entry = VendorEntry::of::<TestVendorFactory>();
        let built = (entry.build)(&options, ctx);
        assert_eq!(built.map(|c| c.capabilities().page_size).ok(), Some(100));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut ctx = ctx(None);
        ctx.rate_limits.insert("search".into(), RateLimit::new(5, 1));
        ctx.rate_limits.insert("default".into(), RateLimit::new(0, 10));
        let got = problems(&json!({"token_env": "MISSING", "page_size": 501, "default_region": "Narnia"}), &ctx);
        for want in [
            "connectors.tv.base_url: required",
            "connectors.tv.token_env: MISSING is not set",
            "connectors.tv.page_size: must be between 1 and 500, got 501",
            "connectors.tv.default_region:",
            "connectors.tv.rate_limits.search: unknown bucket",
            "connectors.tv.rate_limits.default: requests and per_secs must be at least 1",
        ] {
            assert!(got.iter().any(|p| p.starts_with(want)), "{want:?} not in {got:#?}");
        }
        assert_eq!(got.len(), 6, "{got:#?}");
        let unknown = problems(&json!({"token_env": "TV_TOKEN", "pagesize": 5}), &ctx);
        assert!(unknown.iter().any(|p| p == "connectors.tv.pagesize: unknown key"), "{unknown:?}");
        let scheme = problems(&json!({"token_env": "TV_TOKEN"}), &self::ctx(Some("ftp://x.org")));
        assert!(scheme.iter().any(|p| p.contains("http(s)")), "{scheme:?}");
    }
}
