//! The engine's id census against the test vendor's simulator: a record the census does not
//! list and a lookup confirms gone is tombstoned in the same cycle; a token that lost
//! access to half the records tombstones nothing, says so, and `census approve` releases
//! it; the census runs on its own interval and its requests are counted apart.
//!
//! The test vendor lists its own deletes, so the census is driven through [`Blinkered`], a
//! double that lists ids with the real connector's full pages and looks them up the same
//! way, but can be told that some records are out of the token's sight — what a revoked
//! permission looks like from the outside (the vendor answers cleanly, without them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use zveno::engine::{Engine, Job, RunSummary, Shutdown};
use zveno::resolve::Resolver;
use zveno::settings::Schedule;
use zveno::store::{DeletedBy, Store};
use zveno::view::connectors::{statuses, Configured};
use zveno_connector::factory::VendorEntry;
use zveno_connector::http::HttpStats;
use zveno_connector::{
    BuildContext, Capabilities, CensusPage, CensusPlan, Clock, Connector, ConnectorError, Cursor, Env, Fetched, Kind,
    ManualClock, Page, SyncMode,
};
use zveno_sim::kit::{Kit, SimServer};
use zveno_sim::testvendor::{TestVendorFactory, TestVendorSim, TOKEN_ENV};
use zveno_sim::world::{World, WorldSpec};

/// The real test-vendor connector, with some records out of its token's sight.
#[derive(Debug)]
struct Blinkered {
    inner: Arc<dyn Connector>,
    hidden: Mutex<HashSet<String>>,
}

impl Blinkered {
    fn hide(&self, ids: impl IntoIterator<Item = String>) {
        self.hidden.lock().unwrap_or_else(PoisonError::into_inner).extend(ids);
    }

    fn hidden(&self, id: &str) -> bool {
        self.hidden.lock().unwrap_or_else(PoisonError::into_inner).contains(id)
    }

    /// The ids the vendor lists (its full pages), as this token sees them.
    async fn visible(&self, kind: Kind) -> Result<HashSet<String>, ConnectorError> {
        let mut ids = HashSet::new();
        let mut cursor = Cursor::default();
        loop {
            let page = self.inner.pull(kind, SyncMode::Full, &cursor).await?;
            ids.extend(
                page.records
                    .iter()
                    .filter(|r| !r.deleted && !self.hidden(&r.external_id))
                    .map(|r| r.external_id.clone()),
            );
            if !page.more {
                return Ok(ids);
            }
            cursor = page.cursor;
        }
    }
}

#[async_trait]
impl Connector for Blinkered {
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
        let mut page = self.inner.pull(kind, mode, cursor).await?;
        page.records.retain(|r| !self.hidden(&r.external_id));
        Ok(page)
    }
    fn census_plan(&self, _kind: Kind) -> Option<CensusPlan> {
        Some(CensusPlan { every: Duration::ZERO })
    }
    async fn census(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        let page = self.inner.pull(kind, SyncMode::Full, cursor).await?;
        let ids = page
            .records
            .iter()
            .filter(|r| !r.deleted && !self.hidden(&r.external_id))
            .map(|r| r.external_id.clone())
            .collect();
        Ok(CensusPage { ids, cursor: page.cursor, more: page.more })
    }
    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let visible = self.visible(kind).await?;
        let missing = ids.iter().filter(|id| !visible.contains(*id)).cloned().collect();
        Ok(Fetched { missing, ..Fetched::default() })
    }
    fn http_stats(&self) -> HttpStats {
        self.inner.http_stats()
    }
}

struct Fixture {
    connector: Arc<Blinkered>,
    clock: Arc<ManualClock>,
    engine: Engine,
    _server: SimServer,
    _sim: TestVendorSim,
    _dir: tempfile::TempDir,
}

async fn fixture(clients: usize) -> Fixture {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let world = World::generate(&WorldSpec::new(9, clients, &[zveno_sim::testvendor::SYSTEM]));
    let sim = TestVendorSim::new(&world.system(zveno_sim::testvendor::SYSTEM), Kit::new(clock.clone(), 9), "tv-census");
    let server = sim.serve().await.unwrap();
    let shared: Arc<dyn Clock> = clock.clone();
    let mut ctx = BuildContext::new("tv", shared);
    ctx.base_url = url::Url::parse(&server.url()).ok();
    ctx.env = Env::from_pairs([(TOKEN_ENV, "tv-census")]);
    let options = serde_json::json!({"token_env": TOKEN_ENV, "page_size": 100, "default_region": "RU"});
    let inner = VendorEntry::of::<TestVendorFactory>().build_checked(&options, ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("zveno.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let engine = Engine::new(store, clock.clone());
    let connector = Arc::new(Blinkered { inner, hidden: Mutex::new(HashSet::new()) });
    Fixture { connector, clock, engine, _server: server, _sim: sim, _dir: dir }
}

impl Fixture {
    fn job(&self, census_every: Option<Duration>) -> Job {
        let schedule =
            Schedule { interval: Duration::from_secs(300), full_every: Duration::from_secs(86_400), census_every };
        Job { connector: self.connector.clone(), kinds: vec![Kind::Client], schedule, fingerprint: "f".into() }
    }

    fn store(&self) -> &Store {
        self.engine.store()
    }

    /// One cycle of `job` five minutes later; its client run.
    async fn cycle(&self, job: &Job) -> RunSummary {
        self.clock.advance(Duration::from_secs(300));
        let mut results = self.engine.sync_job(job, false, &Shutdown::new()).await;
        results.pop().unwrap().unwrap()
    }

    async fn live(&self) -> u64 {
        self.store().count_records(Some("tv"), Some(Kind::Client), false).await.unwrap()
    }

    async fn stored_ids(&self, n: usize) -> Vec<String> {
        let all = self.store().list_records("tv", Kind::Client, None, 10_000).await.unwrap();
        all.into_iter().map(|r| r.record.external_id).take(n).collect()
    }
}

#[tokio::test]
async fn a_record_the_census_misses_and_a_lookup_confirms_gone_is_tombstoned_in_the_same_cycle() {
    let f = fixture(120).await;
    let job = f.job(None);
    let full = f.engine.sync_job(&job, true, &Shutdown::new()).await.pop().unwrap().unwrap();
    assert_eq!((full.mode, full.census_requests), (SyncMode::Full, 0), "a full scan is a census of its own");
    assert_eq!(f.live().await, 120);

    let gone = f.stored_ids(3).await;
    f.connector.hide(gone.clone());
    let run = f.cycle(&job).await;
    assert_eq!(run.mode, SyncMode::Incremental);
    assert_eq!((run.tombstoned, run.held), (3, 0));
    assert!(run.census_requests > 0, "the census's requests are counted apart: {run:?}");
    assert_eq!(f.live().await, 117);
    for id in &gone {
        let stored = f.store().record("tv", Kind::Client, id).await.unwrap().unwrap();
        assert_eq!(stored.deleted_by, Some(DeletedBy::Census), "{id}");
    }
    let row = f.store().runs(1, Some("tv")).await.unwrap().remove(0);
    assert_eq!((row.id, row.tombstoned, row.census_requests), (run.run_id, 3, run.census_requests));
    assert_eq!(row.requests, run.requests, "the pull's own requests exclude the census's");
}

#[tokio::test]
async fn a_token_that_lost_access_to_half_the_records_tombstones_nothing_until_approved() {
    let f = fixture(120).await;
    let job = f.job(None);
    f.engine.sync_job(&job, true, &Shutdown::new()).await;
    let half = f.stored_ids(60).await;
    f.connector.hide(half.clone());

    for _ in 0..2 {
        let run = f.cycle(&job).await;
        assert_eq!((run.tombstoned, run.held), (0, 60), "60 of 120 is more than max(5%, 50)");
        assert_eq!(f.live().await, 120, "nothing tombstoned");
    }
    let holds = f.store().census_holds().await.unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(
        (holds[0].connector.as_str(), holds[0].kind, holds[0].count, holds[0].live),
        ("tv", Kind::Client, 60, 120)
    );
    // The clear status: on the kind, and as the connector's reason, in every reader.
    let configured = [Configured { name: "tv".into(), vendor: "testvendor".into(), kinds: vec![Kind::Client] }];
    let shown = statuses(f.store(), &configured, f.clock.now()).await.unwrap();
    assert_eq!(shown[0].kinds[0].census_held.as_ref().map(|h| h.count), Some(60));
    let reason = shown[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("deletion of 60 of 120 client records held"), "{reason}");
    assert!(reason.contains("`zveno census approve tv client`"), "{reason}");

    let resolver = Resolver::new(f.store().clone(), Default::default(), Default::default());
    let approved = zveno::admin::approve_census(&resolver, "tv", "client").await.unwrap();
    assert_eq!(approved.tombstoned, 60);
    assert_eq!(f.live().await, 60);
    assert!(f.store().census_holds().await.unwrap().is_empty());
    let again = zveno::admin::approve_census(&resolver, "tv", "client").await;
    assert!(matches!(again, Err(zveno::admin::AdminError::NotFound(_))), "nothing is held any more");
    let bad = zveno::admin::approve_census(&resolver, "tv", "company").await;
    assert!(matches!(bad, Err(zveno::admin::AdminError::BadRequest(_))), "an unknown kind is refused");
}

#[tokio::test]
async fn the_census_runs_on_its_own_interval() {
    let f = fixture(40).await;
    let job = f.job(Some(Duration::from_secs(3600)));
    f.engine.sync_job(&job, true, &Shutdown::new()).await;
    let first = f.cycle(&job).await;
    assert!(first.census_requests > 0, "never run: due");
    f.connector.hide(f.stored_ids(1).await);
    let second = f.cycle(&job).await;
    assert_eq!((second.census_requests, second.tombstoned), (0, 0), "five minutes later: not due");
    for _ in 0..12 {
        f.clock.advance(Duration::from_secs(300));
    }
    let later = f.cycle(&job).await;
    assert_eq!(later.tombstoned, 1, "an hour on, the census ran again: {later:?}");
}
