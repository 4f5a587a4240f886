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
    type Settings = Settings;
    const VENDOR: &'static str = crate::VENDOR;

    fn default_rate_limits() -> BTreeMap<String, RateLimit> {
        default_rate_limits()
    }

    /// Jira holds issues only: tasks, every task field (status through a transition), and
    /// labels when a flow names them (added and removed one by one, see `push`).
    fn writable_fields(kind: Kind) -> &'static [&'static str] {
        match kind {
            Kind::Task => &["title", "description", "status", "priority", "due", "assignee", "labels"],
            Kind::Client | Kind::Contact => &[],
        }
    }

    fn resolve(config: &JiraConfig, ctx: &BuildContext) -> Result<Settings, Vec<ConfigProblem>> {
        Settings::resolve(config, ctx)
    }

    /// People name issues by key (`OPS-12`, any case); the numeric issue id works too.
    fn record_id(reference: &str) -> Option<String> {
        let id = reference.trim();
        let numeric = zveno_connector::numeric_id(id).is_some();
        let key = id.split_once('-').is_some_and(|(project, number)| {
            project.starts_with(|c: char| c.is_ascii_alphabetic())
                && project.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        });
        (numeric || key).then(|| id.to_ascii_uppercase())
    }

    fn build(settings: Settings, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let client = JiraClient::new(&settings, &ctx)?;
        Ok(Arc::new(
            JiraConnector::new(&ctx.name, settings, client, ctx.clock.clone())
                .with_webhook_secret(ctx.webhook_secret.clone()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use zveno_connector::factory::VendorEntry;

    use super::*;

    #[test]
    fn issues_are_named_by_key_or_numeric_id() {
        let read = VendorEntry::of::<JiraFactory>().record_id;
        assert_eq!(read("OPS-12"), Some("OPS-12".into()));
        assert_eq!(read("ops-12"), Some("OPS-12".into()));
        assert_eq!(read("10042"), Some("10042".into()));
        for other in ["OPS-", "-12", "OPS 12", "12-OPS", "romashka.ru"] {
            assert_eq!(read(other), None, "{other:?}");
        }
    }
}
