//! Task status and priority tables: HubSpot's values ↔ the common enums.
//!
//! HubSpot's `hs_task_status` is an open enum (the tasks guide names `NOT_STARTED` and
//! `COMPLETED`, its own example uses `WAITING`, portals also show `IN_PROGRESS` and
//! `DEFERRED`), so the defaults below can be extended or overridden per connector in config
//! (`status_map = { WAITING = "todo" }`). Keys are matched case-insensitively. An unknown
//! status reads as `todo` (still open, so nobody loses sight of it) with a warning on the
//! record. Writing picks, for each common value, the default HubSpot value if the table
//! still maps it back to the same common value, else the first (alphabetical) HubSpot value
//! that does, else the default anyway.

use std::collections::BTreeMap;

use zveno_connector::{Priority, TaskStatus};

/// A HubSpot value ↔ common value table with a preferred value per common value for writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Table<T> {
    read: BTreeMap<String, T>,
    preferred: Vec<(T, &'static str)>,
}

impl<T: Copy + PartialEq> Table<T> {
    fn build(
        defaults: &[(&'static str, T)],
        preferred: Vec<(T, &'static str)>,
        overrides: &BTreeMap<String, T>,
    ) -> Self {
        let mut read: BTreeMap<String, T> = defaults.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
        read.extend(overrides.iter().map(|(k, v)| (k.trim().to_ascii_uppercase(), *v)));
        Self { read, preferred }
    }

    /// The common value of a HubSpot value, if the table knows it.
    pub fn read(&self, raw: &str) -> Option<T> {
        self.read.get(&raw.trim().to_ascii_uppercase()).copied()
    }

    /// The HubSpot value to write for a common value.
    pub fn write(&self, value: T) -> Option<&str> {
        let preferred = self.preferred.iter().find(|(v, _)| *v == value).map(|(_, k)| *k);
        if let Some(p) = preferred.filter(|p| self.read(p) == Some(value)) {
            return Some(p);
        }
        self.read.iter().find(|(_, v)| **v == value).map(|(k, _)| k.as_str()).or(preferred)
    }
}

/// `hs_task_status` ↔ [`TaskStatus`].
pub type StatusTable = Table<TaskStatus>;
/// `hs_task_priority` ↔ [`Priority`].
pub type PriorityTable = Table<Priority>;

/// The status table: defaults plus the operator's overrides.
///
/// `DEFERRED` reads as `cancelled`: a deferred task is put aside on purpose, and listing it
/// as open (and soon overdue) would be noise for account managers; HubSpot has no
/// "cancelled", so `cancelled` is written back as `DEFERRED` and the round trip is stable.
pub fn status_table(overrides: &BTreeMap<String, TaskStatus>) -> StatusTable {
    Table::build(
        &[
            ("NOT_STARTED", TaskStatus::Todo),
            ("IN_PROGRESS", TaskStatus::InProgress),
            ("WAITING", TaskStatus::InProgress),
            ("DEFERRED", TaskStatus::Cancelled),
            ("COMPLETED", TaskStatus::Done),
        ],
        vec![
            (TaskStatus::Todo, "NOT_STARTED"),
            (TaskStatus::InProgress, "IN_PROGRESS"),
            (TaskStatus::Done, "COMPLETED"),
            (TaskStatus::Cancelled, "DEFERRED"),
        ],
        overrides,
    )
}

/// The priority table: `LOW`, `MEDIUM`, `HIGH` plus overrides; `urgent` is written as
/// `HIGH`, HubSpot's highest.
pub fn priority_table(overrides: &BTreeMap<String, Priority>) -> PriorityTable {
    Table::build(
        &[("LOW", Priority::Low), ("MEDIUM", Priority::Medium), ("HIGH", Priority::High)],
        vec![
            (Priority::Low, "LOW"),
            (Priority::Medium, "MEDIUM"),
            (Priority::High, "HIGH"),
            (Priority::Urgent, "HIGH"),
        ],
        overrides,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_statuses_read_and_write() {
        let t = status_table(&BTreeMap::new());
        for (raw, want) in [
            ("NOT_STARTED", Some(TaskStatus::Todo)),
            ("in_progress", Some(TaskStatus::InProgress)),
            (" WAITING ", Some(TaskStatus::InProgress)),
            ("DEFERRED", Some(TaskStatus::Cancelled)),
            ("COMPLETED", Some(TaskStatus::Done)),
            ("ON_HOLD", None),
        ] {
            assert_eq!(t.read(raw), want, "{raw}");
        }
        for (status, want) in [
            (TaskStatus::Todo, "NOT_STARTED"),
            (TaskStatus::InProgress, "IN_PROGRESS"),
            (TaskStatus::Done, "COMPLETED"),
            (TaskStatus::Cancelled, "DEFERRED"),
        ] {
            assert_eq!(t.write(status), Some(want), "{status:?}");
            assert_eq!(t.read(want), Some(status), "round trip of {status:?}");
        }
    }

    #[test]
    fn overrides_extend_and_replace_defaults() {
        let overrides = BTreeMap::from([
            ("waiting".to_string(), TaskStatus::Todo),
            ("ON_HOLD".to_string(), TaskStatus::Todo),
            ("IN_PROGRESS".to_string(), TaskStatus::Todo),
            ("DEFERRED".to_string(), TaskStatus::Todo),
        ]);
        let t = status_table(&overrides);
        assert_eq!(t.read("WAITING"), Some(TaskStatus::Todo));
        assert_eq!(t.read("on_hold"), Some(TaskStatus::Todo));
        // IN_PROGRESS no longer reads as in_progress, and nothing else does: the default
        // value is still what gets written.
        assert_eq!(t.write(TaskStatus::InProgress), Some("IN_PROGRESS"));
        assert_eq!(t.write(TaskStatus::Todo), Some("NOT_STARTED"));
        assert_eq!(t.write(TaskStatus::Cancelled), Some("DEFERRED"));
    }

    #[test]
    fn writes_prefer_a_value_that_reads_back_the_same() {
        let overrides = BTreeMap::from([
            ("NOT_STARTED".to_string(), TaskStatus::InProgress),
            ("OPEN".to_string(), TaskStatus::Todo),
        ]);
        let t = status_table(&overrides);
        assert_eq!(t.write(TaskStatus::Todo), Some("OPEN"));
        assert_eq!(t.write(TaskStatus::InProgress), Some("IN_PROGRESS"));
    }

    #[test]
    fn priorities_map_both_ways() {
        let t = priority_table(&BTreeMap::from([("URGENT".to_string(), Priority::Urgent)]));
        assert_eq!(t.read("high"), Some(Priority::High));
        assert_eq!(t.read("NONE"), None);
        assert_eq!(t.write(Priority::Urgent), Some("URGENT"));
        let plain = priority_table(&BTreeMap::new());
        assert_eq!(plain.write(Priority::Urgent), Some("HIGH"));
        assert_eq!(plain.write(Priority::Low), Some("LOW"));
    }
}
