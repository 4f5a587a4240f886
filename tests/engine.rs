//! The engine against the test vendor's simulator: crashes and stops between pages resume
//! without losing or duplicating a record, throttling is waited out, bad credentials fail
//! the run without retries, and incremental runs read only what changed. Virtual time
//! (`ManualClock`) keeps every wait instant.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno::engine::{Engine, EngineError, EngineOptions, PaginationError, Shutdown};
use zveno::store::{RunStatus, Store};
use zveno_connector::http::HttpStats;
use zveno_connector::{
    Capabilities, Clock, Connector, ConnectorError, Cursor, ErrorKind, Kind, ManualClock, Page, SyncMode,
};
use zveno_sim::conformance::SimulatedVendor;
use zveno_sim::testvendor::TestVendorHarness;

struct Fixture {
    harness: TestVendorHarness,
    clock: Arc<ManualClock>,
    engine: Engine,
    _dir: tempfile::TempDir,
}

async fn fixture(seed: u64) -> Fixture {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let harness = TestVendorHarness::start(seed, clock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("zveno.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let engine = Engine::new(store, clock.clone());
    Fixture { harness, clock, engine, _dir: dir }
}

impl Fixture {
    fn store(&self) -> &Store {
        self.engine.store()
    }
    async fn stored(&self, kind: Kind) -> u64 {
        self.store().count_records(Some("tv"), Some(kind), false).await.unwrap()
    }
}

/// What the connector does at its N-th pull: fail as a crash would, or ask for a stop;
/// or, from the first pull on, hand out the same cursor forever (as a vendor repeating its
/// `nextPageToken` does).
#[derive(Debug, Clone, Copy)]
enum Trip {
    Crash,
    Stop,
    Repeat,
}

/// Delegates to a real connector, but trips after `pages` successful pulls.
#[derive(Debug)]
struct TripAfter {
    inner: Arc<dyn Connector>,
    pages: AtomicUsize,
    trip: Trip,
    shutdown: Shutdown,
}

#[async_trait]
impl Connector for TripAfter {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn vendor(&self) -> &str {
        self.inner.vendor()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn check(&self) -> Result<(), ConnectorError> {
        self.inner.check().await
    }
    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        let left = self.pages.load(Ordering::SeqCst);
        if left == 0 {
            if let Trip::Crash = self.trip {
                return Err(ConnectorError::transient("simulated crash"));
            }
        }
        let mut page = self.inner.pull(kind, mode, cursor).await?;
        if let Trip::Repeat = self.trip {
            page.cursor = Cursor(serde_json::json!({ "nextPageToken": "same" }));
            page.more = true;
        }
        self.pages.store(left.saturating_sub(1), Ordering::SeqCst);
        if left == 1 {
            if let Trip::Stop = self.trip {
                self.shutdown.request();
            }
        }
        Ok(page)
    }
    fn http_stats(&self) -> HttpStats {
        self.inner.http_stats()
    }
}

#[tokio::test]
async fn a_sync_that_crashes_between_pages_resumes_without_loss_or_duplicates() {
    let f = fixture(11).await;
    let total = f.harness.count(Kind::Client) as u64;
    let shutdown = Shutdown::new();
    let crashing: Arc<dyn Connector> = Arc::new(TripAfter {
        inner: f.harness.connector(),
        pages: AtomicUsize::new(2),
        trip: Trip::Crash,
        shutdown: shutdown.clone(),
    });
    let first = f.engine.sync(&crashing, Kind::Client, SyncMode::Full, &shutdown).await;
    assert!(first.is_err(), "the first run must fail at the crash");
    let committed = f.stored(Kind::Client).await;
    assert!(committed > 0 && committed < total, "two pages committed before the crash, got {committed}/{total}");

    // A restart: a new connector instance, the cursor from the store.
    let second = f.engine.sync(&f.harness.connector(), Kind::Client, SyncMode::Full, &shutdown).await.unwrap();
    assert_eq!(second.status, RunStatus::Ok);
    assert_eq!(f.stored(Kind::Client).await, total, "every client stored exactly once");
    assert!(
        second.records <= total - committed + 10,
        "the resumed run re-read more than one page: {} records after {committed} committed",
        second.records
    );
    let runs = f.store().runs(10, Some("tv")).await.unwrap();
    let statuses: Vec<RunStatus> = runs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![RunStatus::Ok, RunStatus::Failed], "newest first");
    assert!(runs[1].message.as_deref().unwrap_or("").contains("simulated crash"));
}

#[tokio::test]
async fn a_stop_request_ends_the_run_after_the_current_page_and_the_next_run_resumes() {
    let f = fixture(12).await;
    let total = f.harness.count(Kind::Task) as u64;
    let shutdown = Shutdown::new();
    let stopping: Arc<dyn Connector> = Arc::new(TripAfter {
        inner: f.harness.connector(),
        pages: AtomicUsize::new(3),
        trip: Trip::Stop,
        shutdown: shutdown.clone(),
    });
    let first = f.engine.sync(&stopping, Kind::Task, SyncMode::Full, &shutdown).await.unwrap();
    assert_eq!(first.status, RunStatus::Interrupted);
    assert_eq!(first.pages, 3, "the page in hand is committed before stopping");
    assert_eq!(f.stored(Kind::Task).await, first.records);

    let second = f.engine.sync(&f.harness.connector(), Kind::Task, SyncMode::Full, &Shutdown::new()).await.unwrap();
    assert_eq!(second.status, RunStatus::Ok);
    assert_eq!(f.stored(Kind::Task).await, total);
    assert_eq!(first.records + second.records, total, "no page read twice after a clean stop");
}

#[tokio::test]
async fn a_throttled_run_waits_for_retry_after_and_completes() {
    let f = fixture(13).await;
    let told = f.harness.throttle_next(Duration::from_secs(30)).await;
    let summary = f.engine.sync(&f.harness.connector(), Kind::Contact, SyncMode::Full, &Shutdown::new()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Ok);
    assert!(summary.throttled >= 1, "the 429 is counted");
    if let Some(wait) = told {
        assert!(f.clock.slept() >= wait, "slept {:?}, vendor asked {wait:?}", f.clock.slept());
    }
    assert_eq!(f.stored(Kind::Contact).await, f.harness.count(Kind::Contact) as u64);
    let run = &f.store().runs(1, Some("tv")).await.unwrap()[0];
    assert!(run.throttled >= 1 && run.requests > summary.pages, "run history keeps the API cost: {run:?}");
}

#[tokio::test]
async fn bad_credentials_fail_the_run_without_retrying() {
    let f = fixture(14).await;
    let err = f
        .engine
        .sync(&f.harness.connector_with_wrong_credentials(), Kind::Client, SyncMode::Full, &Shutdown::new())
        .await
        .expect_err("the run must fail");
    assert!(
        matches!(err, zveno::engine::EngineError::Connector { ref source, .. } if source.kind() == ErrorKind::Auth),
        "{err}"
    );
    let run = &f.store().runs(1, Some("tv")).await.unwrap()[0];
    assert_eq!((run.status, run.requests, run.pages), (RunStatus::Failed, 1, 0));
    assert_eq!(f.stored(Kind::Client).await, 0);
}

#[tokio::test]
async fn incremental_runs_read_only_what_changed() {
    let f = fixture(15).await;
    let connector = f.harness.connector();
    let shutdown = Shutdown::new();
    f.engine.sync(&connector, Kind::Client, SyncMode::Full, &shutdown).await.unwrap();
    // Establish the incremental watermark, then change a few records.
    f.engine.sync(&connector, Kind::Client, SyncMode::Incremental, &shutdown).await.unwrap();
    f.clock.advance(Duration::from_secs(60));
    let touched = f.harness.touch(Kind::Client, 3).await;
    let summary = f.engine.sync(&connector, Kind::Client, SyncMode::Incremental, &shutdown).await.unwrap();
    assert!(
        summary.records >= touched.len() as u64 && summary.records <= 10,
        "expected about {} changed records, read {}",
        touched.len(),
        summary.records
    );
    for id in &touched {
        let stored = f.store().record("tv", Kind::Client, id).await.unwrap().expect("touched record stored");
        assert!(
            stored.record.updated_at >= Some(f.clock.now() - chrono::Duration::seconds(1)),
            "{id} has the new version"
        );
    }
}

#[tokio::test]
async fn a_vendor_repeating_its_cursor_ends_the_run_with_a_clear_error_instead_of_looping() {
    let f = fixture(16).await;
    let looping = Arc::new(TripAfter {
        inner: f.harness.connector(),
        pages: AtomicUsize::new(100),
        trip: Trip::Repeat,
        shutdown: Shutdown::new(),
    });
    let connector: Arc<dyn Connector> = looping.clone();
    let err = f.engine.sync(&connector, Kind::Client, SyncMode::Full, &Shutdown::new()).await.expect_err("a loop");
    assert!(matches!(err, EngineError::Pagination { source: PaginationError::RepeatedCursor { .. }, .. }), "{err}");
    assert_eq!(100 - looping.pages.load(Ordering::SeqCst), 2, "stopped at the first repetition");
    let run = &f.store().runs(1, Some("tv")).await.unwrap()[0];
    assert_eq!((run.status, run.pages), (RunStatus::Failed, 1), "the first page is kept, the run closed");
    assert!(run.message.as_deref().unwrap_or("").contains("already gave"), "{run:?}");
    let cursor = f.store().cursor("tv", Kind::Client, SyncMode::Full).await.unwrap();
    assert_eq!(cursor, Cursor(serde_json::json!({ "nextPageToken": "same" })), "resumes where it stopped");
}

#[tokio::test]
async fn the_page_cap_stops_a_run_and_the_next_run_goes_on_from_there() {
    let f = fixture(17).await;
    let options = EngineOptions { max_pages_per_run: 2, ..EngineOptions::default() };
    let engine = f.engine.clone().with_options(options);
    let total = f.harness.count(Kind::Client) as u64;
    let err = engine.sync(&f.harness.connector(), Kind::Client, SyncMode::Full, &Shutdown::new()).await;
    let err = err.expect_err("capped");
    assert!(matches!(err, EngineError::Pagination { source: PaginationError::PageCap { cap: 2 }, .. }), "{err}");
    let capped = f.stored(Kind::Client).await;
    assert!(capped > 0 && capped < total, "{capped} of {total}");
    f.engine.sync(&f.harness.connector(), Kind::Client, SyncMode::Full, &Shutdown::new()).await.unwrap();
    assert_eq!(f.stored(Kind::Client).await, total);
}

#[tokio::test]
async fn a_kind_another_instance_holds_is_skipped_without_a_run() {
    let f = fixture(18).await;
    let other = f.store().acquire_lease("tv", Kind::Client, "other-instance", Duration::from_secs(60)).await.unwrap();
    assert!(other.is_ok());
    let err = f.engine.sync(&f.harness.connector(), Kind::Client, SyncMode::Full, &Shutdown::new()).await;
    let err = err.expect_err("held");
    assert!(matches!(err, EngineError::Leased { ref holder, .. } if holder == "other-instance"), "{err}");
    assert!(err.lost_lease(), "not the connector's failure");
    assert!(f.store().runs(10, Some("tv")).await.unwrap().is_empty(), "no run opened");
    let contacts = f.engine.sync(&f.harness.connector(), Kind::Contact, SyncMode::Full, &Shutdown::new()).await;
    assert_eq!(contacts.unwrap().status, RunStatus::Ok, "other kinds run");
    let leases = f.store().leases().await.unwrap();
    let contact = leases.iter().find(|l| l.kind == "contact").expect("a lease row");
    assert_eq!(contact.holder, None, "released after the run");
}

#[tokio::test]
async fn a_run_is_closed_even_when_it_fails_before_its_first_page() {
    let f = fixture(19).await;
    // A cursor that is not JSON: reading it fails right after the run opened.
    let url = format!("sqlite:{}", f._dir.path().join("zveno.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO cursors (connector, kind, mode, cursor, scan_id, scan_anonymous_errors, updated_at) \
         VALUES ('tv', 'client', 'full', '{not json', 0, 0, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let err = f.engine.sync(&f.harness.connector(), Kind::Client, SyncMode::Full, &Shutdown::new()).await;
    assert!(matches!(err, Err(EngineError::Store(_))), "{err:?}");
    let run = &f.store().runs(1, Some("tv")).await.unwrap()[0];
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    assert!(run.finished_at.is_some());
}

/// Every live client of `store` as (external id, stored data JSON).
async fn live_clients(store: &Store) -> std::collections::BTreeMap<String, String> {
    let records = store.list_records("tv", Kind::Client, None, 10_000).await.unwrap();
    records
        .into_iter()
        .filter(|r| !r.record.deleted)
        .map(|r| (r.record.external_id.clone(), serde_json::to_string(&r.record.data).unwrap()))
        .collect()
}

#[tokio::test]
async fn a_connector_pointed_at_another_portal_sets_the_old_one_aside_and_starts_fresh() {
    // Two simulators with different worlds but the same ids (1, 2, ...): the portal switch
    // of `[connectors.tv]` from the first to the second.
    let f = fixture(21).await;
    let second = TestVendorHarness::start(22, f.clock.clone()).await;
    let shutdown = Shutdown::new();
    let first_run = f.engine.sync(&f.harness.connector(), Kind::Client, SyncMode::Full, &shutdown).await.unwrap();
    assert_eq!(first_run.note, None, "the first source is adopted without a word");
    let old = live_clients(f.store()).await;
    assert_eq!(old.len(), f.harness.count(Kind::Client));

    f.clock.advance(Duration::from_secs(60));
    let switched = f.engine.sync(&second.connector(), Kind::Client, SyncMode::Full, &shutdown).await.unwrap();
    let note = switched.note.clone().expect("the run says the source changed");
    assert!(note.contains(&format!("{} records", old.len())), "{note}");
    assert_eq!(switched.tombstoned, 0, "the old portal's records are set aside, not deleted");
    let run = f.store().runs(1, None).await.unwrap();
    assert_eq!(run[0].message.as_deref(), Some(note.as_str()), "zveno runs shows it");

    // What the store holds now is exactly what a fresh store holds after syncing the second
    // portal alone: nothing of the first portal is mixed in.
    let reference = fixture(22).await;
    reference.engine.sync(&second.connector(), Kind::Client, SyncMode::Full, &shutdown).await.unwrap();
    let expected = live_clients(reference.store()).await;
    assert_eq!(live_clients(f.store()).await, expected);
    let (first_source, second_source) = (f.harness.url().replace("http://", ""), second.url().replace("http://", ""));
    let now = f.store().connector_source("tv").await.unwrap().map(|(s, _)| s);
    assert_eq!(now, Some(second_source), "the second portal is the source now");
    let aside = f.store().count_set_aside("tv", &first_source).await.unwrap();
    assert_eq!(aside as usize, old.len(), "the first portal's records are kept aside for the operator");

    // The second portal's own next full scan deletes none of them either.
    f.clock.advance(Duration::from_secs(60));
    let again = f.engine.sync(&second.connector(), Kind::Client, SyncMode::Full, &shutdown).await.unwrap();
    assert_eq!((again.tombstoned, again.note), (0, None));
    assert_eq!(live_clients(f.store()).await, expected);
}
