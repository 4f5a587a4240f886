//! The daemon's scheduler acting on `ErrorKind`, through its public interface: `run_daemon`
//! with the test vendor's simulator on virtual time (a `ManualClock`, so hours of schedule
//! pass in milliseconds), and the `zveno` binary for `connector resume`.
//!
//! - a 401 parks the connector after one request; the next scheduled runs do not call the
//!   vendor; `zveno connector resume` brings it back and it syncs;
//! - a connector that panics is parked with the panic's message and restarted with back-off,
//!   while the other connectors go on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno::engine::{run_daemon, Engine, Job, Shutdown};
use zveno::settings::Schedule;
use zveno::store::{ConnectorStatus, RunStatus, Store};
use zveno_connector::http::HttpStats;
use zveno_connector::{Capabilities, Clock, Connector, ConnectorError, Cursor, Kind, ManualClock, Page, SyncMode};
use zveno_sim::conformance::SimulatedVendor;
use zveno_sim::kit::FaultConfig;
use zveno_sim::testvendor::TestVendorHarness;

const INTERVAL: Duration = Duration::from_secs(300);

struct Fixture {
    harness: TestVendorHarness,
    clock: Arc<ManualClock>,
    engine: Engine,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn start(seed: u64) -> Fixture {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let harness = TestVendorHarness::start(seed, clock.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&Self::url_in(&dir)).await.unwrap().with_clock(clock.clone());
        store.migrate().await.unwrap();
        let engine = Engine::new(store, clock.clone());
        Fixture { harness, clock, engine, dir }
    }

    fn url_in(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}", dir.path().join("zveno.db").display())
    }

    fn store(&self) -> &Store {
        self.engine.store()
    }

    fn job(connector: Arc<dyn Connector>) -> Job {
        let schedule = Schedule { interval: INTERVAL, full_every: Duration::from_secs(86_400), census_every: None };
        Job { connector, kinds: Kind::ALL.to_vec(), schedule, fingerprint: "fingerprint-1".into() }
    }

    fn requests(&self) -> u64 {
        self.harness.kit().log().total().requests
    }

    async fn stored(&self, connector: &str) -> u64 {
        self.store().count_records(Some(connector), None, false).await.unwrap()
    }

    fn everything(&self) -> u64 {
        Kind::ALL.iter().map(|k| self.harness.count(*k) as u64).sum()
    }
}

/// Polls `check` (every 5 ms of real time, at most 60 s) until it holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..12_000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_parks_the_connector_until_it_is_resumed() {
    let f = Fixture::start(41).await;
    f.harness.kit().faults().set(FaultConfig { unauthorized: 1.0, ..FaultConfig::NONE });
    let shutdown = Shutdown::new();
    let daemon =
        tokio::spawn(run_daemon(f.engine.clone(), vec![Fixture::job(f.harness.connector())], shutdown.clone()));

    let store = f.store().clone();
    eventually("the connector is parked", || {
        let store = store.clone();
        async move { store.connector_state("tv").await.unwrap().is_some_and(|s| s.status == ConnectorStatus::Parked) }
    })
    .await;
    assert_eq!(f.requests(), 1, "one request, no retry, and the job's other kinds are not tried");
    let state = store.connector_state("tv").await.unwrap().unwrap();
    assert!(state.reason.as_deref().unwrap_or("").contains("401"), "{state:?}");
    assert!(state.needs_attention(), "{state:?}");

    // Twenty scheduled intervals go by: nothing calls the vendor, no run is opened.
    let parked_at = f.clock.now();
    let clock = f.clock.clone();
    eventually("twenty intervals pass", || {
        let clock = clock.clone();
        async move { clock.now() - parked_at > chrono::TimeDelta::from_std(INTERVAL * 20).unwrap() }
    })
    .await;
    assert_eq!(f.requests(), 1, "a parked connector does not call the vendor");
    assert_eq!(store.runs(10, Some("tv")).await.unwrap().len(), 1);

    // The token is fixed vendor-side; the operator resumes the connector from a shell.
    f.harness.kit().faults().set(FaultConfig::NONE);
    let config = f.dir.path().join("zveno.toml");
    let text = format!("[store]\nurl = \"{}\"\n\n[connectors.tv]\nvendor = \"testvendor\"\n", Fixture::url_in(&f.dir));
    std::fs::write(&config, text).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zveno"))
        .env_remove("ZVENO_CONFIG")
        .arg("--config")
        .arg(&config)
        .args(["connector", "resume", "tv"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("tv resumed") && stdout.contains("401"), "{stdout}");

    let everything = f.everything();
    eventually("the resumed connector syncs every record", || {
        let (f, store) = (&f, store.clone());
        async move {
            f.stored("tv").await == everything
                && store.connector_state("tv").await.unwrap().is_some_and(|s| s.status == ConnectorStatus::Active)
        }
    })
    .await;
    shutdown.request();
    daemon.await.unwrap();
}

/// A real connector that panics on every pull while `panicking` is set, the way a bug on
/// one odd record would.
#[derive(Debug)]
struct Panicky {
    inner: Arc<dyn Connector>,
    panicking: Arc<AtomicBool>,
}

#[async_trait]
impl Connector for Panicky {
    fn name(&self) -> &str {
        "boom"
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
        if self.panicking.load(Ordering::SeqCst) {
            panic!("record 42 has a field nobody expected");
        }
        let mut page = self.inner.pull(kind, mode, cursor).await?;
        for record in &mut page.records {
            record.connector = "boom".into();
        }
        Ok(page)
    }
    fn http_stats(&self) -> HttpStats {
        self.inner.http_stats()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_connector_is_parked_and_restarted_while_the_others_go_on() {
    let f = Fixture::start(42).await;
    let panicking = Arc::new(AtomicBool::new(true));
    let boom: Arc<dyn Connector> = Arc::new(Panicky { inner: f.harness.connector(), panicking: panicking.clone() });
    let jobs = vec![Fixture::job(boom), Fixture::job(f.harness.connector())];
    let shutdown = Shutdown::new();
    let daemon = tokio::spawn(run_daemon(f.engine.clone(), jobs, shutdown.clone()));

    // The healthy connector syncs everything while the other one keeps panicking.
    let everything = f.everything();
    let store = f.store().clone();
    eventually("the healthy connector syncs every record", || async { f.stored("tv").await == everything }).await;
    eventually("the panicking connector has failed three runs", || {
        let store = store.clone();
        async move {
            let runs = store.runs(50, Some("boom")).await.unwrap();
            runs.iter().filter(|r| r.status == RunStatus::Failed).count() >= 3
        }
    })
    .await;
    let state = store.connector_state("boom").await.unwrap().unwrap();
    assert_eq!(state.status, ConnectorStatus::Parked, "{state:?}");
    assert!(state.reason.as_deref().unwrap_or("").contains("record 42 has a field nobody expected"), "{state:?}");
    assert!(state.next_run_at.is_some() && !state.needs_attention(), "a panic restarts by itself: {state:?}");
    let mut runs = store.runs(50, Some("boom")).await.unwrap();
    runs.reverse();
    for run in &runs[..3] {
        assert_eq!(run.status, RunStatus::Failed, "the run is closed, not left running: {run:?}");
        assert!(run.message.as_deref().unwrap_or("").contains("panicked"), "{run:?}");
    }
    // Restarts back off: interval × 1, × 2 (± 10% jitter).
    let gap = |a: usize, b: usize| (runs[b].started_at - runs[a].started_at).to_std().unwrap();
    assert!(gap(0, 1) >= INTERVAL.mul_f64(0.9), "first restart after {:?}", gap(0, 1));
    assert!(gap(1, 2) >= INTERVAL.mul_f64(1.8), "second restart after {:?}", gap(1, 2));
    assert_eq!(f.stored("boom").await, 0);

    // The bug is fixed (here: the record is no longer odd); the next restart syncs.
    panicking.store(false, Ordering::SeqCst);
    eventually("the restarted connector syncs and is active", || {
        let (f, store) = (&f, store.clone());
        async move {
            f.stored("boom").await == everything
                && store.connector_state("boom").await.unwrap().is_some_and(|s| s.status == ConnectorStatus::Active)
        }
    })
    .await;
    shutdown.request();
    daemon.await.unwrap();
}
