//! The Jira connector's cursor: a watermark across runs, a page token within one.
//!
//! A *run* is the sequence of pages from the first `pull` with no run in progress to the
//! page with `more = false`. At its start the connector reads the account's time zone,
//! fixes the query (bounds included) and keeps it in the cursor, so every page of a run
//! asks exactly the same question and a restarted daemon resumes with the same
//! `nextPageToken`. When the run ends, its highest `fields.updated` becomes the watermark
//! the next incremental run starts from (minus the overlap).
//!
//! Overlapping windows re-read issues; [`State::seen`] holds the `(id, updated)` pairs
//! already emitted whose `updated` falls inside the next run's overlap, so re-reads are
//! dropped. It is pruned as the watermark moves, so it stays as small as the number of
//! issues updated within one overlap.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use zveno_connector::SyncMode;

/// Everything the connector keeps between pages and runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The operator JQL the watermark belongs to; when the JQL changes, the watermark no
    /// longer proves anything and the next run reads everything again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Highest `fields.updated` (epoch ms) seen by completed runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_ms: Option<i64>,
    /// `(issue id, updated ms)` pairs already emitted inside the overlap zone.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub seen: BTreeSet<(String, i64)>,
    /// The run in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
}

/// A run in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Full or incremental.
    pub mode: SyncMode,
    /// When it started (epoch ms), to avoid resuming with an expired page token.
    pub started_ms: i64,
    /// The account's zone at the start (IANA name), used for due dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The exact JQL every page of the run sends.
    pub jql: String,
    /// Issue ids sent as `reconcileIssues` on every page (zveno's own recent writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconcile: Vec<u64>,
    /// Token of the next page (`None` before the first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Highest `fields.updated` (epoch ms) seen so far in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seen_ms: Option<i64>,
}

impl State {
    /// The lower bound of the next incremental window: the watermark minus the overlap,
    /// or `None` (read everything) before the first completed run.
    pub fn window_start_ms(&self, overlap_ms: i64) -> Option<i64> {
        self.watermark_ms.map(|w| w - overlap_ms)
    }

    /// Records an emitted issue; returns `false` if this exact version was already emitted
    /// (an overlap re-read).
    pub fn remember(&mut self, id: &str, updated_ms: i64) -> bool {
        if let Some(run) = &mut self.run {
            run.max_seen_ms = Some(run.max_seen_ms.map_or(updated_ms, |m| m.max(updated_ms)));
        }
        self.seen.insert((id.to_string(), updated_ms))
    }

    /// Whether this version of an issue was already emitted.
    pub fn has_seen(&self, id: &str, updated_ms: i64) -> bool {
        self.seen.contains(&(id.to_string(), updated_ms))
    }

    /// Closes the run: the watermark advances to the highest `updated` seen.
    pub fn finish_run(&mut self, overlap_ms: i64) {
        if let Some(run) = self.run.take() {
            self.watermark_ms = match (self.watermark_ms, run.max_seen_ms) {
                (Some(w), Some(m)) => Some(w.max(m)),
                (w, m) => w.or(m),
            };
        }
        self.prune(overlap_ms);
    }

    /// Forgets pairs that no future window can contain: below the lowest bound any later
    /// run can use (the best watermark so far, minus the overlap, floored to the minute).
    pub fn prune(&mut self, overlap_ms: i64) {
        let best = [self.watermark_ms, self.run.as_ref().and_then(|r| r.max_seen_ms)].into_iter().flatten().max();
        if let Some(best) = best {
            let floor = (best - overlap_ms).div_euclid(60_000) * 60_000;
            self.seen.retain(|(_, updated)| *updated >= floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        Run {
            mode: SyncMode::Incremental,
            started_ms: 0,
            time_zone: None,
            jql: "project = OPS".into(),
            reconcile: Vec::new(),
            next_page_token: None,
            max_seen_ms: None,
        }
    }

    #[test]
    fn finishing_a_run_advances_the_watermark_to_the_highest_update_seen() {
        let mut s = State { watermark_ms: Some(1_000_000), run: Some(run()), ..State::default() };
        assert!(s.remember("1", 1_200_000));
        assert!(s.remember("2", 1_100_000));
        assert!(!s.remember("1", 1_200_000), "same version twice");
        s.finish_run(180_000);
        assert_eq!(s.watermark_ms, Some(1_200_000));
        assert!(s.run.is_none());
    }

    #[test]
    fn an_empty_run_keeps_the_watermark() {
        let mut s = State { watermark_ms: Some(5), run: Some(run()), ..State::default() };
        s.finish_run(60_000);
        assert_eq!(s.watermark_ms, Some(5));
    }

    #[test]
    fn pruning_keeps_only_versions_inside_the_next_overlap() {
        let mut s = State::default();
        s.seen.insert(("old".into(), 1_000));
        s.seen.insert(("edge".into(), 600_000));
        s.seen.insert(("new".into(), 700_000));
        s.watermark_ms = Some(700_000);
        // 700 000 - 90 000 = 610 000, floored to the minute: 600 000.
        s.prune(90_000);
        let ids: Vec<&str> = s.seen.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, vec!["edge", "new"]);
        assert_eq!(s.window_start_ms(90_000), Some(610_000));
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let mut s =
            State { scope: Some("project = OPS".into()), watermark_ms: Some(42), run: Some(run()), ..State::default() };
        s.remember("10001", 42);
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(serde_json::from_value::<State>(json).ok(), Some(s));
    }
}
