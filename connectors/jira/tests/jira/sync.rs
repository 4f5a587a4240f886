//! Pulling issues from the simulator: paging, resuming, incremental windows across run
//! boundaries in several time zones, search lag, deletes by census, expired tokens.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::{drain, harness, options, updated_ms, world_now, Run};
use serde_json::json;
use zveno_connector::{Connector, Cursor, Kind, RecordData, SyncMode, WriteAction, WriteOp};
use zveno_jira::simulator::harness::Build;
use zveno_jira::SimOptions;

fn small_pages(page: usize) -> SimOptions {
    SimOptions { fields_page: page, ..SimOptions::default() }
}

#[tokio::test]
async fn a_full_pull_reads_every_issue_in_the_fewest_pages() {
    let (h, _) = harness(60, small_pages(25)).await;
    let c = h.connector();
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    let want: BTreeSet<String> = h.sim.ids().iter().map(u64::to_string).collect();
    assert_eq!(run.ids(), want);
    assert_eq!(run.records.len(), want.len(), "no issue twice");
    assert!(run.errors.is_empty());
    let floor = want.len().div_ceil(25);
    assert_eq!(run.pages, floor);
    let log = h.sim.kit().log();
    assert_eq!(log.endpoint("search/jql").requests as usize, floor);
    assert_eq!(log.endpoint("myself").requests, 1, "the zone is read once per run");
    assert_eq!(log.endpoint("search (removed)").requests, 0);
    // Every page of the run asked the same question.
    let queries: BTreeSet<String> = h.sim.queries().into_iter().collect();
    assert_eq!(queries.len(), 1);
    assert!(queries.iter().all(|q| q == "(project in (OPS, SUP)) ORDER BY created ASC, key ASC"), "{queries:?}");
}

#[tokio::test]
async fn a_run_resumes_after_a_restart_from_its_cursor() {
    let (h, _) = harness(40, small_pages(10)).await;
    let first = h.connector();
    let page = first.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(page.more);
    drop(first);
    let restarted = h.connector();
    let rest = drain(restarted.as_ref(), SyncMode::Full, page.cursor).await;
    let mut all: Vec<String> = page.records.iter().map(|r| r.external_id.clone()).collect();
    all.extend(rest.records.iter().map(|r| r.external_id.clone()));
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a resumed run re-reads nothing");
    assert_eq!(all.len(), h.sim.count());
    assert_eq!(h.sim.kit().log().endpoint("myself").requests, 1, "the resumed run keeps its zone and query");
}

#[tokio::test]
async fn incremental_runs_return_only_changes_and_drop_overlap_re_reads() {
    let (h, clock) = harness(30, small_pages(10)).await;
    let c = h.connector();
    let first = drain(c.as_ref(), SyncMode::Incremental, Cursor::default()).await;
    assert_eq!(first.records.len(), h.sim.count(), "the first incremental run reads everything");

    clock.advance(Duration::from_secs(600));
    let touched: BTreeSet<String> = h.sim.touch(3).into_iter().collect();
    clock.advance(Duration::from_secs(5)); // past the simulator's 2 s search lag
    let second = drain(c.as_ref(), SyncMode::Incremental, first.cursor).await;
    assert_eq!(second.ids(), touched);

    // The next run's window overlaps the last one by three minutes and re-reads those
    // three issues; the cursor knows it already emitted these versions.
    clock.advance(Duration::from_secs(60));
    let third = drain(c.as_ref(), SyncMode::Incremental, second.cursor).await;
    assert!(third.records.is_empty(), "{:?}", third.ids());
    let last = h.sim.queries().pop().unwrap_or_default();
    assert!(last.contains("updated >= \"2026/09/21 17:20\""), "lower bound in Moscow time: {last}");
}

/// Runs one incremental run, touching `during` after its first page.
async fn run_touching(
    h: &zveno_jira::simulator::harness::JiraHarness,
    c: &dyn Connector,
    clock: &zveno_connector::ManualClock,
    cursor: Cursor,
    during: Option<u64>,
) -> Run {
    let first = c.pull(Kind::Task, SyncMode::Incremental, &cursor).await.unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run { cursor: first.cursor, pages: 1, ..Run::default() };
    run.records.extend(first.records);
    if let Some(id) = during {
        clock.advance(Duration::from_secs(1));
        h.sim.touch_ids(&[id]);
    }
    if first.more {
        let rest = drain(c, SyncMode::Incremental, run.cursor).await;
        run.records.extend(rest.records);
        run.cursor = rest.cursor;
        run.pages += rest.pages;
    }
    run
}

/// The boundary test: issues updated just before a run starts (in the minute its upper
/// bound is floored to), during the run, and just after it, with search lag, in zones on
/// both sides of UTC. Every version must be emitted, none twice.
#[tokio::test]
async fn incremental_runs_across_run_boundaries_miss_nothing_in_moscow_and_los_angeles() {
    for zone in ["Europe/Moscow", "America/Los_Angeles"] {
        let options = SimOptions {
            time_zone: zone.into(),
            lag: Duration::from_secs(20),
            fields_page: 4,
            ..SimOptions::default()
        };
        let (h, clock) = harness(25, options).await;
        let c = h.connector();
        let ids = h.sim.ids();
        let mut cursor = drain(c.as_ref(), SyncMode::Incremental, Cursor::default()).await.cursor;
        let mut expected: BTreeSet<(String, i64)> = BTreeSet::new();
        let mut emitted: Vec<(String, i64)> = Vec::new();
        let mut pick = ids.iter().cycle().step_by(3);
        let mut next_id = || pick.next().copied().unwrap_or_default();
        for cycle in 0..8u64 {
            // Land at varying seconds within the minute, including :00 and :59.
            clock.advance(Duration::from_secs(240 + cycle * 17));
            let before = next_id();
            h.sim.touch_ids(&[before]);
            clock.advance(Duration::from_millis(300));
            let during = next_id();
            let run = run_touching(&h, c.as_ref(), &clock, cursor, Some(during)).await;
            cursor = run.cursor.clone();
            emitted.extend(run.versions());
            let after = next_id();
            h.sim.touch_ids(&[after]);
            for id in [before, during, after] {
                expected.insert((id.to_string(), updated_ms(&h, &id.to_string())));
            }
        }
        // Flush: past the lag and the overlap, one more run.
        clock.advance(Duration::from_secs(600));
        emitted.extend(drain(c.as_ref(), SyncMode::Incremental, cursor).await.versions());

        let got: BTreeSet<(String, i64)> = emitted.iter().cloned().collect();
        let missed: Vec<_> = expected.difference(&got).collect();
        assert!(missed.is_empty(), "{zone}: missed {missed:?}");
        assert_eq!(got.len(), emitted.len(), "{zone}: a version was emitted twice");

        // The bounds were written in the account's zone: Los Angeles is behind UTC, so a
        // bound read in UTC would differ by seven or eight hours.
        let offset = if zone == "Europe/Moscow" { chrono::Duration::hours(3) } else { chrono::Duration::hours(-7) };
        let local_day = (world_now() + offset).format("%Y/%m/%d").to_string();
        let queries = h.sim.queries();
        assert!(queries.iter().any(|q| q.contains(&format!("updated <= \"{local_day}"))), "{zone}: {queries:?}");
    }
}

#[tokio::test]
async fn a_zone_less_utc_bound_would_have_skipped_issues() {
    // The failure the connector avoids, shown on the simulator: in Los Angeles, "14:00"
    // means 21:00Z, so issues updated between 14:00Z and 21:00Z fall out of the window.
    let options = SimOptions { time_zone: "America/Los_Angeles".into(), lag: Duration::ZERO, ..SimOptions::default() };
    let (h, clock) = harness(10, options).await;
    let id = h.sim.ids()[0];
    h.sim.touch_ids(&[id]); // updated at 14:13:20Z
    clock.advance(Duration::from_secs(60));
    let utc_bound = world_now().format("%Y/%m/%d %H:00").to_string();
    let zone_less = format!("project = OPS AND updated >= \"{utc_bound}\"");
    let raw = h.search_ids(&zone_less).await;
    assert_eq!(raw.map(|ids| ids.contains(&id)), Ok(false), "read in LA time, the UTC bound is 7 hours late");
    let c = h.connector();
    let run = drain(c.as_ref(), SyncMode::Incremental, Cursor::default()).await;
    assert!(run.ids().contains(&id.to_string()));
}

#[tokio::test]
async fn a_time_zone_change_between_runs_is_read_at_the_next_run() {
    let (h, clock) = harness(10, SimOptions::default()).await;
    let c = h.connector();
    let first = drain(c.as_ref(), SyncMode::Incremental, Cursor::default()).await;
    h.sim.set_time_zone("America/Los_Angeles");
    clock.advance(Duration::from_secs(300));
    let touched = h.sim.touch(1);
    clock.advance(Duration::from_secs(5));
    let second = drain(c.as_ref(), SyncMode::Incremental, first.cursor).await;
    assert_eq!(second.ids(), touched.into_iter().collect());
    let q = h.sim.queries().pop().unwrap_or_default();
    // 14:13:20Z + 5 min 5 s is 07:18 in Los Angeles (PDT); the bound is the next minute.
    assert!(q.contains("updated <= \"2026/09/21 07:19\""), "{q}");
    assert_eq!(h.sim.kit().log().endpoint("myself").requests, 2);
}

#[tokio::test]
async fn updates_hidden_by_search_lag_are_caught_by_the_overlap() {
    let options = SimOptions { lag: Duration::from_secs(90), ..SimOptions::default() };
    let (h, clock) = harness(10, options).await;
    let c = h.connector();
    let first = drain(c.as_ref(), SyncMode::Incremental, Cursor::default()).await;
    clock.advance(Duration::from_secs(120));
    let ids = h.sim.ids();
    h.sim.touch_ids(&[ids[0]]);
    clock.advance(Duration::from_secs(30));
    h.sim.touch_ids(&[ids[1]]);
    clock.advance(Duration::from_secs(70)); // ids[0] searchable, ids[1] not yet
    let second = drain(c.as_ref(), SyncMode::Incremental, first.cursor).await;
    assert_eq!(second.ids(), BTreeSet::from([ids[0].to_string()]));
    clock.advance(Duration::from_secs(60));
    let third = drain(c.as_ref(), SyncMode::Incremental, second.cursor).await;
    assert_eq!(third.ids(), BTreeSet::from([ids[1].to_string()]), "late-indexed issue found in the overlap");
}

#[tokio::test]
async fn own_writes_are_read_back_despite_search_lag() {
    let options = SimOptions { lag: Duration::from_secs(3600), ..SimOptions::default() };
    let (h, clock) = harness(10, options).await;
    let c = h.connector();
    let first = drain(c.as_ref(), SyncMode::Incremental, Cursor::default()).await;
    let target = first.records[0].clone();
    let Some(RecordData::Task(mut task)) = target.data.clone() else { panic!("not a task") };
    task.title = "Renamed by zveno".into();
    clock.advance(Duration::from_secs(60));
    let op = WriteOp {
        op_id: "op-1".into(),
        action: WriteAction::Update { external_id: target.external_id.clone(), data: RecordData::Task(task) },
    };
    let outcomes = c.push(Kind::Task, &[op]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes[0].result, Ok(target.external_id.clone()));
    clock.advance(Duration::from_secs(5));
    let second = drain(c.as_ref(), SyncMode::Incremental, first.cursor).await;
    let seen = second.records.iter().find(|r| r.external_id == target.external_id);
    let title = seen.and_then(|r| match &r.data {
        Some(RecordData::Task(t)) => Some(t.title.clone()),
        _ => None,
    });
    assert_eq!(title.as_deref(), Some("Renamed by zveno"), "reconcileIssues beats the 1 h index lag");
}

#[tokio::test]
async fn a_deleted_issue_is_missing_from_the_next_full_census() {
    let (h, _) = harness(20, small_pages(10)).await;
    let c = h.connector();
    assert_eq!(c.capabilities().deletes, zveno_connector::DeleteDetection::Census);
    let before = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    let gone = h.sim.ids()[3];
    assert!(h.sim.delete(gone));
    let after = drain(c.as_ref(), SyncMode::Full, before.cursor.clone()).await;
    let missing: Vec<String> = before.ids().difference(&after.ids()).cloned().collect();
    assert_eq!(missing, vec![gone.to_string()]);
}

#[tokio::test]
async fn a_run_older_than_the_token_lifetime_starts_over() {
    let (h, clock) = harness(20, small_pages(10)).await;
    let c = h.connector();
    let page = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(page.more);
    clock.advance(Duration::from_secs(8 * 86_400));
    let rest = drain(c.as_ref(), SyncMode::Full, page.cursor).await;
    assert_eq!(rest.records.len(), h.sim.count(), "the new run re-reads from the start");
    assert_eq!(h.sim.kit().log().endpoint("myself").requests, 2);
}

#[tokio::test]
async fn a_changed_jql_forgets_the_old_watermark() {
    let (h, clock) = harness(20, SimOptions::default()).await;
    let ops_only = h.must_build(options(&json!({"jql": "project = OPS"})));
    let first = drain(ops_only.as_ref(), SyncMode::Incremental, Cursor::default()).await;
    clock.advance(Duration::from_secs(600));
    let both = h.connector();
    let second = drain(both.as_ref(), SyncMode::Incremental, first.cursor).await;
    assert_eq!(second.records.len(), h.sim.count(), "SUP issues were never read before");
}

#[tokio::test]
async fn status_and_priority_tables_come_from_config() {
    let build = Build {
        options: options(&json!({"status_map": {"In Progress": "todo"}, "priority_map": {"Highest": "high"}})).options,
        ..Build::default()
    };
    let (h, _) = harness(30, SimOptions::default()).await;
    let c = h.must_build(build);
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    let mut by_status: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &run.records {
        if let Some(RecordData::Task(t)) = &r.data {
            by_status.entry(t.status_name.clone().unwrap_or_default()).or_default().insert(format!("{:?}", t.status));
            assert_ne!(t.priority, Some(zveno_connector::Priority::Urgent), "Highest is mapped to high");
        }
    }
    assert_eq!(by_status.get("In Progress"), Some(&BTreeSet::from(["Todo".to_string()])));
    assert_eq!(by_status.get("Won't Do"), Some(&BTreeSet::from(["Cancelled".to_string()])));
}

#[tokio::test]
async fn pages_end_when_many_issues_share_one_sub_millisecond_update_time() {
    // Regression: a clock with nanoseconds stamped edits more precisely than the
    // millisecond page tokens, and the same page came back forever.
    let clock =
        std::sync::Arc::new(zveno_connector::ManualClock::new(world_now() + chrono::Duration::nanoseconds(123_456)));
    let options = SimOptions { fields_page: 5, lag: Duration::ZERO, ..SimOptions::default() };
    let h =
        zveno_jira::simulator::harness::JiraHarness::start(crate::common::jira_data(3, 20), clock.clone(), 3, options)
            .await;
    let c = h.connector();
    let first = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    clock.advance(Duration::from_micros(1_500_250));
    let ids = h.sim.ids();
    h.sim.touch_ids(&ids[..12]);
    clock.advance(Duration::from_secs(1));
    let run = drain(c.as_ref(), SyncMode::Incremental, first.cursor).await;
    assert_eq!(run.ids(), ids[..12].iter().map(u64::to_string).collect());
    assert!(run.pages <= 4, "{} pages for 12 issues at 5 per page", run.pages);
}

#[tokio::test]
async fn launch_describes_a_simulator_the_factory_accepts() {
    let clock = std::sync::Arc::new(zveno_connector::ManualClock::new(world_now()));
    let launched =
        zveno_jira::launch(crate::common::jira_data(5, 10), clock.clone(), 5).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(launched.vendor, "jira");
    let mut ctx = zveno_connector::BuildContext::new("demo-jira", clock);
    ctx.kinds = vec![Kind::Task];
    ctx.base_url = url::Url::parse(&launched.server.url()).ok();
    ctx.env = zveno_connector::Env::from_pairs(launched.env.clone());
    let entry = zveno_connector::factory::VendorEntry::of::<zveno_jira::JiraFactory>();
    assert_eq!((entry.validate)(&launched.options, &ctx), vec![]);
    let c = (entry.build)(&launched.options, ctx).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.check().await.is_ok());
    let run = drain(c.as_ref(), SyncMode::Full, Cursor::default()).await;
    assert!(!run.records.is_empty());
    assert!(launched.help.contains("/rest/api/3/myself"));
}
