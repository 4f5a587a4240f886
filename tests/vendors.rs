//! The real vendor connectors through the daemon's own path — config file, settings
//! validation, registry, engine, store — against their simulators on virtual time: a full
//! sync stores every record, and the next incremental run (started where the full scan
//! began) reads only what changed since.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use zveno::app::App;
use zveno::engine::Shutdown;
use zveno::settings;
use zveno_connector::{Clock, Env, Kind, ManualClock, SyncMode};
use zveno_sim::world::{System, World, WorldSpec};

const HUBSPOT_TOKEN: &str = "pat-na1-vendors-test";

/// Full sync, then 1% of each kind changes, then an incremental sync: every change is
/// read, and not much else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_and_bitrix24_sync_fully_then_incrementally_through_the_daemon() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let mut spec = WorldSpec::new(21, 300, &[System::HubSpot, System::Bitrix24]);
    spec.now = clock.now() - chrono::Duration::days(1);
    let world = World::generate(&spec);

    let hubspot = zveno_hubspot::HubSpotSim::start(
        &world.system(System::HubSpot),
        dyn_clock.clone(),
        21,
        zveno_hubspot::SimOptions::new(HUBSPOT_TOKEN),
    )
    .await
    .unwrap();
    let (bitrix_launched, bitrix) =
        zveno_bitrix24::simulator::launch_with_handle(&world.system(System::Bitrix24), dyn_clock.clone(), 21)
            .await
            .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let hubspot_options = hubspot.connector_options();
    let config = format!(
        "[store]\nurl = \"sqlite://{db}\"\n\n\
         [connectors.hs]\nvendor = \"hubspot\"\nbase_url = \"{hs_url}\"\ntoken_env = \"{hs_env}\"\n\
         portal_id = {portal}\ntax_id_property = \"{tax}\"\ndefault_region = \"RU\"\n\n\
         [connectors.b24]\nvendor = \"bitrix24\"\nbase_url = \"{b24_url}\"\nwebhook_url_env = \"{b24_env}\"\n",
        db = dir.path().join("zveno.db").display(),
        hs_url = hubspot.url(),
        hs_env = hubspot_options["token_env"].as_str().unwrap(),
        portal = hubspot_options["portal_id"],
        tax = hubspot_options["tax_id_property"].as_str().unwrap(),
        b24_url = bitrix_launched.server.url(),
        b24_env = bitrix_launched.options["webhook_url_env"].as_str().unwrap(),
    );
    let path = dir.path().join("zveno.toml");
    std::fs::write(&path, config).unwrap();
    let mut vars = bitrix_launched.env.clone();
    vars.push((hubspot_options["token_env"].as_str().unwrap().to_string(), HUBSPOT_TOKEN.to_string()));
    let settings = settings::load(Some(&path), &Env::from_pairs(vars)).unwrap_or_else(|e| panic!("{e}"));
    let app = App::build(&settings, dyn_clock.clone()).await.unwrap();
    let shutdown = Shutdown::new();

    for job in &app.jobs {
        for result in app.engine.sync_job(job, true, &shutdown).await {
            let summary = result.unwrap_or_else(|e| panic!("full sync failed: {e}"));
            assert_eq!(summary.throttled, 0, "{summary:?}");
        }
    }
    let count = |name: &str, kind: Kind| match name {
        "hs" => hubspot.count(kind) as u64,
        _ => bitrix.count(kind) as u64,
    };
    for job in &app.jobs {
        let name = job.connector.name();
        for &kind in &job.kinds {
            let stored = app.engine.store().count_records(Some(name), Some(kind), false).await.unwrap();
            assert_eq!(stored, count(name, kind), "{name}/{kind}: every record stored");
        }
    }

    // 1% of each kind changes a while later.
    clock.advance(Duration::from_secs(3600));
    let mut touched = Vec::new();
    for kind in Kind::ALL {
        let n = (hubspot.count(kind) / 100).max(1);
        touched.push(("hs", kind, hubspot.touch(kind, n)));
        let n = (bitrix.count(kind) / 100).max(1);
        touched.push(("b24", kind, bitrix.touch(kind, n)));
    }
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
