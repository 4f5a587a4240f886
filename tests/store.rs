//! Store integration tests. Every test runs against SQLite (a temp file) and PostgreSQL
//! (a fresh schema, see `common/postgres.rs`); a test that needs both side by side says
//! so in its name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/backends.rs"]
mod backends;
#[path = "common/postgres.rs"]
mod postgres;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use serde_json::json;
use zveno::store::{
    bench, Backend, ConnectorStatus, DeletedBy, PageOutcome, RunOutcome, RunStatus, StateChange, Store, StoreErrorKind,
    StoredRecord,
};
use zveno_connector::{Client, Cursor, Kind, ManualClock, Page, RecordData, RecordError, SourceRecord, SyncMode};

use backends::{on_both, open};
use postgres::PgSchema;

const CRM: &str = "crm";

// ---------------------------------------------------------------------------------------
// Harness

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
}

fn client(id: &str, name: &str, updated: Option<i64>) -> SourceRecord {
    let data = Client { name: name.to_string(), ..Client::default() };
    SourceRecord::new(CRM, id, RecordData::Client(data), json!({ "id": id, "name": name, "updated": updated }))
        .with_times(Some(at(0)), updated.map(at))
        .with_url(format!("https://crm.example/clients/{id}"))
}

fn tombstone(id: &str, updated: Option<i64>) -> SourceRecord {
    SourceRecord::tombstone(CRM, Kind::Client, id, updated.map(at))
}

fn page(records: Vec<SourceRecord>, cursor: serde_json::Value, more: bool) -> Page {
    Page { records, errors: Vec::new(), cursor: Cursor(cursor), more }
}

async fn commit(store: &Store, mode: SyncMode, page: &Page) -> PageOutcome {
    store.commit_page(CRM, Kind::Client, mode, page).await.unwrap_or_else(|e| panic!("{}: {e}", store.backend()))
}

async fn incremental(store: &Store, records: Vec<SourceRecord>) -> PageOutcome {
    commit(store, SyncMode::Incremental, &page(records, json!({"n": 1}), false)).await
}

async fn get(store: &Store, id: &str) -> Option<StoredRecord> {
    store.record(CRM, Kind::Client, id).await.unwrap()
}

fn name(record: &StoredRecord) -> Option<&str> {
    match &record.record.data {
        Some(RecordData::Client(c)) => Some(c.name.as_str()),
        _ => None,
    }
}

async fn name_of(store: &Store, id: &str) -> Option<String> {
    get(store, id).await.and_then(|r| name(&r).map(str::to_string))
}

/// One complete (or, with `complete == false`, interrupted) full scan over `pages` of
/// ids; every id gets the same name and timestamp each time, so only absence changes.
async fn full_scan(store: &Store, pages: &[&[&str]], complete: bool) -> PageOutcome {
    let mut total = PageOutcome::default();
    for (i, ids) in pages.iter().enumerate() {
        let last = i + 1 == pages.len();
        let records = ids.iter().map(|id| client(id, id, Some(1))).collect();
        let p = page(records, json!({ "page": i + 1 }), !(last && complete));
        total += commit(store, SyncMode::Full, &p).await;
    }
    total
}

fn outcome(inserted: u64, updated: u64, unchanged: u64, stale: u64, tombstoned: u64) -> PageOutcome {
    PageOutcome { inserted, updated, unchanged, stale, tombstoned, held: 0 }
}

// ---------------------------------------------------------------------------------------
// Pages and cursors

#[tokio::test]
async fn a_page_and_its_cursor_commit_atomically() {
    on_both(|store, _| async move {
        let b = store.backend();
        let first = page(vec![client("a", "A", Some(1))], json!({"p": 1}), true);
        commit(&store, SyncMode::Incremental, &first).await;

        // 300 good records and an update of "a" come first in id order, so the first
        // multi-row statement is written before the bad record (empty payload hash,
        // rejected by a CHECK constraint) fails the second one.
        let mut records: Vec<SourceRecord> = (0..300).map(|i| client(&format!("n{i:03}"), "new", Some(2))).collect();
        records.push(client("a", "A2", Some(2)));
        let mut bad = client("zzz", "bad", Some(2));
        bad.payload_hash = String::new();
        records.push(bad);
        let second = page(records, json!({"p": 2}), true);
        let err = store
            .commit_page(CRM, Kind::Client, SyncMode::Incremental, &second)
            .await
            .expect_err("a constraint violation fails the commit");
        assert_eq!(err.kind(), StoreErrorKind::Invalid, "{b}: {err}");
        assert!(err.to_string().starts_with("commit_page crm/client: "), "{b}: {err}");

        assert_eq!(store.count_records(Some(CRM), None, true).await.unwrap(), 1, "{b}");
        assert_eq!(name_of(&store, "a").await.as_deref(), Some("A"), "{b}");
        assert!(get(&store, "n000").await.is_none(), "{b}");
        assert_eq!(
            store.cursor(CRM, Kind::Client, SyncMode::Incremental).await.unwrap(),
            Cursor(json!({"p": 1})),
            "{b}"
        );

        // The store is still usable and the good part of the page lands once fixed.
        let mut fixed = second.clone();
        fixed.records.pop();
        let done = commit(&store, SyncMode::Incremental, &fixed).await;
        assert_eq!(done, outcome(300, 1, 0, 0, 0), "{b}");
        assert_eq!(
            store.cursor(CRM, Kind::Client, SyncMode::Incremental).await.unwrap(),
            Cursor(json!({"p": 2})),
            "{b}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_failed_full_page_leaves_the_scan_untouched() {
    on_both(|store, _| async move {
        let b = store.backend();
        full_scan(&store, &[&["a", "b"]], false).await;
        let before = store.scan_state(CRM, Kind::Client).await.unwrap();
        let mut bad = client("c", "c", Some(1));
        bad.external_id = String::new();
        let last = page(vec![client("a", "a", Some(1)), bad], json!(null), false);
        assert!(store.commit_page(CRM, Kind::Client, SyncMode::Full, &last).await.is_err());
        assert_eq!(store.scan_state(CRM, Kind::Client).await.unwrap(), before, "{b}");
        assert_eq!(store.cursor(CRM, Kind::Client, SyncMode::Full).await.unwrap(), Cursor(json!({"page": 1})), "{b}");
    })
    .await;
}

#[tokio::test]
async fn cursors_start_empty_round_trip_and_reset_after_a_full_scan() {
    on_both(|store, _| async move {
        let b = store.backend();
        for mode in [SyncMode::Full, SyncMode::Incremental] {
            let cursor = store.cursor(CRM, Kind::Client, mode).await.unwrap();
            assert!(cursor.is_start(), "{b}");
        }
        let state = json!({"since": 1_700_000_000_000_i64, "after": "x", "nested": [1, 2]});
        let p = page(vec![client("a", "A", Some(1))], state.clone(), true);
        commit(&store, SyncMode::Incremental, &p).await;
        assert_eq!(store.cursor(CRM, Kind::Client, SyncMode::Incremental).await.unwrap(), Cursor(state.clone()), "{b}");
        // Kinds and modes have their own cursors.
        assert!(store.cursor(CRM, Kind::Task, SyncMode::Incremental).await.unwrap().is_start());
        assert!(store.cursor(CRM, Kind::Client, SyncMode::Full).await.unwrap().is_start());

        store.set_cursor(CRM, Kind::Client, SyncMode::Incremental, &Cursor(json!({"seeded": true}))).await.unwrap();
        assert_eq!(
            store.cursor(CRM, Kind::Client, SyncMode::Incremental).await.unwrap(),
            Cursor(json!({"seeded": true})),
            "{b}"
        );

        full_scan(&store, &[&["a"], &["b"]], false).await;
        assert_eq!(store.cursor(CRM, Kind::Client, SyncMode::Full).await.unwrap(), Cursor(json!({"page": 2})), "{b}");
        let p = page(vec![client("c", "c", Some(1))], json!({"page": 3}), false);
        commit(&store, SyncMode::Full, &p).await;
        assert!(store.cursor(CRM, Kind::Client, SyncMode::Full).await.unwrap().is_start(), "{b}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Upserts

#[tokio::test]
async fn recommitting_the_same_page_is_idempotent() {
    on_both(|store, _| async move {
        let b = store.backend();
        let records = vec![
            client("a", "A", Some(1)),
            client("b", "B", None),
            tombstone("gone", Some(3)),
            tombstone("gone-untimed", None),
        ];
        let p = page(records, json!({"p": 1}), false);
        assert_eq!(commit(&store, SyncMode::Incremental, &p).await, outcome(4, 0, 0, 0, 0), "{b}");
        let before = store.list_records(CRM, Kind::Client, None, 100).await.unwrap();
        for _ in 0..2 {
            assert_eq!(commit(&store, SyncMode::Incremental, &p).await, outcome(0, 0, 4, 0, 0), "{b}");
        }
        let after = store.list_records(CRM, Kind::Client, None, 100).await.unwrap();
        assert_eq!(before, after, "{b}: nothing was rewritten");
        assert_eq!(store.count_records(Some(CRM), None, false).await.unwrap(), 2, "{b}");

        // The same holds for a page of a full scan re-committed mid-scan (a crash after
        // the commit, before the next pull).
        let p = page(vec![client("a", "A", Some(1))], json!({"page": 1}), true);
        commit(&store, SyncMode::Full, &p).await;
        let before = store.list_records(CRM, Kind::Client, None, 100).await.unwrap();
        assert_eq!(commit(&store, SyncMode::Full, &p).await, outcome(0, 0, 1, 0, 0), "{b}");
        let after = store.list_records(CRM, Kind::Client, None, 100).await.unwrap();
        assert_eq!(before, after, "{b}");
    })
    .await;
}

#[tokio::test]
async fn an_older_version_never_overwrites_a_newer_one() {
    on_both(|store, _| async move {
        let b = store.backend();
        incremental(&store, vec![client("a", "v20", Some(20))]).await;

        let older = incremental(&store, vec![client("a", "v10", Some(10))]).await;
        assert_eq!(older, outcome(0, 0, 0, 1, 0), "{b}");
        assert_eq!(name_of(&store, "a").await.as_deref(), Some("v20"), "{b}");

        // A version without a timestamp never beats a stored one.
        let untimed = incremental(&store, vec![client("a", "untimed", None)]).await;
        assert_eq!(untimed, outcome(0, 0, 0, 1, 0), "{b}");
        assert_eq!(name_of(&store, "a").await.as_deref(), Some("v20"), "{b}");

        // Same timestamp, different payload: a change within the vendor's precision.
        let same_time = incremental(&store, vec![client("a", "v20b", Some(20))]).await;
        assert_eq!(same_time, outcome(0, 1, 0, 0, 0), "{b}");
        assert_eq!(name_of(&store, "a").await.as_deref(), Some("v20b"), "{b}");

        // Within one page the newest version wins whatever the order.
        let mixed = incremental(&store, vec![client("a", "v30", Some(30)), client("a", "v25", Some(25))]).await;
        assert_eq!(mixed, outcome(0, 1, 0, 1, 0), "{b}");
        let a = get(&store, "a").await.unwrap();
        assert_eq!(name(&a), Some("v30"), "{b}");
        assert_eq!(a.record.updated_at, Some(at(30)), "{b}");
        assert_eq!(a.record.created_at, Some(at(0)), "{b}");
        assert_eq!(a.revision, 3, "{b}");
    })
    .await;
}

#[tokio::test]
async fn a_tombstone_deletes_keeps_the_last_data_and_a_newer_version_revives() {
    on_both(|store, _| async move {
        let b = store.backend();
        incremental(&store, vec![client("a", "A", Some(10))]).await;

        // Older than the stored version: ignored.
        assert_eq!(incremental(&store, vec![tombstone("a", Some(5))]).await, outcome(0, 0, 0, 1, 0), "{b}");
        assert!(!get(&store, "a").await.unwrap().record.deleted, "{b}");

        // Without a time: applies, keeps data, link and timestamp.
        assert_eq!(incremental(&store, vec![tombstone("a", None)]).await, outcome(0, 1, 0, 0, 0), "{b}");
        let a = get(&store, "a").await.unwrap();
        assert!(a.record.deleted, "{b}");
        assert_eq!(a.deleted_by, Some(DeletedBy::Vendor), "{b}");
        assert_eq!(name(&a), Some("A"), "{b}");
        assert_eq!(a.record.url.as_deref(), Some("https://crm.example/clients/a"), "{b}");
        assert_eq!(a.record.updated_at, Some(at(10)), "{b}");
        assert_eq!(a.record.raw["name"], json!("A"), "{b}");
        assert!(a.dirty, "{b}");
        assert_eq!(store.count_records(Some(CRM), None, false).await.unwrap(), 0, "{b}");
        assert_eq!(store.count_records(Some(CRM), None, true).await.unwrap(), 1, "{b}");

        // The same version again does not undo a vendor's deletion...
        assert_eq!(incremental(&store, vec![client("a", "A", Some(10))]).await, outcome(0, 0, 0, 1, 0), "{b}");
        assert!(get(&store, "a").await.unwrap().record.deleted, "{b}");
        // ...a newer one does.
        assert_eq!(incremental(&store, vec![client("a", "A back", Some(20))]).await, outcome(0, 1, 0, 0, 0), "{b}");
        let a = get(&store, "a").await.unwrap();
        assert!(!a.record.deleted, "{b}");
        assert_eq!(a.deleted_by, None, "{b}");
        assert_eq!(name(&a), Some("A back"), "{b}");

        // A tombstone for a record never seen is kept, so an older live version that
        // arrives later cannot resurrect it.
        assert_eq!(incremental(&store, vec![tombstone("ghost", Some(50))]).await, outcome(1, 0, 0, 0, 0), "{b}");
        assert_eq!(incremental(&store, vec![client("ghost", "old", Some(40))]).await, outcome(0, 0, 0, 1, 0), "{b}");
        let ghost = get(&store, "ghost").await.unwrap();
        assert!(ghost.record.deleted && ghost.record.data.is_none(), "{b}");

        // A newer tombstone on a live record, in the same page as its last update.
        let p = incremental(&store, vec![client("a", "A final", Some(30)), tombstone("a", Some(31))]).await;
        assert_eq!(p, outcome(0, 2, 0, 0, 0), "{b}");
        let a = get(&store, "a").await.unwrap();
        assert!(a.record.deleted, "{b}");
        assert_eq!(name(&a), Some("A final"), "{b}");
        assert_eq!(a.record.updated_at, Some(at(31)), "{b}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Full-scan census

#[tokio::test]
async fn the_census_tombstones_only_after_two_consecutive_complete_scans() {
    on_both(|store, _| async move {
        let b = store.backend();
        let first = full_scan(&store, &[&["a", "b"], &["c"]], true).await;
        assert_eq!(first, outcome(3, 0, 0, 0, 0), "{b}");
        let state = store.scan_state(CRM, Kind::Client).await.unwrap();
        assert_eq!((state.scan_id, state.in_progress), (1, false), "{b}");

        let second = full_scan(&store, &[&["a"], &["b"]], true).await;
        assert_eq!(second, outcome(0, 0, 2, 0, 0), "{b}: one miss is not enough");
        let c = get(&store, "c").await.unwrap();
        assert_eq!((c.record.deleted, c.missed_scans), (false, 1), "{b}");

        store.clear_dirty(&dirty_versions(&store).await).await.unwrap();
        let third = full_scan(&store, &[&["a", "b"]], true).await;
        assert_eq!(third, outcome(0, 0, 2, 0, 1), "{b}");
        let c = get(&store, "c").await.unwrap();
        assert!(c.record.deleted, "{b}");
        assert_eq!(c.deleted_by, Some(DeletedBy::Census), "{b}");
        assert!(c.dirty, "{b}: identity resolution must see the deletion");
        assert_eq!(name(&c), Some("c"), "{b}: the last data is kept");
        assert_eq!(store.scan_state(CRM, Kind::Client).await.unwrap().scan_id, 3, "{b}");

        // Seen again, even unchanged: the store's inference is undone.
        let fourth = full_scan(&store, &[&["a", "b", "c"]], true).await;
        assert_eq!(fourth, outcome(0, 1, 2, 0, 0), "{b}");
        let c = get(&store, "c").await.unwrap();
        assert_eq!((c.record.deleted, c.missed_scans, c.deleted_by), (false, 0, None), "{b}");
    })
    .await;
}

#[tokio::test]
async fn complete_scans_that_list_nothing_never_tombstone() {
    on_both(|store, _| async move {
        let b = store.backend();
        full_scan(&store, &[&["a", "b"]], true).await;
        // A vendor that suddenly lists nothing (a revoked permission, a narrowed filter).
        for _ in 0..3 {
            let empty = commit(&store, SyncMode::Full, &page(vec![], json!(null), false)).await;
            assert_eq!(empty.tombstoned, 0, "{b}");
        }
        for id in ["a", "b"] {
            let r = get(&store, id).await.unwrap();
            assert_eq!((r.record.deleted, r.missed_scans), (false, 0), "{b}: {id}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_incomplete_full_scan_or_an_incremental_pull_never_tombstones() {
    on_both(|store, _| async move {
        let b = store.backend();
        full_scan(&store, &[&["a", "b", "c"]], true).await;
        full_scan(&store, &[&["a", "b"]], true).await; // c: one miss

        // A scan that stops after its first page (error, crash, shutdown).
        let partial = full_scan(&store, &[&["a"]], false).await;
        assert_eq!(partial.tombstoned, 0, "{b}");
        let state = store.scan_state(CRM, Kind::Client).await.unwrap();
        assert_eq!((state.scan_id, state.in_progress), (3, true), "{b}");
        // Incremental pulls in between prove nothing about absence.
        let inc = incremental(&store, vec![client("a", "a", Some(1))]).await;
        assert_eq!(inc.tombstoned, 0, "{b}");
        for id in ["b", "c"] {
            assert!(!get(&store, id).await.unwrap().record.deleted, "{b}: {id}");
        }

        // Resuming the same scan and finishing it completes scan 3: c's second miss.
        let p = page(vec![client("b", "b", Some(1))], json!(null), false);
        let rest = commit(&store, SyncMode::Full, &p).await;
        assert_eq!(rest.tombstoned, 1, "{b}");
        assert_eq!(store.scan_state(CRM, Kind::Client).await.unwrap().scan_id, 3, "{b}");
        assert!(!get(&store, "a").await.unwrap().record.deleted, "{b}");
        assert!(!get(&store, "b").await.unwrap().record.deleted, "{b}");
        assert!(get(&store, "c").await.unwrap().record.deleted, "{b}");
    })
    .await;
}

#[tokio::test]
async fn a_full_scan_census_that_would_remove_too_many_records_is_held_until_approved() {
    on_both(|store, _| async move {
        let b = store.backend();
        let all: Vec<String> = (0..120).map(|i| format!("c{i:03}")).collect();
        let ids: Vec<&str> = all.iter().map(String::as_str).collect();
        full_scan(&store, &[&ids], true).await;
        // A token that lost access to half the records: two complete scans list 60.
        let half = &ids[..60];
        assert_eq!(full_scan(&store, &[half], true).await.held, 0, "{b}: one missed scan proves nothing yet");
        let second = full_scan(&store, &[half], true).await;
        assert_eq!((second.tombstoned, second.held), (0, 60), "{b}: 60 > max(5% of 120, 50)");
        assert_eq!(store.count_records(Some(CRM), Some(Kind::Client), false).await.unwrap(), 120, "{b}");
        let holds = store.census_holds().await.unwrap();
        assert_eq!(holds.len(), 1, "{b}");
        assert_eq!((holds[0].count, holds[0].live, holds[0].threshold), (60, 120, 50), "{b}");
        assert!(holds[0].describe().contains("`zveno census approve crm client`"), "{b}: {}", holds[0].describe());

        assert_eq!(store.approve_census(CRM, Kind::Client).await.unwrap(), Some(60), "{b}");
        assert_eq!(store.count_records(Some(CRM), Some(Kind::Client), false).await.unwrap(), 60, "{b}");
        assert_eq!(get(&store, "c100").await.and_then(|r| r.deleted_by), Some(DeletedBy::Census), "{b}");
        assert!(store.census_holds().await.unwrap().is_empty(), "{b}");
        assert_eq!(store.approve_census(CRM, Kind::Client).await.unwrap(), None, "{b}: nothing left to approve");
    })
    .await;
}

#[tokio::test]
async fn a_census_within_the_threshold_applies_at_once_and_replaces_an_earlier_hold() {
    on_both(|store, _| async move {
        let b = store.backend();
        let all: Vec<String> = (0..120).map(|i| format!("c{i:03}")).collect();
        let ids: Vec<&str> = all.iter().map(String::as_str).collect();
        full_scan(&store, &[&ids], true).await;
        let gone: Vec<String> = all[..70].to_vec();
        let started = at(10);
        let held = store.settle_census(CRM, Kind::Client, started, &gone, 120).await.unwrap();
        assert_eq!(held, zveno::store::Settled::Held(70), "{b}");
        assert_eq!(store.last_census(CRM, Kind::Client).await.unwrap(), Some(started), "{b}");
        // The next census finds only 2 gone (access was restored): applied, hold dropped.
        let settled = store.settle_census(CRM, Kind::Client, at(20), &gone[..2], 120).await.unwrap();
        assert_eq!(settled, zveno::store::Settled::Tombstoned(2), "{b}");
        assert!(store.census_holds().await.unwrap().is_empty(), "{b}");
        assert_eq!(store.count_records(Some(CRM), Some(Kind::Client), false).await.unwrap(), 118, "{b}");
        // What a census did not list and was stored before it began is missing.
        let seen: std::collections::HashSet<String> = all[5..].iter().cloned().collect();
        let (missing, live) = store.census_missing(CRM, Kind::Client, &seen, Utc::now()).await.unwrap();
        assert_eq!((missing, live), (vec!["c002".to_string(), "c003".into(), "c004".into()], 118), "{b}");
        let (none, _) = store.census_missing(CRM, Kind::Client, &seen, at(-1_000_000)).await.unwrap();
        assert!(none.is_empty(), "{b}: records stored after the census began are never missing");
    })
    .await;
}

#[tokio::test]
async fn record_errors_count_as_seen_and_unidentified_ones_suspend_the_census() {
    on_both(|store, _| async move {
        let b = store.backend();
        full_scan(&store, &[&["a", "b", "c", "d"]], true).await;
        let with_errors = |anonymous: bool| {
            let mut p = page(vec![client("a", "a", Some(1)), client("b", "b", Some(1))], json!(null), false);
            p.errors.push(RecordError { external_id: Some("d".to_string()), message: "bad phone".to_string() });
            if anonymous {
                p.errors.push(RecordError { external_id: None, message: "unparsable".to_string() });
            }
            p
        };
        // An error without an id could be any record: no census for that scan.
        commit(&store, SyncMode::Full, &with_errors(true)).await;
        assert_eq!(get(&store, "c").await.unwrap().missed_scans, 0, "{b}");
        commit(&store, SyncMode::Full, &with_errors(false)).await;
        assert_eq!(get(&store, "c").await.unwrap().missed_scans, 1, "{b}");
        let last = commit(&store, SyncMode::Full, &with_errors(false)).await;
        assert_eq!(last.tombstoned, 1, "{b}: only c");
        assert!(get(&store, "c").await.unwrap().record.deleted, "{b}");
        // d failed to normalise but was listed: it exists.
        let d = get(&store, "d").await.unwrap();
        assert_eq!((d.record.deleted, d.missed_scans), (false, 0), "{b}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Reads, dirty queue, runs

async fn dirty_versions(store: &Store) -> Vec<zveno::store::RecordVersion> {
    store.dirty_records(10_000).await.unwrap().iter().map(StoredRecord::version).collect()
}

#[tokio::test]
async fn dirty_records_are_cleared_only_at_the_revision_that_was_read() {
    on_both(|store, _| async move {
        let b = store.backend();
        let task = SourceRecord::new(
            CRM,
            "t1",
            RecordData::Task(zveno_connector::Task::new("Call", zveno_connector::TaskStatus::Todo)),
            json!({"id": "t1"}),
        );
        store.commit_page(CRM, Kind::Task, SyncMode::Incremental, &page(vec![task], json!(null), false)).await.unwrap();
        incremental(&store, vec![client("b", "B", Some(1)), client("a", "A", Some(1))]).await;

        let dirty = store.dirty_records(10).await.unwrap();
        let keys: Vec<String> = dirty.iter().map(|r| r.key().to_string()).collect();
        assert_eq!(keys, ["crm/client/a", "crm/client/b", "crm/task/t1"], "{b}: clients first");
        let read: Vec<_> = dirty.iter().map(StoredRecord::version).collect();

        // "a" changes while the engine works on the batch.
        incremental(&store, vec![client("a", "A2", Some(2))]).await;
        assert_eq!(store.clear_dirty(&read).await.unwrap(), 2, "{b}");
        let left = store.dirty_records(10).await.unwrap();
        assert_eq!(left.len(), 1, "{b}");
        assert_eq!(name(&left[0]), Some("A2"), "{b}");
        assert_eq!(store.clear_dirty(&dirty_versions(&store).await).await.unwrap(), 1, "{b}");
        assert!(store.dirty_records(10).await.unwrap().is_empty(), "{b}");

        // Unchanged re-reads do not dirty anything.
        incremental(&store, vec![client("a", "A2", Some(2))]).await;
        assert!(store.dirty_records(10).await.unwrap().is_empty(), "{b}");
        assert_eq!(store.clear_dirty(&[]).await.unwrap(), 0, "{b}");
    })
    .await;
}

#[tokio::test]
async fn counts_and_listings_filter_by_connector_kind_and_deletion() {
    on_both(|store, _| async move {
        let b = store.backend();
        incremental(&store, vec![client("a", "A", Some(1)), client("b", "B", Some(1)), tombstone("c", None)]).await;
        let other = SourceRecord::new("other", "x", RecordData::Client(Client::default()), json!({}));
        store
            .commit_page("other", Kind::Client, SyncMode::Incremental, &page(vec![other], json!(null), false))
            .await
            .unwrap();
        let count = |connector, kind, deleted| {
            let store = store.clone();
            async move { store.count_records(connector, kind, deleted).await.unwrap() }
        };
        assert_eq!(count(None, None, true).await, 4, "{b}");
        assert_eq!(count(None, None, false).await, 3, "{b}");
        assert_eq!(count(Some(CRM), None, false).await, 2, "{b}");
        assert_eq!(count(Some(CRM), Some(Kind::Client), true).await, 3, "{b}");
        assert_eq!(count(Some(CRM), Some(Kind::Task), true).await, 0, "{b}");
        assert_eq!(count(None, Some(Kind::Client), false).await, 3, "{b}");

        let first = store.list_records(CRM, Kind::Client, None, 2).await.unwrap();
        let ids: Vec<_> = first.iter().map(|r| r.record.external_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"], "{b}");
        let rest = store.list_records(CRM, Kind::Client, Some("b"), 2).await.unwrap();
        let ids: Vec<_> = rest.iter().map(|r| r.record.external_id.as_str()).collect();
        assert_eq!(ids, ["c"], "{b}");
    })
    .await;
}

#[tokio::test]
async fn records_of_another_connector_are_refused_with_a_clear_error() {
    on_both(|store, _| async move {
        let b = store.backend();
        let p = page(vec![client("a", "A", Some(1))], json!(null), false);
        let err = store.commit_page("elsewhere", Kind::Client, SyncMode::Incremental, &p).await.expect_err("refused");
        assert_eq!(err.kind(), StoreErrorKind::Invalid, "{b}");
        assert_eq!(err.to_string(), "commit_page elsewhere/client: record \"a\" belongs to connector \"crm\"", "{b}");
        assert_eq!(store.count_records(None, None, true).await.unwrap(), 0, "{b}");
    })
    .await;
}

#[tokio::test]
async fn connector_standing_is_parked_deferred_and_resumed_with_its_reason() {
    on_both(|store, _| async move {
        let b = store.backend();
        let clock = Arc::new(ManualClock::new(at(0)));
        let store = store.with_clock(clock.clone());
        assert!(store.connector_states().await.unwrap().is_empty(), "{b}");
        assert_eq!(store.resume(CRM).await.unwrap(), None, "nothing to resume before any run: {b}");

        let deferred = StateChange {
            status: ConnectorStatus::Deferred,
            reason: Some("transient: HTTP 502".into()),
            next_run_at: Some(at(600)),
            failures: 1,
            config_fingerprint: Some("f1".into()),
        };
        let first = store.set_connector_state(CRM, &deferred).await.unwrap();
        assert_eq!((first.status, first.since, first.next_run_at), (ConnectorStatus::Deferred, at(0), Some(at(600))));
        clock.advance(std::time::Duration::from_secs(60));
        let again = store.set_connector_state(CRM, &StateChange { failures: 2, ..deferred.clone() }).await.unwrap();
        assert_eq!((again.since, again.failures, again.updated_at), (at(0), 2, at(60)), "since stays: {b}");

        let parked = store.park(CRM, "auth: HTTP 401 bad token", None, 3, Some("f1".into())).await.unwrap();
        assert_eq!((parked.status, parked.since, parked.next_run_at), (ConnectorStatus::Parked, at(60), None), "{b}");
        assert!(parked.needs_attention(), "{b}");
        store.set_connector_state("jira", &StateChange::active(None)).await.unwrap();
        let all = store.connector_states().await.unwrap();
        assert_eq!(all.iter().map(|s| s.connector.as_str()).collect::<Vec<_>>(), ["crm", "jira"], "{b}");
        assert_eq!(all[0].reason.as_deref(), Some("auth: HTTP 401 bad token"), "{b}");

        let before = store.resume(CRM).await.unwrap().unwrap();
        assert_eq!(before.status, ConnectorStatus::Parked, "{b}");
        let now = store.connector_state(CRM).await.unwrap().unwrap();
        assert_eq!((now.status, now.reason, now.failures, now.next_run_at), (ConnectorStatus::Active, None, 0, None));
        assert_eq!(now.config_fingerprint.as_deref(), Some("f1"), "{b}");
    })
    .await;
}

#[tokio::test]
async fn run_history_round_trips_newest_first() {
    on_both(|store, _| async move {
        let b = store.backend();
        let first = store.start_run(CRM, Kind::Client, SyncMode::Full, at(100)).await.unwrap();
        let second = store.start_run("jira", Kind::Task, SyncMode::Incremental, at(200)).await.unwrap();
        let third = store.start_run(CRM, Kind::Contact, SyncMode::Incremental, at(300)).await.unwrap();
        assert!(first < second && second < third, "{b}");

        let done = RunOutcome {
            status: RunStatus::Ok,
            finished_at: at(150),
            pages: 3,
            records: 250,
            record_errors: 2,
            tombstoned: 5,
            requests: 4,
            throttled: 1,
            retried: 1,
            failed_requests: 0,
            slowed: 2,
            census_requests: 3,
            held: 0,
            message: Some("synced 250 clients".to_string()),
        };
        store.finish_run(first, &done).await.unwrap();
        let failed = RunOutcome {
            status: RunStatus::Failed,
            finished_at: at(210),
            message: Some("auth: 401 from jira".to_string()),
            ..done.clone()
        };
        store.finish_run(second, &failed).await.unwrap();

        let runs = store.runs(10, None).await.unwrap();
        let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
        assert_eq!(ids, [third, second, first], "{b}");
        let running = &runs[0];
        assert_eq!(running.status, RunStatus::Running, "{b}");
        assert_eq!((running.finished_at, running.pages, running.message.as_deref()), (None, 0, None), "{b}");
        let r = &runs[2];
        assert_eq!(r.connector, CRM, "{b}");
        assert_eq!((r.kind, r.mode), (Kind::Client, SyncMode::Full), "{b}");
        assert_eq!((r.started_at, r.finished_at), (at(100), Some(at(150))), "{b}");
        assert_eq!(r.status, RunStatus::Ok, "{b}");
        assert_eq!(
            (r.pages, r.records, r.record_errors, r.requests, r.throttled, r.retried, r.failed_requests, r.slowed),
            (3, 250, 2, 4, 1, 1, 0, 2),
            "{b}"
        );
        assert_eq!((r.census_requests, r.tombstoned, r.held), (3, 5, 0), "{b}");
        assert_eq!(r.message.as_deref(), Some("synced 250 clients"), "{b}");
        assert_eq!(runs[1].status, RunStatus::Failed, "{b}");

        let crm: Vec<i64> = store.runs(10, Some(CRM)).await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(crm, [third, first], "{b}");
        assert_eq!(store.runs(1, None).await.unwrap().len(), 1, "{b}");

        let missing = store.finish_run(9_999, &done).await.expect_err("no such run");
        assert_eq!(missing.kind(), StoreErrorKind::NotFound, "{b}");
        assert_eq!(missing.to_string(), "finish_run run 9999: not found", "{b}");
        let still_running = RunOutcome { status: RunStatus::Running, ..done };
        assert!(store.finish_run(third, &still_running).await.is_err(), "{b}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Scale, concurrency, set-up

#[tokio::test]
async fn a_page_of_2500_records_commits_and_recommits_in_batches() {
    on_both(|store, _| async move {
        let b = store.backend();
        let records: Vec<SourceRecord> =
            (0..2_500).map(|i| client(&format!("r{i:05}"), &format!("Client {i}"), Some(1))).collect();
        let p = page(records, json!({"page": 1}), true);
        assert_eq!(commit(&store, SyncMode::Full, &p).await, outcome(2_500, 0, 0, 0, 0), "{b}");
        assert_eq!(commit(&store, SyncMode::Full, &p).await, outcome(0, 0, 2_500, 0, 0), "{b}");
        assert_eq!(store.count_records(Some(CRM), None, false).await.unwrap(), 2_500, "{b}");
        let last = get(&store, "r02499").await.unwrap();
        assert_eq!((last.last_scan_id, last.missed_scans), (Some(1), 0), "{b}");
    })
    .await;
}

#[tokio::test]
async fn concurrent_commits_for_one_connector_all_land() {
    on_both(|store, _| async move {
        let b = store.backend();
        let tasks: Vec<_> = (0..6)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0..5 {
                        let records = (0..20).map(|i| client(&format!("t{t}-{n}-{i}"), "x", Some(1))).collect();
                        let mode = if t % 2 == 0 { SyncMode::Incremental } else { SyncMode::Full };
                        let p = page(records, json!({ "t": t, "n": n }), true);
                        store.commit_page(CRM, Kind::Client, mode, &p).await?;
                    }
                    Ok::<_, zveno::store::StoreError>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        assert_eq!(store.count_records(Some(CRM), None, true).await.unwrap(), 600, "{b}");
    })
    .await;
}

#[tokio::test]
async fn migrating_again_or_from_two_instances_at_once_is_safe() {
    on_both(|store, url| async move {
        let b = store.backend();
        store.migrate().await.unwrap();
        let (one, two) = tokio::join!(Store::connect(&url), Store::connect(&url));
        let (one, two) = (one.unwrap(), two.unwrap());
        let (r1, r2) = tokio::join!(one.migrate(), two.migrate());
        r1.unwrap_or_else(|e| panic!("{b}: {e}"));
        r2.unwrap_or_else(|e| panic!("{b}: {e}"));
        one.close().await;
        two.close().await;
    })
    .await;
}

#[tokio::test]
async fn fresh_databases_migrate_concurrently() {
    // Both instances find an empty database and race to create the schema.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/race.db", dir.path().display());
    let pg = PgSchema::create().await;
    for url in [url.as_str(), pg.url()] {
        let (one, two) = tokio::join!(Store::connect(url), Store::connect(url));
        let (one, two) = (one.unwrap(), two.unwrap());
        let (r1, r2) = tokio::join!(one.migrate(), two.migrate());
        r1.unwrap_or_else(|e| panic!("{url}: {e}"));
        r2.unwrap_or_else(|e| panic!("{url}: {e}"));
        incremental(&one, vec![client("a", "A", Some(1))]).await;
        assert_eq!(two.count_records(None, None, true).await.unwrap(), 1, "{url}");
        one.close().await;
        two.close().await;
    }
    pg.drop_schema().await;
}

#[tokio::test]
async fn a_sqlite_file_store_creates_its_directory_and_uses_wal() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a/b/zveno.db");
    let store = open(&format!("sqlite://{}", file.display())).await;
    assert!(file.exists());
    let mut raw = sqlx::AnyConnection::connect(&format!("sqlite://{}", file.display())).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut raw).await.unwrap();
    assert_eq!(mode, "wal");
    raw.close().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn an_in_memory_sqlite_store_works_and_bad_urls_are_config_errors() {
    let store = open("sqlite::memory:").await;
    assert_eq!(store.backend(), Backend::Sqlite);
    incremental(&store, vec![client("a", "A", Some(1))]).await;
    assert_eq!(store.count_records(None, None, true).await.unwrap(), 1);
    store.close().await;

    let err = Store::connect("mysql://localhost/db").await.expect_err("unsupported");
    assert_eq!(err.kind(), StoreErrorKind::Config);
    let schema = PgSchema::create().await;
    let pg = Store::connect(schema.url()).await.unwrap();
    assert_eq!(pg.backend(), Backend::Postgres);
    pg.close().await;
    schema.drop_schema().await;
}

#[tokio::test]
async fn the_ingest_benchmark_commits_every_record_under_a_fresh_connector() {
    on_both(|store, _| async move {
        let b = store.backend();
        let one = bench::ingest(&store, 1_050, 100).await.unwrap();
        let two = bench::ingest(&store, 10, 100).await.unwrap();
        assert_ne!(one.connector, two.connector, "{b}");
        assert_eq!((one.records, one.pages), (1_050, 11), "{b}");
        assert_eq!(one.outcome, outcome(1_050, 0, 0, 0, 0), "{b}");
        assert!(one.records_per_sec > 0.0, "{b}");
        assert_eq!(store.count_records(Some(&one.connector), None, false).await.unwrap(), 1_050, "{b}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Both backends, side by side

/// A scripted sequence touching every operation; returns everything observable.
async fn script(store: Store) -> Vec<String> {
    let clock = Arc::new(ManualClock::new(at(1_000)));
    let store = store.with_clock(clock.clone());
    let mut out = Vec::new();
    let mut note = |line: String| out.push(line);

    let steps: Vec<(SyncMode, Page)> = vec![
        (SyncMode::Full, page(vec![client("a", "A", Some(1)), client("b", "B", Some(1))], json!({"page": 1}), true)),
        (SyncMode::Full, page(vec![client("c", "C", None), client("d", "D", Some(1))], json!(null), false)),
        (
            SyncMode::Incremental,
            page(
                vec![client("a", "A2", Some(5)), client("b", "B-old", Some(0)), tombstone("d", None)],
                json!({"since": 5}),
                false,
            ),
        ),
        (
            SyncMode::Incremental,
            page(
                vec![client("e", "E", Some(6)), client("e", "E2", Some(7)), tombstone("z", Some(9))],
                json!({"since": 9}),
                false,
            ),
        ),
        (SyncMode::Full, page(vec![client("a", "A2", Some(5)), client("b", "B", Some(1))], json!(null), false)),
        (SyncMode::Full, page(vec![client("a", "A2", Some(5))], json!({"page": 1}), true)),
        (SyncMode::Full, page(vec![client("b", "B", Some(1)), client("d", "D3", Some(8))], json!(null), false)),
        (
            SyncMode::Full,
            page(
                vec![client("a", "A2", Some(5)), client("b", "B", Some(1)), client("c", "C", None)],
                json!(null),
                false,
            ),
        ),
    ];
    for (i, (mode, p)) in steps.iter().enumerate() {
        clock.advance(std::time::Duration::from_millis(1_500));
        let o = store.commit_page(CRM, Kind::Client, *mode, p).await.unwrap();
        note(format!("step {i} {mode:?}: {o:?}"));
        for mode in [SyncMode::Full, SyncMode::Incremental] {
            let cursor = store.cursor(CRM, Kind::Client, mode).await.unwrap();
            note(format!("  cursor {mode:?}: {cursor:?}"));
        }
        note(format!("  scan: {:?}", store.scan_state(CRM, Kind::Client).await.unwrap()));
        if i == 3 {
            let cleared = store.clear_dirty(&dirty_versions(&store).await).await.unwrap();
            note(format!("  cleared {cleared}"));
        }
    }
    for r in store.list_records(CRM, Kind::Client, None, 100).await.unwrap() {
        note(format!("{r:?}"));
    }
    for r in store.dirty_records(100).await.unwrap() {
        note(format!("dirty {}", r.version().key));
    }
    note(format!(
        "counts {} {}",
        store.count_records(None, None, true).await.unwrap(),
        store.count_records(Some(CRM), Some(Kind::Client), false).await.unwrap()
    ));
    let run = store.start_run(CRM, Kind::Client, SyncMode::Full, at(1)).await.unwrap();
    store
        .finish_run(
            run,
            &RunOutcome {
                status: RunStatus::Interrupted,
                finished_at: at(2),
                pages: 1,
                records: 2,
                record_errors: 3,
                tombstoned: 9,
                requests: 4,
                throttled: 5,
                retried: 6,
                failed_requests: 7,
                slowed: 8,
                census_requests: 9,
                held: 11,
                message: None,
            },
        )
        .await
        .unwrap();
    note(format!("{:?}", store.runs(5, None).await.unwrap()));
    out
}

#[tokio::test]
async fn sqlite_and_postgres_give_identical_results_for_a_scripted_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = open(&format!("sqlite://{}/z.db", dir.path().display())).await;
    let from_sqlite = script(sqlite.clone()).await;
    sqlite.close().await;

    let pg = PgSchema::create().await;
    let postgres = open(pg.url()).await;
    let from_postgres = AssertUnwindSafe(script(postgres.clone())).catch_unwind().await;
    postgres.close().await;
    pg.drop_schema().await;
    let from_postgres = from_postgres.unwrap_or_else(|p| std::panic::resume_unwind(p));

    assert!(from_sqlite.len() > 40);
    for (i, (s, p)) in from_sqlite.iter().zip(&from_postgres).enumerate() {
        assert_eq!(s, p, "line {i} differs between SQLite and PostgreSQL");
    }
    assert_eq!(from_sqlite.len(), from_postgres.len());
}

// ---------------------------------------------------------------------------------------
// Webhooks

#[tokio::test]
async fn webhook_event_ids_are_claimed_once_per_connector_until_they_expire() {
    on_both(|store, _| async move {
        let clock = Arc::new(ManualClock::new(at(0)));
        let store = store.with_clock(clock.clone());
        let keep = std::time::Duration::from_secs(3600);
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let claimed = store.claim_webhook_events(CRM, &ids(&["e1", "e2", "e1"]), keep).await.unwrap();
        assert_eq!(claimed, ids(&["e1", "e2"]), "{}: a repeat within one delivery claims once", store.backend());
        let claimed = store.claim_webhook_events(CRM, &ids(&["e2", "e3"]), keep).await.unwrap();
        assert_eq!(claimed, ids(&["e3"]), "{}", store.backend());
        let claimed = store.claim_webhook_events("other", &ids(&["e1"]), keep).await.unwrap();
        assert_eq!(claimed, ids(&["e1"]), "{}: ids are per connector", store.backend());
        clock.advance(keep);
        let claimed = store.claim_webhook_events(CRM, &ids(&["e1", "e4"]), keep).await.unwrap();
        assert_eq!(claimed, ids(&["e1", "e4"]), "{}: an expired id is new again", store.backend());
    })
    .await;
}

#[tokio::test]
async fn records_committed_outside_a_pull_keep_the_never_older_rule_and_no_cursor() {
    on_both(|store, _| async move {
        incremental(&store, vec![client("1", "Romashka", Some(10)), client("2", "Lyutik", Some(10))]).await;
        let cursor = store.cursor(CRM, Kind::Client, SyncMode::Incremental).await.unwrap();
        let outcome = store
            .commit_records(CRM, Kind::Client, &[tombstone("1", Some(20)), client("2", "Lyutik old", Some(5))])
            .await
            .unwrap();
        assert_eq!((outcome.updated, outcome.stale), (1, 1), "{}", store.backend());
        assert!(get(&store, "1").await.unwrap().record.deleted);
        assert_eq!(get(&store, "2").await.unwrap().record.updated_at, Some(at(10)));
        assert_eq!(store.cursor(CRM, Kind::Client, SyncMode::Incremental).await.unwrap(), cursor);
        let err = store.commit_records("other", Kind::Client, &[client("3", "X", None)]).await.unwrap_err();
        assert!(err.to_string().contains("belongs to connector"), "{err}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Spend ledger (Pipedrive's tokens, tallied for every instance)

#[tokio::test]
async fn spending_is_tallied_per_account_and_day_by_every_instance_on_the_store() {
    use zveno_connector::SpendLedger;
    on_both(|store, url| async move {
        // A second process on the same database.
        let other = open(&url).await;
        let (today, tomorrow) = (at(0), at(86_400));
        assert_eq!(store.add_spend("pipedrive acme", today, 0).await.unwrap(), 0);
        // Charges from both instances at once all land.
        let charges = (0..20).map(|i| {
            let ledger: Arc<dyn SpendLedger> = Arc::new(if i % 2 == 0 { store.clone() } else { other.clone() });
            async move { ledger.add("pipedrive acme", today, 10).await.unwrap() }
        });
        let totals = futures::future::join_all(charges).await;
        assert_eq!(totals.iter().max(), Some(&200));
        assert_eq!(other.add_spend("pipedrive acme", today, 0).await.unwrap(), 200);
        // Another account and another day have their own totals.
        assert_eq!(store.add_spend("pipedrive globex", today, 5).await.unwrap(), 5);
        assert_eq!(store.add_spend("pipedrive acme", tomorrow, 1).await.unwrap(), 1);
        assert_eq!(store.add_spend("pipedrive acme", today, 0).await.unwrap(), 200);
        other.close().await;
    })
    .await;
}
