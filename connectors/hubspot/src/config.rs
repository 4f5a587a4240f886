//! The `[connectors.<name>]` options of a HubSpot connector, and their validation.
//!
//! ```toml
//! [connectors.crm]
//! vendor = "hubspot"
//! token_env = "HUBSPOT_TOKEN"        # or token_file = "/etc/zveno/hubspot.token"
//! tax_id_property = "inn"            # custom company property (or a list) holding the tax id
//! idempotency_property = "zveno_id"  # custom property every create carries (unique on companies)
//! default_region = "RU"              # for phones typed without a country code (default RU)
//! portal_id = 62515                  # for deep links into app.hubspot.com
//! overlap_secs = 300                 # re-read this much before the watermark (was search_overlap_secs)
//! daily_reserve_percent = 10         # slow down below this share of the daily quota
//! archived_sweep_secs = 300          # least time between two sweeps of the archived lists
//! archived_sweep_percent = 2         # a day of sweeps spends at most this share of the quota
//! status_map = { WAITING = "todo" }  # hs_task_status → todo|in_progress|done|cancelled
//! priority_map = { URGENT = "urgent" }
//! rate_limits.default = { requests = 190, per_secs = 10 }   # Professional/Enterprise
//! ```
//!
//! Validation is pure (it reads the environment snapshot in the build context, never the
//! network) and reports every problem with its config path.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use zveno_connector::options::any_key;
use zveno_connector::{
    BuildContext, ConfigProblem, Overlap, OverrideTable, Phone, Priority, Secret, SecretRef, TaskStatus,
};

use crate::client::limits::default_rate_limits;

/// HubSpot's vendor options.
#[derive(Debug, Clone, Deserialize)]
pub struct HubSpotConfig {
    /// Environment variable holding the private-app token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the private-app token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Internal names of the custom company properties holding the tax id (`"inn"` or a
    /// list; none by default: HubSpot has no standard one). The first valid value wins.
    #[serde(default, deserialize_with = "zveno_connector::one_or_many")]
    pub tax_id_property: Vec<String>,
    /// Internal name of the custom property every create carries its op id in (its
    /// idempotency handle), on companies and on tasks; `zveno_id` by default. The operator
    /// creates it (single-line text; on companies with "require unique values", so that
    /// creates go through `batch/upsert` on it and a resend updates instead of
    /// duplicating); `zveno check` verifies it when a flow creates records here.
    #[serde(default = "default_idempotency_property")]
    pub idempotency_property: String,
    /// ISO region for phone numbers typed without a country code (`8 (812) 466-69-81`).
    /// `RU` by default, as for Bitrix24: the clients zveno serves are mostly Russian, and
    /// without a region every national number a manager typed is dropped, which loses the
    /// phone matches across CRMs. `""` turns it off (national numbers are then dropped
    /// with a warning, never guessed).
    #[serde(default = "default_region")]
    pub default_region: String,
    /// The portal (hub) id, for deep links; without it records carry no URL.
    #[serde(default)]
    pub portal_id: Option<u64>,
    /// How far before the watermark each incremental window starts, for the search index
    /// lag. HubSpot names no number; 300 s is several times the lag integrators observed.
    /// Read from `search_overlap_secs` too, its name before vendors shared one.
    #[serde(default = "default_overlap")]
    pub overlap_secs: Overlap,
    /// Below this share of the daily quota, zveno warns and spreads its requests out.
    #[serde(default = "default_reserve")]
    pub daily_reserve_percent: u8,
    /// The least time between two sweeps of a kind's archived list (records deleted in
    /// HubSpot's UI), 300 s (every cycle) by default; see `connector::sweep`.
    #[serde(default = "default_sweep_secs")]
    pub archived_sweep_secs: u64,
    /// The most of the portal's daily quota (shared with its other apps) a day of archived
    /// sweeps may spend, in percent: sweeps of a large archive are spaced out to stay
    /// within it.
    #[serde(default = "default_sweep_percent")]
    pub archived_sweep_percent: u8,
    /// `hs_task_status` overrides and additions.
    #[serde(default)]
    pub status_map: OverrideTable<TaskStatus>,
    /// `hs_task_priority` overrides and additions.
    #[serde(default)]
    pub priority_map: OverrideTable<Priority>,
}

fn default_overlap() -> Overlap {
    Overlap(300)
}

fn default_idempotency_property() -> String {
    "zveno_id".to_string()
}

fn default_region() -> String {
    "RU".to_string()
}

fn default_reserve() -> u8 {
    10
}

fn default_sweep_secs() -> u64 {
    300
}

fn default_sweep_percent() -> u8 {
    2
}

impl HubSpotConfig {
    /// The token reference.
    pub fn token(&self) -> SecretRef {
        SecretRef::new(self.token_env.clone(), self.token_file.clone())
    }

    /// The region national phone numbers are read in; `None` when turned off with `""`.
    pub fn region(&self) -> Result<Option<phonenumber::country::Id>, zveno_connector::model::ParseError> {
        let code = self.default_region.trim();
        if code.is_empty() {
            return Ok(None);
        }
        Phone::region(code).map(Some)
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
        let named = self.tax_id_property.iter().map(|p| ("tax_id_property", p));
        for (key, prop) in named.chain([("idempotency_property", &self.idempotency_property)]) {
            let valid =
                !prop.is_empty() && prop.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                problems.push(ConfigProblem::new(
                    ctx.path(key),
                    format!("{prop:?} is not a HubSpot internal property name (lower-case letters, digits and _)"),
                ));
            }
        }
        let region = self
            .region()
            .map_err(|e| problems.push(ConfigProblem::new(ctx.path("default_region"), e.to_string())))
            .ok();
        if self.portal_id == Some(0) {
            problems.push(ConfigProblem::new(ctx.path("portal_id"), "must be a portal (hub) id, not 0"));
        }
        let overlap = self
            .overlap_secs
            .resolve(ctx, 1..=86_400, "without an overlap, records the search index lists late are skipped")
            .map_err(|p| problems.push(p))
            .ok();
        if self.daily_reserve_percent > 50 {
            problems.push(ConfigProblem::new(ctx.path("daily_reserve_percent"), "must be at most 50"));
        }
        if self.archived_sweep_secs > 86_400 {
            problems.push(ConfigProblem::new(
                ctx.path("archived_sweep_secs"),
                "must be at most 86400: deletions in HubSpot would take more than a day to show",
            ));
        }
        if !(1..=50).contains(&self.archived_sweep_percent) {
            problems.push(ConfigProblem::new(ctx.path("archived_sweep_percent"), "must be between 1 and 50"));
        }
        let status_map = self.status_map.resolve(ctx, "status_map", any_key).map_err(|p| problems.extend(p)).ok();
        let priority_map = self.priority_map.resolve(ctx, "priority_map", any_key).map_err(|p| problems.extend(p)).ok();
        let known = default_rate_limits();
        for (bucket, limit) in &ctx.rate_limits {
            let path = ctx.path(&format!("rate_limits.{bucket}"));
            if !known.contains_key(bucket) {
                let names: Vec<&str> = known.keys().map(String::as_str).collect();
                problems
                    .push(ConfigProblem::new(path, format!("unknown bucket; HubSpot's are {}", names.join(" and "))));
            } else if let Some(why) = limit.problem() {
                problems.push(ConfigProblem::new(path, why));
            }
        }
        match (token, region, overlap, status_map, priority_map) {
            (Some(token), Some(region), Some(overlap), Some(status_map), Some(priority_map)) if problems.is_empty() => {
                Ok(Settings { config: self.clone(), token, region, overlap, status_map, priority_map })
            }
            _ => Err(problems),
        }
    }
}

/// Checked options with the token read and the region parsed: what a connector is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The options as configured.
    pub config: HubSpotConfig,
    /// The private-app token.
    pub token: Secret,
    /// The region national phone numbers are read in.
    pub region: Option<phonenumber::country::Id>,
    /// How far before the watermark incremental windows start.
    pub overlap: Duration,
    /// `hs_task_status` overrides, parsed.
    pub status_map: BTreeMap<String, TaskStatus>,
    /// `hs_task_priority` overrides, parsed.
    pub priority_map: BTreeMap<String, Priority>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use zveno_connector::http::RateLimit;
    use zveno_connector::{Env, ManualClock};

    fn ctx(env: &[(&str, &str)]) -> BuildContext {
        let mut ctx = BuildContext::new("crm", Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)));
        ctx.env = Env::from_pairs(env.iter().copied());
        ctx
    }

    fn config(value: serde_json::Value) -> HubSpotConfig {
        match serde_json::from_value(value) {
            Ok(c) => c,
            Err(e) => panic!("config should parse: {e}"),
        }
    }

    #[test]
    fn a_minimal_config_is_valid_and_has_documented_defaults() {
        let c = config(serde_json::json!({"token_env": "HS"}));
        assert!(c.problems(&ctx(&[("HS", "pat-na1-secret")])).is_empty());
        assert_eq!(c.overlap_secs, Overlap(300));
        assert_eq!(c.daily_reserve_percent, 10);
        assert_eq!((c.archived_sweep_secs, c.archived_sweep_percent), (300, 2));
        assert_eq!(c.region().ok().flatten().map(|r| format!("{r:?}")).as_deref(), Some("RU"));
        assert!(c.tax_id_property.is_empty());
        assert_eq!(c.idempotency_property, "zveno_id");
        let off = config(serde_json::json!({"token_env": "HS", "default_region": "", "tax_id_property": "inn"}));
        assert_eq!(off.region().ok(), Some(None), "\"\" turns national numbers off");
        assert_eq!(off.tax_id_property, ["inn"], "a single property is a one-item list");
        let many = config(serde_json::json!({"token_env": "HS", "tax_id_property": ["inn", "vat_id"]}));
        assert!(many.problems(&ctx(&[("HS", "pat-na1-secret")])).is_empty());
        assert_eq!(many.tax_id_property, ["inn", "vat_id"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let c = config(serde_json::json!({
            "token_env": "MISSING", "tax_id_property": "Tax ID", "idempotency_property": "zveno-id", "default_region": "XX1",
            "portal_id": 0, "overlap_secs": 0, "daily_reserve_percent": 80,
            "archived_sweep_secs": 90_000, "archived_sweep_percent": 0, "status_map": {" ": "todo"}}));
        let mut with_limits = ctx(&[]);
        with_limits.rate_limits = BTreeMap::from([
            ("defualt".to_string(), RateLimit::new(190, 10)),
            ("search".to_string(), RateLimit::new(0, 1)),
        ]);
        let paths: Vec<String> = c.problems(&with_limits).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "connectors.crm.token_env",
                "connectors.crm.tax_id_property",
                "connectors.crm.idempotency_property",
                "connectors.crm.default_region",
                "connectors.crm.portal_id",
                "connectors.crm.overlap_secs",
                "connectors.crm.daily_reserve_percent",
                "connectors.crm.archived_sweep_secs",
                "connectors.crm.archived_sweep_percent",
                "connectors.crm.status_map. ",
                "connectors.crm.rate_limits.defualt",
                "connectors.crm.rate_limits.search",
            ]
        );
    }

    #[test]
    fn the_secret_never_appears_in_problems() {
        let c = config(serde_json::json!({"token_env": "HS", "token_file": "/nope"}));
        let problems = c.problems(&ctx(&[("HS", "pat-na1-very-secret")]));
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].message.contains("very-secret"));
    }

    #[test]
    fn status_tables_come_from_toml_values() {
        let env = [("HS", "pat-na1-secret")];
        let c = config(serde_json::json!({"token_env": "HS",
            "status_map": {"WAITING": "todo"}, "priority_map": {"URGENT": "urgent"}}));
        let s = c.resolve(&ctx(&env)).unwrap();
        assert_eq!(s.status_map["WAITING"], TaskStatus::Todo);
        assert_eq!(s.priority_map["URGENT"], Priority::Urgent);
        let bad = config(serde_json::json!({"token_env": "HS",
            "status_map": {"WAITING": "later"}, "priority_map": {"P0": "now"}}));
        let paths: Vec<String> = bad.problems(&ctx(&env)).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["connectors.crm.status_map.WAITING", "connectors.crm.priority_map.P0"]);
    }
}
