//! The HubSpot cursor, and the windowing that gets incremental pulls past the search cap.
//!
//! A cursor is a watermark plus, while a run is under way, where that run stands: a full
//! scan's list position, an incremental window, or the archived-list sweep that follows a
//! window. It is committed with each page, so a crash re-reads at most one page.
//!
//! ## Windowing (vendor note §5.3)
//!
//! A window covers `[watermark − overlap, now]` on the modification property, searched in
//! ascending order, 200 per request. HubSpot pages a search by *offset* and refuses offsets
//! past 10,000 with a 400; offset paging also skips a record whenever one before it is
//! modified mid-run (it leaves the window and everything after it shifts down by one). So
//! zveno never pages by offset: every request is a fresh query (`after` = 0) that restarts
//! from the last timestamp seen (`GTE`), dropping the ids already emitted at that
//! timestamp. When a timestamp holds half a page or more (HubSpot's bulk updates stamp
//! thousands of records with one millisecond), restarting would barely move, so zveno
//! switches to a keyset inside that millisecond — `modified EQ t AND hs_object_id GT
//! last_id`, sorted by `hs_object_id` — which pages through any number of records, then
//! carries on with `modified GT t`. The window is done when a query has no next page, or
//! when the counts HubSpot reported (`total`) say nothing is left after a flooded
//! millisecond; the watermark then moves to the window's upper bound, never past it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zveno_connector::ConnectorError;

use super::sweep::SweepMark;
use crate::client::SEARCH_LIMIT;
use crate::dto::object::Object;

/// A timestamp holding this many records of one page switches to the id keyset.
const FLOOD_AT: usize = (SEARCH_LIMIT / 2) as usize;

/// The connector-owned state behind a [`zveno_connector::Cursor`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CursorState {
    /// Records modified up to this instant (epoch ms) are stored; the next window starts
    /// an overlap before it. Set by a completed window or full scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_ms: Option<i64>,
    /// The run in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// The last completed archived-list sweep (see [`super::sweep`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swept: Option<SweepMark>,
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Run {
    /// A full scan: the live list, then the archived list.
    List {
        /// Which list.
        archived: bool,
        /// HubSpot's cursor into it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// When the scan began: the watermark it establishes.
        started_ms: i64,
    },
    /// An incremental window.
    Search(Window),
    /// After a window, when one is due: the archived list, for tombstones archived since
    /// `since_ms`.
    Sweep {
        /// HubSpot's cursor into the archived list.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// Records archived from this instant on are tombstoned: the start of the window
        /// or of the last sweep (less the overlap), whichever is earlier.
        since_ms: i64,
        /// When the sweep began (`None` in cursors written before sweeps were timed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started_ms: Option<i64>,
        /// Pages listed so far.
        #[serde(default)]
        pages: u64,
    },
}

/// An incremental window being searched (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Lower bound (inclusive), epoch ms.
    pub lo: i64,
    /// Upper bound (inclusive), epoch ms.
    pub hi: i64,
    from: i64,
    #[serde(default)]
    from_exclusive: bool,
    /// Ids emitted at `from` so far (dropped when a restart returns them again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<String>,
    /// How many records the last ordinary query said lie in `[from, hi]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flood: Option<Flood>,
}

/// The keyset inside one crowded millisecond.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Flood {
    ts: i64,
    after_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_ts: Option<u64>,
}

/// One search result as the windowing sees it: its id and modification time (if readable).
pub type Hit = (String, Option<i64>);

impl Window {
    /// A window over `[lo, hi]`.
    pub fn new(lo: i64, hi: i64) -> Self {
        Self { lo, hi, from: lo, from_exclusive: false, seen: Vec::new(), expected: None, flood: None }
    }

    /// The search body of the next request.
    pub fn request(&self, object: Object, properties: &[String]) -> Value {
        let modified = object.modified_property();
        let filter = |property: &str, operator: &str, value: String| json!({"propertyName": property, "operator": operator, "value": value});
        let (filters, sort) = match &self.flood {
            Some(f) => (
                vec![filter(modified, "EQ", f.ts.to_string()), filter("hs_object_id", "GT", f.after_id.to_string())],
                "hs_object_id",
            ),
            None => (
                vec![
                    filter(modified, if self.from_exclusive { "GT" } else { "GTE" }, self.from.to_string()),
                    filter(modified, "LTE", self.hi.to_string()),
                ],
                modified,
            ),
        };
        json!({
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": SEARCH_LIMIT,
            "after": "0",
        })
    }

    /// Digests one answer: which hits to emit (`false` for repeats), and the window's next
    /// state (`None` when the window is complete).
    pub fn advance(
        mut self,
        total: u64,
        has_more: bool,
        hits: &[Hit],
    ) -> Result<(Vec<bool>, Option<Window>), ConnectorError> {
        let keep: Vec<bool> = hits.iter().map(|(id, _)| !self.seen.contains(id)).collect();
        if let Some(mut flood) = self.flood.take() {
            let at_ts = *flood.at_ts.get_or_insert(total);
            if has_more {
                flood.after_id = hits
                    .iter()
                    .filter_map(|(id, _)| id.parse::<u64>().ok())
                    .max()
                    .filter(|max| *max > flood.after_id)
                    .ok_or_else(|| {
                        ConnectorError::invalid_data(
                            "search page inside a crowded millisecond has no numeric id past the last one",
                        )
                    })?;
                self.flood = Some(flood);
                return Ok((keep, Some(self)));
            }
            // The millisecond is exhausted: carry on strictly after it.
            self.from = flood.ts;
            self.from_exclusive = true;
            self.seen.clear();
            self.expected = self.expected.map(|e| e.saturating_sub(at_ts));
            let done = self.expected == Some(0) || flood.ts >= self.hi;
            return Ok((keep, (!done).then_some(self)));
        }
        if !has_more {
            return Ok((keep, None));
        }
        let last =
            hits.iter().rev().find_map(|(_, ts)| *ts).ok_or_else(|| {
                ConnectorError::invalid_data("a full search page carries no readable modification time")
            })?;
        let below = hits.iter().filter(|(_, ts)| ts.is_some_and(|t| t < last)).count();
        let at_last = hits.iter().filter(|(_, ts)| *ts == Some(last)).map(|(id, _)| id.clone());
        if last == self.from && !self.from_exclusive {
            self.seen.extend(at_last);
            self.seen.sort();
            self.seen.dedup();
        } else {
            self.seen = at_last.collect();
        }
        self.from = last;
        self.from_exclusive = false;
        self.expected = Some(total.saturating_sub(below as u64));
        if self.seen.len() >= FLOOD_AT {
            self.flood = Some(Flood { ts: last, after_id: 0, at_ts: None });
        }
        Ok((keep, Some(self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A toy search index answering window requests the way HubSpot does (only what the
    /// windowing relies on: filters, one sort, limit, `total`, next-page presence), with
    /// ties inside a millisecond in a scrambled but stable order.
    struct Index(Vec<(u64, i64)>);

    impl Index {
        fn answer(&self, body: &Value) -> (u64, bool, Vec<Hit>) {
            let filters = body["filterGroups"][0]["filters"].as_array().cloned().unwrap_or_default();
            let matches = |id: u64, ts: i64| {
                filters.iter().all(|f| {
                    let v: i64 = f["value"].as_str().and_then(|v| v.parse().ok()).unwrap_or(0);
                    let x = if f["propertyName"] == "hs_object_id" { id as i64 } else { ts };
                    match f["operator"].as_str() {
                        Some("EQ") => x == v,
                        Some("GT") => x > v,
                        Some("GTE") => x >= v,
                        Some("LTE") => x <= v,
                        _ => false,
                    }
                })
            };
            let mut rows: Vec<(u64, i64)> = self.0.iter().copied().filter(|(id, ts)| matches(*id, *ts)).collect();
            if body["sorts"][0]["propertyName"] == "hs_object_id" {
                rows.sort_by_key(|(id, _)| *id);
            } else {
                rows.sort_by_key(|(id, ts)| (*ts, id.wrapping_mul(2_654_435_761) % 1_000_003));
            }
            let page: Vec<Hit> =
                rows.iter().take(SEARCH_LIMIT as usize).map(|(id, ts)| (id.to_string(), Some(*ts))).collect();
            (rows.len() as u64, rows.len() > page.len(), page)
        }
    }

    /// Runs a window to completion; returns the ids emitted (with repeats) and requests made.
    fn run(index: &Index, lo: i64, hi: i64) -> (Vec<String>, usize) {
        let mut window = Some(Window::new(lo, hi));
        let (mut emitted, mut requests) = (Vec::new(), 0);
        while let Some(w) = window {
            let body = w.request(Object::Companies, &[]);
            let (total, more, hits) = index.answer(&body);
            requests += 1;
            assert!(requests < 10_000, "the window must terminate");
            let Ok((keep, next)) = w.advance(total, more, &hits) else {
                panic!("advance failed");
            };
            emitted.extend(hits.iter().zip(keep).filter(|(_, k)| *k).map(|(h, _)| h.0.clone()));
            window = next;
        }
        (emitted, requests)
    }

    fn check(index: &Index, lo: i64, hi: i64, max_requests: usize) {
        let (emitted, requests) = run(index, lo, hi);
        let want: BTreeSet<String> =
            index.0.iter().filter(|(_, ts)| (lo..=hi).contains(ts)).map(|(id, _)| id.to_string()).collect();
        let got: BTreeSet<String> = emitted.iter().cloned().collect();
        assert_eq!(got, want, "every record of the window is emitted");
        assert_eq!(emitted.len(), got.len(), "no record is emitted twice");
        assert!(requests <= max_requests, "{requests} requests > {max_requests}");
    }

    #[test]
    fn a_small_window_takes_one_request() {
        let index = Index((1..=150).map(|id| (id, 1_000 + id as i64)).collect());
        check(&index, 0, 10_000, 1);
    }

    #[test]
    fn distinct_timestamps_restart_from_the_last_one_seen() {
        let index = Index((1..=1_000).map(|id| (id, 1_000 + id as i64)).collect());
        // 1,000 records: each restart repeats only the boundary record.
        check(&index, 0, 1_000_000, 7);
    }

    #[test]
    fn more_than_ten_thousand_changes_need_no_offset_past_the_cap() {
        let index = Index((1..=12_000).map(|id| (id, 5_000 + (id as i64) * 3)).collect());
        check(&index, 0, i64::MAX, 62);
    }

    #[test]
    fn a_flooded_millisecond_pages_by_id() {
        // 10,001 records share one millisecond, with a few before and after it.
        let mut rows: Vec<(u64, i64)> = (1..=10_001).map(|id| (id * 7, 50_000)).collect();
        rows.extend((1..=30).map(|i| (100_000 + i, 49_000 + i as i64)));
        rows.extend((1..=30).map(|i| (200_000 + i, 50_001 + i as i64)));
        check(&Index(rows), 0, 1_000_000, 54);
    }

    #[test]
    fn bulk_touches_within_the_budget() {
        // n records changed in one millisecond: at most ceil(n/200) + 2 requests.
        for n in [1u64, 199, 200, 201, 300, 400, 1_000] {
            let index = Index((1..=n).map(|id| (id, 77_000)).collect());
            let budget = n.div_ceil(200) as usize + 2;
            check(&index, 0, 100_000, budget);
        }
    }

    #[test]
    fn crowds_at_page_boundaries_and_bounds_are_respected() {
        let mut rows = Vec::new();
        let mut id = 0u64;
        for (ts, count) in [(10, 150), (11, 90), (12, 250), (13, 1), (14, 199), (20, 500), (21, 5)] {
            for _ in 0..count {
                id += 1;
                rows.push((id, ts));
            }
        }
        rows.push((9_999, 5)); // before the window
        rows.push((9_998, 22)); // after it
        check(&Index(rows), 10, 21, 20);
    }

    #[test]
    fn the_request_uses_the_objects_modification_property() {
        let w = Window::new(1_579_514_400_000, 1_579_600_800_000);
        let body = w.request(Object::Contacts, &["email".to_string()]);
        assert_eq!(body["filterGroups"][0]["filters"][0]["propertyName"], "lastmodifieddate");
        assert_eq!(body["filterGroups"][0]["filters"][0]["operator"], "GTE");
        assert_eq!(body["filterGroups"][0]["filters"][1]["operator"], "LTE");
        assert_eq!(body["filterGroups"][0]["filters"][1]["value"], "1579600800000");
        assert_eq!(body["sorts"][0]["direction"], "ASCENDING");
        assert_eq!(body["limit"], 200);
    }

    #[test]
    fn a_page_without_readable_times_is_an_error_not_a_loop() {
        let hits: Vec<Hit> = (0..200).map(|i| (i.to_string(), None)).collect();
        assert!(Window::new(0, 10).advance(500, true, &hits).is_err());
    }

    #[test]
    fn cursor_state_round_trips_as_json() {
        let state = CursorState {
            watermark_ms: Some(5),
            run: Some(Run::Search(Window::new(1, 2))),
            swept: Some(SweepMark { at_ms: 3, pages: 4 }),
        };
        let json = serde_json::to_value(&state).unwrap_or_default();
        assert_eq!(json["run"]["phase"], "search");
        let back: Result<CursorState, _> = serde_json::from_value(json);
        assert_eq!(back.ok(), Some(state));
    }
}
