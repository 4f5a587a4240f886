//! Incremental runs over a result that changes while they page (see the connector's
//! `keyset` module): a bulk edit of thousands of issues within one minute, with page tokens
//! that name a position in the result and with tokens that name the last issue served.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{drain, harness, updated_ms, Issues};
use zveno_connector::{Clock, Cursor, Kind, SyncMode};
use zveno_jira::SimOptions;

/// Issues one bulk edit stamps within one minute.
const BULK: usize = 3_000;
/// Issues edited before the run, in three batches ten minutes apart.
const EARLIER: usize = 300;

/// The run reads the earliest-edited issues on its first page; then a bulk edit stamps
/// those and 2,900 more within one minute. A positional token would now skip the next
/// 100 issues (the first page's moved to the end, shifting the rest forward), and paging
/// that minute by time alone would never leave it. The run must read every issue's newest
/// version itself, end, and cost about one request per 100 issues; the next run must find
/// nothing new.
#[tokio::test]
async fn a_bulk_edit_of_thousands_of_issues_in_one_minute_while_a_run_pages_is_read_once_and_ends() {
    for positional in [true, false] {
        let options = SimOptions { positional_tokens: positional, lag: Duration::ZERO, ..SimOptions::default() };
        let (h, clock) = harness(1_600, options).await;
        let ids = h.sim.ids();
        assert!(ids.len() >= BULK + EARLIER, "{} issues: too few for the test", ids.len());
        let c = h.connector();
        let full = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;

        let (earlier, others) = ids.split_at(EARLIER);
        for batch in earlier.chunks(EARLIER / 3) {
            clock.advance(Duration::from_secs(600));
            h.sim.touch_ids(batch);
        }
        // Start the run 2 s into a minute, so the bulk edit falls within its upper bound.
        let into_minute = u64::try_from(clock.now().timestamp_millis().rem_euclid(60_000)).unwrap_or_default();
        clock.advance(Duration::from_millis(600_000 + 60_000 - into_minute + 2_000));
        let searches = || h.sim.kit().log().endpoint("search/jql").requests;
        let before = searches();
        let first = c.pull(Kind::Task, SyncMode::Incremental, &full.cursor).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(first.more, "the run has more pages than one");
        let first_ids: BTreeSet<u64> = first.records.iter().filter_map(|r| r.external_id.parse().ok()).collect();
        assert!(first_ids.len() > 50 && first_ids.iter().all(|id| earlier[..100].contains(id)), "{first_ids:?}");
        assert!(first.errors.is_empty() || first_ids.len() + first.errors.len() == 100, "{:?}", first.errors);

        clock.advance(Duration::from_secs(10));
        let bulk: Vec<u64> = earlier[..100].iter().chain(&others[..BULK - 100]).copied().collect();
        h.sim.touch_ids(&bulk);
        let rest = drain(c.as_ref(), SyncMode::Incremental, first.cursor.clone()).await;
        let requests = searches() - before;

        let read: BTreeSet<(String, i64)> = first
            .records
            .iter()
            .map(|r| (r.external_id.clone(), r.updated_at.map_or(0, |t| t.timestamp_millis())))
            .chain(rest.versions())
            .collect();
        let missed: Vec<u64> = earlier
            .iter()
            .chain(&bulk)
            .filter(|id| !read.contains(&(id.to_string(), updated_ms(&h, &id.to_string()))))
            .copied()
            .collect();
        assert!(
            missed.is_empty(),
            "positional tokens {positional}: the run missed {} issues: {missed:?}",
            missed.len()
        );
        let distinct = (EARLIER + BULK - 100).div_ceil(100) as u64;
        assert!(
            requests <= 2 * distinct + 6,
            "positional tokens {positional}: {requests} searches for {distinct} pages of issues"
        );

        clock.advance(Duration::from_secs(300));
        let before_next = searches();
        let next = drain(c.as_ref(), SyncMode::Incremental, rest.cursor.clone()).await;
        assert!(next.records.is_empty(), "the next run finds nothing new: {} records", next.records.len());
        assert!(searches() - before_next <= 2 * (BULK as u64).div_ceil(100) + 6, "the next run ends promptly");
        eprintln!(
            "positional tokens {positional}: {} issues, {} edited; the run sent {requests} searches, the next {}",
            ids.len(),
            EARLIER + BULK - 100,
            searches() - before_next
        );
    }
}
