//! [`Bitrix24Factory`]: how the daemon's registry builds Bitrix24 connectors from config.

use std::collections::BTreeMap;
use std::sync::Arc;

use zveno_connector::http::RateLimit;
use zveno_connector::{BuildContext, ConfigProblem, Connector, ConnectorError, ConnectorFactory};

use crate::client::{default_rate_limits, BitrixClient};
use crate::config::Bitrix24Config;
use crate::connector::Bitrix24Connector;

/// The Bitrix24 vendor entry (`vendor = "bitrix24"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bitrix24Factory;

impl ConnectorFactory for Bitrix24Factory {
    type Config = Bitrix24Config;

    const VENDOR: &'static str = crate::VENDOR;

    /// `default`: the portal's leaky bucket (2/s, burst 45 of the vendor's 50; Enterprise
    /// portals set `rate_limits.default = { requests = 5, per_secs = 1, burst = 225 }`),
    /// plus one pause-only bucket per REST method for `OPERATION_TIME_LIMIT`.
    fn default_rate_limits() -> BTreeMap<String, RateLimit> {
        default_rate_limits()
    }

    fn validate(config: &Bitrix24Config, ctx: &BuildContext) -> Vec<ConfigProblem> {
        config.problems(ctx)
    }

    fn build(config: Bitrix24Config, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let settings = config.settings(&ctx).map_err(|problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            ConnectorError::config(text.join("; "))
        })?;
        let client = BitrixClient::new(settings.webhook.clone(), settings.timezone, &ctx)?;
        Ok(Arc::new(
            Bitrix24Connector::new(&ctx.name, ctx.kinds.clone(), settings, client)
                .with_webhook_secret(ctx.webhook_secret.clone()),
        ))
    }
}
