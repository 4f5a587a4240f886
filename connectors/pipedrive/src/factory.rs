//! [`PipedriveFactory`]: parse, validate, build.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveTime;
use zveno_connector::http::{HttpClient, RateLimit, VendorHttp};
use zveno_connector::{
    account_key, host_of, BuildContext, ConfigProblem, Connector, ConnectorError, ConnectorFactory, Kind, Redactor,
};

use crate::client::{default_rate_limits, Credentials, PipedriveClassifier, PipedriveClient, TokenLedger};
use crate::config::{PipedriveConfig, Settings};
use crate::connector::PipedriveConnector;
use crate::mapping::{Mapper, MapperSettings};

/// Pipedrive's public API host.
pub const DEFAULT_BASE_URL: &str = "https://api.pipedrive.com/";

/// The Pipedrive vendor entry (`vendor = "pipedrive"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PipedriveFactory;

impl ConnectorFactory for PipedriveFactory {
    type Config = PipedriveConfig;
    type Settings = Settings;

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

    fn resolve(config: &PipedriveConfig, ctx: &BuildContext) -> Result<Settings, Vec<ConfigProblem>> {
        config.resolve(ctx)
    }

    /// Pipedrive ids are numbers; anything else names no Pipedrive record.
    fn record_id(reference: &str) -> Option<String> {
        zveno_connector::numeric_id(reference)
    }

    fn build(settings: Settings, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let Settings { config, token, region, overlap, status_map } = settings;
        let base = ctx.api_base(DEFAULT_BASE_URL)?;
        let reset = config.reset_time().unwrap_or(NaiveTime::MIN);
        // The token budget is the company's: connectors on one company spend one ledger.
        // `api.pipedrive.com` serves every company, so without `company_domain` the token
        // tells companies apart.
        let (source, account) = match &config.company_domain {
            Some(domain) => {
                (format!("company {domain}"), account_key(crate::VENDOR, &format!("company {domain}"), None))
            }
            None => (host_of(&base), account_key(crate::VENDOR, &host_of(&base), Some(&token))),
        };
        // Tallied in the daemon's store when it provides one: instances and restarts share it.
        let ledger = ctx.accounts.shared(&account, || {
            TokenLedger::new(config.daily_budget(), config.daily_reserve_percent, reset)
                .with_shared(ctx.accounts.ledger(), &account)
        });
        let credentials = Credentials::ApiToken(token);
        let vendor = VendorHttp {
            rate_limits: default_rate_limits(),
            classifier: Arc::new(PipedriveClassifier::new(ledger.clone())),
            auth: credentials.authenticator(),
            redactor: Redactor::new(credentials.secrets()),
        };
        let http = HttpClient::for_account(&ctx, vendor, &account)?;
        let mapper = Mapper::new(MapperSettings {
            connector: ctx.name.clone(),
            tax_id_field: config.tax_id_field.clone(),
            region,
            company_domain: config.company_domain.clone(),
            status_map,
        });
        Ok(Arc::new(
            PipedriveConnector::new(
                &ctx.name,
                ctx.kinds.clone(),
                PipedriveClient::new(http, base, ledger),
                mapper,
                overlap,
                ctx.clock.clone(),
            )
            .with_webhook_secret(ctx.webhook_secret.clone())
            .with_source(source)
            .with_handle_field(config.idempotency_field.clone()),
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
    fn record_ids_are_numbers() {
        let read = VendorEntry::of::<PipedriveFactory>().record_id;
        assert_eq!(read(" 512 "), Some("512".into()));
        for other in ["CO_512", "acme", "5 12", ""] {
            assert_eq!(read(other), None, "{other:?}");
        }
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
