//! The vendor options of `[connectors.<name>]` for Bitrix24, and their validation.
//!
//! Parse, validate, build: [`Bitrix24Config`] is what the operator wrote; [`Settings`] is the
//! checked, typed form the connector runs on. Validation reads the webhook URL (from the
//! environment snapshot or a file) only to check its shape: it never touches the network,
//! and no problem message ever repeats the URL, because the URL *is* the credential.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use phonenumber::country::Id as Region;
use serde::Deserialize;
use zveno_connector::{BuildContext, ConfigProblem, Phone, SecretRef, TaskStatus};

use crate::client::credential::Webhook;

/// Default overlap of incremental windows: Bitrix24 stores times to the second in the
/// portal's zone, clocks drift, and a write can commit after the window that should have
/// seen it closed. Five minutes of re-reading is cheap; a missed change is not.
pub const DEFAULT_OVERLAP_SECS: u64 = 300;

/// The options an operator writes under `[connectors.<name>]` (besides the common keys).
#[derive(Debug, Clone, Deserialize)]
pub struct Bitrix24Config {
    /// Environment variable holding the inbound webhook URL
    /// `https://<portal>/rest/<user id>/<code>/`.
    #[serde(default)]
    pub webhook_url_env: Option<String>,
    /// File holding the inbound webhook URL (instead of `webhook_url_env`).
    #[serde(default)]
    pub webhook_url_file: Option<PathBuf>,
    /// Company user fields holding the tax id (`"UF_CRM_INN"` or a list), for portals that
    /// keep it there as well as, or instead of, in requisites. Requisites are read either
    /// way: the first valid tax id wins, requisites first, then these fields in order.
    #[serde(default, deserialize_with = "zveno_connector::one_or_many")]
    pub tax_id_field: Vec<String>,
    /// Region for national phone formats (`8 (495) 123-45-67`) and the tax-id scheme.
    #[serde(default = "default_region")]
    pub default_region: String,
    /// Overrides of the task status table: Bitrix24 status code → common status
    /// (`{ "6" = "todo" }`).
    #[serde(default)]
    pub status_map: BTreeMap<String, String>,
    /// Seconds every incremental window reaches back before the previous one's end.
    #[serde(default = "default_overlap")]
    pub overlap_secs: u64,
    /// The portal's IANA time zone (`Europe/Moscow`). Without it the zone offset is read from
    /// the `time.date_start` of every response.
    #[serde(default)]
    pub portal_timezone: Option<String>,
    /// List calls packed into one `batch` (1 to 50). Fewer calls make smaller requests, for
    /// portals where a 2,500-row batch nears Bitrix24's 60-second request limit.
    #[serde(default = "default_calls")]
    pub calls_per_batch: usize,
}

fn default_calls() -> usize {
    crate::client::MAX_COMMANDS
}

fn default_region() -> String {
    "RU".to_string()
}

fn default_overlap() -> u64 {
    DEFAULT_OVERLAP_SECS
}

/// The longest overlap accepted: a week of re-reading on every run is surely a typo.
const MAX_OVERLAP_SECS: u64 = 7 * 24 * 3600;

/// The validated settings a connector instance runs on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where and how to call the portal.
    pub webhook: Webhook,
    /// Company user fields holding the tax id, read after requisites, in order.
    pub tax_id_fields: Vec<String>,
    /// Region for national phone numbers.
    pub region: Region,
    /// ISO code of `region`, the country tax ids are read for.
    pub country: String,
    /// Task status table.
    pub statuses: StatusTable,
    /// Incremental window overlap.
    pub overlap: Duration,
    /// The portal's zone, when configured.
    pub timezone: Option<chrono_tz::Tz>,
    /// List calls per batch.
    pub calls_per_batch: usize,
}

impl Bitrix24Config {
    fn secret_ref(&self) -> SecretRef {
        SecretRef::new(self.webhook_url_env.clone(), self.webhook_url_file.clone())
    }

    /// Every problem with these options, each with its config path. No network access.
    pub fn problems(&self, ctx: &BuildContext) -> Vec<ConfigProblem> {
        match self.settings(ctx) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        }
    }

    /// Checks the options and builds the typed settings, or returns every problem found.
    pub fn settings(&self, ctx: &BuildContext) -> Result<Settings, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let key = ctx.path("webhook_url");
        let webhook = match self.secret_ref().resolve(&key, &ctx.env) {
            Ok(secret) => Webhook::parse(&secret, ctx.base_url.as_ref())
                .map_err(|reason| {
                    // Name the key the URL came from, never the URL itself.
                    let path =
                        if self.webhook_url_file.is_some() { format!("{key}_file") } else { format!("{key}_env") };
                    problems.push(ConfigProblem::new(path, reason));
                })
                .ok(),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        for field in &self.tax_id_field {
            if !is_user_field_name(field) {
                problems.push(ConfigProblem::new(
                    ctx.path("tax_id_field"),
                    format!("{field:?} is not a company user field name (expected UF_CRM_...)"),
                ));
            }
        }
        let region = match Phone::region(&self.default_region) {
            Ok(region) => Some(region),
            Err(e) => {
                problems.push(ConfigProblem::new(ctx.path("default_region"), e.to_string()));
                None
            }
        };
        let statuses = StatusTable::with_overrides(&self.status_map).map_err(|list| {
            for (code, message) in list {
                problems.push(ConfigProblem::new(ctx.path(&format!("status_map.{code}")), message));
            }
        });
        if self.overlap_secs > MAX_OVERLAP_SECS {
            problems.push(ConfigProblem::new(
                ctx.path("overlap_secs"),
                format!("{} is more than a week ({MAX_OVERLAP_SECS})", self.overlap_secs),
            ));
        }
        let timezone = match &self.portal_timezone {
            Some(name) => match chrono_tz::Tz::from_str(name) {
                Ok(tz) => Some(tz),
                Err(_) => {
                    problems.push(ConfigProblem::new(
                        ctx.path("portal_timezone"),
                        format!("{name:?} is not an IANA time zone (e.g. Europe/Moscow)"),
                    ));
                    None
                }
            },
            None => None,
        };
        if !(1..=crate::client::MAX_COMMANDS).contains(&self.calls_per_batch) {
            problems.push(ConfigProblem::new(
                ctx.path("calls_per_batch"),
                format!("{} is not between 1 and 50", self.calls_per_batch),
            ));
        }
        for (bucket, limit) in &ctx.rate_limits {
            if let Some(problem) = limit.problem() {
                problems.push(ConfigProblem::new(format!("connectors.{}.rate_limits.{bucket}", ctx.name), problem));
            }
        }
        match (webhook, region, statuses) {
            (Some(webhook), Some(region), Ok(statuses)) if problems.is_empty() => Ok(Settings {
                webhook,
                tax_id_fields: self.tax_id_field.clone(),
                region,
                country: self.default_region.trim().to_ascii_uppercase(),
                statuses,
                overlap: Duration::from_secs(self.overlap_secs),
                timezone,
                calls_per_batch: self.calls_per_batch,
            }),
            _ => Err(problems),
        }
    }
}

fn is_user_field_name(name: &str) -> bool {
    name.len() > 3
        && name.starts_with("UF_")
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Bitrix24 task status codes and what they mean in the common model.
///
/// The defaults: 1 (new, older portals) and 2 (pending) are `todo`; 3 (in progress) and 4
/// ("supposedly completed": the assignee is done, the creator has not yet accepted) are
/// `in_progress`, because someone still has to act; 5 (completed) is `done`; 6 (deferred)
/// is `cancelled`, because Bitrix24 has no cancelled state and deferring is how teams park a
/// task nobody is expected to work on — and so a `cancelled` task written back becomes 6.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusTable {
    codes: BTreeMap<i64, TaskStatus>,
}

/// The status a code gets when the table does not know it.
const UNKNOWN_STATUS: TaskStatus = TaskStatus::Todo;

impl Default for StatusTable {
    fn default() -> Self {
        Self {
            codes: BTreeMap::from([
                (1, TaskStatus::Todo),
                (2, TaskStatus::Todo),
                (3, TaskStatus::InProgress),
                (4, TaskStatus::InProgress),
                (5, TaskStatus::Done),
                (6, TaskStatus::Cancelled),
            ]),
        }
    }
}

impl StatusTable {
    /// The default table with the operator's overrides, or every bad entry with its reason.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Self, Vec<(String, String)>> {
        let mut table = Self::default();
        let mut bad = Vec::new();
        for (code, status) in overrides {
            match (code.trim().parse::<i64>(), status.parse::<TaskStatus>()) {
                (Ok(n), Ok(s)) => {
                    table.codes.insert(n, s);
                }
                (Err(_), _) => bad.push((code.clone(), format!("{code:?} is not a Bitrix24 status code (2 to 6)"))),
                (_, Err(e)) => bad.push((code.clone(), e)),
            }
        }
        if bad.is_empty() {
            Ok(table)
        } else {
            Err(bad)
        }
    }

    /// The common status of `code`, and whether the table knew it.
    pub fn status(&self, code: i64) -> (TaskStatus, bool) {
        match self.codes.get(&code) {
            Some(s) => (*s, true),
            None => (UNKNOWN_STATUS, false),
        }
    }

    /// The code to write for `status`: the canonical one (2, 3, 5, 6) when the table still
    /// maps it to `status`, else the lowest code that does.
    pub fn code(&self, status: TaskStatus) -> Option<i64> {
        let canonical = match status {
            TaskStatus::Todo => 2,
            TaskStatus::InProgress => 3,
            TaskStatus::Done => 5,
            TaskStatus::Cancelled => 6,
        };
        if self.codes.get(&canonical) == Some(&status) {
            return Some(canonical);
        }
        self.codes.iter().find(|(_, s)| **s == status).map(|(code, _)| *code)
    }
}

/// The English name of a status code, for display (`status_name`).
pub fn status_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "New",
        2 => "Pending",
        3 => "In progress",
        4 => "Supposedly completed",
        5 => "Completed",
        6 => "Deferred",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use zveno_connector::{Env, ManualClock};

    const URL: &str = "https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/";

    fn ctx(env: &[(&str, &str)]) -> BuildContext {
        let mut ctx = BuildContext::new("b24", Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)));
        ctx.env = Env::from_pairs(env.iter().copied());
        ctx
    }

    fn config(json: serde_json::Value) -> Bitrix24Config {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("test config: {e}"))
    }

    #[test]
    fn a_minimal_config_gives_the_documented_defaults() {
        let c = config(serde_json::json!({"webhook_url_env": "B24"}));
        let settings = c.settings(&ctx(&[("B24", URL)]));
        let s = settings.unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(s.country, "RU");
        assert_eq!(s.overlap, Duration::from_secs(300));
        assert_eq!(s.statuses, StatusTable::default());
        assert!(s.tax_id_fields.is_empty() && s.timezone.is_none());
    }

    #[test]
    fn tax_id_field_takes_one_name_or_a_list() {
        let env = [("B24", URL)];
        let one = config(serde_json::json!({"webhook_url_env": "B24", "tax_id_field": "UF_CRM_INN"}));
        let fields = one.settings(&ctx(&env)).map(|s| s.tax_id_fields).unwrap_or_default();
        assert_eq!(fields, ["UF_CRM_INN"]);
        let many = config(serde_json::json!({"webhook_url_env": "B24", "tax_id_field": ["UF_CRM_INN", "UF_CRM_VAT"]}));
        let fields = many.settings(&ctx(&env)).map(|s| s.tax_id_fields).unwrap_or_default();
        assert_eq!(fields, ["UF_CRM_INN", "UF_CRM_VAT"]);
        let wrong: Result<Bitrix24Config, _> =
            serde_json::from_value(serde_json::json!({"webhook_url_env": "B24", "tax_id_field": 7}));
        assert!(wrong.is_err());
    }

    #[test]
    fn every_problem_is_reported_with_its_path_and_never_the_url() {
        let c = config(serde_json::json!({
            "webhook_url_env": "B24",
            "tax_id_field": "inn",
            "default_region": "Narnia",
            "status_map": {"x": "done", "4": "finished"},
            "overlap_secs": 9_999_999,
            "portal_timezone": "Mars/Olympus",
            "calls_per_batch": 51,
        }));
        let bad_url = "https://romashka.bitrix24.ru/crm/7/8g9l071eismy9q2l/";
        let problems = c.problems(&ctx(&[("B24", bad_url)]));
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "connectors.b24.webhook_url_env",
            "connectors.b24.tax_id_field",
            "connectors.b24.default_region",
            "connectors.b24.status_map.x",
            "connectors.b24.status_map.4",
            "connectors.b24.overlap_secs",
            "connectors.b24.portal_timezone",
            "connectors.b24.calls_per_batch",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
        let text = format!("{problems:?}");
        assert!(!text.contains("8g9l071eismy9q2l"), "secret leaked: {text}");
    }

    #[test]
    fn a_missing_variable_is_a_problem_on_the_env_key() {
        let c = config(serde_json::json!({"webhook_url_env": "B24"}));
        let problems = c.problems(&ctx(&[]));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "connectors.b24.webhook_url_env");
        assert!(problems[0].message.contains("B24 is not set"));
    }

    #[test]
    fn status_overrides_replace_single_codes_and_writes_follow_them() {
        let overrides = BTreeMap::from([("6".to_string(), "todo".to_string())]);
        let table = StatusTable::with_overrides(&overrides).unwrap_or_default();
        assert_eq!(table.status(6), (TaskStatus::Todo, true));
        assert_eq!(table.status(5), (TaskStatus::Done, true));
        assert_eq!(table.status(42), (TaskStatus::Todo, false));
        assert_eq!(table.code(TaskStatus::Todo), Some(2));
        assert_eq!(table.code(TaskStatus::Cancelled), None);
        assert_eq!(StatusTable::default().code(TaskStatus::Cancelled), Some(6));
    }
}
