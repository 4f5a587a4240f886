//! [`Bitrix24Factory`]: how the daemon's registry builds Bitrix24 connectors from config.

use std::collections::BTreeMap;
use std::sync::Arc;

use zveno_connector::http::RateLimit;
use zveno_connector::{BuildContext, ConfigProblem, Connector, ConnectorError, ConnectorFactory};

use crate::client::{default_rate_limits, BitrixClient};
use crate::config::{Bitrix24Config, Settings};
use crate::connector::Bitrix24Connector;

/// The Bitrix24 vendor entry (`vendor = "bitrix24"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bitrix24Factory;

impl ConnectorFactory for Bitrix24Factory {
    type Config = Bitrix24Config;
    type Settings = Settings;

    const VENDOR: &'static str = crate::VENDOR;

    /// `default`: the portal's leaky bucket (2/s, burst 45 of the vendor's 50; Enterprise
    /// portals set `rate_limits.default = { requests = 5, per_secs = 1, burst = 225 }`),
    /// plus one pause-only bucket per REST method for `OPERATION_TIME_LIMIT`.
    fn default_rate_limits() -> BTreeMap<String, RateLimit> {
        default_rate_limits()
    }

    fn resolve(config: &Bitrix24Config, ctx: &BuildContext) -> Result<Settings, Vec<ConfigProblem>> {
        config.settings(ctx)
    }

    /// The CRM shows ids with the entity type's prefix (`CO_45` a company, `C_12` a
    /// contact) where the API takes bare numbers; both forms name the record. Other
    /// prefixes (leads `L_`, deals `D_`) name no record zveno syncs.
    fn record_id(reference: &str) -> Option<String> {
        let id = reference.trim();
        let digits = id.strip_prefix("CO_").or_else(|| id.strip_prefix("C_")).unwrap_or(id);
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_string())
    }

    fn build(settings: Settings, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let client = BitrixClient::new(settings.webhook.clone(), settings.timezone, &ctx)?;
        Ok(Arc::new(
            Bitrix24Connector::new(&ctx.name, ctx.kinds.clone(), settings, client)
                .with_webhook_secret(ctx.webhook_secret.clone()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use zveno_connector::factory::VendorEntry;

    use super::*;

    #[test]
    fn company_and_contact_ids_read_with_or_without_their_type_prefix() {
        let read = VendorEntry::of::<Bitrix24Factory>().record_id;
        assert_eq!(read("CO_45"), Some("45".into()));
        assert_eq!(read(" C_12 "), Some("12".into()));
        assert_eq!(read("45"), Some("45".into()));
        for other in ["L_5", "D_7", "CO_", "CO_4x", "acme", ""] {
            assert_eq!(read(other), None, "{other:?}");
        }
    }
}
