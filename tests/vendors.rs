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

/// A `[connectors.<name>]` table: vendor, base URL and the simulator's own options.
fn connector(vendor: &str, base_url: &str, options: serde_json::Value) -> toml::Value {
    let mut table: toml::Table = toml::Value::try_from(options).unwrap().try_into().unwrap();
    table.insert("vendor".into(), vendor.into());
    table.insert("base_url".into(), base_url.into());
    toml::Value::Table(table)
}

/// Full sync, then 1% of each kind changes, then an incremental sync: every change is
/// read, and not much else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendor_syncs_fully_then_incrementally_through_the_daemon() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let mut spec = WorldSpec::new(21, 300, &[System::HubSpot, System::Bitrix24, System::Jira]);
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

    let jira = zveno_jira::JiraSim::start(
        world.system(System::Jira),
        dyn_clock.clone(),
        21,
        zveno_jira::SimOptions::default(),
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut connectors = toml::Table::new();
    connectors.insert("hs".into(), connector("hubspot", &hubspot.url(), hubspot.connector_options()));
    connectors
        .insert("b24".into(), connector("bitrix24", &bitrix_launched.server.url(), bitrix_launched.options.clone()));
    connectors.insert("jira".into(), connector("jira", &jira.url(), jira.connector_options()));
    let config = format!(
        "[store]\nurl = \"sqlite://{}\"\n\n{}",
        dir.path().join("zveno.db").display(),
        toml::to_string(&toml::Table::from_iter([("connectors".to_string(), toml::Value::Table(connectors))])).unwrap()
    );
    let path = dir.path().join("zveno.toml");
    std::fs::write(&path, config).unwrap();
    let mut vars = bitrix_launched.env.clone();
    vars.push((zveno_hubspot::simulator::TOKEN_ENV.to_string(), HUBSPOT_TOKEN.to_string()));
    vars.push((zveno_jira::simulator::TOKEN_ENV.to_string(), zveno_jira::SimOptions::default().token));
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
        "jira" => jira.count() as u64,
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
