//! The configuration as written: layering with the `config` crate and deserialisation
//! that reports every unknown key with its path.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use zveno_connector::http::{HttpOptions, RateLimit};
use zveno_connector::{ConfigProblem, Env};

use super::server::{RawServer, RawView};
use super::DEFAULT_CONFIG;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
pub struct RawSettings {
    /// `[store]`.
    pub store: StoreSettings,
    /// `[schedule]`: defaults for every connector.
    #[serde(default)]
    pub schedule: ScheduleSettings,
    /// `[connectors.<name>]`, split into shared keys and vendor options by [`parse`].
    #[serde(default)]
    pub connectors: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// `[reconcile]`: how golden records are merged.
    #[serde(default)]
    pub reconcile: ReconcileSettings,
    /// `[server]`: the HTTP service.
    #[serde(default)]
    pub server: RawServer,
    /// `[view]`: how the unified view shows time.
    #[serde(default)]
    pub view: RawView,
    /// `[engine]`: sharing the store with other instances, and run guards.
    #[serde(default)]
    pub engine: EngineSettings,
    /// `[[flows]]`: write-back flows, each parsed with its own path (`flows[0].to`) by
    /// `settings::flows`.
    #[serde(default)]
    pub flows: Vec<serde_json::Value>,
}

/// `[engine]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    /// Seconds a lease on a connector's kind lasts without a heartbeat: how soon another
    /// instance takes over the connectors of one that died.
    pub lease_ttl_secs: u64,
    /// Pages one run may pull before it is stopped as a runaway.
    pub max_pages_per_run: u64,
    /// Full scans failing in a row after which incremental runs alternate with them.
    pub full_failures_before_fallback: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self { lease_ttl_secs: 120, max_pages_per_run: 100_000, full_failures_before_fallback: 3 }
    }
}

/// `[reconcile]`: survivorship of golden-record fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReconcileSettings {
    /// Connector names or vendors, most trusted first (for `source_priority` fields).
    #[serde(default)]
    pub source_priority: Vec<String>,
    /// Rule per field: `name = "source_priority"`, `owner = "most_recent"`, …
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoreSettings {
    /// `sqlite://path/to/file.db` (the default) or `postgres://user@host/db`.
    pub url: String,
    /// Days a deleted record keeps its payload (e-mails, phones, the raw answer).
    #[serde(default = "default_tombstone_retention_days")]
    pub tombstone_retention_days: u64,
}

fn default_tombstone_retention_days() -> u64 {
    30
}

/// When a connector syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScheduleSettings {
    /// Seconds between incremental runs (jittered by ±10%).
    pub interval_secs: u64,
    /// Seconds between full scans, which also detect deletes.
    pub full_every_secs: u64,
    /// Seconds between id censuses (deletes within one cycle) for connectors that have one;
    /// unset means the vendor's default (every incremental cycle where a census is cheap).
    pub census_every_secs: Option<u64>,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self { interval_secs: 300, full_every_secs: 86_400, census_every_secs: None }
    }
}

/// The keys of `[connectors.<name>]` every vendor shares.
pub const SHARED_KEYS: [&str; 8] =
    ["vendor", "base_url", "entities", "schedule", "rate_limits", "http", "webhook_secret_env", "webhook_secret_file"];

/// `[connectors.<name>]`: the keys every vendor shares; the rest belong to the vendor.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorSettings {
    /// Which vendor (`hubspot`, `jira`, `bitrix24`, `testvendor`, ...).
    pub vendor: String,
    /// API base URL, when not the vendor's public one (simulators, proxies, portals).
    pub base_url: Option<String>,
    /// Kinds to sync: `client`, `contact`, `task` (default: all the vendor reads).
    #[serde(default)]
    pub entities: Vec<String>,
    /// Overrides `[schedule]` for this connector.
    pub schedule: Option<ScheduleSettings>,
    /// Rate-limit overrides by bucket name (`default`, `search`, ...).
    #[serde(default)]
    pub rate_limits: BTreeMap<String, RateLimit>,
    /// Timeouts and retries.
    #[serde(default)]
    pub http: HttpOptions,
    /// The secret `POST /webhooks/<name>` deliveries are verified with, from an
    /// environment variable… (HubSpot: the app's client secret; Jira: the admin webhook's
    /// secret; Bitrix24: the outgoing webhook's application token; Pipedrive:
    /// `user:password` of the webhook's HTTP Basic credentials.)
    pub webhook_secret_env: Option<String>,
    /// …or a file. Neither: the connector's webhooks are refused.
    pub webhook_secret_file: Option<std::path::PathBuf>,
    /// Vendor-specific options (every other key); the vendor's factory validates them.
    #[serde(skip)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Merges the layers into one JSON value.
pub(super) fn layered(file: Option<&Path>, env: &Env) -> Result<serde_json::Value, ConfigProblem> {
    let mut builder =
        config::Config::builder().add_source(config::File::from_str(DEFAULT_CONFIG, config::FileFormat::Toml));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigProblem::new("--config", format!("{} does not exist", path.display())));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml).required(true));
    }
    let vars: config::Map<String, String> =
        env.vars().iter().filter(|(k, _)| k.starts_with("ZVENO__")).map(|(k, v)| (k.clone(), v.clone())).collect();
    builder = builder.add_source(
        config::Environment::with_prefix("ZVENO")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .source(Some(vars)),
    );
    let merged = builder.build().map_err(|e| ConfigProblem::new(file_label(file), e.to_string()))?;
    merged.try_deserialize::<serde_json::Value>().map_err(|e| ConfigProblem::new(file_label(file), e.to_string()))
}

fn file_label(file: Option<&Path>) -> String {
    file.map_or_else(|| "config".to_string(), |p| p.display().to_string())
}

/// Deserialises `value` as `T`, reporting every unknown key under `prefix` (not just the
/// first, as `deny_unknown_fields` would) and the first type error.
pub(super) fn parse_with_paths<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
    prefix: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    let join = |path: &str| if prefix.is_empty() { path.to_string() } else { format!("{prefix}.{path}") };
    let mut unknown = Vec::new();
    let parsed: Result<T, _> = serde_ignored::deserialize(value, |path| unknown.push(path.to_string()));
    problems.extend(unknown.iter().map(|path| ConfigProblem::new(join(path), "unknown key")));
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(ConfigProblem::new(
                if prefix.is_empty() { "config".to_string() } else { prefix.to_string() },
                e.to_string(),
            ));
            None
        }
    }
}

/// Splits a `[connectors.<name>]` table into shared settings and vendor options.
pub(super) fn split_connector(
    name: &str,
    table: &serde_json::Map<String, serde_json::Value>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<ConnectorSettings> {
    let (shared, options): (serde_json::Map<_, _>, serde_json::Map<_, _>) =
        table.clone().into_iter().partition(|(k, _)| SHARED_KEYS.contains(&k.as_str()));
    let prefix = format!("connectors.{name}");
    let mut settings: ConnectorSettings = parse_with_paths(&serde_json::Value::Object(shared), &prefix, problems)?;
    settings.options = options;
    Some(settings)
}
