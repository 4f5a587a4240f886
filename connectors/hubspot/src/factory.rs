//! [`HubSpotFactory`]: parse, validate, build.
//!
//! Auth is an [`Authenticator`] chosen here and handed to the shared HTTP client, which
//! applies it to every attempt and calls its `refresh` after a 401. A private-app token is
//! a [`BearerToken`]; OAuth (30-minute access tokens refreshed from `expires_in`) would be
//! another `Authenticator` chosen by new config keys — nothing that calls the connector or
//! the client changes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use zveno_connector::http::{Authenticator, BearerToken, HttpClient, RateLimit, VendorHttp};
use zveno_connector::{
    account_key, host_of, BuildContext, ConfigProblem, Connector, ConnectorError, ConnectorFactory, Kind, Redactor,
    Renamed,
};

use crate::client::limits::{default_rate_limits, DailyBudget, HubSpotClassifier, DEFAULT_BUCKET};
use crate::client::HubSpotClient;
use crate::config::{HubSpotConfig, Settings};
use crate::connector::sweep::SweepPolicy;
use crate::connector::HubSpotConnector;
use crate::mapping::{Mapper, MapperSettings};

/// HubSpot's public API host.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com/";

/// The HubSpot vendor entry (`vendor = "hubspot"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct HubSpotFactory;

impl ConnectorFactory for HubSpotFactory {
    type Config = HubSpotConfig;
    type Settings = Settings;

    const VENDOR: &'static str = crate::VENDOR;

    /// The overlap's name before every vendor read it from `overlap_secs`.
    const RENAMED: &'static [Renamed] = &[Renamed { old: "search_overlap_secs", new: "overlap_secs" }];

    fn default_rate_limits() -> BTreeMap<String, RateLimit> {
        default_rate_limits()
    }

    /// Companies have no e-mail property (`mapping::write` sends name, domain, phone, the
    /// tax id property and the owner); tasks take every task field.
    fn writable_fields(kind: Kind) -> &'static [&'static str] {
        match kind {
            Kind::Client => &["name", "tax_id", "domains", "phones", "owner"],
            Kind::Task => zveno_connector::writable_model_fields(Kind::Task),
            Kind::Contact => &[],
        }
    }

    fn resolve(config: &HubSpotConfig, ctx: &BuildContext) -> Result<Settings, Vec<ConfigProblem>> {
        config.resolve(ctx)
    }

    /// HubSpot record ids are numbers; anything else names no HubSpot record.
    fn record_id(reference: &str) -> Option<String> {
        zveno_connector::numeric_id(reference)
    }

    fn build(settings: Settings, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let Settings { config, token, region, overlap, status_map, priority_map } = settings;
        let base = ctx.api_base(DEFAULT_BASE_URL)?;
        let burst = ctx
            .rate_limits
            .get(DEFAULT_BUCKET)
            .copied()
            .or_else(|| default_rate_limits().remove(DEFAULT_BUCKET))
            .map_or(0, |l| l.requests);
        // Every portal shares one API host, so the token tells accounts apart unless the
        // operator names the portal (`portal_id`); the daily quota and the search limit are
        // the portal's, shared by every connector on it (see `zveno_connector::accounts`).
        let (source, account) = match config.portal_id {
            Some(id) => (format!("portal {id}"), account_key(crate::VENDOR, &format!("portal {id}"), None)),
            None => (host_of(&base), account_key(crate::VENDOR, &host_of(&base), Some(&token))),
        };
        let budget = ctx.accounts.shared(&account, || {
            DailyBudget::new(config.daily_reserve_percent, burst, Duration::from_secs(ctx.http.max_wait_secs.max(1)))
        });
        let auth: Arc<dyn Authenticator> = Arc::new(BearerToken(token.clone()));
        let vendor = VendorHttp {
            rate_limits: default_rate_limits(),
            classifier: Arc::new(HubSpotClassifier::new(budget.clone())),
            auth,
            redactor: Redactor::new([token]),
        };
        let http = HttpClient::for_account(&ctx, vendor, &account)?;
        let mapper = Mapper::new(MapperSettings {
            connector: ctx.name.clone(),
            tax_id_properties: config.tax_id_property.clone(),
            region,
            portal_id: config.portal_id,
            status_map,
            priority_map,
        });
        Ok(Arc::new(
            HubSpotConnector::new(
                &ctx.name,
                ctx.kinds.clone(),
                HubSpotClient::new(http, base, budget),
                mapper,
                overlap,
                ctx.clock.clone(),
            )
            .with_webhook_secret(ctx.webhook_secret.clone())
            .with_sweep(SweepPolicy {
                every: Duration::from_secs(config.archived_sweep_secs),
                daily_percent: config.archived_sweep_percent,
            })
            .with_source(source)
            .with_handle_property(config.idempotency_property),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zveno_connector::factory::VendorEntry;
    use zveno_connector::{Env, Kind, ManualClock};

    fn ctx() -> BuildContext {
        let mut ctx = BuildContext::new("crm", Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)));
        ctx.env = Env::from_pairs([("HS", "pat-na1-secret")]);
        ctx.kinds = vec![Kind::Client, Kind::Task];
        ctx
    }

    #[test]
    fn record_ids_are_numbers() {
        let read = VendorEntry::of::<HubSpotFactory>().record_id;
        assert_eq!(read(" 512 "), Some("512".into()));
        for other in ["CO_512", "acme", "5 12", ""] {
            assert_eq!(read(other), None, "{other:?}");
        }
    }

    #[test]
    fn unknown_keys_are_reported_with_their_path() {
        let entry = VendorEntry::of::<HubSpotFactory>();
        let options = serde_json::json!({"token_env": "HS", "tax_property": "inn", "portal": 1});
        let paths: Vec<String> = (entry.validate)(&options, &ctx()).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["connectors.crm.portal", "connectors.crm.tax_property"]);
    }

    #[test]
    fn the_old_overlap_key_still_works_with_a_deprecation_warning() {
        let entry = VendorEntry::of::<HubSpotFactory>();
        let old = serde_json::json!({"token_env": "HS", "search_overlap_secs": 60});
        assert!((entry.validate)(&old, &ctx()).is_empty(), "the old name is not unknown");
        let warnings = (entry.warnings)(&old, &ctx());
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "connectors.crm.search_overlap_secs");
        assert!(warnings[0].message.contains("overlap_secs"), "{}", warnings[0].message);
        assert!((entry.build)(&old, ctx()).is_ok());
        let out_of_range = serde_json::json!({"token_env": "HS", "search_overlap_secs": 0});
        let paths: Vec<String> = (entry.validate)(&out_of_range, &ctx()).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["connectors.crm.overlap_secs"], "checked like the new key");
        let new = serde_json::json!({"token_env": "HS", "overlap_secs": 60});
        assert!((entry.warnings)(&new, &ctx()).is_empty());
    }

    #[test]
    fn a_valid_config_builds_without_touching_the_network() {
        let entry = VendorEntry::of::<HubSpotFactory>();
        let options = serde_json::json!({"token_env": "HS", "default_region": "ru"});
        assert!((entry.validate)(&options, &ctx()).is_empty());
        let built = (entry.build)(&options, ctx());
        let Ok(connector) = built else {
            panic!("builds");
        };
        assert_eq!((connector.name(), connector.vendor()), ("crm", "hubspot"));
        let caps = connector.capabilities();
        assert_eq!(caps.read, [Kind::Client, Kind::Task]);
        assert_eq!((caps.page_size, caps.write_batch), (200, 100));
        assert!(format!("{connector:?}").find("pat-na1-secret").is_none(), "the token never prints");
        let missing = (entry.build)(&serde_json::json!({"token_env": "NOPE"}), ctx());
        assert!(missing.is_err_and(|e| e.kind() == zveno_connector::ErrorKind::Config));
    }
}
