//! [`JiraFactory`]: how the daemon's registry builds Jira connectors from config.

use std::collections::BTreeMap;
use std::sync::Arc;

use zveno_connector::http::RateLimit;
use zveno_connector::{BuildContext, ConfigProblem, Connector, ConnectorError, ConnectorFactory, Kind};

use crate::client::{default_rate_limits, JiraClient};
use crate::config::{JiraConfig, Settings};
use crate::connector::JiraConnector;

/// The Jira vendor entry (`vendor = "jira"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JiraFactory;

impl ConnectorFactory for JiraFactory {
    type Config = JiraConfig;
    const VENDOR: &'static str = "jira";

    fn default_rate_limits() -> BTreeMap<String, RateLimit> {
        default_rate_limits()
    }

    /// Jira holds issues only: tasks, every task field (status through a transition).
    fn writable_fields(kind: Kind) -> &'static [&'static str] {
        match kind {
            Kind::Task => zveno_connector::writable_model_fields(Kind::Task),
            Kind::Client | Kind::Contact => &[],
        }
    }

    fn validate(config: &JiraConfig, ctx: &BuildContext) -> Vec<ConfigProblem> {
        Settings::resolve(config, ctx).err().unwrap_or_default()
    }

    fn build(config: JiraConfig, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let settings = Settings::resolve(&config, &ctx).map_err(|problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            ConnectorError::config(text.join("; "))
        })?;
        let client = JiraClient::new(&settings, &ctx)?;
        Ok(Arc::new(
            JiraConnector::new(&ctx.name, settings, client, ctx.clock.clone())
                .with_webhook_secret(ctx.webhook_secret.clone()),
        ))
    }
}
