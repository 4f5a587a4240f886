//! Option types every vendor's `[connectors.<name>]` shares, so the same setting reads, is
//! checked and is named the same way whatever the vendor.
//!
//! - [`OverrideTable`]: `status_map = { WAITING = "todo" }`, `priority_map = { P1 = "urgent" }`:
//!   vendor value → common value. Values are kept as text until [`OverrideTable::resolve`],
//!   so one run of `zveno check` names *every* bad entry with its path (serde would stop at
//!   the first), and the vendor says which keys it can have.
//! - [`Overlap`]: `overlap_secs`, how far before the watermark each incremental window
//!   starts. One key and one type; each vendor gives its default and its bounds, because
//!   the lag it covers (a search index, minute-precise JQL, a late commit) is the vendor's.
//! - [`Renamed`]: keys that were renamed when vendors were brought onto these names. The
//!   old name keeps working: it is read as the new one, with a deprecation warning that
//!   `zveno check` prints and the daemon logs.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::factory::{BuildContext, ConfigProblem};

/// Operator overrides of a vendor's value table: vendor value → common value `T`
/// (`TaskStatus`, `Priority`, anything with a `FromStr` whose error says what is expected).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct OverrideTable<T> {
    raw: BTreeMap<String, String>,
    #[serde(skip)]
    common: PhantomData<fn() -> T>,
}

impl<T> Default for OverrideTable<T> {
    fn default() -> Self {
        Self { raw: BTreeMap::new(), common: PhantomData }
    }
}

impl<T> fmt::Debug for OverrideTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

impl<T: FromStr<Err = String>> OverrideTable<T> {
    /// A table of `(vendor value, common value)` text pairs, as a config would hold them.
    pub fn of<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { raw: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), common: PhantomData }
    }

    /// Whether the operator overrides nothing.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The overrides parsed, or every bad entry at `connectors.<name>.<key>.<vendor value>`:
    /// an empty vendor value, one `vendor_key` rejects (it says why: "Pipedrive activities
    /// are only open or done"), or a common value `T` does not parse.
    pub fn resolve(
        &self,
        ctx: &BuildContext,
        key: &str,
        vendor_key: impl Fn(&str) -> Result<(), String>,
    ) -> Result<BTreeMap<String, T>, Vec<ConfigProblem>> {
        let mut parsed = BTreeMap::new();
        let mut problems = Vec::new();
        for (vendor, common) in &self.raw {
            let path = ctx.path(&format!("{key}.{vendor}"));
            let checked = if vendor.trim().is_empty() {
                Err("empty vendor value".to_string())
            } else {
                vendor_key(vendor.trim()).and_then(|()| common.trim().parse::<T>())
            };
            match checked {
                Ok(value) => {
                    parsed.insert(vendor.trim().to_string(), value);
                }
                Err(why) => problems.push(ConfigProblem::new(path, why)),
            }
        }
        if problems.is_empty() {
            Ok(parsed)
        } else {
            Err(problems)
        }
    }
}

/// Any vendor value: for tables whose keys the vendor leaves open.
pub fn any_key(_: &str) -> Result<(), String> {
    Ok(())
}

/// `overlap_secs`: seconds each incremental window re-reads before the previous watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Overlap(pub u64);

/// The key every vendor reads [`Overlap`] from.
pub const OVERLAP_KEY: &str = "overlap_secs";

impl Overlap {
    /// The overlap as a duration, or a problem at `overlap_secs` when it is outside
    /// `bounds`; `why` says what goes wrong outside them (records skipped, a typo).
    pub fn resolve(
        self,
        ctx: &BuildContext,
        bounds: RangeInclusive<u64>,
        why: &str,
    ) -> Result<Duration, ConfigProblem> {
        if bounds.contains(&self.0) {
            Ok(Duration::from_secs(self.0))
        } else {
            Err(ConfigProblem::new(
                ctx.path(OVERLAP_KEY),
                format!("{} is not between {} and {}: {why}", self.0, bounds.start(), bounds.end()),
            ))
        }
    }

    /// Seconds.
    pub fn secs(self) -> u64 {
        self.0
    }
}

/// An option renamed to a shared name: `old` is read as `new`, with a deprecation warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renamed {
    /// The name configs written before may use.
    pub old: &'static str,
    /// The name it has now.
    pub new: &'static str,
}

/// Rewrites every `renamed` key of vendor `options` under its new name. Returns the options
/// to parse, the deprecation warnings (old name used) and the problems (both names set:
/// which one was meant is unknowable).
pub fn apply_renames(
    options: &serde_json::Value,
    renamed: &[Renamed],
    ctx: &BuildContext,
) -> (serde_json::Value, Vec<ConfigProblem>, Vec<ConfigProblem>) {
    let mut options = options.clone();
    let (mut warnings, mut problems) = (Vec::new(), Vec::new());
    if let Some(map) = options.as_object_mut() {
        for r in renamed {
            let Some(value) = map.remove(r.old) else { continue };
            if map.contains_key(r.new) {
                problems.push(ConfigProblem::new(
                    ctx.path(r.old),
                    format!("set only {}: {} is its deprecated name", r.new, r.old),
                ));
            } else {
                warnings.push(ConfigProblem::new(
                    ctx.path(r.old),
                    format!("deprecated name of {}; read as {} (rename it)", r.new, r.new),
                ));
                map.insert(r.new.to_string(), value);
            }
        }
    }
    (options, warnings, problems)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Priority, TaskStatus};

    fn ctx() -> BuildContext {
        BuildContext::new("crm", Arc::new(crate::ManualClock::new(chrono::DateTime::UNIX_EPOCH)))
    }

    #[test]
    fn an_override_table_reports_every_bad_entry_with_its_path() {
        let table: OverrideTable<TaskStatus> = serde_json::from_value(
            serde_json::json!({"WAITING": "todo", "LATER": "someday", " ": "done", "X": "done"}),
        )
        .unwrap();
        let problems = table.resolve(&ctx(), "status_map", |k| match k {
            "X" => Err("not a status this vendor has".into()),
            _ => Ok(()),
        });
        let paths: Vec<String> = problems.unwrap_err().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            ["connectors.crm.status_map. ", "connectors.crm.status_map.LATER", "connectors.crm.status_map.X"]
        );
    }

    #[test]
    fn an_override_table_parses_priorities_and_statuses() {
        let priorities = OverrideTable::<Priority>::of([("P1", "urgent"), (" P4 ", "low")]);
        let parsed = priorities.resolve(&ctx(), "priority_map", any_key).unwrap();
        assert_eq!(parsed, BTreeMap::from([("P1".into(), Priority::Urgent), ("P4".into(), Priority::Low)]));
        let statuses = OverrideTable::<TaskStatus>::of([("6", "todo")]);
        assert_eq!(statuses.resolve(&ctx(), "status_map", any_key).unwrap()["6"], TaskStatus::Todo);
        assert!(OverrideTable::<TaskStatus>::default().resolve(&ctx(), "status_map", any_key).unwrap().is_empty());
    }

    #[test]
    fn an_overlap_outside_its_bounds_is_a_problem_at_overlap_secs() {
        assert_eq!(Overlap(300).resolve(&ctx(), 1..=86_400, "why"), Ok(Duration::from_secs(300)));
        let problem = Overlap(0).resolve(&ctx(), 1..=86_400, "records would be skipped").unwrap_err();
        assert_eq!(problem.path, "connectors.crm.overlap_secs");
        assert!(problem.message.contains("records would be skipped"), "{}", problem.message);
    }

    #[test]
    fn an_old_key_is_read_under_its_new_name_with_a_warning() {
        let renamed = [Renamed { old: "search_overlap_secs", new: "overlap_secs" }];
        let (options, warnings, problems) =
            apply_renames(&serde_json::json!({"search_overlap_secs": 60, "x": 1}), &renamed, &ctx());
        assert_eq!(options, serde_json::json!({"overlap_secs": 60, "x": 1}));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "connectors.crm.search_overlap_secs");
        assert!(problems.is_empty());
        let (_, warnings, problems) =
            apply_renames(&serde_json::json!({"search_overlap_secs": 60, "overlap_secs": 30}), &renamed, &ctx());
        assert!(warnings.is_empty());
        assert_eq!(problems.len(), 1, "both names set is an error: which one was meant?");
    }
}
