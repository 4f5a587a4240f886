//! Configuration: layered loading, then validation that reports every problem.
//!
//! Layers, lowest first (each overrides the one before):
//! 1. the embedded default, `config/zveno.toml` (SQLite store in `data/`, no connectors);
//! 2. the file given by `--config` (or `ZVENO_CONFIG`);
//! 3. environment variables `ZVENO__<SECTION>__<KEY>`, e.g. `ZVENO__STORE__URL`.
//!
//! Loading never stops at the first problem: unknown keys, bad values, unknown vendors,
//! malformed URLs and missing secrets are all collected with their dotted paths, so an
//! operator fixes a config in one go. The environment is passed in as an [`Env`] map,
//! never read from the process here, so tests need not mutate global state.

mod fingerprint;
mod flows;
mod raw;
mod reconcile;
mod server;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zveno_connector::factory::VendorEntry;
use zveno_connector::{BuildContext, Clock, ConfigProblem, Connector, ConnectorError, Env, Kind, Secret, SecretRef};

pub use raw::{ConnectorSettings, EngineSettings, RawSettings, ReconcileSettings, ScheduleSettings, StoreSettings};
pub use server::{RawServer, RawView, ServerSettings, ViewSettings, DEFAULT_LISTEN};

use crate::engine::EngineOptions;
use crate::registry;
use crate::resolve::{Survivorship, Systems};

/// The embedded default configuration.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/zveno.toml");

/// Problems that stop zveno from starting, each with its config path.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the configuration:\n{}", .0.len(), render(.0))]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

fn render(problems: &[ConfigProblem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

/// Validated settings, ready to build a daemon from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Store URL (`sqlite://...` or `postgres://...`).
    pub store_url: String,
    /// Connector instances by name.
    pub connectors: BTreeMap<String, ConnectorSpec>,
    /// `[reconcile]`: golden-record survivorship.
    pub reconcile: Survivorship,
    /// `[server]`: the HTTP service.
    pub server: ServerSettings,
    /// `[view]`: the zone times are shown in.
    pub view: ViewSettings,
    /// `[engine]`: leases and run guards.
    pub engine: EngineOptions,
    /// `[[flows]]`: write-back flows.
    pub flows: Vec<crate::flows::Flow>,
    /// The environment secrets resolve from.
    pub env: Env,
}

impl Settings {
    /// Each connector's vendor, as identity resolution needs it.
    pub fn systems(&self) -> Systems {
        Systems::new(self.connectors.values().map(|c| (c.name.as_str(), c.vendor.vendor)))
    }
}

/// What the read-only view commands (`clients`, `client`, `tasks`, `runs`) need: the
/// store and the zone to show times in. No connector is checked and no secret read.
#[derive(Debug, Clone)]
pub struct ReadSettings {
    /// Store URL.
    pub store_url: String,
    /// `[view]`.
    pub view: ViewSettings,
}

/// What commands that only resolve identities or read the unified view need: no connector
/// is built and no secret read, so `zveno link` works in a shell without API tokens.
#[derive(Debug, Clone)]
pub struct ResolutionSettings {
    /// Store URL.
    pub store_url: String,
    /// `[reconcile]`.
    pub reconcile: Survivorship,
    /// Each configured connector's vendor.
    pub systems: Systems,
    /// The configured connectors, name → vendor (for listings).
    pub connectors: BTreeMap<String, String>,
}

/// One validated `[connectors.<name>]`.
#[derive(Debug, Clone)]
pub struct ConnectorSpec {
    /// Instance name.
    pub name: String,
    /// The vendor's factory.
    pub vendor: VendorEntry,
    /// Vendor-specific options.
    pub options: serde_json::Value,
    /// Base URL override.
    pub base_url: Option<url::Url>,
    /// Kinds to sync (empty: every kind the connector reads).
    pub kinds: Vec<Kind>,
    /// When to sync.
    pub schedule: Schedule,
    /// Rate-limit overrides by bucket.
    pub rate_limits: BTreeMap<String, zveno_connector::http::RateLimit>,
    /// HTTP options.
    pub http: zveno_connector::http::HttpOptions,
    /// What webhook deliveries are verified with (`None`: they are refused).
    pub webhook_secret: Option<Secret>,
}

/// How often a connector syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Between incremental runs.
    pub interval: Duration,
    /// Between full scans (which also detect deletes).
    pub full_every: Duration,
    /// Between id censuses; `None` means the connector's own default
    /// (`Connector::census_plan`).
    pub census_every: Option<Duration>,
}

impl ConnectorSpec {
    /// Builds the connector on `clock`. Connectors built with the same `accounts` share the
    /// budgets of the vendor accounts they spend (build every connector of a process with one).
    pub fn build(
        &self,
        env: &Env,
        clock: Arc<dyn Clock>,
        accounts: &zveno_connector::Accounts,
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        let mut ctx = self.context(env, clock);
        ctx.accounts = accounts.clone();
        (self.vendor.build)(&self.options, ctx)
    }

    fn context(&self, env: &Env, clock: Arc<dyn Clock>) -> BuildContext {
        BuildContext {
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            kinds: if self.kinds.is_empty() { Kind::ALL.to_vec() } else { self.kinds.clone() },
            rate_limits: self.rate_limits.clone(),
            http: self.http,
            clock,
            env: env.clone(),
            webhook_secret: self.webhook_secret.clone(),
            accounts: zveno_connector::Accounts::default(),
        }
    }
}

/// Loads and validates settings from the default, an optional file and `env`.
pub fn load(file: Option<&Path>, env: &Env) -> Result<Settings, ConfigErrors> {
    let value = raw::layered(file, env).map_err(|p| ConfigErrors(vec![p]))?;
    let mut problems = Vec::new();
    let Some(raw) = raw::parse_with_paths::<RawSettings>(&value, "", &mut problems) else {
        return Err(ConfigErrors(problems));
    };
    let settings = validate(&raw, env, &mut problems);
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(ConfigErrors(problems))
    }
}

/// Loads only what commands that read the store need (`runs`, `migrate`): the store URL.
/// Connector problems (a secret not set in this shell) must not stop an operator from
/// reading run history.
pub fn load_store_url(file: Option<&Path>, env: &Env) -> Result<String, ConfigErrors> {
    let value = raw::layered(file, env).map_err(|p| ConfigErrors(vec![p]))?;
    let mut problems = Vec::new();
    let store = value.get("store").cloned().unwrap_or_default();
    let Some(store) = raw::parse_with_paths::<StoreSettings>(&store, "store", &mut problems) else {
        return Err(ConfigErrors(problems));
    };
    let url = validate_store_url(&store, &mut problems);
    if problems.is_empty() {
        Ok(url)
    } else {
        Err(ConfigErrors(problems))
    }
}

/// Loads what the read-only view commands need (see [`ReadSettings`]).
pub fn load_read(file: Option<&Path>, env: &Env) -> Result<ReadSettings, ConfigErrors> {
    let value = raw::layered(file, env).map_err(|p| ConfigErrors(vec![p]))?;
    let mut problems = Vec::new();
    let section = |name: &str| value.get(name).cloned().unwrap_or(serde_json::Value::Object(Default::default()));
    let store = raw::parse_with_paths::<StoreSettings>(&section("store"), "store", &mut problems);
    let view = raw::parse_with_paths::<RawView>(&section("view"), "view", &mut problems);
    let (Some(store), Some(view)) = (store, view) else { return Err(ConfigErrors(problems)) };
    let store_url = validate_store_url(&store, &mut problems);
    let view = server::validate_view(&view, env, &mut problems);
    if problems.is_empty() {
        Ok(ReadSettings { store_url, view })
    } else {
        Err(ConfigErrors(problems))
    }
}

/// Loads the store URL, `[reconcile]` and the connectors' vendors; connector options and
/// secrets are not checked (see [`ResolutionSettings`]).
pub fn load_resolution(file: Option<&Path>, env: &Env) -> Result<ResolutionSettings, ConfigErrors> {
    let value = raw::layered(file, env).map_err(|p| ConfigErrors(vec![p]))?;
    let mut problems = Vec::new();
    let Some(raw) = raw::parse_with_paths::<RawSettings>(&value, "", &mut problems) else {
        return Err(ConfigErrors(problems));
    };
    let store_url = validate_store_url(&raw.store, &mut problems);
    let vendors: Vec<(String, String)> = raw
        .connectors
        .iter()
        .map(|(name, table)| {
            let vendor = table.get("vendor").and_then(|v| v.as_str()).unwrap_or_default();
            (name.clone(), vendor.to_string())
        })
        .collect();
    let reconcile =
        reconcile::validate(&raw.reconcile, &known_sources(vendors.iter().map(|(c, _)| c.as_str())), &mut problems);
    if problems.is_empty() {
        let systems = Systems::new(vendors.iter().map(|(c, v)| (c.as_str(), v.as_str())));
        Ok(ResolutionSettings { store_url, reconcile, systems, connectors: vendors.into_iter().collect() })
    } else {
        Err(ConfigErrors(problems))
    }
}

/// Names a `source_priority` entry may use: configured connectors and known vendors.
fn known_sources<'a>(connectors: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut known: Vec<String> = connectors.map(str::to_string).collect();
    known.extend(registry::vendors().iter().map(|v| v.vendor.to_string()));
    known
}

fn validate_store_url(store: &StoreSettings, problems: &mut Vec<ConfigProblem>) -> String {
    let url = store.url.trim().to_string();
    if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        // Never echo the password of a mistyped URL (`postgress://u:pw@...`).
        let shown = zveno_connector::redact_text(&url);
        problems.push(ConfigProblem::new("store.url", format!("{shown:?} is not a sqlite: or postgres:// URL")));
    }
    url
}

fn validate(raw: &RawSettings, env: &Env, problems: &mut Vec<ConfigProblem>) -> Settings {
    let store_url = validate_store_url(&raw.store, problems);
    let defaults = raw.schedule;
    let mut connectors = BTreeMap::new();
    for (name, table) in &raw.connectors {
        let Some(c) = raw::split_connector(name, table, problems) else { continue };
        if let Some(spec) = validate_connector(name, c, defaults, env, problems) {
            connectors.insert(name.clone(), spec);
        }
    }
    let reconcile =
        reconcile::validate(&raw.reconcile, &known_sources(raw.connectors.keys().map(String::as_str)), problems);
    let server = server::validate_server(&raw.server, env, problems);
    let view = server::validate_view(&raw.view, env, problems);
    let engine = validate_engine(raw.engine, &raw.store, problems);
    let vendors = raw
        .connectors
        .iter()
        .map(|(name, table)| (name.clone(), table.get("vendor").and_then(|v| v.as_str()).and_then(registry::vendor)))
        .collect();
    let flows = flows::validate(&raw.flows, &vendors, problems);
    Settings { store_url, connectors, reconcile, server, view, engine, flows, env: env.clone() }
}

/// Whether `url` names this machine (`localhost`, 127.0.0.0/8, `::1`).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn validate_engine(raw: EngineSettings, store: &StoreSettings, problems: &mut Vec<ConfigProblem>) -> EngineOptions {
    let defaults = EngineOptions::default();
    if raw.lease_ttl_secs < 2 {
        problems.push(ConfigProblem::new("engine.lease_ttl_secs", "must be at least 2 (seconds)"));
    }
    if raw.max_pages_per_run == 0 {
        problems.push(ConfigProblem::new("engine.max_pages_per_run", "must be at least 1"));
    }
    EngineOptions {
        lease_ttl: Duration::from_secs(raw.lease_ttl_secs),
        max_pages_per_run: raw.max_pages_per_run,
        full_failures_before_fallback: raw.full_failures_before_fallback,
        tombstone_retention: Duration::from_secs(store.tombstone_retention_days.saturating_mul(86_400)),
        ..defaults
    }
}

fn validate_connector(
    name: &str,
    c: ConnectorSettings,
    defaults: ScheduleSettings,
    env: &Env,
    problems: &mut Vec<ConfigProblem>,
) -> Option<ConnectorSpec> {
    let path = |key: &str| format!("connectors.{name}.{key}");
    let before = problems.len();
    if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-') {
        problems.push(ConfigProblem::new(format!("connectors.{name}"), "names may use letters, digits, '_' and '-'"));
    }
    let Some(vendor) = registry::vendor(&c.vendor) else {
        let known: Vec<&str> = registry::vendors().iter().map(|v| v.vendor).collect();
        problems.push(ConfigProblem::new(
            path("vendor"),
            format!("unknown vendor {:?} (known: {})", c.vendor, known.join(", ")),
        ));
        return None;
    };
    let base_url = c.base_url.as_deref().and_then(|u| match url::Url::parse(u) {
        Ok(url) if url.scheme() == "http" && url.has_host() && !is_loopback(&url) => {
            problems.push(ConfigProblem::new(
                path("base_url"),
                format!(
                    "{:?} must be https: plain http would send the credentials in clear \
                     (http is accepted only for loopback addresses, such as simulators)",
                    zveno_connector::redact_text(u)
                ),
            ));
            None
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
        Ok(_) => {
            let shown = zveno_connector::redact_text(u);
            problems
                .push(ConfigProblem::new(path("base_url"), format!("{shown:?} must be an http(s) URL with a host")));
            None
        }
        Err(e) => {
            let shown = zveno_connector::redact_text(u);
            problems.push(ConfigProblem::new(path("base_url"), format!("{shown:?} is not a URL: {e}")));
            None
        }
    });
    let mut kinds = Vec::new();
    for (i, entity) in c.entities.iter().enumerate() {
        match entity.parse::<Kind>() {
            Ok(kind) => kinds.push(kind),
            Err(e) => problems.push(ConfigProblem::new(format!("{}[{i}]", path("entities")), e)),
        }
    }
    for (bucket, limit) in &c.rate_limits {
        if let Some(p) = limit.problem() {
            problems.push(ConfigProblem::new(path(&format!("rate_limits.{bucket}")), p));
        }
    }
    if let Some((key, problem)) = c.http.problem() {
        problems.push(ConfigProblem::new(path(&format!("http.{key}")), problem));
    }
    let webhook_secret = match (&c.webhook_secret_env, &c.webhook_secret_file) {
        (None, None) => None,
        (var, file) => SecretRef::new(var.clone(), file.clone())
            .resolve(&path("webhook_secret"), env)
            .map_err(|p| problems.push(p))
            .ok(),
    };
    let schedule = c.schedule.unwrap_or(defaults);
    if schedule.interval_secs == 0 || schedule.full_every_secs == 0 {
        problems.push(ConfigProblem::new(path("schedule"), "interval_secs and full_every_secs must be at least 1"));
    }
    let spec = ConnectorSpec {
        name: name.to_string(),
        vendor,
        options: serde_json::Value::Object(c.options),
        base_url,
        kinds,
        schedule: Schedule {
            interval: Duration::from_secs(schedule.interval_secs),
            full_every: Duration::from_secs(schedule.full_every_secs),
            census_every: schedule.census_every_secs.map(Duration::from_secs),
        },
        rate_limits: c.rate_limits,
        http: c.http,
        webhook_secret,
    };
    let ctx = spec.context(env, Arc::new(zveno_connector::SystemClock::new()));
    // A malformed base_url is already reported; the vendor would only add "missing".
    let base_url_reported = problems[before..].iter().any(|p| p.path == path("base_url"));
    problems.extend(
        (vendor.validate)(&spec.options, &ctx)
            .into_iter()
            .filter(|p| !(base_url_reported && p.path == path("base_url"))),
    );
    (problems.len() == before).then_some(spec)
}

#[cfg(test)]
mod tests;
