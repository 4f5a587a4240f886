//! Status and priority tables: Jira's per-workflow names onto the common enums.
//!
//! Status goes through the **status category** (`new` → todo, `indeterminate` →
//! in_progress, `done` → done), because status names differ per workflow. The category
//! cannot tell "done" from "will not be done", so names can override it: a built-in list
//! of the usual "cancelled" names (`Won't Do`, `Declined`, ...) plus the operator's
//! `status_map`. Names match case-insensitively, as Jira treats them.

use std::collections::{BTreeMap, HashMap};

use zveno_connector::{Priority, TaskStatus};

/// Status names that mean "will not be done" in Jira's stock and common workflows.
const CANCELLED_NAMES: [&str; 7] =
    ["won't do", "won't fix", "cancelled", "canceled", "declined", "rejected", "abandoned"];

/// Jira's stock priority names (and the legacy Blocker..Trivial scheme).
const PRIORITY_NAMES: [(&str, Priority); 10] = [
    ("highest", Priority::Urgent),
    ("blocker", Priority::Urgent),
    ("critical", Priority::Urgent),
    ("high", Priority::High),
    ("major", Priority::High),
    ("medium", Priority::Medium),
    ("low", Priority::Low),
    ("minor", Priority::Low),
    ("lowest", Priority::Low),
    ("trivial", Priority::Low),
];

/// Parses `low|medium|high|urgent`.
pub fn parse_priority(value: &str) -> Option<Priority> {
    match value {
        "low" => Some(Priority::Low),
        "medium" => Some(Priority::Medium),
        "high" => Some(Priority::High),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    }
}

/// Status name overrides on top of the category mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusTable {
    by_name: HashMap<String, TaskStatus>,
}

impl StatusTable {
    /// The built-in names plus `overrides` (which win).
    pub fn new(overrides: &BTreeMap<String, TaskStatus>) -> Self {
        let mut by_name: HashMap<String, TaskStatus> =
            CANCELLED_NAMES.iter().map(|n| (n.to_string(), TaskStatus::Cancelled)).collect();
        by_name.extend(overrides.iter().map(|(k, v)| (k.to_lowercase(), *v)));
        Self { by_name }
    }

    /// The common status of a Jira status. An unknown or missing category gives a
    /// warning and a best guess (done when the issue is resolved, else todo: an open
    /// task is the safer mistake, as it stays visible).
    pub fn status(&self, name: Option<&str>, category: Option<&str>, resolved: bool) -> (TaskStatus, Option<String>) {
        if let Some(s) = name.and_then(|n| self.by_name.get(&n.trim().to_lowercase())) {
            return (*s, None);
        }
        match category {
            Some("new") => (TaskStatus::Todo, None),
            Some("indeterminate") => (TaskStatus::InProgress, None),
            Some("done") => (TaskStatus::Done, None),
            other => {
                let guess = if resolved { TaskStatus::Done } else { TaskStatus::Todo };
                let warning = format!(
                    "status {:?} has unknown category {:?}; read as {guess:?} (map it in \
                     status_map)",
                    name.unwrap_or(""),
                    other.unwrap_or("")
                );
                (guess, Some(warning))
            }
        }
    }
}

/// Priority names → common priority.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityTable {
    by_name: HashMap<String, Priority>,
    /// Operator names by priority, for writing (first configured name wins).
    write_names: BTreeMap<Priority, String>,
}

impl PriorityTable {
    /// Jira's stock names plus `overrides` (which win).
    pub fn new(overrides: &BTreeMap<String, Priority>) -> Self {
        let mut by_name: HashMap<String, Priority> = PRIORITY_NAMES.iter().map(|(n, p)| (n.to_string(), *p)).collect();
        by_name.extend(overrides.iter().map(|(k, v)| (k.to_lowercase(), *v)));
        let mut write_names = BTreeMap::new();
        for (name, p) in overrides {
            write_names.entry(*p).or_insert_with(|| name.clone());
        }
        Self { by_name, write_names }
    }

    /// The common priority of a Jira priority name, if known.
    pub fn priority(&self, name: &str) -> Option<Priority> {
        self.by_name.get(&name.trim().to_lowercase()).copied()
    }

    /// The Jira priority name to write for `priority`: the operator's, else the stock one.
    pub fn name_for(&self, priority: Priority) -> String {
        self.write_names.get(&priority).cloned().unwrap_or_else(|| {
            match priority {
                Priority::Urgent => "Highest",
                Priority::High => "High",
                Priority::Medium => "Medium",
                Priority::Low => "Low",
            }
            .to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_category_unless_the_name_is_mapped() {
        let overrides = BTreeMap::from([("Parked".to_string(), TaskStatus::Cancelled)]);
        let t = StatusTable::new(&overrides);
        let cases = [
            (Some("To Do"), Some("new"), false, TaskStatus::Todo),
            (Some("Backlog"), Some("new"), false, TaskStatus::Todo),
            (Some("In Review"), Some("indeterminate"), false, TaskStatus::InProgress),
            (Some("Done"), Some("done"), true, TaskStatus::Done),
            (Some("Won't Do"), Some("done"), true, TaskStatus::Cancelled),
            (Some("WON'T DO"), Some("done"), true, TaskStatus::Cancelled),
            (Some("parked"), Some("indeterminate"), false, TaskStatus::Cancelled),
        ];
        for (name, cat, resolved, want) in cases {
            assert_eq!(t.status(name, cat, resolved), (want, None), "{name:?}");
        }
    }

    #[test]
    fn unknown_categories_warn_and_guess_from_the_resolution() {
        let t = StatusTable::new(&BTreeMap::new());
        let (open, warning) = t.status(Some("Limbo"), Some("undefined"), false);
        assert_eq!(open, TaskStatus::Todo);
        assert!(warning.is_some_and(|w| w.contains("Limbo")));
        assert_eq!(t.status(Some("Limbo"), None, true).0, TaskStatus::Done);
    }

    #[test]
    fn operator_overrides_can_undo_a_built_in_name() {
        let overrides = BTreeMap::from([("Declined".to_string(), TaskStatus::Done)]);
        let t = StatusTable::new(&overrides);
        assert_eq!(t.status(Some("Declined"), Some("done"), true).0, TaskStatus::Done);
    }

    #[test]
    fn priorities_read_stock_legacy_and_operator_names() {
        let overrides = BTreeMap::from([("P1".to_string(), Priority::Urgent)]);
        let t = PriorityTable::new(&overrides);
        assert_eq!(t.priority("Highest"), Some(Priority::Urgent));
        assert_eq!(t.priority("minor"), Some(Priority::Low));
        assert_eq!(t.priority("P1"), Some(Priority::Urgent));
        assert_eq!(t.priority("Someday"), None);
        assert_eq!(t.name_for(Priority::Urgent), "P1");
        assert_eq!(t.name_for(Priority::Medium), "Medium");
        assert_eq!(parse_priority("urgent"), Some(Priority::Urgent));
        assert_eq!(parse_priority("critical"), None);
    }
}
