//! Chaos: several `zveno run` processes share one store and pull the test vendor's
//! simulator while the test SIGKILLs and restarts them at random and changes records on the
//! vendor's side in between — three processes on PostgreSQL, two on one SQLite file.
//!
//! It holds when, after the processes are stopped and one `zveno sync --once` settles the
//! last changes: every live vendor record is stored exactly once and live, no record live at
//! the vendor was tombstoned at any check along the way, no run is left `running`, and
//! identity resolution put the records into the same clients as one process syncing the
//! same final data into a fresh store (the partition of records is compared, not entity
//! ids). Pages refused to stale lease holders are counted and printed.
//!
//! A benchmark-style runner bounded by its cycle count: `ZVENO_CHAOS_CYCLES` (default 6,
//! the CI size) and `ZVENO_CHAOS_CLIENTS` (default 200). `ZVENO_CHAOS_SEED` picks the kills.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/postgres.rs"]
mod postgres;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::process::{Child, Command};
use zveno::store::{RunStatus, Store};
use zveno_connector::{Kind, SystemClock};
use zveno_sim::kit::{Kit, SimServer};
use zveno_sim::testvendor::TestVendorSim;
use zveno_sim::world::{World, WorldSpec};

use postgres::PgSchema;

const TOKEN: &str = "tv-chaos-token";
const KINDS: [Kind; 3] = [Kind::Client, Kind::Contact, Kind::Task];

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Vendor {
    sim: TestVendorSim,
    _server: SimServer,
    url: String,
}

impl Vendor {
    async fn start(clients: usize) -> Vendor {
        let world = World::generate(&WorldSpec::new(7, clients, &[zveno_sim::testvendor::SYSTEM]));
        let kit = Kit::new(Arc::new(SystemClock::new()), 7);
        let sim = TestVendorSim::new(&world.system(zveno_sim::testvendor::SYSTEM), kit, TOKEN);
        let server = sim.serve().await.unwrap();
        let url = server.url();
        Vendor { sim, _server: server, url }
    }

    fn live(&self, kind: Kind) -> BTreeSet<String> {
        self.sim.live_ids(kind).into_iter().collect()
    }
}

/// A config for the test vendor on `store_url`, scheduled tightly so that full scans,
/// censuses and lease takeovers happen many times within a few seconds.
fn config(dir: &Path, name: &str, store_url: &str, vendor: &str) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "[store]\nurl = \"{store_url}\"\n\n[engine]\nlease_ttl_secs = 2\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\n\
         [connectors.tv]\nvendor = \"testvendor\"\nbase_url = \"{vendor}\"\ntoken_env = \"TV_TOKEN\"\n\
         page_size = 10\nschedule = {{ interval_secs = 1, full_every_secs = 2 }}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn zveno(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zveno"));
    cmd.env_remove("ZVENO_CONFIG")
        .env("RUST_LOG", "error")
        .env("TV_TOKEN", TOKEN)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn daemon(config: &Path) -> Child {
    zveno(config).arg("run").kill_on_drop(true).spawn().unwrap()
}

async fn once(config: &Path, extra: &[&str]) {
    let out = zveno(config).args(["sync", "--once"]).args(extra).stderr(Stdio::piped()).output().await.unwrap();
    assert!(out.status.success(), "sync --once {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Every stored record of `kind`, deleted ones included: (external id, deleted).
async fn stored(store: &Store, kind: Kind) -> Vec<(String, bool)> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map(|(id, _): &(String, bool)| id.clone());
        let page = store.list_records("tv", kind, after.as_deref(), 1000).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page.into_iter().map(|r| (r.record.external_id, r.record.deleted)));
    }
}

/// Records live at the vendor that the store holds as deleted: must stay empty.
async fn live_but_tombstoned(store: &Store, vendor: &Vendor) -> Vec<String> {
    let mut wrong = Vec::new();
    for kind in KINDS {
        let live = vendor.live(kind);
        for (id, deleted) in stored(store, kind).await {
            if deleted && live.contains(&id) {
                wrong.push(format!("{kind}/{id}"));
            }
        }
    }
    wrong
}

/// The clients as sets of their source records, whatever their entity ids.
async fn partition(config: &Path) -> BTreeSet<BTreeSet<String>> {
    let out = zveno(config).args(["clients", "--json"]).stdout(Stdio::piped()).output().await.unwrap();
    assert!(out.status.success());
    let clients: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    clients
        .iter()
        .map(|c| {
            c["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    format!("{}:{}", s["connector"].as_str().unwrap_or(""), s["external_id"].as_str().unwrap_or(""))
                })
                .collect()
        })
        .collect()
}

async fn chaos(store_url: &str, processes: usize) {
    let cycles = setting("ZVENO_CHAOS_CYCLES", 6);
    let clients = setting("ZVENO_CHAOS_CLIENTS", 200) as usize;
    let mut rng = StdRng::seed_from_u64(setting("ZVENO_CHAOS_SEED", 42));
    let vendor = Vendor::start(clients).await;
    let dir = tempfile::tempdir().unwrap();
    let shared = config(dir.path(), "shared.toml", store_url, &vendor.url);
    let store = Store::connect(store_url).await.unwrap();
    store.migrate().await.unwrap();

    let mut daemons: Vec<Child> = (0..processes).map(|_| daemon(&shared)).collect();
    let mut kills = 0;
    for cycle in 0..cycles {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(500..2000))).await;
        let victim = rng.gen_range(0..processes);
        daemons[victim].kill().await.unwrap();
        kills += 1;
        // Changes at the vendor while one instance is down.
        for kind in KINDS {
            vendor.sim.touch(kind, 3);
        }
        let ids = vendor.sim.live_ids(Kind::Client);
        if let Some(id) = ids.get(rng.gen_range(0..ids.len().max(1))).and_then(|id| id.parse().ok()) {
            vendor.sim.delete(Kind::Client, id);
        }
        let wrong = live_but_tombstoned(&store, &vendor).await;
        assert!(wrong.is_empty(), "cycle {cycle}: live records tombstoned: {wrong:?}");
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1000))).await;
        daemons[victim] = daemon(&shared);
    }
    for daemon in &mut daemons {
        let pid = daemon.id().unwrap().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    }
    for daemon in &mut daemons {
        tokio::time::timeout(Duration::from_secs(60), daemon.wait()).await.unwrap().unwrap();
    }

    // Settle: two full scans see the last deletions, then the incremental stream.
    once(&shared, &["--full"]).await;
    once(&shared, &["--full"]).await;
    once(&shared, &[]).await;
    for kind in KINDS {
        let live = vendor.live(kind);
        let kept: BTreeSet<String> =
            stored(&store, kind).await.into_iter().filter(|(_, deleted)| !deleted).map(|(id, _)| id).collect();
        assert_eq!(kept, live, "{kind}: the store holds exactly the vendor's live records");
    }
    let wrong = live_but_tombstoned(&store, &vendor).await;
    assert!(wrong.is_empty(), "live records tombstoned: {wrong:?}");
    let runs = store.runs(100_000, Some("tv")).await.unwrap();
    let running: Vec<i64> = runs.iter().filter(|r| r.status == RunStatus::Running).map(|r| r.id).collect();
    assert!(running.is_empty(), "runs left running: {running:?}");
    let rejected: u64 = store.leases().await.unwrap().iter().map(|l| l.rejected).sum();
    let interrupted = runs.iter().filter(|r| r.status == RunStatus::Interrupted).count();

    // One process, a fresh store, the same final data.
    let single_dir = tempfile::tempdir().unwrap();
    let single_url = format!("sqlite://{}", single_dir.path().join("single.db").display());
    let single = config(single_dir.path(), "single.toml", &single_url, &vendor.url);
    once(&single, &["--full"]).await;
    assert_eq!(partition(&shared).await, partition(&single).await, "resolution as one process resolves it");
    eprintln!(
        "chaos on {}: {processes} processes, {cycles} cycles, {kills} SIGKILLs, {} runs ({interrupted} interrupted), \
         {rejected} stale pages refused",
        store.backend(),
        runs.len()
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_postgres_survive_random_kills() {
    let pg = PgSchema::create().await;
    chaos(pg.url(), 3).await;
    pg.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_sqlite_survive_random_kills() {
    let dir = tempfile::tempdir().unwrap();
    chaos(&format!("sqlite://{}", dir.path().join("zveno.db").display()), 2).await;
}
