//! Crashes during write-back between two test-vendor simulators (a CRM holding a generated
//! world, an empty portal; both run in this process, on the wall clock): the harness in
//! `common/crash.rs`, with CRM renames between applies. `ZVENO_CRASH_CLIENTS` (default 30)
//! sizes the world.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/crash.rs"]
mod crash;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::Rng;
use zveno::store::Store;
use zveno_connector::{Client, Connector, Env, Kind, RecordData, SystemClock, WriteAction, WriteOp};
use zveno_sim::conformance::SimControls;
use zveno_sim::kit::{Kit, SimServer};
use zveno_sim::testvendor::{TestVendorSim, TOKEN_ENV};
use zveno_sim::world::{SystemData, World, WorldSpec};

use crash::{setting, CrashWorld};

const TOKEN: &str = "tv-flows-crash";

/// The CRM (a generated world) and the empty portal, served, with the config between them.
struct Setup {
    crm: TestVendorSim,
    portal: TestVendorSim,
    crm_connector: Arc<dyn Connector>,
    config: PathBuf,
    store_url: String,
    _servers: Vec<SimServer>,
    _dir: tempfile::TempDir,
}

async fn setup(clients: usize) -> Setup {
    let clock = Arc::new(SystemClock::new());
    let system = zveno_sim::testvendor::SYSTEM;
    let world = World::generate(&WorldSpec::new(31, clients, &[system]));
    let crm = TestVendorSim::new(&world.system(system), Kit::new(clock.clone(), 31), TOKEN);
    let portal = TestVendorSim::new(&SystemData::default(), Kit::new(clock, 32), TOKEN);
    let servers = vec![crm.serve().await.unwrap(), portal.serve().await.unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite://{}", dir.path().join("zveno.db").display());
    let connector = |name: &str, url: String| {
        format!(
            "[connectors.{name}]\nvendor = \"testvendor\"\nbase_url = \"{url}\"\ntoken_env = \"{TOKEN_ENV}\"\n\
             entities = [\"client\", \"task\"]\ndefault_region = \"RU\"\n\n"
        )
    };
    let flows = "[[flows]]\nname = \"clients-to-portal\"\nkind = \"client\"\nfrom = [\"crm\"]\nto = \"portal\"\n\
                 create = true\nfields = [\"name\", \"tax_id\", \"domains\", \"phones\", \"emails\"]\n\n\
                 [[flows]]\nname = \"tasks-to-portal\"\nkind = \"task\"\nfrom = [\"crm\"]\nto = \"portal\"\n\
                 create = true\nfields = [\"title\", \"status\", \"due\"]\n";
    let text = format!(
        "[store]\nurl = \"{store_url}\"\n\n{}{}{flows}",
        connector("crm", servers[0].url()),
        connector("portal", servers[1].url())
    );
    let config = dir.path().join("zveno.toml");
    std::fs::write(&config, text).unwrap();
    // The CRM connector, built from the config as the daemon builds it.
    let settings = zveno::settings::load(Some(&config), &Env::from_pairs([(TOKEN_ENV, TOKEN)])).unwrap();
    let app = zveno::app::App::build(&settings, Arc::new(SystemClock::new())).await.unwrap();
    let crm_connector = app.jobs.iter().find(|j| j.connector.name() == "crm").unwrap().connector.clone();
    Setup { crm, portal, crm_connector, config, store_url, _servers: servers, _dir: dir }
}

#[async_trait]
impl CrashWorld for Setup {
    fn config(&self) -> &Path {
        &self.config
    }

    fn store_url(&self) -> &str {
        &self.store_url
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![(TOKEN_ENV.to_string(), TOKEN.to_string())]
    }

    fn flows(&self) -> Vec<(&'static str, Kind)> {
        vec![("clients-to-portal", Kind::Client), ("tasks-to-portal", Kind::Task)]
    }

    /// A person renames two CRM clients through the API.
    async fn edit(&self, rng: &mut StdRng, round: u64) {
        let ids = self.crm.live_ids(Kind::Client);
        for i in 0..2 {
            let id = ids[rng.gen_range(0..ids.len())].clone();
            let data = RecordData::Client(Client { name: format!("Renamed {round}.{i}"), ..Client::default() });
            let op = WriteOp { op_id: "person".into(), action: WriteAction::Update { external_id: id, data } };
            let outcomes = self.crm_connector.push(Kind::Client, &[op]).await.unwrap();
            assert!(outcomes[0].result.is_ok(), "{outcomes:?}");
        }
    }

    fn handles(&self, kind: Kind) -> Vec<String> {
        self.portal.handles(kind)
    }

    fn live(&self, kind: Kind) -> BTreeSet<String> {
        self.portal.live_ids(kind).into_iter().collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_killed_at_random_points_create_nothing_twice_and_apply_every_op_once() {
    let s = setup(setting("ZVENO_CRASH_CLIENTS", 30) as usize).await;
    let report = crash::run(&s, 8).await;
    assert_eq!(s.portal.count(Kind::Task), s.crm.count(Kind::Task), "one copy per CRM task");
    let store = Store::connect(&s.store_url).await.unwrap();
    assert_eq!(s.portal.count(Kind::Client), store.entity_counts(Kind::Client).await.unwrap().0 as usize);
    eprintln!("flows crash: {report}, {} portal write requests", s.portal.writes());
}

/// `zveno apply` while another instance (a daemon on another host) applies a flow: that flow
/// is skipped with a message naming the instance, the others are applied, and the exit code
/// is 75 (EX_TEMPFAIL); once that instance's lease is released, the flow is applied.
#[tokio::test]
async fn apply_skips_a_flow_another_instance_is_applying_names_it_and_exits_75() {
    let s = setup(6).await;
    crash::sync(&s).await;
    let store = Store::connect(&s.store_url).await.unwrap();
    let daemon = "host-b:4242:abcdef";
    let held = store.acquire_flow_lease("clients-to-portal", daemon, Duration::from_secs(60)).await.unwrap().unwrap();

    let out = crash::zveno(&s).args(["apply", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).output().await;
    let out = out.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("clients-to-portal") && stderr.contains(daemon), "the busy flow and its holder: {stderr}");
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let applied: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["flow"].as_str().unwrap()).collect();
    assert_eq!(applied, ["tasks-to-portal"], "the other flow is applied");
    assert_eq!(s.portal.count(Kind::Client), 0, "nothing of the busy flow sent");
    assert!(store.outbox("clients-to-portal").await.unwrap().is_empty());

    store.release_lease(&held).await.unwrap();
    let out = crash::zveno(&s).args(["apply", "--wait", "--flow", "clients-to-portal"]).status().await.unwrap();
    assert!(out.success());
    assert!(s.portal.count(Kind::Client) > 0, "applied once the lease is free");
}
