//! The real vendor connectors through the daemon's own path — config file, settings
//! validation, registry, engine, store — against their simulators on virtual time: a full
//! sync stores every record, the next incremental run (started where the full scan began)
//! reads only what changed since, and one sync completes on a bad day (5xx answers, dropped
//! connections, bodies cut short).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/daemon.rs"]
mod daemon;

use std::sync::Arc;
use std::time::Duration;

use daemon::connector;
use zveno::app::App;
use zveno::engine::Shutdown;
use zveno_bitrix24::simulator::Bitrix24Sim;
use zveno_connector::{Clock, Kind, ManualClock, SyncMode};
use zveno_hubspot::HubSpotSim;
use zveno_jira::JiraSim;
use zveno_sim::kit::{FaultConfig, Kit, LaunchedSim};
use zveno_sim::world::{World, WorldSpec};

const HUBSPOT_TOKEN: &str = "pat-na1-vendors-test";

/// The three simulators on one virtual clock, and the daemon configured against them.
struct Vendors {
    clock: Arc<ManualClock>,
    hubspot: HubSpotSim,
    bitrix: Bitrix24Sim,
    _bitrix_server: LaunchedSim,
    jira: JiraSim,
    app: App,
    _dir: tempfile::TempDir,
}

impl Vendors {
    /// `bitrix_options` are merged over the Bitrix24 simulator's connector options.
    async fn start(seed: u64, clients: usize, bitrix_options: serde_json::Value) -> Vendors {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let mut spec = WorldSpec::new(
            seed,
            clients,
            &[zveno_hubspot::simulator::SYSTEM, zveno_bitrix24::simulator::SYSTEM, zveno_jira::simulator::SYSTEM],
        );
        spec.now = clock.now() - chrono::Duration::days(1);
        let world = World::generate(&spec);

        let hubspot = HubSpotSim::start(
            &world.system(zveno_hubspot::simulator::SYSTEM),
            dyn_clock.clone(),
            seed,
            zveno_hubspot::SimOptions::new(HUBSPOT_TOKEN),
        )
        .await
        .unwrap();
        let (bitrix_launched, bitrix) = zveno_bitrix24::simulator::launch_with_handle(
            &world.system(zveno_bitrix24::simulator::SYSTEM),
            dyn_clock.clone(),
            seed,
        )
        .await
        .unwrap();
        let jira = JiraSim::start(
            world.system(zveno_jira::simulator::SYSTEM),
            dyn_clock.clone(),
            seed,
            zveno_jira::SimOptions::default(),
        )
        .await
        .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let mut bitrix_connector = bitrix_launched.options.clone();
        if let (Some(options), Some(extra)) = (bitrix_connector.as_object_mut(), bitrix_options.as_object()) {
            options.extend(extra.clone());
        }
        let mut connectors = toml::Table::new();
        connectors.insert("hs".into(), connector("hubspot", &hubspot.url(), hubspot.connector_options()));
        connectors.insert("b24".into(), connector("bitrix24", &bitrix_launched.server.url(), bitrix_connector));
        connectors.insert("jira".into(), connector("jira", &jira.url(), jira.connector_options()));
        let mut vars = bitrix_launched.env.clone();
        vars.push((zveno_hubspot::simulator::TOKEN_ENV.to_string(), HUBSPOT_TOKEN.to_string()));
        vars.push((zveno_jira::simulator::TOKEN_ENV.to_string(), zveno_jira::SimOptions::default().token));
        let app = daemon::build(&dir, connectors, vars, dyn_clock).await;
        Vendors { clock, hubspot, bitrix, _bitrix_server: bitrix_launched, jira, app, _dir: dir }
    }

    /// Records of `kind` the simulator behind connector `name` holds.
    fn count(&self, name: &str, kind: Kind) -> u64 {
        (match name {
            "hs" => self.hubspot.count(kind),
            "jira" => self.jira.count(),
            _ => self.bitrix.count(kind),
        }) as u64
    }

    fn kits(&self) -> [&Kit; 3] {
        [self.hubspot.kit(), self.bitrix.kit(), self.jira.kit()]
    }

    /// Asserts that the store holds every record of every connector's kinds.
    async fn assert_everything_stored(&self) {
        for job in &self.app.jobs {
            let name = job.connector.name();
            for &kind in &job.kinds {
                let stored = self.app.engine.store().count_records(Some(name), Some(kind), false).await.unwrap();
                assert_eq!(stored, self.count(name, kind), "{name}/{kind}: every record stored");
            }
        }
    }
}

/// Full sync, then 1% of each kind changes, then an incremental sync: every change is
/// read, and not much else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendor_syncs_fully_then_incrementally_through_the_daemon() {
    let v = Vendors::start(21, 300, serde_json::json!({})).await;
    let (clock, hubspot, bitrix, jira, app) = (&v.clock, &v.hubspot, &v.bitrix, &v.jira, &v.app);
    let shutdown = Shutdown::new();

    for job in &app.jobs {
        for result in app.engine.sync_job(job, true, &shutdown).await {
            let summary = result.unwrap_or_else(|e| panic!("full sync failed: {e}"));
            assert_eq!(summary.throttled, 0, "{summary:?}");
        }
    }
    v.assert_everything_stored().await;

    // 1% of each kind changes a while later.
    clock.advance(Duration::from_secs(3600));
    let mut touched = Vec::new();
    for kind in Kind::ALL {
        let n = (hubspot.count(kind) / 100).max(1);
        touched.push(("hs", kind, hubspot.touch(kind, n)));
        let n = (bitrix.count(kind) / 100).max(1);
        touched.push(("b24", kind, bitrix.touch(kind, n)));
    }
    touched.push(("jira", Kind::Task, jira.touch((jira.count() / 100).max(1))));
    // Past HubSpot's search index lag.
    clock.advance(Duration::from_secs(30));

    for job in &app.jobs {
        for &kind in &job.kinds {
            let name = job.connector.name();
            let summary = app.engine.sync(&job.connector, kind, SyncMode::Incremental, &shutdown).await.unwrap();
            let ids = &touched.iter().find(|(n, k, _)| *n == name && *k == kind).unwrap().2;
            assert!(
                summary.records >= ids.len() as u64 && summary.records <= ids.len() as u64 * 3 + 5,
                "{name}/{kind}: changed {}, incremental read {}",
                ids.len(),
                summary.records
            );
            for id in ids {
                let stored = app.engine.store().record(name, kind, id).await.unwrap().expect("stored");
                let updated = stored.record.updated_at.expect("vendor timestamp");
                assert!(
                    updated > clock.now() - chrono::Duration::seconds(120),
                    "{name}/{kind}/{id} has the new version"
                );
            }
        }
    }
}

/// The bad day measured from outside: 8% 5xx, 2% connections dropped mid-answer, one read in
/// 25 cut short, on all three vendors at once. Every sync completes with every record; two
/// rounds of full syncs (Bitrix24 in pages of 50) make a couple of hundred requests, so every
/// kind of fault hits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sync_completes_every_record_on_a_bad_day() {
    let v = Vendors::start(22, 600, serde_json::json!({"calls_per_batch": 1})).await;
    for kit in v.kits() {
        kit.faults().set(FaultConfig::BAD_DAY);
    }
    let shutdown = Shutdown::new();
    for _ in 0..2 {
        for job in &v.app.jobs {
            for result in v.app.engine.sync_job(job, true, &shutdown).await {
                result.unwrap_or_else(|e| panic!("a run failed on a bad day: {e}"));
            }
        }
        v.assert_everything_stored().await;
    }
    let requests: u64 = v.kits().iter().map(|k| k.log().total().requests).sum();
    let failed: u64 = v.kits().iter().map(|k| k.log().total().errors).sum();
    let retried: u64 = v.app.jobs.iter().map(|j| j.connector.http_stats().retried).sum();
    eprintln!("bad day: {requests} requests, {failed} failed or dropped, {retried} retried");
    assert!(requests >= 150 && failed >= 10, "{requests} requests, {failed} failures injected");
    assert!(retried > failed, "cut-short bodies are retried too: {retried} retries, {failed} failures");
}
