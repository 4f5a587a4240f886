//! The Pipedrive cursor: a watermark, and where the run under way stands.
//!
//! - A **full scan** reads `sort_by=id` (stable while records change, so nothing is skipped
//!   or read twice however long the scan takes) and, when complete, is also the id census
//!   the store diffs to find deletes Pipedrive never lists. It starts the watermark at the
//!   moment it began.
//! - An **incremental run** reads `updated_since = watermark − overlap` (inclusive) to
//!   `updated_until = the run's start` (exclusive), `sort_by=update_time`: the window is
//!   closed, so the watermark never jumps past a record written while paging, and moves to
//!   the run's start only when the last page is stored.
//!
//! Times are kept to the second, as Pipedrive's RFC 3339 values are. Pipedrive's own
//! `next_cursor` is stored with each page, so a run that stops (a crash, the token reserve)
//! resumes from the page after the last one stored.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::client::{ListQuery, SortBy};

/// The connector-owned state behind a [`zveno_connector::Cursor`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CursorState {
    /// Records updated before this instant are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<DateTime<Utc>>,
    /// The run in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Run {
    /// A full scan by id.
    Scan {
        /// Pipedrive's cursor of the next page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        /// When the scan began: the watermark it establishes.
        started: DateTime<Utc>,
    },
    /// An incremental window by `update_time`.
    Changes {
        /// Lower bound (inclusive); none reads from the beginning.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<DateTime<Utc>>,
        /// Upper bound (exclusive): the run's start.
        until: DateTime<Utc>,
        /// Pipedrive's cursor of the next page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
}

/// RFC 3339 to the second, `Z`: the form Pipedrive's `updated_since` examples use.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `at` truncated to the second.
pub fn to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

impl Run {
    /// The list call that reads this run's next page.
    pub fn query(&self) -> ListQuery {
        match self {
            Self::Scan { next, .. } => ListQuery { cursor: next.clone(), sort_by: SortBy::Id, ..ListQuery::default() },
            Self::Changes { since, until, next } => ListQuery {
                cursor: next.clone(),
                sort_by: SortBy::UpdateTime,
                updated_since: since.map(rfc3339),
                updated_until: Some(rfc3339(*until)),
                ..ListQuery::default()
            },
        }
    }

    /// The run after a page whose answer named `next` (`None` when it was the last page),
    /// and the watermark a finished run leaves.
    pub fn advance(self, next: Option<String>) -> (Option<Run>, Option<DateTime<Utc>>) {
        match (self, next) {
            (Self::Scan { started, .. }, Some(next)) => (Some(Self::Scan { next: Some(next), started }), None),
            (Self::Scan { started, .. }, None) => (None, Some(started)),
            (Self::Changes { since, until, .. }, Some(next)) => {
                (Some(Self::Changes { since, until, next: Some(next) }), None)
            }
            (Self::Changes { until, .. }, None) => (None, Some(until)),
        }
    }

    /// The cursor this page was read from, to catch a vendor repeating itself.
    pub fn next(&self) -> Option<&str> {
        match self {
            Self::Scan { next, .. } | Self::Changes { next, .. } => next.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn a_scan_reads_by_id_and_leaves_its_start_as_the_watermark() {
        let run = Run::Scan { next: None, started: at("2026-12-07T10:00:00Z") };
        let q = run.query();
        assert_eq!((q.sort_by, q.limit, q.updated_since), (SortBy::Id, 500, None));
        let (run, mark) = run.advance(Some("c1".into()));
        assert_eq!(mark, None);
        let run = run.unwrap();
        assert_eq!(run.query().cursor.as_deref(), Some("c1"));
        assert_eq!(run.advance(None), (None, Some(at("2026-12-07T10:00:00Z"))));
    }

    #[test]
    fn a_window_is_closed_at_the_runs_start() {
        let since = at("2026-12-07T09:58:00Z");
        let run = Run::Changes { since: Some(since), until: at("2026-12-07T10:00:00Z"), next: None };
        let q = run.query();
        assert_eq!(q.sort_by, SortBy::UpdateTime);
        assert_eq!(q.updated_since.as_deref(), Some("2026-12-07T09:58:00Z"));
        assert_eq!(q.updated_until.as_deref(), Some("2026-12-07T10:00:00Z"));
        assert_eq!(run.advance(None).1, Some(at("2026-12-07T10:00:00Z")));
    }

    #[test]
    fn state_round_trips_as_json_and_times_keep_seconds() {
        let state = CursorState {
            watermark: Some(at("2026-12-07T10:00:00Z")),
            run: Some(Run::Scan { next: Some("eyJ".into()), started: at("2026-12-07T11:00:00Z") }),
        };
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["run"]["phase"], "scan");
        assert_eq!(serde_json::from_value::<CursorState>(json).unwrap(), state);
        let t = at("2026-12-07T10:00:00Z") + Duration::from_millis(999);
        assert_eq!(rfc3339(to_second(t)), "2026-12-07T10:00:00Z");
    }
}
