//! Several instances on one store: leases, fenced page commits, runs closed by whoever
//! takes a dead holder's lease, the store-wide resolution lock, a flow's apply lease
//! fencing its outbox, cursor resets, the refusal of a schema newer than the binary, and
//! Pipedrive's token ledger shared through the store. Every test runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/backends.rs"]
mod backends;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/postgres.rs"]
mod postgres;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use zveno::store::{Backend, Fence, Lease, OutboxRow, RunStatus, Store, StoreError, StoreErrorKind};
use zveno_connector::{Client, Clock, Cursor, Kind, ManualClock, Page, RecordData, SourceRecord, SyncMode};

use backends::on_both;

const CRM: &str = "crm";
const TTL: Duration = Duration::from_secs(30);

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
}

fn client(id: &str) -> SourceRecord {
    let data = Client { name: format!("Client {id}"), ..Client::default() };
    SourceRecord::new(CRM, id, RecordData::Client(data), json!({ "id": id })).with_times(Some(at(0)), Some(at(1)))
}

fn page(ids: &[&str], cursor: serde_json::Value, more: bool) -> Page {
    Page { records: ids.iter().map(|id| client(id)).collect(), errors: Vec::new(), cursor: Cursor(cursor), more }
}

/// The store on a clock the test moves, so leases expire without waiting.
fn pinned(store: Store) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at(100)));
    (store.with_clock(clock.clone()), clock)
}

async fn lease(store: &Store, holder: &str) -> Lease {
    store
        .acquire_lease(CRM, Kind::Client, holder, TTL)
        .await
        .unwrap()
        .unwrap_or_else(|held| panic!("{}: {holder} could not take the lease held by {held:?}", store.backend()))
}

async fn commit(store: &Store, lease: &Lease, from: serde_json::Value, page: &Page) -> Result<u64, StoreError> {
    let from = Cursor(from);
    let fence = Fence { lease, from: &from };
    store.commit_fenced(CRM, Kind::Client, SyncMode::Full, page, &fence).await.map(|o| o.tombstoned)
}

async fn live(store: &Store) -> u64 {
    store.count_records(Some(CRM), Some(Kind::Client), false).await.unwrap()
}

async fn rejected(store: &Store) -> u64 {
    store.leases().await.unwrap().iter().filter(|l| l.connector == CRM).map(|l| l.rejected).sum()
}

#[tokio::test]
async fn one_holder_at_a_time_and_the_next_takes_over_at_expiry_with_a_new_token() {
    on_both(|store, _| async move {
        let (store, clock) = pinned(store);
        let b = store.backend();
        let first = lease(&store, "a").await;
        let held = store.acquire_lease(CRM, Kind::Client, "b", TTL).await.unwrap().expect_err("held by a");
        assert_eq!((held.holder.as_str(), held.expires_at), ("a", at(130)), "{b}");
        assert!(store.acquire_lease(CRM, Kind::Task, "b", TTL).await.unwrap().is_ok(), "{b}: other kinds are free");
        clock.advance(Duration::from_secs(20));
        assert!(store.renew_lease(&first).await.unwrap(), "{b}: the holder renews");
        clock.advance(Duration::from_secs(20));
        assert!(store.acquire_lease(CRM, Kind::Client, "b", TTL).await.unwrap().is_err(), "{b}: renewed, still held");
        clock.advance(Duration::from_secs(31));
        let second = lease(&store, "b").await;
        assert_eq!(second.token, first.token + 1, "{b}");
        assert!(!store.renew_lease(&first).await.unwrap(), "{b}: the old holder learns it lost the lease");
        store.release_lease(&second).await.unwrap();
        assert_eq!(lease(&store, "c").await.token, second.token + 1, "{b}: released, taken at once");
    })
    .await;
}

/// The race of the issue: a holder stalls mid-scan, its lease expires, another instance
/// finishes the scan, and the stalled one wakes with a page from a cursor that is no longer
/// current. Unfenced, that page would open a new scan that saw only part of the records,
/// and two such scans tombstone live records; fenced, it is refused and counted.
#[tokio::test]
async fn a_stale_holder_page_is_refused_and_no_live_record_is_tombstoned() {
    on_both(|store, _| async move {
        let (store, clock) = pinned(store);
        let b = store.backend();
        let all = ["r1", "r2", "r3", "r4"];
        for _ in 0..3 {
            let slow = lease(&store, "slow").await;
            commit(&store, &slow, json!(null), &page(&all[..2], json!({ "p": 2 }), true)).await.unwrap();
            // The slow instance stalls past its lease; another takes over from the
            // committed cursor and completes the scan.
            clock.advance(Duration::from_secs(31));
            let fast = lease(&store, "fast").await;
            assert_eq!(store.cursor(CRM, Kind::Client, SyncMode::Full).await.unwrap(), Cursor(json!({ "p": 2 })));
            let tombstoned = commit(&store, &fast, json!({ "p": 2 }), &page(&all[2..], json!(null), false)).await;
            assert_eq!(tombstoned.unwrap(), 0, "{b}");
            // The slow one wakes up with its second page, then tries its first again.
            let late = commit(&store, &slow, json!({ "p": 2 }), &page(&all[2..], json!(null), false)).await;
            assert_eq!(late.map_err(|e| e.kind()), Err(StoreErrorKind::Fenced), "{b}");
            let again = commit(&store, &slow, json!(null), &page(&all[..2], json!({ "p": 2 }), true)).await;
            assert!(again.is_err(), "{b}");
            store.release_lease(&fast).await.unwrap();
        }
        assert_eq!(live(&store).await, 4, "{b}: every record is live");
        assert_eq!(rejected(&store).await, 6, "{b}: every stale page was counted");
        assert_eq!(store.cursor(CRM, Kind::Client, SyncMode::Full).await.unwrap(), Cursor::default(), "{b}");
    })
    .await;
}

#[tokio::test]
async fn a_page_pulled_from_a_cursor_that_moved_is_refused_even_under_the_lease() {
    on_both(|store, _| async move {
        let b = store.backend();
        let holder = lease(&store, "a").await;
        commit(&store, &holder, json!(null), &page(&["r1"], json!({ "p": 2 }), true)).await.unwrap();
        // `zveno cursor reset crm client` from a shell while the run goes on.
        assert_eq!(store.reset_cursors(CRM, Some(Kind::Client)).await.unwrap(), 1, "{b}");
        let err = commit(&store, &holder, json!({ "p": 2 }), &page(&["r2"], json!({ "p": 3 }), true)).await;
        let err = err.expect_err("the cursor moved");
        assert_eq!(err.kind(), StoreErrorKind::Fenced, "{b}");
        assert!(err.to_string().contains("the cursor moved"), "{b}: {err}");
        assert!(store.record(CRM, Kind::Client, "r2").await.unwrap().is_none(), "{b}: nothing written");
        assert_eq!(store.cursor(CRM, Kind::Client, SyncMode::Full).await.unwrap(), Cursor::default(), "{b}");
        assert_eq!(rejected(&store).await, 1, "{b}");
        assert_eq!(store.reset_cursors("nobody", None).await.unwrap(), 0, "{b}");
    })
    .await;
}

#[tokio::test]
async fn runs_a_dead_holder_left_running_are_closed_as_interrupted_by_the_next_holder() {
    on_both(|store, _| async move {
        let (store, clock) = pinned(store);
        let b = store.backend();
        let _dead = lease(&store, "dead").await;
        let run = store.start_run(CRM, Kind::Client, SyncMode::Full, clock.now()).await.unwrap();
        let other_kind = store.start_run(CRM, Kind::Task, SyncMode::Full, clock.now()).await.unwrap();
        clock.advance(Duration::from_secs(31));
        let _next = lease(&store, "next").await;
        let runs = store.runs(10, Some(CRM)).await.unwrap();
        let status = |id: i64| runs.iter().find(|r| r.id == id).map(|r| r.status);
        assert_eq!(status(run), Some(RunStatus::Interrupted), "{b}");
        assert_eq!(status(other_kind), Some(RunStatus::Running), "{b}: another kind's lease is not ours");
        let message = runs.iter().find(|r| r.id == run).and_then(|r| r.message.clone()).unwrap_or_default();
        assert!(message.contains("lease expired"), "{b}: {message}");
    })
    .await;
}

#[tokio::test]
async fn the_resolution_lock_has_one_holder_across_instances() {
    on_both(|store, _| async move {
        let (store, clock) = pinned(store);
        let b = store.backend();
        let daemon = store.acquire_lock("daemon", TTL).await.unwrap().expect("free");
        let shell = store.acquire_lock("shell", TTL).await.unwrap();
        assert_eq!(shell.map_err(|h| h.holder), Err("daemon".to_string()), "{b}");
        store.release_lease(&daemon).await.unwrap();
        let shell = store.acquire_lock("shell", TTL).await.unwrap().expect("released");
        assert_eq!(shell.token, daemon.token + 1, "{b}");
        clock.advance(Duration::from_secs(31));
        assert!(store.acquire_lock("daemon", TTL).await.unwrap().is_ok(), "{b}: a dead holder's lock expires");
    })
    .await;
}

fn outbox_op(flow: &str, op_id: &str) -> OutboxRow {
    OutboxRow {
        op_id: op_id.into(),
        flow: flow.into(),
        group: "cl-1".into(),
        connector: "portal".into(),
        kind: Kind::Client,
        action: "create".into(),
        external_id: None,
        op: json!({"changes": []}),
        state: "sending".into(),
        attempts: 0,
        error: None,
        updated_ms: 0,
    }
}

#[tokio::test]
async fn a_flow_has_one_applier_and_a_stale_one_cannot_put_an_op_in_the_outbox() {
    on_both(|store, _| async move {
        let (store, clock) = pinned(store);
        let b = store.backend();
        let daemon = store.acquire_flow_lease("f", "daemon", TTL).await.unwrap().expect("free");
        let shell = store.acquire_flow_lease("f", "shell", TTL).await.unwrap();
        assert_eq!(shell.map_err(|h| h.holder), Err("daemon".to_string()), "{b}: the holder is named");
        assert!(store.acquire_flow_lease("g", "shell", TTL).await.unwrap().is_ok(), "{b}: another flow is free");
        assert!(store.outbox_begin(&outbox_op("f", "op-1"), &daemon).await.unwrap(), "{b}");

        // The daemon stalls past the lease's time to live; the shell takes the flow over.
        clock.advance(Duration::from_secs(31));
        let shell = store.acquire_flow_lease("f", "shell", TTL).await.unwrap().expect("expired");
        assert_eq!(shell.token, daemon.token + 1, "{b}");
        let stale = store.outbox_begin(&outbox_op("f", "op-2"), &daemon).await.expect_err("stale holder");
        assert_eq!(stale.kind(), StoreErrorKind::Fenced, "{b}: {stale}");
        assert!(stale.to_string().contains("taken over"), "{b}: {stale}");
        let ops: Vec<String> = store.outbox("f").await.unwrap().into_iter().map(|r| r.op_id).collect();
        assert_eq!(ops, ["op-1"], "{b}: the stale holder's op never entered the outbox");
        assert!(store.outbox_begin(&outbox_op("f", "op-2"), &shell).await.unwrap(), "{b}");
        let other = store.acquire_flow_lease("g2", "x", TTL).await.unwrap().unwrap();
        let wrong = store.outbox_begin(&outbox_op("f", "op-3"), &other).await.expect_err("another flow's lease");
        assert_eq!(wrong.kind(), StoreErrorKind::Invalid, "{b}: {wrong}");

        store.release_lease(&shell).await.unwrap();
        assert!(store.acquire_flow_lease("f", "daemon", TTL).await.unwrap().is_ok(), "{b}: released at once");
    })
    .await;
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused_with_a_clear_message() {
    on_both(|store, url| async move {
        let b = store.backend();
        let checksum = match b {
            Backend::Sqlite => "X'00'",
            Backend::Postgres => "'\\x00'::bytea",
        };
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&store_url(&url)).await.unwrap();
        sqlx::query(&format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', TRUE, {checksum}, 0)"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let err = store.migrate().await.expect_err("newer schema");
        assert_eq!(err.kind(), StoreErrorKind::SchemaTooNew, "{b}: {err}");
        let text = err.to_string();
        assert!(text.contains("version 999") && text.contains("Several instances"), "{b}: {text}");
    })
    .await;
}

/// The URL sqlx connects to directly (the store adds `mode=rwc` to SQLite files itself).
fn store_url(url: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) => format!("sqlite:{path}"),
        None => url.to_string(),
    }
}

#[tokio::test]
async fn tombstones_past_their_retention_keep_no_personal_data() {
    on_both(|store, _| async move {
        let (store, clock) = pinned(store);
        let b = store.backend();
        let email = zveno_connector::Email::parse("anna@example.com").unwrap();
        let data = Client { name: "Anna".into(), emails: vec![email], ..Client::default() };
        let raw = json!({ "id": "p1", "email": "anna@example.com" });
        let person = SourceRecord::new(CRM, "p1", RecordData::Client(data), raw).with_times(None, Some(at(1)));
        store
            .commit_page(
                CRM,
                Kind::Client,
                SyncMode::Incremental,
                &Page { records: vec![person, client("p2")], ..Page::default() },
            )
            .await
            .unwrap();
        let gone = SourceRecord::tombstone(CRM, Kind::Client, "p1", Some(at(5)));
        store
            .commit_page(CRM, Kind::Client, SyncMode::Incremental, &Page { records: vec![gone], ..Page::default() })
            .await
            .unwrap();
        assert_eq!(store.purge_tombstones(clock.now()).await.unwrap(), 0, "{b}: not yet past retention");
        clock.advance(Duration::from_secs(31 * 86_400));
        let cutoff = clock.now() - chrono::TimeDelta::days(30);
        assert_eq!(store.purge_tombstones(cutoff).await.unwrap(), 1, "{b}");
        let purged = store.record(CRM, Kind::Client, "p1").await.unwrap().expect("the tombstone stays");
        assert!(purged.record.deleted && purged.record.data.is_none(), "{b}: {purged:?}");
        assert!(!format!("{purged:?}").contains("anna@example.com"), "{b}");
        let kept = store.record(CRM, Kind::Client, "p2").await.unwrap().expect("live");
        assert!(kept.record.data.is_some(), "{b}: live records keep their data");
        assert_eq!(store.purge_tombstones(cutoff).await.unwrap(), 0, "{b}: nothing left to purge");
    })
    .await;
}

#[tokio::test]
async fn a_second_instance_counts_the_pipedrive_tokens_the_first_spent_today() {
    use zveno_connector::ErrorKind;
    use zveno_sim::world::{World, WorldSpec};

    on_both(|store, url| async move {
        let b = store.backend();
        let clock = Arc::new(ManualClock::new(at(0)));
        let mut spec = WorldSpec::new(7, 20, &[zveno_pipedrive::simulator::SYSTEM]);
        spec.now = at(0) - chrono::Duration::days(1);
        let world = World::generate(&spec);
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let sim = zveno_pipedrive::simulator::launch(world.system(zveno_pipedrive::simulator::SYSTEM), dyn_clock, 7)
            .await
            .unwrap();
        // A company budget of 60 tokens, none kept in reserve: `/v1/users` (20) and four
        // list pages (10 each).
        let mut options = sim.options.clone();
        options["daily_token_budget"] = json!(60);
        options["daily_reserve_percent"] = json!(0);
        let connectors =
            toml::Table::from_iter([("pd".to_string(), daemon::connector("pipedrive", &sim.server.url(), options))]);
        let instance = || async {
            let dir = tempfile::tempdir().unwrap();
            let app = daemon::build(&dir, Some(&url), connectors.clone(), sim.env.clone(), clock.clone()).await;
            (app.jobs[0].connector.clone(), dir)
        };

        let (first, _dir1) = instance().await;
        let mut pages = 0;
        let stopped = loop {
            match first.pull(Kind::Client, SyncMode::Full, &Cursor::default()).await {
                Ok(_) => pages += 1,
                Err(e) => break e,
            }
            assert!(pages < 20, "{b}: the budget never stopped the first instance");
        };
        assert!(matches!(stopped.kind(), ErrorKind::RateLimited { .. }), "{b}: {stopped}");
        assert_eq!(pages, 4, "{b}: users (20) and four pages (40) use the 60 tokens");

        // Another process on the same store (or the first one restarted): it does not start
        // the day at zero.
        let (second, _dir2) = instance().await;
        let refused = second.pull(Kind::Client, SyncMode::Full, &Cursor::default()).await;
        let refused = refused.err().unwrap_or_else(|| panic!("{b}: the second instance started the day at zero"));
        assert!(matches!(refused.kind(), ErrorKind::RateLimited { .. }), "{b}: {refused}");
        assert!(refused.message().contains("spent 60"), "{b}: {refused}");
    })
    .await;
}
