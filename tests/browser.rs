//! The web view in a real browser: headless Chromium (Debian's `chromium`; `.ci/run`
//! installs it) against `zveno demo`. It searches a client by its Cyrillic and its Latin
//! spelling, opens the card, sees its source records and overdue tasks, and switches the
//! language — reading the DOM Chromium built after running the page (`--dump-dom`), and
//! taking screenshots of the card and the health page (into `target/browser/`; with
//! `ZVENO_UPDATE_SCREENSHOTS=1` also into `tests/browser/`, which the README shows).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The flags that work on this machine kind (no sandbox as root, no background network).
const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("Chromium is not installed: `apt-get install -y chromium` (.ci/run does this)")
}

/// Runs Chromium on `url` with `extra` flags; returns stdout.
async fn browse(url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(chromium())
            .args(CHROMIUM_FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("chromium hung")
    .unwrap();
    assert!(out.status.success(), "chromium failed on {url}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn dom(url: &str) -> String {
    browse(url, &["--dump-dom", "--virtual-time-budget=2000"]).await
}

async fn screenshot(url: &str, name: &str, size: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    browse(url, &[&format!("--screenshot={}", file.display()), &format!("--window-size={size}")]).await;
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{name} is not a real screenshot");
    if std::env::var_os("ZVENO_UPDATE_SCREENSHOTS").is_some() {
        std::fs::copy(&file, Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser").join(name)).unwrap();
    }
}

struct Demo {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Starts `zveno demo` on a free port and waits for it to print the web view's address.
async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zveno"))
        .args(["demo", "--clients", "120", "--listen", "127.0.0.1:0", "--interval-secs", "3600", "--data-dir"])
        .arg(dir.path().join("demo"))
        .env_remove("ZVENO_CONFIG")
        .env("RUST_LOG", "warn")
        .env("TZ", "Europe/Moscow")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.split("(open in a browser): ").nth(1) {
                return url.trim().trim_end_matches('/').to_string();
            }
        }
        panic!("the demo ended without printing its address");
    })
    .await
    .expect("the demo did not start in time");
    // Keep draining stdout so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Demo { child, base, _dir: dir }
}

async fn json(url: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    client.get(url).send().await.unwrap().json().await.unwrap()
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_finds_a_client_in_either_script_opens_its_card_and_switches_language() {
    let demo = demo().await;
    // The target: a client with a Cyrillic name, records in two systems and an overdue task
    // (picked through the API; everything after goes through the browser).
    let overdue = json(&format!("{}/api/v1/tasks?overdue=true&limit=500", demo.base)).await;
    let with_overdue: Vec<String> = overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["client_id"].as_str().map(str::to_string))
        .collect();
    let mut target = None;
    for id in &with_overdue {
        let card = json(&format!("{}/api/v1/clients/{id}", demo.base)).await;
        let name = card["name"].as_str().unwrap().to_string();
        let cyrillic = name.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
        if cyrillic && card["sources"].as_array().unwrap().len() >= 2 {
            target = Some((id.clone(), name, card));
            break;
        }
    }
    let (id, name, card) = target.expect("the demo world has a Cyrillic client in two systems with overdue work");
    let word = name.split(|c: char| !c.is_alphanumeric()).max_by_key(|w| w.chars().count()).unwrap().to_string();
    let latin = zveno::resolve::to_latin(&word);
    assert_ne!(word.to_lowercase(), latin);

    for query in [&word, &latin] {
        let page = dom(&format!("{}/clients?search={}", demo.base, encode(query))).await;
        assert!(page.contains(&format!("href=\"/clients/{id}\"")), "search {query:?} does not list {name} ({id})");
    }

    let page = dom(&format!("{}/clients/{id}?lang=en", demo.base)).await;
    assert!(page.contains("id=\"client-name\"") && page.contains("In every system"), "{page}");
    for source in card["sources"].as_array().unwrap() {
        let url = source["url"].as_str().unwrap();
        assert!(page.contains(&url.replace('&', "&amp;")), "the card lacks the deep link {url}");
    }
    assert!(page.contains("class=\"overdue\""), "the card shows no overdue task row");
    let first_overdue = card["open_tasks"].as_array().unwrap().iter().find(|t| t["overdue"] == true).unwrap();
    assert!(page.contains(&html_escape(first_overdue["title"].as_str().unwrap())), "overdue task missing");

    let russian = dom(&format!("{}/lang/ru?next={}", demo.base, encode(&format!("/clients/{id}")))).await;
    assert!(russian.contains("lang=\"ru\"") && russian.contains("Во всех системах") && russian.contains("просрочено"));
    let english = dom(&format!("{}/lang/en?next={}", demo.base, encode(&format!("/clients/{id}")))).await;
    assert!(english.contains("lang=\"en\"") && english.contains("In every system"));

    screenshot(&format!("{}/clients/{id}?lang=ru", demo.base), "card.png", "1280,1500").await;
    screenshot(&format!("{}/health?lang=en", demo.base), "health.png", "1280,1300").await;
    screenshot(&format!("{}/clients/{id}?lang=ru", demo.base), "card-phone.png", "390,1600").await;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
