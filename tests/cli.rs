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
use zveno_sim::conformance::SimControls as _;
use zveno_sim::kit::{Kit, SimServer};
use zveno_sim::testvendor::TestVendorSim;
use zveno_sim::world::{World, WorldSpec};

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
        let world = World::generate(&WorldSpec::new(5, clients, &[zveno_sim::testvendor::SYSTEM]));
        let kit = Kit::new(Arc::new(SystemClock::new()), 5);
        let sim = TestVendorSim::new(&world.system(zveno_sim::testvendor::SYSTEM), kit, TOKEN);
        let server = sim.serve().await.unwrap();
        let url = server.url();
        Sandbox { dir: tempfile::tempdir().unwrap(), sim, _server: server, url }
    }

    fn store_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("zveno.db").display())
    }

    /// Writes a config for one test-vendor connector with `page_size`.
    fn config(&self, page_size: usize) -> PathBuf {
        self.config_with(page_size, "")
    }

    /// The same, with `extra` TOML appended (after the connector's table: start a section).
    fn config_with(&self, page_size: usize, extra: &str) -> PathBuf {
        let path = self.dir.path().join("zveno.toml");
        let text = format!(
            "[store]\nurl = \"{}\"\n\n[connectors.tv]\nvendor = \"testvendor\"\nbase_url = \"{}\"\n\
             token_env = \"TV_TOKEN\"\npage_size = {page_size}\nentities = [\"client\"]\n\
             schedule = {{ interval_secs = 3600, full_every_secs = 86400 }}\n{extra}",
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
async fn check_accepts_an_old_option_name_and_warns_that_it_is_deprecated() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "old.toml",
        "[store]\nurl = \"sqlite://zveno.db\"\n\n[connectors.crm]\nvendor = \"hubspot\"\n\
         token_env = \"ZVENO_TEST_HS_TOKEN\"\nsearch_overlap_secs = 120\n",
    );
    let out = zveno()
        .arg("--config")
        .arg(&config)
        .arg("check")
        .arg("--offline")
        .env("ZVENO_TEST_HS_TOKEN", "pat-na1-test")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("config: ok"), "{stdout}");
    assert!(
        stdout.contains("⚠ connectors.crm.search_overlap_secs: deprecated name of overlap_secs"),
        "the old name works and is named as deprecated:\n{stdout}"
    );
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
    // The restart took over the dead process's lease at once and closed its run.
    assert_eq!(runs[1].status, RunStatus::Interrupted, "the killed run is closed by the next holder");
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
    assert_eq!(run["slowed"].as_u64(), Some(0));

    // The human table has the same columns, SLOWED (requests made smaller or later because
    // the vendor warned of a limit) beside THROTTLED.
    let out = zveno().arg("--config").arg(&config).args(["runs"]).env("COLUMNS", "200").output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().find(|l| l.contains("THROTTLED")).unwrap_or_else(|| panic!("{text}"));
    let columns: Vec<&str> = header.split_whitespace().filter(|w| w.chars().all(|c| c.is_ascii_uppercase())).collect();
    assert_eq!(columns[columns.iter().position(|c| *c == "THROTTLED").unwrap() + 1], "SLOWED", "{header}");
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
    assert_eq!(vendors, ["hubspot", "bitrix24", "pipedrive", "jira"]);
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

/// Syncs the sandbox once (which also resolves identities) and returns its config.
async fn synced(sandbox: &Sandbox) -> PathBuf {
    let config = sandbox.config(100);
    let sync =
        zveno().arg("--config").arg(&config).args(["sync", "--once"]).env("TV_TOKEN", TOKEN).output().await.unwrap();
    assert!(sync.status.success(), "{}", String::from_utf8_lossy(&sync.stderr));
    config
}

#[tokio::test]
async fn a_closed_pipe_ends_a_listing_quietly_with_exit_0() {
    let sandbox = Sandbox::start(400).await;
    let config = synced(&sandbox).await;
    for args in ["clients --json", "clients", "tasks --json"] {
        // Hundreds of kilobytes of JSON: far more than a pipe holds, so zveno is still
        // writing when `head` exits.
        let script = format!(
            "{} --config {} {args} | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}",
            env!("CARGO_BIN_EXE_zveno"),
            config.display()
        );
        let out = Command::new("bash").args(["-c", &script]).env("RUST_LOG", "warn").output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args}: {stderr}");
    }
}

#[tokio::test]
async fn read_only_commands_never_create_a_store_and_hint_at_the_config() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["clients"][..], &["client", "cl-1"], &["tasks", "--overdue"], &["runs"]] {
        let out = zveno().current_dir(dir.path()).args(args).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("no store at data/zveno.db — did you mean --config"), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was created");
    // With a config next to it, the hint names it.
    write(dir.path(), "zveno.toml", "[store]\nurl = \"sqlite://elsewhere/z.db\"\n");
    let out = zveno().current_dir(dir.path()).arg("clients").output().await.unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean --config zveno.toml?"));
}

#[tokio::test]
async fn the_clis_json_items_are_the_apis_items() {
    let sandbox = Sandbox::start(60).await;
    let config = synced(&sandbox).await;
    let cli = zveno().arg("--config").arg(&config).args(["clients", "--json"]).output().await.unwrap();
    let cli: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    let store = sandbox.store().await;
    let state = zveno::server::ServerState::new(zveno::server::StateParts {
        store: store.clone(),
        resolver: None,
        connectors: Vec::new(),
        zone: chrono_tz::UTC,
        auth: zveno::server::Auth::default(),
        metrics: Arc::new(zveno::metrics::Metrics::new()),
        clock: Arc::new(SystemClock::new()),
        secure_cookies: false,
        public_url: None,
        webhooks: None,
        flows: Vec::new(),
    });
    let response = tower::ServiceExt::oneshot(
        zveno::server::router(state),
        axum::http::Request::get("/api/v1/clients?limit=500").body(axum::body::Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let api: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(cli.as_array().unwrap().len() > 10);
    assert_eq!(api["items"], cli, "same items, same shape, same order");
}

/// Receives one notification (a datagram) within 20 s.
async fn notification(socket: &tokio::net::UnixDatagram) -> String {
    let mut buf = vec![0u8; 4096];
    let n =
        tokio::time::timeout(Duration::from_secs(20), socket.recv(&mut buf)).await.expect("no notification").unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// `GET path` on `addr` over plain TCP: the status line.
async fn http_status(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_tells_systemd_it_is_ready_pings_the_watchdog_and_says_when_it_stops() {
    let sandbox = Sandbox::start(50).await;
    let config = sandbox.config_with(50, "\n[server]\nlisten = \"127.0.0.1:0\"\n");
    let socket_path = sandbox.dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let mut child = zveno()
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("TV_TOKEN", TOKEN)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = notification(&socket).await;
    assert!(ready.contains("READY=1"), "{ready}");
    let addr =
        ready.split("http://").nth(1).and_then(|s| s.split_whitespace().next()).expect("the status names the address");
    assert_eq!(http_status(addr, "/healthz").await, "HTTP/1.1 200 OK", "ready means serving");
    for _ in 0..2 {
        let ping = notification(&socket).await;
        assert_eq!(ping, "WATCHDOG=1\n");
    }
    let pid = child.id().unwrap();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().await.unwrap().success());
    let mut stopping = String::new();
    for _ in 0..10 {
        stopping = notification(&socket).await;
        if stopping != "WATCHDOG=1\n" {
            break;
        }
    }
    assert_eq!(stopping, "STOPPING=1\n");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn completions_man_page_and_version_come_from_the_binary() {
    let bash = zveno().args(["completions", "bash"]).output().await.unwrap();
    assert!(bash.status.success());
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(script.contains("_zveno()") && script.contains("--config"), "{script}");
    let man = zveno().arg("man").output().await.unwrap();
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.starts_with(".ie") || page.contains(".TH zveno"), "{page}");
    assert!(page.contains("completions"));
    let version = zveno().arg("--version").output().await.unwrap();
    let text = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let commit =
        text.strip_prefix(concat!("zveno ", env!("CARGO_PKG_VERSION"), " (")).and_then(|r| r.strip_suffix(')'));
    assert!(commit.is_some_and(|c| !c.is_empty()), "{text}");
}

#[tokio::test]
async fn check_explains_a_refused_token_and_a_wrong_base_url_in_one_line() {
    let sandbox = Sandbox::start(5).await;
    let config = sandbox.config(10);
    let out =
        zveno().arg("--config").arg(&config).arg("check").env("TV_TOKEN", "not-the-token").output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let line = stdout.lines().find(|l| l.starts_with("connector tv")).unwrap();
    assert!(line.contains("hint: the vendor refused connectors.tv's credentials"), "{stdout}");

    let text =
        std::fs::read_to_string(&config).unwrap().replace(&sandbox.url, &format!("{}/wrong/prefix", sandbox.url));
    std::fs::write(&config, text).unwrap();
    let out = zveno().arg("--config").arg(&config).arg("check").env("TV_TOKEN", TOKEN).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("connector tv")).unwrap();
    assert!(line.contains("is connectors.tv.base_url the right address?"), "{stdout}");
}

#[tokio::test]
async fn an_unreachable_postgres_reports_the_real_cause() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "pg.toml", "[store]\nurl = \"postgres://zveno@127.0.0.1:1/zveno\"\n");
    let out = zveno().arg("--config").arg(&config).arg("runs").output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("Connection refused") && !stderr.contains("pool timed out"), "{stderr}");
}

/// Runs `zveno --config <config> <args>`; returns stdout, failing on a non-zero exit.
async fn run_ok(config: &Path, args: &[&str]) -> String {
    let out = zveno().arg("--config").arg(config).args(args).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test]
async fn why_and_review_explain_the_demo_worlds_clients() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = zveno().args(["demo", "--once", "--clients", "150", "--data-dir"]).arg(&data).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = data.join("zveno.toml");

    let clients: serde_json::Value = serde_json::from_str(&run_ok(&config, &["clients", "--json"]).await).unwrap();
    let clients = clients.as_array().unwrap();
    let record = |c: &serde_json::Value, i: usize| {
        let s = &c["sources"][i];
        format!("{}:{}", s["connector"].as_str().unwrap(), s["external_id"].as_str().unwrap())
    };
    let merged = clients.iter().find(|c| c["sources"].as_array().unwrap().len() > 1).unwrap();
    let e: serde_json::Value =
        serde_json::from_str(&run_ok(&config, &["why", &record(merged, 0), &record(merged, 1), "--json"]).await)
            .unwrap();
    assert_eq!(e["together"], true, "{e:#}");
    assert_eq!(e["a"]["entity"], merged["id"]);
    let rules: Vec<&str> = e["checks"].as_array().unwrap().iter().map(|c| c["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["tax_id", "domain", "email", "phone", "name", "staff"]);

    let (x, y) = (&clients[0], &clients[1]);
    let text = run_ok(&config, &["why", &record(x, 0), &record(y, 0)]).await;
    assert!(text.contains("RULE") && text.contains("apart:"), "{text}");

    let review: serde_json::Value = serde_json::from_str(&run_ok(&config, &["review", "--json"]).await).unwrap();
    for item in review.as_array().unwrap() {
        let settle = item["settle"].as_str().unwrap();
        assert!(settle.starts_with("zveno link ") || settle.starts_with("zveno unlink "), "{item:#}");
    }
    let text = run_ok(&config, &["review", "--limit", "3"]).await;
    assert!(text.contains("pair(s) to review"), "{text}");

    let bad = zveno().arg("--config").arg(&config).args(["why", "nowhere:1", &record(x, 0)]).output().await.unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no live record nowhere:client:1"));

    let unicode = clients
        .iter()
        .flat_map(|c| c["domains_unicode"].as_array().unwrap())
        .any(|d| d.as_str().is_some_and(|d| d.ends_with(".рф")));
    assert!(unicode, "the demo world has .рф sites, shown in Unicode");
}

#[tokio::test]
async fn check_verifies_the_handle_property_a_creating_flow_needs() {
    use zveno_hubspot::simulator::{demo_token, HubSpotSim, SimOptions, SYSTEM};
    let sandbox = Sandbox::start(5).await;
    let world = World::generate(&WorldSpec::new(6, 3, &[SYSTEM]));
    let clock: Arc<dyn zveno_connector::Clock> = Arc::new(SystemClock::new());
    let portal = HubSpotSim::start(&world.system(SYSTEM), clock, 6, SimOptions::new(&demo_token(6))).await.unwrap();
    let extra = format!(
        "\n[connectors.crm]\nvendor = \"hubspot\"\nbase_url = \"{}\"\ntoken_env = \"HS_TOKEN\"\n\
         entities = [\"client\"]\n\n[[flows]]\nname = \"to-crm\"\nkind = \"client\"\nfrom = [\"tv\"]\n\
         to = \"crm\"\ncreate = true\nfields = [\"name\"]\n",
        portal.url()
    );
    let config = sandbox.config_with(10, &extra);
    let check = || {
        zveno()
            .arg("--config")
            .arg(&config)
            .arg("check")
            .env("TV_TOKEN", TOKEN)
            .env("HS_TOKEN", portal.token())
            .output()
    };
    let out = check().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("connector crm (hubspot): ok"), "{stdout}");

    portal.define_property(Kind::Client, "zveno_id", false);
    let out = check().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a property without unique values fails the check:\n{stdout}");
    assert!(stdout.contains("connector crm (hubspot): ✗"), "{stdout}");
    assert!(stdout.contains("does not require unique values") && stdout.contains("Require unique values"), "{stdout}");
    assert!(stdout.contains("connector tv (testvendor): ok"), "only the connector written to is blamed:\n{stdout}");
}
