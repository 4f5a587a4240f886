//! The `zveno` binary as an operator uses it: config problems reported all at once, a sync
//! killed with SIGKILL mid-run resumes without loss, SIGTERM stops the daemon cleanly, run
//! history, and the demo from scratch. The test vendor's simulator runs in the test
//! process, on real time; the binary talks to it over loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Command;
use zveno::store::{RunStatus, Store};
use zveno_connector::{Kind, SystemClock};
use zveno_sim::kit::{Kit, SimServer};
use zveno_sim::testvendor::TestVendorSim;
use zveno_sim::world::{System, World, WorldSpec};

const TOKEN: &str = "tv-cli-test-token";

fn zveno() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zveno"));
    cmd.env_remove("ZVENO_CONFIG").env("RUST_LOG", "warn").stdin(Stdio::null());
    cmd
}

struct Sandbox {
    dir: tempfile::TempDir,
    sim: TestVendorSim,
    _server: SimServer,
    url: String,
}

impl Sandbox {
    async fn start(clients: usize) -> Sandbox {
        let world = World::generate(&WorldSpec::new(5, clients, &[System::TestVendor]));
        let kit = Kit::new(Arc::new(SystemClock::new()), 5);
        let sim = TestVendorSim::new(&world.system(System::TestVendor), kit, TOKEN);
        let server = sim.serve().await.unwrap();
        let url = server.url();
        Sandbox { dir: tempfile::tempdir().unwrap(), sim, _server: server, url }
    }

    fn store_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("zveno.db").display())
    }

    /// Writes a config for one test-vendor connector with `page_size`.
    fn config(&self, page_size: usize) -> PathBuf {
        let path = self.dir.path().join("zveno.toml");
        let text = format!(
            "[store]\nurl = \"{}\"\n\n[connectors.tv]\nvendor = \"testvendor\"\nbase_url = \"{}\"\n\
             token_env = \"TV_TOKEN\"\npage_size = {page_size}\nentities = [\"client\"]\n\
             schedule = {{ interval_secs = 3600, full_every_secs = 86400 }}\n",
            self.store_url(),
            self.url
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Polls the store (for up to 12 s) until at least `at_least` clients are committed;
    /// returns how many there were.
    async fn wait_for_clients(&self, at_least: u64) -> u64 {
        let mut committed = 0;
        for _ in 0..600 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Ok(store) = Store::connect(&self.store_url()).await {
                committed = store.count_records(Some("tv"), Some(Kind::Client), false).await.unwrap_or(0);
                store.close().await;
            }
            if committed >= at_least {
                break;
            }
        }
        committed
    }

    async fn store(&self) -> Store {
        Store::connect(&self.store_url()).await.unwrap()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn check_reports_every_problem_with_its_path_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "bad.toml",
        "[store]\nurl = \"sqlite://zveno.db\"\n\n[connectors.crm]\nvendor = \"testvendor\"\n\
         base_url = \"htp:/no host\"\ntoken_env = \"ZVENO_TEST_UNSET_TOKEN\"\ncolour = \"blue\"\n\n\
         [connectors.crm.http]\ntimeout_secs = 5\nretries = 3\n",
    );
    let out = zveno().arg("--config").arg(&config).arg("check").output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "connectors.crm.colour: unknown key",
        "connectors.crm.http.retries: unknown key",
        "connectors.crm.token_env: ZVENO_TEST_UNSET_TOKEN is not set",
        "connectors.crm.base_url:",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("panicked") && !String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[tokio::test]
async fn check_passes_on_a_good_config_and_reaches_the_vendor() {
    let sandbox = Sandbox::start(20).await;
    let config = sandbox.config(10);
    let out = zveno().arg("--config").arg(&config).arg("check").env("TV_TOKEN", TOKEN).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("connector tv (testvendor): ok"), "{stdout}");
    assert_eq!(sandbox.sim.writes(), 0, "check never writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_run_resumes_with_no_record_lost_or_duplicated() {
    let sandbox = Sandbox::start(400).await;
    let total = sandbox.sim.count(Kind::Client) as u64;
    let config = sandbox.config(5);
    let mut child = zveno()
        .arg("--config")
        .arg(&config)
        .args(["sync", "--once", "--full"])
        .env("TV_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some pages are committed, then kill -9 mid-run.
    let committed = sandbox.wait_for_clients(60).await;
    child.kill().await.unwrap();
    assert!(committed >= 60 && committed < total, "killed too late or too early: {committed}/{total}");

    let out = zveno()
        .arg("--config")
        .arg(&config)
        .args(["sync", "--once", "--json"])
        .env("TV_TOKEN", TOKEN)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = sandbox.store().await;
    assert_eq!(store.count_records(Some("tv"), Some(Kind::Client), false).await.unwrap(), total);
    let summaries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let resumed = summaries[0]["records"].as_u64().unwrap();
    let after_kill = store.count_records(Some("tv"), Some(Kind::Client), false).await.unwrap();
    assert_eq!(after_kill, total);
    assert!(resumed < total, "the second run resumed instead of starting over ({resumed} of {total} read)");
    let runs = store.runs(5, Some("tv")).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Ok);
    assert_eq!(runs[1].status, RunStatus::Running, "the killed run never finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_stops_cleanly_on_sigterm() {
    let sandbox = Sandbox::start(300).await;
    let config = sandbox.config(5);
    let child = zveno()
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("TV_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    sandbox.wait_for_clients(30).await;
    let killed = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await.unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    let store = sandbox.store().await;
    let run = &store.runs(1, Some("tv")).await.unwrap()[0];
    assert!(matches!(run.status, RunStatus::Interrupted | RunStatus::Ok), "{run:?}");
    assert!(run.finished_at.is_some(), "the run was closed before exit");
    assert_eq!(
        store.count_records(Some("tv"), Some(Kind::Client), false).await.unwrap(),
        run.records,
        "every page the run counted is committed"
    );
}

#[tokio::test]
async fn runs_lists_history_as_json() {
    let sandbox = Sandbox::start(30).await;
    let config = sandbox.config(50);
    let sync =
        zveno().arg("--config").arg(&config).args(["sync", "--once"]).env("TV_TOKEN", TOKEN).output().await.unwrap();
    assert!(sync.status.success(), "{}", String::from_utf8_lossy(&sync.stderr));
    let out = zveno().arg("--config").arg(&config).args(["runs", "--json"]).output().await.unwrap();
    assert!(out.status.success());
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &runs[0];
    assert_eq!(run["connector"], "tv");
    assert_eq!(run["status"], "ok");
    assert_eq!(run["records"].as_u64(), Some(sandbox.sim.count(Kind::Client) as u64));
    assert!(run["requests"].as_u64().unwrap_or(0) >= 1);
}

#[tokio::test]
async fn demo_once_runs_from_scratch_in_its_own_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = zveno()
        .current_dir(dir.path())
        .args(["demo", "--once", "--clients", "40", "--data-dir"])
        .arg(&data)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Explore"), "{stdout}");
    assert!(data.join("zveno.db").exists() && data.join("zveno.toml").exists());
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "the demo wrote outside its data dir");

    // Scripts and vendor SDKs find the simulators and their credentials in simulators.json.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("simulators.json")).unwrap()).unwrap();
    assert!(stdout.contains("simulators.json"), "{stdout}");
    assert_eq!(manifest["config"].as_str().map(std::path::PathBuf::from), data.join("zveno.toml").canonicalize().ok());
    let sims = manifest["simulators"].as_array().unwrap();
    let vendors: Vec<&str> = sims.iter().filter_map(|s| s["vendor"].as_str()).collect();
    assert_eq!(vendors, ["hubspot", "bitrix24", "jira"]);
    for sim in sims {
        let url = sim["url"].as_str().unwrap();
        assert!(url.starts_with("http://127.0.0.1:") && stdout.contains(url), "{sim}");
        let credentials = sim["credentials"].as_object().unwrap();
        assert!(!credentials.is_empty() && credentials.values().all(|v| v.as_str().is_some_and(|s| !s.is_empty())));
        assert!(sim["options"].as_object().is_some_and(|o| o.keys().all(|k| !k.ends_with("_env"))), "{sim}");
    }
    // fast-bitrix24 lower-cases what it sends: the demo portal's webhook must already be.
    let webhook = sims[1]["credentials"]["webhook_url"].as_str().unwrap();
    assert_eq!(webhook, webhook.to_lowercase());
}

#[tokio::test]
async fn a_rejected_token_parks_the_connector_until_its_configuration_changes() {
    let sandbox = Sandbox::start(20).await;
    let config = sandbox.config(10);
    let sync =
        |token: &str| zveno().arg("--config").arg(&config).args(["sync", "--once"]).env("TV_TOKEN", token).output();
    let requests = || sandbox.sim.kit().log().total().requests;

    let out = sync("revoked-token").await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tv is now parked") && stderr.contains("zveno connector resume tv"), "{stderr}");
    assert_eq!(requests(), 1, "one request: a 401 is not retried");

    let out = zveno().arg("--config").arg(&config).args(["connectors", "--json"]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["connector"], "tv");
    assert_eq!(listed[0]["status"], "parked");
    assert_eq!(listed[0]["needs_attention"], true);
    assert!(listed[0]["reason"].as_str().unwrap_or("").contains("401"), "{listed}");
    let out = zveno().arg("--config").arg(&config).arg("runs").output().await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("tv is parked since"));

    // Run again with the same bad token: the vendor is not called.
    let out = sync("revoked-token").await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tv is parked since"), "{stderr}");
    assert_eq!(requests(), 1, "a parked connector is not called");

    // The operator fixes the token: the changed secret resumes the connector by itself.
    let out = sync(TOKEN).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = sandbox.store().await;
    assert_eq!(
        store.count_records(Some("tv"), Some(Kind::Client), false).await.unwrap(),
        sandbox.sim.count(Kind::Client) as u64
    );
    let state = store.connector_state("tv").await.unwrap().unwrap();
    assert_eq!(state.status, zveno::store::ConnectorStatus::Active);
}
