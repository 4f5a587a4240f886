//! The `[connectors.<name>]` options of a Pipedrive connector, and their validation.
//!
//! ```toml
//! [connectors.pd]
//! vendor = "pipedrive"
//! token_env = "PIPEDRIVE_TOKEN"        # or token_file = "/etc/zveno/pipedrive.token"
//! tax_id_field = "5e3a0c7d9b1f2a4c6e8d0b2f4a6c8e0d2f4b6a8c"   # the INN custom field's key
//! idempotency_field = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"   # text field holding zveno's handle
//! default_region = "RU"                # phones typed without a country code
//! company_domain = "acme"              # deep links to acme.pipedrive.com
//! overlap_secs = 120                   # re-read this much before the watermark
//! plan = "growth"                      # daily budget = 30,000 × plan multiplier × seats
//! seats = 5
//! daily_reserve_percent = 20           # left for the people and other apps
//! budget_reset = "00:00"               # UTC time Pipedrive's day starts (it names no zone)
//! status_map = { done = "done", open = "todo" }
//! rate_limits.default = { requests = 40, per_secs = 2 }   # Growth burst limit
//! ```
//!
//! Validation is pure (it reads the environment snapshot in the build context, never the
//! network) and reports every problem with its config path.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveTime;
use serde::Deserialize;
use zveno_connector::{BuildContext, ConfigProblem, Overlap, OverrideTable, Phone, Secret, SecretRef, TaskStatus};

use crate::client::default_rate_limits;

/// Base tokens per seat and day, before the plan multiplier (§8.1).
pub const BASE_TOKENS: u64 = 30_000;

/// A Pipedrive plan, under either set of names (§8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Lite / Essential: multiplier 1.
    #[serde(alias = "essential")]
    Lite,
    /// Growth / Advanced: 2.
    #[serde(alias = "advanced")]
    Growth,
    /// Professional: 3.
    Professional,
    /// Premium / Power: 5.
    #[serde(alias = "power")]
    Premium,
    /// Ultimate / Enterprise: 7.
    #[serde(alias = "enterprise")]
    Ultimate,
}

impl Plan {
    /// The daily token multiplier.
    pub fn multiplier(self) -> u64 {
        match self {
            Self::Lite => 1,
            Self::Growth => 2,
            Self::Professional => 3,
            Self::Premium => 5,
            Self::Ultimate => 7,
        }
    }
}

/// Pipedrive's vendor options.
#[derive(Debug, Clone, Deserialize)]
pub struct PipedriveConfig {
    /// Environment variable holding the personal API token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the personal API token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// The 40-character key of the organization custom field holding the tax id (INN).
    /// Pipedrive has no standard one.
    #[serde(default)]
    pub tax_id_field: Option<String>,
    /// The 40-character key of the organization custom field (type Text) every
    /// organization zveno creates carries its idempotency handle in, so a create whose
    /// answer was lost is found by searching for it instead of being made twice. The
    /// operator creates the field; `zveno check` verifies it when a flow creates
    /// organizations here. Without it, such a create waits for a person.
    #[serde(default)]
    pub idempotency_field: Option<String>,
    /// ISO region for phones typed without a country code (none by default: a wrong guess
    /// makes a valid-looking wrong number).
    #[serde(default)]
    pub default_region: Option<String>,
    /// The company's subdomain (`acme` of `acme.pipedrive.com`), for deep links.
    #[serde(default)]
    pub company_domain: Option<String>,
    /// How far before the watermark each incremental run starts, for writes that commit
    /// late (`updated_since` is inclusive, so the boundary itself is never lost).
    #[serde(default = "default_overlap")]
    pub overlap_secs: Overlap,
    /// The plan, for the daily token budget.
    #[serde(default = "default_plan")]
    pub plan: Plan,
    /// Paid seats, for the daily token budget.
    #[serde(default = "default_seats")]
    pub seats: u32,
    /// The daily token budget itself, when known (top-ups included); overrides plan × seats.
    #[serde(default)]
    pub daily_token_budget: Option<u64>,
    /// Share of the daily budget zveno leaves to the people and other apps of the company.
    #[serde(default = "default_reserve")]
    pub daily_reserve_percent: u8,
    /// When (UTC, `HH:MM`) Pipedrive's budget day starts.
    #[serde(default = "default_reset")]
    pub budget_reset: String,
    /// Activity status overrides: `open` and `done` → todo|in_progress|done|cancelled.
    #[serde(default)]
    pub status_map: OverrideTable<TaskStatus>,
}

fn default_overlap() -> Overlap {
    Overlap(120)
}
fn default_plan() -> Plan {
    Plan::Lite
}
fn default_seats() -> u32 {
    1
}
fn default_reserve() -> u8 {
    20
}
fn default_reset() -> String {
    "00:00".into()
}

/// Whether `key` looks like a Pipedrive custom-field key (40 hex characters).
pub fn is_field_key(key: &str) -> bool {
    key.len() == 40 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl PipedriveConfig {
    /// The token reference.
    pub fn token(&self) -> SecretRef {
        SecretRef::new(self.token_env.clone(), self.token_file.clone())
    }

    /// The company's daily token budget.
    pub fn daily_budget(&self) -> u64 {
        self.daily_token_budget.unwrap_or_else(|| BASE_TOKENS * self.plan.multiplier() * u64::from(self.seats.max(1)))
    }

    /// The reset time, if it parses.
    pub fn reset_time(&self) -> Option<NaiveTime> {
        NaiveTime::parse_from_str(self.budget_reset.trim(), "%H:%M").ok()
    }

    /// Every problem with these options in `ctx` (what [`Self::resolve`] reports).
    pub fn problems(&self, ctx: &BuildContext) -> Vec<ConfigProblem> {
        self.resolve(ctx).err().unwrap_or_default()
    }

    /// Checks the options without network access and resolves the token and the region:
    /// the settings a connector is built from, or every problem with its path. `zveno check`
    /// and the build both go through here.
    pub fn resolve(&self, ctx: &BuildContext) -> Result<Settings, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let token = self.token().resolve(&ctx.path("token"), &ctx.env).map_err(|p| problems.push(p)).ok();
        let mut region = None;
        let mut problem = |key: &str, message: String| problems.push(ConfigProblem::new(ctx.path(key), message));
        let fields = [("tax_id_field", &self.tax_id_field), ("idempotency_field", &self.idempotency_field)];
        for (name, key) in fields {
            if let Some(key) = key.as_deref().filter(|k| !is_field_key(k)) {
                problem(
                    name,
                    format!("{key:?} is not a Pipedrive custom-field key (40 lower-case hex characters; see Settings → Data fields → the field's API key)"),
                );
            }
        }
        if let Some(code) = &self.default_region {
            match Phone::region(code) {
                Ok(parsed) => region = Some(parsed),
                Err(e) => problem("default_region", e.to_string()),
            }
        }
        if let Some(domain) = &self.company_domain {
            if domain.is_empty() || !domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                problem("company_domain", format!("{domain:?} is not a subdomain (`acme` of acme.pipedrive.com)"));
            }
        }
        let overlap = self
            .overlap_secs
            .resolve(ctx, 1..=86_400, "without an overlap, writes that commit late are skipped")
            .map_err(|p| problem("overlap_secs", p.message))
            .ok();
        if self.seats == 0 {
            problem("seats", "must be at least 1".into());
        }
        if self.daily_token_budget == Some(0) {
            problem("daily_token_budget", "must be at least 1".into());
        }
        if self.daily_reserve_percent > 90 {
            problem("daily_reserve_percent", "must be at most 90".into());
        }
        if self.reset_time().is_none() {
            problem("budget_reset", format!("{:?} is not a UTC time as HH:MM", self.budget_reset));
        }
        let known = default_rate_limits();
        for (bucket, limit) in &ctx.rate_limits {
            if !known.contains_key(bucket) {
                problem(&format!("rate_limits.{bucket}"), "unknown bucket; Pipedrive's is default".into());
            } else if let Some(why) = limit.problem() {
                problem(&format!("rate_limits.{bucket}"), why.into());
            }
        }
        let status_map = self
            .status_map
            .resolve(ctx, "status_map", |key| match key {
                "open" | "done" => Ok(()),
                _ => Err("Pipedrive activities are only open or done".into()),
            })
            .map_err(|list| problems.extend(list))
            .ok();
        match (token, overlap, status_map) {
            (Some(token), Some(overlap), Some(status_map)) if problems.is_empty() => {
                Ok(Settings { config: self.clone(), token, region, overlap, status_map })
            }
            _ => Err(problems),
        }
    }
}

/// Checked options with the token read and the region parsed: what a connector is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The options as configured.
    pub config: PipedriveConfig,
    /// The API token.
    pub token: Secret,
    /// The region national phone numbers are read in.
    pub region: Option<phonenumber::country::Id>,
    /// How far before the watermark incremental runs start.
    pub overlap: std::time::Duration,
    /// Activity status overrides, parsed.
    pub status_map: BTreeMap<String, TaskStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use zveno_connector::http::RateLimit;
    use zveno_connector::{Env, ManualClock};

    fn ctx(env: &[(&str, &str)]) -> BuildContext {
        let mut ctx = BuildContext::new("pd", Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)));
        ctx.env = Env::from_pairs(env.iter().copied());
        ctx
    }

    fn config(value: serde_json::Value) -> PipedriveConfig {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_minimal_config_is_valid_with_documented_defaults() {
        let c = config(serde_json::json!({"token_env": "PD"}));
        assert!(c.problems(&ctx(&[("PD", "0123abcd")])).is_empty());
        assert_eq!((c.overlap_secs, c.daily_reserve_percent, c.daily_budget()), (Overlap(120), 20, 30_000));
        assert_eq!(c.reset_time(), NaiveTime::from_hms_opt(0, 0, 0));
    }

    #[test]
    fn the_budget_follows_plan_and_seats_under_either_name() {
        let growth = config(serde_json::json!({"token_env": "PD", "plan": "advanced", "seats": 5}));
        assert_eq!(growth.daily_budget(), 300_000);
        let told = config(serde_json::json!({"token_env": "PD", "plan": "enterprise", "daily_token_budget": 1234}));
        assert_eq!((told.plan, told.daily_budget()), (Plan::Ultimate, 1234));
        assert!(serde_json::from_value::<PipedriveConfig>(serde_json::json!({"plan": "gold"})).is_err());
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let c = config(serde_json::json!({
            "token_env": "MISSING", "tax_id_field": "inn", "default_region": "XX1", "company_domain": "a.b",
            "overlap_secs": 0, "seats": 0, "daily_token_budget": 0, "daily_reserve_percent": 95,
            "budget_reset": "midnight", "status_map": {"won": "done"}}));
        let mut with_limits = ctx(&[]);
        with_limits.rate_limits = BTreeMap::from([("search".to_string(), RateLimit::new(10, 2))]);
        let paths: Vec<String> = c.problems(&with_limits).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "connectors.pd.token_env",
                "connectors.pd.tax_id_field",
                "connectors.pd.default_region",
                "connectors.pd.company_domain",
                "connectors.pd.overlap_secs",
                "connectors.pd.seats",
                "connectors.pd.daily_token_budget",
                "connectors.pd.daily_reserve_percent",
                "connectors.pd.budget_reset",
                "connectors.pd.rate_limits.search",
                "connectors.pd.status_map.won",
            ]
        );
    }

    #[test]
    fn field_keys_are_forty_hex_characters() {
        assert!(is_field_key("5e3a0c7d9b1f2a4c6e8d0b2f4a6c8e0d2f4b6a8c"));
        assert!(!is_field_key("5E3A0C7D9B1F2A4C6E8D0B2F4A6C8E0D2F4B6A8C"));
        assert!(!is_field_key("inn"));
    }
}
