//! [`PipedriveFactory`]: parse, validate, build.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveTime;
use zveno_connector::http::{HttpClient, RateLimit, VendorHttp};
use zveno_connector::{
    BuildContext, ConfigProblem, Connector, ConnectorError, ConnectorFactory, Kind, Phone, Redactor,
};

use crate::client::{default_rate_limits, Credentials, PipedriveClassifier, PipedriveClient, TokenLedger};
use crate::config::PipedriveConfig;
use crate::connector::PipedriveConnector;
use crate::mapping::{Mapper, MapperSettings};

/// Pipedrive's public API host.
pub const DEFAULT_BASE_URL: &str = "https://api.pipedrive.com/";

/// The Pipedrive vendor entry (`vendor = "pipedrive"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PipedriveFactory;

impl ConnectorFactory for PipedriveFactory {
    type Config = PipedriveConfig;

    const VENDOR: &'static str = crate::VENDOR;

    fn default_rate_limits() -> BTreeMap<String, RateLimit> {
        default_rate_limits()
    }

    /// Organizations keep no phones or e-mails (those live on persons), and activities
    /// have no description or priority zveno writes (`mapping::write`).
    fn writable_fields(kind: Kind) -> &'static [&'static str] {
        match kind {
            Kind::Client => &["name", "tax_id", "domains", "owner"],
            Kind::Task => &["title", "status", "due", "assignee"],
            Kind::Contact => &[],
        }
    }

    fn validate(config: &PipedriveConfig, ctx: &BuildContext) -> Vec<ConfigProblem> {
        config.problems(ctx)
    }

    fn build(config: PipedriveConfig, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let problem = |p: ConfigProblem| ConnectorError::config(p.to_string());
        let token = config.token().resolve(&ctx.path("token"), &ctx.env).map_err(problem)?;
        let region = match &config.default_region {
            Some(code) => Some(
                Phone::region(code)
                    .map_err(|e| problem(ConfigProblem::new(ctx.path("default_region"), e.to_string())))?,
            ),
            None => None,
        };
        let mut base = ctx
            .base_url
            .clone()
            .map_or_else(|| url::Url::parse(DEFAULT_BASE_URL), Ok)
            .map_err(|e| ConnectorError::config(format!("bad base URL: {e}")))?;
        if !base.path().ends_with('/') {
            // `Url::join` replaces the last segment of a base without a trailing slash.
            base.set_path(&format!("{}/", base.path()));
        }
        let reset = config.reset_time().unwrap_or(NaiveTime::MIN);
        let ledger = Arc::new(TokenLedger::new(config.daily_budget(), config.daily_reserve_percent, reset));
        let credentials = Credentials::ApiToken(token);
        let vendor = VendorHttp {
            rate_limits: default_rate_limits(),
            classifier: Arc::new(PipedriveClassifier::new(ledger.clone())),
            auth: credentials.authenticator(),
            redactor: Redactor::new(credentials.secrets()),
        };
        let http = HttpClient::new(&ctx.name, vendor, &ctx.rate_limits, ctx.http, ctx.clock.clone())?;
        let mapper = Mapper::new(MapperSettings {
            connector: ctx.name.clone(),
            tax_id_field: config.tax_id_field.clone(),
            region,
            company_domain: config.company_domain.clone(),
            status_map: config.status_map.clone(),
        });
        Ok(Arc::new(
            PipedriveConnector::new(
                &ctx.name,
                ctx.kinds.clone(),
                PipedriveClient::new(http, base, ledger),
                mapper,
                Duration::from_secs(config.overlap_secs),
                ctx.clock.clone(),
            )
            .with_webhook_secret(ctx.webhook_secret.clone()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zveno_connector::factory::VendorEntry;
    use zveno_connector::{Env, Kind, ManualClock};

    fn ctx() -> BuildContext {
        let mut ctx = BuildContext::new("pd", Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)));
        ctx.env = Env::from_pairs([("PD", "0123456789abcdef")]);
        ctx
    }

    #[test]
    fn a_valid_config_builds_without_touching_the_network() {
        let entry = VendorEntry::of::<PipedriveFactory>();
        let options = serde_json::json!({"token_env": "PD", "default_region": "RU"});
        assert!((entry.validate)(&options, &ctx()).is_empty());
        let Ok(connector) = (entry.build)(&options, ctx()) else { panic!("builds") };
        assert_eq!((connector.name(), connector.vendor()), ("pd", "pipedrive"));
        let caps = connector.capabilities();
        assert_eq!((caps.page_size, caps.write), (500, vec![Kind::Client, Kind::Task]));
        assert!(!format!("{connector:?}").contains("0123456789abcdef"), "the token never prints");
        let unknown = serde_json::json!({"token_env": "PD", "api_token": "x"});
        let paths: Vec<String> = (entry.validate)(&unknown, &ctx()).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["connectors.pd.api_token"]);
        let missing = (entry.build)(&serde_json::json!({"token_env": "NOPE"}), ctx());
        assert!(missing.is_err_and(|e| e.kind() == zveno_connector::ErrorKind::Config));
    }
}
