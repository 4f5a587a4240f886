//! Building connectors from config: a typed factory per vendor, validated before anything
//! is built.
//!
//! Parse, validate, build: the daemon deserialises `[connectors.<name>]`, hands the
//! vendor-specific part to the vendor's [`ConnectorFactory`], which checks it *without
//! network calls* and reports every problem with its config path; only a config with no
//! problems is built into an `Arc<dyn Connector>`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::accounts::Accounts;
use crate::clock::Clock;
use crate::connector::Connector;
use crate::error::ConnectorError;
use crate::http::{HttpOptions, RateLimit};
use crate::model::Kind;
use crate::options::{apply_renames, Renamed};
use crate::secret::Secret;

/// One problem in the configuration, with the dotted path of the key at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted path, e.g. `connectors.crm.token_env`.
    pub path: String,
    /// What is wrong, and how to fix it where that is not obvious.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A snapshot of environment variables. Validation and secret resolution read this, never
/// the process environment directly, so tests pass a map instead of mutating globals.
///
/// It holds every token a `*_env` key names, so its `Debug` (and so that of `Settings` and
/// [`BuildContext`], which carry it) shows how many variables it holds, never a value.
#[derive(Clone, Default)]
pub struct Env(HashMap<String, String>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Env({} variables, values redacted)", self.0.len())
    }
}

impl Env {
    /// The current process environment.
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    /// An environment holding exactly `vars`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// A variable's value, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// All variables.
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.0
    }
}

/// A secret given by reference: `<key>_env` names an environment variable, `<key>_file` a
/// file. Vendor configs flatten this under their own key name (`token`, `webhook_url`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretRef {
    /// Name of the environment variable holding the secret.
    pub env: Option<String>,
    /// Path of a file holding the secret.
    pub file: Option<PathBuf>,
}

impl SecretRef {
    /// A reference from the `<key>_env` / `<key>_file` pair of a vendor config.
    pub fn new(env: Option<String>, file: Option<PathBuf>) -> Self {
        Self { env, file }
    }

    /// Resolves the secret. `path` is the config path of the key (`connectors.crm.token`),
    /// used in the error, which never contains the secret itself.
    pub fn resolve(&self, path: &str, env: &Env) -> Result<Secret, ConfigProblem> {
        match (&self.env, &self.file) {
            (Some(var), None) => match env.get(var) {
                Some(v) if !v.trim().is_empty() => Ok(Secret::new(v)),
                Some(_) => Err(ConfigProblem::new(format!("{path}_env"), format!("{var} is set but empty"))),
                None => Err(ConfigProblem::new(format!("{path}_env"), format!("{var} is not set"))),
            },
            (None, Some(file)) => match std::fs::read_to_string(file) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret::new(&v)),
                Ok(_) => Err(ConfigProblem::new(format!("{path}_file"), format!("{} is empty", file.display()))),
                Err(e) => {
                    Err(ConfigProblem::new(format!("{path}_file"), format!("cannot read {}: {e}", file.display())))
                }
            },
            (Some(_), Some(_)) => {
                Err(ConfigProblem::new(path.to_string(), format!("set only one of {path}_env and {path}_file")))
            }
            (None, None) => Err(ConfigProblem::new(
                format!("{path}_env"),
                format!("missing: name an environment variable ({path}_env) or a file ({path}_file)"),
            )),
        }
    }
}

/// Deserialises an option that takes a list of names where one name also does: `"inn"` and
/// `["inn", "vat"]` both work, so a config written when the option took one string keeps
/// working after it learnt to take several. Use with `#[serde(default, deserialize_with)]`.
pub fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// Everything a factory needs to build a connector instance, besides its own options.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The instance name (`[connectors.<name>]`).
    pub name: String,
    /// Base URL override (simulators, proxies, on-prem portals).
    pub base_url: Option<url::Url>,
    /// Kinds to sync.
    pub kinds: Vec<Kind>,
    /// Rate-limit overrides by bucket name (`default`, `search`, ...).
    pub rate_limits: BTreeMap<String, RateLimit>,
    /// Timeouts and retry settings.
    pub http: HttpOptions,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The environment secrets are resolved from.
    pub env: Env,
    /// The secret webhook deliveries are verified with (`webhook_secret_env`/`_file`, a
    /// key every vendor shares); `None`: webhooks are refused. See [`crate::webhook`].
    pub webhook_secret: Option<Secret>,
    /// The budgets of vendor accounts, shared by every instance built from contexts that
    /// share this (see [`crate::accounts`]).
    pub accounts: Accounts,
}

impl BuildContext {
    /// A context with defaults, for tests and simulators.
    pub fn new(name: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            name: name.to_string(),
            base_url: None,
            kinds: Kind::ALL.to_vec(),
            rate_limits: BTreeMap::new(),
            http: HttpOptions::default(),
            clock,
            env: Env::default(),
            webhook_secret: None,
            accounts: Accounts::default(),
        }
    }

    /// The config path of a key of this instance, for problems and errors.
    pub fn path(&self, key: &str) -> String {
        format!("connectors.{}.{key}", self.name)
    }

    /// The API base: the configured `base_url` (a simulator, a proxy) or the vendor's
    /// `default`, always ending with `/`, because `Url::join` replaces the last segment of a
    /// base without one (`…/api` + `v1/x` would lose `api`).
    pub fn api_base(&self, default: &str) -> Result<url::Url, ConnectorError> {
        let mut base = match &self.base_url {
            Some(url) => url.clone(),
            None => url::Url::parse(default).map_err(|e| ConnectorError::config(format!("bad base URL: {e}")))?,
        };
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(base)
    }
}

/// A vendor's typed factory: the one interface a vendor crate gives the daemon. Implemented
/// once per vendor crate; the daemon's registry erases it into a [`VendorEntry`].
pub trait ConnectorFactory: Send + Sync + 'static {
    /// The vendor-specific options of `[connectors.<name>]`.
    type Config: DeserializeOwned;

    /// The options checked, with secrets read and values parsed: everything `build` needs.
    type Settings;

    /// The `vendor = "..."` value that selects this factory.
    const VENDOR: &'static str;

    /// Options renamed to a shared name (`search_overlap_secs` → `overlap_secs`): the old
    /// name is still read, with a deprecation warning. None by default.
    const RENAMED: &'static [Renamed] = &[];

    /// Vendor default rate limits by bucket name; config overrides them per bucket.
    fn default_rate_limits() -> BTreeMap<String, RateLimit>;

    /// Checks the options without network access and resolves them into settings, or
    /// returns every problem (`ctx.path(key)` gives their paths). The only validation:
    /// `zveno check` reports what this returns and the build consumes what it returns, so
    /// no problem is found one way and missed (or reported twice) the other.
    fn resolve(config: &Self::Config, ctx: &BuildContext) -> Result<Self::Settings, Vec<ConfigProblem>>;

    /// Builds the connector from resolved settings.
    fn build(settings: Self::Settings, ctx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError>;

    /// The external id a person's reference to one of this vendor's records names, in the
    /// forms people type elsewhere (a tracker's client field: `<connector>:<this>`), or
    /// `None` when `reference` is no id of this vendor. By default any single word is an id;
    /// vendors whose UI shows ids with a type prefix or as keys say how to read them.
    fn record_id(reference: &str) -> Option<String> {
        plain_id(reference)
    }

    /// The common-model fields of `kind` this vendor can hold and `push` writes (names from
    /// [`writable_model_fields`]); empty when it writes no `kind` records. Write-back flows
    /// are checked against it, so `zveno check` names a field the target would drop
    /// instead of a flow that never converges. The default is every client and task field.
    fn writable_fields(kind: Kind) -> &'static [&'static str] {
        writable_model_fields(kind)
    }
}

/// Every common-model field a write-back flow can name, by kind: what
/// [`ConnectorFactory::writable_fields`] chooses from. Contacts are not written back.
pub fn writable_model_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Client => &["name", "tax_id", "domains", "phones", "emails", "owner"],
        Kind::Task => &["title", "description", "status", "priority", "due", "assignee"],
        Kind::Contact => &[],
    }
}

/// Fields a write-back flow writes only when its `fields` names them (left out of the
/// default "every field"), and only to connectors whose
/// [`ConnectorFactory::writable_fields`] list them: task labels, a set people add to on the
/// target as well. A flow adds its labels and removes only labels it wrote
/// ([`crate::Task::labels_removed`]), never a person's.
pub fn opt_in_model_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Task => &["labels"],
        Kind::Client | Kind::Contact => &[],
    }
}

/// A reference read as a numeric record id (`" 512 "` → `512`), for vendors whose ids are
/// numbers; anything else names none of their records.
pub fn numeric_id(reference: &str) -> Option<String> {
    let id = reference.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

/// A reference read as it is: any non-empty text without whitespace.
pub fn plain_id(reference: &str) -> Option<String> {
    let id = reference.trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| id.to_string())
}

/// A type-erased `resolve`: vendor options and context in, every problem out.
pub type ValidateFn = fn(&serde_json::Value, &BuildContext) -> Vec<ConfigProblem>;

/// A type-erased parse, `resolve` and `build`.
pub type BuildFn = fn(&serde_json::Value, BuildContext) -> Result<Arc<dyn Connector>, ConnectorError>;

/// A type-erased factory, as listed by the daemon's registry.
#[derive(Clone, Copy)]
pub struct VendorEntry {
    /// The vendor name.
    pub vendor: &'static str,
    /// Vendor default rate limits.
    pub default_rate_limits: fn() -> BTreeMap<String, RateLimit>,
    /// Deserialises and resolves vendor options, returning every problem (unknown keys
    /// too): what `zveno check` reports.
    pub validate: ValidateFn,
    /// Deserialises, resolves and builds.
    pub build: BuildFn,
    /// The deprecation warnings of vendor options (old names of renamed keys): not
    /// problems, the options still build; `zveno check` prints them and the daemon logs them.
    pub warnings: ValidateFn,
    /// [`ConnectorFactory::record_id`].
    pub record_id: fn(&str) -> Option<String>,
    /// The fields of a kind the vendor can write ([`ConnectorFactory::writable_fields`]).
    pub writable_fields: fn(Kind) -> &'static [&'static str],
}

impl fmt::Debug for VendorEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorEntry").field("vendor", &self.vendor).finish_non_exhaustive()
    }
}

impl VendorEntry {
    /// Validates `options`, then builds: what the daemon does, in one call, for harnesses
    /// and tools that point a connector at a simulator. Every problem is in the error.
    pub fn build_checked(&self, options: &serde_json::Value, ctx: BuildContext) -> Result<Arc<dyn Connector>, String> {
        (self.build)(options, ctx).map_err(|e| e.to_string())
    }

    /// Erases a typed factory.
    pub fn of<F: ConnectorFactory>() -> Self {
        Self {
            vendor: F::VENDOR,
            default_rate_limits: F::default_rate_limits,
            validate: |options, ctx| resolve::<F>(options, ctx).err().unwrap_or_default(),
            build: |options, ctx| match resolve::<F>(options, &ctx) {
                Ok(settings) => F::build(settings, ctx),
                Err(problems) => {
                    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    Err(ConnectorError::config(text.join("; ")))
                }
            },
            warnings: |options, ctx| apply_renames(options, F::RENAMED, ctx).1,
            record_id: F::record_id,
            writable_fields: F::writable_fields,
        }
    }
}

/// Parses and resolves vendor options: renamed keys read under their new names, then unknown
/// keys, then type errors, then the vendor's own checks, all reported together.
fn resolve<F: ConnectorFactory>(
    options: &serde_json::Value,
    ctx: &BuildContext,
) -> Result<F::Settings, Vec<ConfigProblem>> {
    let (options, _, mut problems) = apply_renames(options, F::RENAMED, ctx);
    let (config, more) = parse_options::<F::Config>(&options, ctx);
    problems.extend(more);
    let config = config.ok_or_else(|| problems.clone())?;
    match F::resolve(&config, ctx) {
        Ok(settings) if problems.is_empty() => Ok(settings),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}

/// Deserialises vendor options, reporting *every* unknown key (not just the first, as
/// `deny_unknown_fields` would) plus the first type error, each with its full path. The
/// options are returned even with unknown keys, so validation can report the rest too.
fn parse_options<T: DeserializeOwned>(
    options: &serde_json::Value,
    ctx: &BuildContext,
) -> (Option<T>, Vec<ConfigProblem>) {
    let mut unknown = Vec::new();
    let parsed: Result<T, _> = serde_ignored::deserialize(options, |path| unknown.push(path.to_string()));
    let mut problems: Vec<ConfigProblem> =
        unknown.into_iter().map(|key| ConfigProblem::new(ctx.path(&key), "unknown key")).collect();
    match parsed {
        Ok(config) => (Some(config), problems),
        Err(e) => {
            problems.push(ConfigProblem::new(format!("connectors.{}", ctx.name), e.to_string()));
            (None, problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_base_always_ends_with_a_slash() {
        let mut ctx = BuildContext::new("crm", Arc::new(crate::SystemClock::new()));
        assert_eq!(ctx.api_base("https://api.example.com").unwrap().as_str(), "https://api.example.com/");
        ctx.base_url = Some(url::Url::parse("http://127.0.0.1:9/proxy/api").unwrap());
        let base = ctx.api_base("https://api.example.com/").unwrap();
        assert_eq!(base.join("v1/users").unwrap().as_str(), "http://127.0.0.1:9/proxy/api/v1/users");
        ctx.base_url = None;
        assert!(ctx.api_base("not a url").is_err_and(|e| e.kind() == crate::ErrorKind::Config));
    }

    #[test]
    fn numeric_ids_are_digits_only() {
        assert_eq!(numeric_id(" 512 "), Some("512".into()));
        for other in ["CO_512", "acme", "5 12", "", "-1"] {
            assert_eq!(numeric_id(other), None, "{other:?}");
        }
    }

    #[test]
    fn env_debug_shows_no_value() {
        let env = Env::from_pairs([("CRM_TOKEN", "pat-na1-secret"), ("PATH", "/usr/bin")]);
        let shown = format!("{env:?}");
        assert_eq!(shown, "Env(2 variables, values redacted)");
        let mut context = BuildContext::new("crm", Arc::new(crate::SystemClock::new()));
        context.env = env;
        assert!(!format!("{context:?}").contains("pat-na1-secret"));
    }
}
