//! Crashes during write-back: real `zveno apply` processes, SIGKILLed at random points while
//! they create and update records in a test-vendor portal from a test-vendor CRM (both
//! simulators run in this process, on the wall clock), each kill followed by a restart.
//!
//! It holds when, after the kills and a few undisturbed `sync` + `apply` rounds: no record
//! was created twice in the portal (each create's idempotency handle is on exactly one
//! live record, the one its outbox row names), every create is done and every other op done
//! or released by the restart as superseded by a later edit, the plan is empty (everything
//! planned was applied), and the portal holds one copy per CRM client and task.
//!
//! A benchmark-style runner bounded by its kill count: `ZVENO_CRASH_KILLS` (default 8, the
//! CI size; 50 is the benchmark), `ZVENO_CRASH_CLIENTS` (default 30) and
//! `ZVENO_CRASH_SEED` (the kill points and edits).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::process::Command;
use zveno::store::Store;
use zveno_connector::{Client, Connector, Env, Kind, RecordData, SystemClock, WriteAction, WriteOp};
use zveno_sim::conformance::SimControls;
use zveno_sim::kit::{Kit, SimServer};
use zveno_sim::testvendor::{TestVendorSim, TOKEN_ENV};
use zveno_sim::world::{SystemData, World, WorldSpec};

const TOKEN: &str = "tv-flows-crash";
const FLOWS: [(&str, Kind); 2] = [("clients-to-portal", Kind::Client), ("tasks-to-portal", Kind::Task)];

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The CRM (a generated world) and the empty portal, served, with the config between them.
struct Setup {
    crm: TestVendorSim,
    portal: TestVendorSim,
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
    Setup { crm, portal, config, store_url, _servers: servers, _dir: dir }
}

fn zveno(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zveno"));
    cmd.env_remove("ZVENO_CONFIG")
        .env("RUST_LOG", "error")
        .env(TOKEN_ENV, TOKEN)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

async fn sync(config: &Path) {
    let out = zveno(config).args(["sync", "--once"]).stderr(Stdio::piped()).output().await.unwrap();
    assert!(out.status.success(), "sync --once: {}", String::from_utf8_lossy(&out.stderr));
}

/// One undisturbed `zveno apply`: whether it succeeded, and its report.
async fn apply(config: &Path) -> (bool, serde_json::Value) {
    let out = zveno(config).args(["apply", "--json"]).stdout(Stdio::piped()).output().await.unwrap();
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or_default())
}

/// The CRM connector, built from the config as the daemon builds it.
async fn crm_connector(config: &Path) -> Arc<dyn Connector> {
    let settings = zveno::settings::load(Some(config), &Env::from_pairs([(TOKEN_ENV, TOKEN)])).unwrap();
    let app = zveno::app::App::build(&settings, Arc::new(SystemClock::new())).await.unwrap();
    app.jobs.iter().find(|j| j.connector.name() == "crm").unwrap().connector.clone()
}

/// A person renames two CRM clients through the API (so the flow has updates to apply).
async fn rename(crm: &TestVendorSim, connector: &dyn Connector, rng: &mut StdRng, round: u64) {
    let ids = crm.live_ids(Kind::Client);
    for i in 0..2 {
        let id = ids[rng.gen_range(0..ids.len())].clone();
        let data = RecordData::Client(Client { name: format!("Renamed {round}.{i}"), ..Client::default() });
        let op = WriteOp { op_id: "person".into(), action: WriteAction::Update { external_id: id, data } };
        let outcomes = connector.push(Kind::Client, &[op]).await.unwrap();
        assert!(outcomes[0].result.is_ok(), "{outcomes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_killed_at_random_points_create_nothing_twice_and_apply_every_op_once() {
    let kills_wanted = setting("ZVENO_CRASH_KILLS", 8);
    let s = setup(setting("ZVENO_CRASH_CLIENTS", 30) as usize).await;
    let mut rng = StdRng::seed_from_u64(setting("ZVENO_CRASH_SEED", 7));
    sync(&s.config).await;
    let crm = crm_connector(&s.config).await;

    // How long `zveno plan` (start, read the store, plan, write nothing) takes: kill points
    // are drawn from a quarter to twice that, so they land in start-up, planning and the
    // writes.
    let started = Instant::now();
    assert!(zveno(&s.config).arg("plan").status().await.unwrap().success());
    let idle = (started.elapsed().as_millis() as u64).max(20);

    let store = Store::connect(&s.store_url).await.unwrap();
    let (mut kills, mut finished, mut in_flight, mut mid_write) = (0, 0, 0, 0);
    let mut round = 0;
    while kills < kills_wanted {
        round += 1;
        if round % 2 == 0 {
            rename(&s.crm, crm.as_ref(), &mut rng, round).await;
            sync(&s.config).await;
        }
        let mut child = zveno(&s.config).arg("apply").kill_on_drop(true).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(idle / 4..idle * 2))).await;
        if child.try_wait().unwrap().is_some() {
            finished += 1;
            sync(&s.config).await;
            if finished > kills_wanted * 4 {
                break;
            }
            continue;
        }
        child.kill().await.unwrap();
        kills += 1;
        // Ops the killed process had persisted but not settled: the kill landed mid-write.
        let mut pending = 0;
        for (name, _) in FLOWS {
            pending += store.outbox_unsettled(name).await.unwrap().len();
        }
        (in_flight, mid_write) = (in_flight + pending, mid_write + usize::from(pending > 0));
    }

    // Undisturbed: pull what was written, apply what is left, until a round writes nothing.
    let mut settled = false;
    for _ in 0..6 {
        sync(&s.config).await;
        let (ok, report) = apply(&s.config).await;
        let wrote = report
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["created"].as_u64() != Some(0) || r["updated"].as_u64() != Some(0));
        if ok && !wrote {
            settled = true;
            break;
        }
    }
    assert!(settled, "sync + apply settles after the kills");

    let settings = zveno::settings::load(Some(&s.config), &Env::from_pairs([(TOKEN_ENV, TOKEN)])).unwrap();
    let (mut creates, mut done, mut interrupted, mut superseded) = (0, 0, 0, 0);
    for (name, kind) in FLOWS {
        let outbox = store.outbox(name).await.unwrap();
        // Every create done; an update interrupted by a kill either done when planned again
        // or released because a later edit superseded it (the plan is empty below).
        let released = |r: &&zveno::store::OutboxRow| {
            r.action != "create" && r.state == "failed" && r.error.as_deref().is_some_and(|e| e.contains("released"))
        };
        let open: Vec<_> = outbox.iter().filter(|r| r.state != "done" && !released(r)).collect();
        assert!(open.is_empty(), "{name}: every op done: {open:?}");
        superseded += outbox.iter().filter(released).count();
        done += outbox.len();
        interrupted += outbox.iter().filter(|r| r.attempts > 1).count();
        // Every create on exactly one live portal record, the one its row names.
        let mut by_handle: BTreeMap<String, u32> = BTreeMap::new();
        for handle in s.portal.handles(kind) {
            *by_handle.entry(handle).or_default() += 1;
        }
        let twice: Vec<_> = by_handle.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{name}: created twice: {twice:?}");
        for row in outbox.iter().filter(|r| r.action == "create") {
            assert_eq!(by_handle.get(&row.op_id), Some(&1), "{name}: create {} made once", row.op_id);
            creates += 1;
        }
        let live: BTreeSet<String> = s.portal.live_ids(kind).into_iter().collect();
        let pairs = store.flow_state(name, &[]).await.unwrap().pairs;
        let copies: BTreeSet<String> = pairs.values().map(|k| k.external_id.clone()).collect();
        assert_eq!((copies.len(), &copies), (pairs.len(), &live), "{name}: each copy paired once, nothing else");

        let flow = settings.flows.iter().find(|f| f.name == name).unwrap();
        let (input, _) = zveno::flows::load::input(&store, flow).await.unwrap();
        let plan = zveno::flows::plan(flow, &input);
        assert!(plan.ops.is_empty(), "{name}: everything planned was applied: {:?}", plan.ops);
    }
    let tasks = s.crm.count(Kind::Task);
    assert_eq!(s.portal.count(Kind::Task), tasks, "one copy per CRM task");
    assert_eq!(s.portal.count(Kind::Client), store.entity_counts(Kind::Client).await.unwrap().0 as usize);
    eprintln!(
        "flows crash: {kills} SIGKILLs during apply ({mid_write} mid-write, {in_flight} unsettled ops summed over the kills; \
         {finished} applies ran to the end first), {creates} creates \
         and {} other ops done once ({interrupted} ops begun before a kill and finished after it; \
         {superseded} updates cut by a kill and then superseded by a later edit), \
         {} portal write requests, `zveno plan` {idle} ms",
        done - creates - superseded,
        s.portal.writes()
    );
    store.close().await;
}

/// `zveno apply` while another instance (a daemon on another host) applies a flow: that flow
/// is skipped with a message naming the instance, the others are applied, and the exit code
/// is 75 (EX_TEMPFAIL); once that instance's lease is released, the flow is applied.
#[tokio::test]
async fn apply_skips_a_flow_another_instance_is_applying_names_it_and_exits_75() {
    let s = setup(6).await;
    sync(&s.config).await;
    let store = Store::connect(&s.store_url).await.unwrap();
    let daemon = "host-b:4242:abcdef";
    let held = store.acquire_flow_lease("clients-to-portal", daemon, Duration::from_secs(60)).await.unwrap().unwrap();

    let out = zveno(&s.config).args(["apply", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).output().await;
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
    let out = zveno(&s.config).args(["apply", "--wait", "--flow", "clients-to-portal"]).status().await.unwrap();
    assert!(out.success());
    assert!(s.portal.count(Kind::Client) > 0, "applied once the lease is free");
}
