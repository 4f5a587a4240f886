//! The `[connectors.<name>]` options of a Jira connector, and their validation.
//!
//! Parse, validate, build: [`JiraConfig`] is what the operator wrote; [`Settings::resolve`]
//! checks all of it without network access (collecting *every* problem with its config
//! path) and produces the values the connector runs on. The factory's `validate` and
//! `build` both go through it, so they can never disagree.

use std::path::PathBuf;

use serde::Deserialize;
use zveno_connector::options::any_key;
use zveno_connector::{
    BuildContext, ConfigProblem, Email, Kind, Overlap, OverrideTable, Priority, Secret, SecretRef, TaskStatus,
};

use crate::mapping::{PriorityTable, StatusTable};

/// Default overlap of incremental windows: JQL is minute-precise (60 s) and search is
/// eventually consistent, so each window re-reads the last three minutes (deduplicated).
pub const DEFAULT_OVERLAP_SECS: u64 = 180;

/// Vendor options of a Jira connector (everything but the common keys).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JiraConfig {
    /// The Atlassian account e-mail the API token belongs to.
    #[serde(default)]
    pub email: Option<String>,
    /// Environment variable holding the API token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the API token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// The bounded JQL selecting the issues to sync, e.g. `project in (OPS, SUP)`, without
    /// `ORDER BY` (the connector adds its own).
    #[serde(default)]
    pub jql: Option<String>,
    /// Id of the custom field naming the client (`customfield_10050`).
    #[serde(default)]
    pub client_field: Option<String>,
    /// Label prefix naming the client (`client:` reads `client:romashka.ru`).
    #[serde(default)]
    pub client_label_prefix: Option<String>,
    /// Status name → `todo|in_progress|done|cancelled`, overriding the status category.
    #[serde(default)]
    pub status_map: OverrideTable<TaskStatus>,
    /// Priority name → `low|medium|high|urgent`.
    #[serde(default)]
    pub priority_map: OverrideTable<Priority>,
    /// Seconds each incremental window re-reads before the watermark (at least 60;
    /// [`DEFAULT_OVERLAP_SECS`] when not set).
    #[serde(default)]
    pub overlap_secs: Option<Overlap>,
    /// The site for deep links (`https://acme.atlassian.net`) when `base_url` is not it
    /// (a proxy); also the API base when `base_url` is not set.
    #[serde(default)]
    pub site_url: Option<String>,
    /// Project key new issues are created in.
    #[serde(default)]
    pub create_project: Option<String>,
    /// Issue type name of created issues (default `Task`).
    #[serde(default)]
    pub issue_type: Option<String>,
}

/// Validated settings a connector runs on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Account e-mail (Basic auth user).
    pub email: String,
    /// API token.
    pub token: Secret,
    /// The operator's JQL (no ORDER BY).
    pub jql: String,
    /// Where the REST API lives (ends with `/`).
    pub api_base: url::Url,
    /// Where people browse issues (ends with `/`).
    pub site: url::Url,
    /// Incremental overlap, seconds.
    pub overlap_secs: u64,
    /// Status names → common status, on top of the category mapping.
    pub statuses: StatusTable,
    /// Priority names → common priority.
    pub priorities: PriorityTable,
    /// Custom field naming the client.
    pub client_field: Option<String>,
    /// Label prefix naming the client.
    pub client_label_prefix: Option<String>,
    /// Project key for creates.
    pub create_project: Option<String>,
    /// Issue type for creates.
    pub issue_type: String,
}

impl Settings {
    /// Checks `config` and `ctx` without network access; every problem is reported.
    pub fn resolve(config: &JiraConfig, ctx: &BuildContext) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem::new(ctx.path(key), message));
        };

        // Every kind is what the daemon passes when `entities` is not set: Jira then syncs
        // what it has. Only a list that names clients or contacts is a mistake.
        let defaulted = ctx.kinds.len() == Kind::ALL.len();
        if let Some(kind) = ctx.kinds.iter().find(|k| **k != Kind::Task).filter(|_| !defaulted) {
            problem("entities", format!("Jira has no {kind} records; a Jira connector syncs only tasks"));
        }
        let email = match config.email.as_deref().map(Email::parse) {
            Some(Ok(_)) => config.email.clone().unwrap_or_default().trim().to_string(),
            Some(Err(e)) => {
                problem("email", e.to_string());
                String::new()
            }
            None => {
                problem("email", "missing: the Atlassian account e-mail of the API token".into());
                String::new()
            }
        };
        let token = SecretRef::new(config.token_env.clone(), config.token_file.clone())
            .resolve(&ctx.path("token"), &ctx.env)
            .map_err(|p| problems.push(p))
            .ok();
        let overlap_secs = config
            .overlap_secs
            .unwrap_or(Overlap(DEFAULT_OVERLAP_SECS))
            .resolve(
                ctx,
                60..=7 * 24 * 3600,
                "JQL dates are minute-precise, so windows must overlap by at least 60 seconds",
            )
            .map_err(|p| problems.push(p))
            .map_or(DEFAULT_OVERLAP_SECS, |d| d.as_secs());
        let status_overrides =
            config.status_map.resolve(ctx, "status_map", any_key).map_err(|p| problems.extend(p)).unwrap_or_default();
        let priority_overrides = config
            .priority_map
            .resolve(ctx, "priority_map", any_key)
            .map_err(|p| problems.extend(p))
            .unwrap_or_default();
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem::new(ctx.path(key), message));
        };
        let jql = match config.jql.as_deref().map(str::trim) {
            None | Some("") => {
                problem(
                    "jql",
                    "missing: a bounded JQL such as `project in (OPS, SUP)` (Jira rejects \
                     unbounded searches)"
                        .into(),
                );
                String::new()
            }
            Some(q) if q.to_ascii_lowercase().contains("order by") => {
                problem("jql", "must not contain ORDER BY: the connector orders by `updated` itself".into());
                String::new()
            }
            Some(q) => q.to_string(),
        };
        let site_url =
            config.site_url.as_deref().and_then(|raw| parse_site(raw).map_err(|m| problem("site_url", m)).ok());
        let api_base = ctx
            .base_url
            .as_ref()
            .map(|u| parse_site(u.as_str()).map_err(|m| problem("base_url", m)).ok())
            .unwrap_or_else(|| site_url.clone());
        if ctx.base_url.is_none() && config.site_url.is_none() {
            problem(
                "base_url",
                "missing: set base_url or site_url to the site, e.g. https://acme.atlassian.net".into(),
            );
        }
        let client_field = config.client_field.as_deref().map(str::trim);
        if let Some(field) = client_field {
            let valid = field.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                problem(
                    "client_field",
                    format!(
                        "{field:?} is not a field id: use the id (customfield_10050), not the \
                         field's display name"
                    ),
                );
            }
        }
        if config.client_label_prefix.as_deref().is_some_and(|p| p.trim().is_empty()) {
            problem("client_label_prefix", "must not be empty".into());
        }
        if let Some(key) = &config.create_project {
            let valid = key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                problem("create_project", format!("{key:?} is not a project key (upper-case, like OPS)"));
            }
        }

        match (token, api_base) {
            (Some(token), Some(api_base)) if problems.is_empty() => Ok(Self {
                email,
                token,
                jql,
                site: site_url.unwrap_or_else(|| api_base.clone()),
                api_base,
                overlap_secs,
                statuses: StatusTable::new(&status_overrides),
                priorities: PriorityTable::new(&priority_overrides),
                client_field: client_field.map(str::to_string),
                client_label_prefix: config.client_label_prefix.clone(),
                create_project: config.create_project.clone(),
                issue_type: config.issue_type.clone().unwrap_or_else(|| "Task".into()),
            }),
            _ => Err(problems),
        }
    }
}

/// Parses a site or API base URL, insisting on HTTPS except for loopback simulators: Basic
/// auth sends the token in every request.
fn parse_site(raw: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(raw.trim()).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("{raw:?} must use https: Basic auth would send the API token in clear text")),
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use zveno_connector::{Env, ManualClock};

    use super::*;

    fn ctx(env: &[(&str, &str)]) -> BuildContext {
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
        let mut ctx = BuildContext::new("tracker", clock);
        ctx.kinds = vec![Kind::Task];
        ctx.env = Env::from_pairs(env.iter().copied());
        ctx
    }

    fn valid() -> JiraConfig {
        JiraConfig {
            email: Some("ops@acme.com".into()),
            token_env: Some("JIRA_TOKEN".into()),
            jql: Some("project in (OPS, SUP)".into()),
            site_url: Some("https://acme.atlassian.net".into()),
            ..JiraConfig::default()
        }
    }

    fn paths(config: &JiraConfig, ctx: &BuildContext) -> Vec<String> {
        match Settings::resolve(config, ctx) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| p.path).collect(),
        }
    }

    #[test]
    fn a_complete_config_resolves_with_defaults() {
        let settings = Settings::resolve(&valid(), &ctx(&[("JIRA_TOKEN", "t0ken")]));
        let settings = settings.map_err(|p| format!("{p:?}"));
        assert_eq!(
            settings.as_ref().map(|s| (s.api_base.as_str().to_string(), s.overlap_secs, s.issue_type.clone())),
            Ok(("https://acme.atlassian.net/".to_string(), 180, "Task".to_string()))
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut config = JiraConfig {
            email: Some("not-an-email".into()),
            jql: Some("project = OPS ORDER BY key".into()),
            overlap_secs: Some(Overlap(30)),
            client_field: Some("Client name".into()),
            create_project: Some("ops".into()),
            ..JiraConfig::default()
        };
        config.status_map = OverrideTable::of([("Won't Do", "abandoned")]);
        config.priority_map = OverrideTable::of([("P1", "critical")]);
        let mut ctx = ctx(&[]);
        ctx.kinds = vec![Kind::Client, Kind::Task];
        let mut got = paths(&config, &ctx);
        got.sort();
        let want = [
            "base_url",
            "client_field",
            "create_project",
            "email",
            "entities",
            "jql",
            "overlap_secs",
            "priority_map.P1",
            "status_map.Won't Do",
            "token_env",
        ];
        assert_eq!(got, want.iter().map(|k| format!("connectors.tracker.{k}")).collect::<Vec<_>>());
    }

    #[test]
    fn missing_token_variable_and_plain_http_are_problems() {
        let mut config = valid();
        config.site_url = Some("http://acme.atlassian.net".into());
        assert_eq!(
            paths(&config, &ctx(&[])),
            vec!["connectors.tracker.token_env".to_string(), "connectors.tracker.site_url".to_string()]
        );
        config.site_url = Some("http://127.0.0.1:8080".into());
        assert!(paths(&config, &ctx(&[("JIRA_TOKEN", "t0ken")])).is_empty());
    }

    #[test]
    fn base_url_is_the_api_and_site_url_the_deep_link_site() {
        let mut ctx = ctx(&[("JIRA_TOKEN", "t0ken")]);
        ctx.base_url = url::Url::parse("https://proxy.internal/jira").ok();
        let settings = Settings::resolve(&valid(), &ctx).map_err(|p| format!("{p:?}"));
        assert_eq!(
            settings.map(|s| (s.api_base.to_string(), s.site.to_string())),
            Ok(("https://proxy.internal/jira/".to_string(), "https://acme.atlassian.net/".to_string()))
        );
    }
}
