//! `[reconcile]`: how golden records are merged, validated into the resolver's
//! [`Survivorship`].
//!
//! ```toml
//! [reconcile]
//! source_priority = ["bitrix24", "hubspot"]   # connector names or vendors, most trusted first
//! [reconcile.fields]
//! name = "well_formed"                        # or source_priority, most_recent, most_complete
//! owner = "most_recent"
//! ```
//!
//! Fields not listed keep their defaults (see `resolve::golden`).

use std::collections::BTreeMap;

use zveno_connector::ConfigProblem;

use super::raw::ReconcileSettings;
use crate::resolve::{Field, Survival, Survivorship};

const RULES: [Survival; 4] =
    [Survival::WellFormed, Survival::SourcePriority, Survival::MostRecent, Survival::MostComplete];

/// Validates `raw`; `known` are the names a priority entry may use (configured connector
/// names and vendors).
pub(super) fn validate(raw: &ReconcileSettings, known: &[String], problems: &mut Vec<ConfigProblem>) -> Survivorship {
    for (i, entry) in raw.source_priority.iter().enumerate() {
        if !known.contains(entry) {
            problems.push(ConfigProblem::new(
                format!("reconcile.source_priority[{i}]"),
                format!("{entry:?} names no configured connector or known vendor (known: {})", known.join(", ")),
            ));
        }
    }
    let mut rules = BTreeMap::new();
    for (name, rule) in &raw.fields {
        let path = format!("reconcile.fields.{name}");
        let Some(field) = Field::ALL.into_iter().find(|f| f.as_str() == name) else {
            let fields: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
            problems.push(ConfigProblem::new(path, format!("unknown field (expected one of {})", fields.join(", "))));
            continue;
        };
        match RULES.into_iter().find(|r| r.as_str() == rule) {
            Some(survival) => {
                rules.insert(field, survival);
            }
            None => {
                let names: Vec<&str> = RULES.iter().map(|r| r.as_str()).collect();
                problems.push(ConfigProblem::new(
                    path,
                    format!("unknown rule {rule:?} (expected one of {})", names.join(", ")),
                ));
            }
        }
    }
    Survivorship { source_priority: raw.source_priority.clone(), rules }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_priorities_are_checked_with_their_paths() {
        let raw = ReconcileSettings {
            source_priority: vec!["b24".into(), "salesforce".into()],
            fields: BTreeMap::from([
                ("name".to_string(), "most_recent".to_string()),
                ("colour".to_string(), "most_recent".to_string()),
                ("owner".to_string(), "newest".to_string()),
            ]),
        };
        let mut problems = Vec::new();
        let s = validate(&raw, &["b24".to_string(), "testvendor".to_string()], &mut problems);
        let found: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("reconcile.source_priority[1]: \"salesforce\""), "{}", found[0]);
        assert!(found[1].starts_with("reconcile.fields.colour: unknown field"), "{}", found[1]);
        assert!(found[2].starts_with("reconcile.fields.owner: unknown rule \"newest\""), "{}", found[2]);
        assert_eq!(s.rule(Field::Name), Survival::MostRecent);
        assert_eq!(s.rule(Field::Owner), Survival::MostRecent, "the default stands");
    }
}
