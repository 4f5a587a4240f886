//! `zveno bench api`: the HTTP service under load. A store of a generated world (synced
//! from the simulators and resolved, not timed — or an existing store with `--config`),
//! the server on loopback in this process, and `--concurrency` clients hammering one
//! scenario at a time for `--secs`: the client list (random pages), search (a word of a
//! random client's name, Cyrillic or Latin), the card (random ids) through the API, and
//! the card and list as web pages. Prints p50/p99 latency and requests/s per scenario.
//!
//! The load generator shares the machine with the server (on the 2-core CI machine, the
//! same two cores), so the figures are what one box serving and being asked can do.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom as _;
use serde::Serialize;
use zveno_connector::{Clock, Env, SystemClock};

use super::{output, resolve_bench, serve};
use crate::engine::Shutdown;
use crate::resolve::to_latin;
use crate::settings;
use crate::store::Store;

/// Options of `zveno bench api`.
#[derive(Debug, clap::Args)]
pub struct ApiBenchArgs {
    /// Clients in the generated world.
    #[arg(long, default_value_t = 100_000)]
    clients: usize,
    /// World seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Benchmark the store of this config instead of generating one.
    #[arg(long = "store-config", value_name = "CONFIG")]
    store_config: Option<PathBuf>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One scenario's figures.
#[derive(Debug, Serialize)]
struct Figures {
    scenario: &'static str,
    requests: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    per_sec: f64,
}

pub(super) async fn run(args: ApiBenchArgs) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    let dir = tempfile::tempdir()?;
    let config = match &args.store_config {
        Some(c) => c.clone(),
        None => {
            let config = resolve_bench::synced_world(dir.path(), args.clients, args.seed, &env).await?;
            eprintln!("bench api: resolving identities (not timed)…");
            let s = settings::load_resolution(Some(&config), &env)?;
            let store = Store::connect(&s.store_url).await?;
            crate::resolve::Resolver::new(store, s.reconcile, s.systems).run_full().await?;
            config
        }
    };
    let settings = settings::load(Some(&config), &env)?;
    let shutdown = Shutdown::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let (app, running) = serve::start(&settings, "127.0.0.1:0".parse()?, clock, &shutdown).await?;
    let base = format!("http://{}", running.addr);
    let store = app.engine.store().clone();

    let entities = store.client_entities(&[], None).await?;
    eprintln!(
        "bench api: {} clients in the store; {} concurrent clients, {} s per scenario",
        entities.len(),
        args.concurrency,
        args.secs
    );
    let ids: Vec<String> = entities.iter().map(|e| e.id.clone()).collect();
    let words: Vec<String> = entities
        .iter()
        .filter_map(|e| e.name.split(|c: char| !c.is_alphanumeric()).max_by_key(|w| w.chars().count()))
        .filter(|w| w.chars().count() >= 4)
        .flat_map(|w| [w.to_lowercase(), to_latin(w)])
        .collect();
    drop(entities);
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let cursors = list_cursors(&http, &base, 200).await?;
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };

    let scenarios: Vec<(&'static str, Vec<String>)> = vec![
        (
            "api list (50 per page)",
            cursors.iter().map(|c| format!("{base}/api/v1/clients?limit=50&cursor={}", enc(c))).collect(),
        ),
        ("api search", words.iter().map(|w| format!("{base}/api/v1/clients?limit=50&search={}", enc(w))).collect()),
        ("api card", ids.iter().map(|id| format!("{base}/api/v1/clients/{id}")).collect()),
        ("web list", cursors.iter().map(|c| format!("{base}/clients?cursor={}", enc(c))).collect()),
        ("web search", words.iter().map(|w| format!("{base}/clients?search={}", enc(w))).collect()),
        ("web card", ids.iter().map(|id| format!("{base}/clients/{id}")).collect()),
    ];
    let mut results = Vec::new();
    for (name, urls) in scenarios {
        eprintln!("bench api: {name}…");
        results.push(load(&http, name, Arc::new(urls), args.concurrency, Duration::from_secs(args.secs)).await);
    }
    shutdown.request();
    let _ = running.task.await;
    if args.json {
        output::json(&results)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|f| {
            vec![
                f.scenario.to_string(),
                f.requests.to_string(),
                f.errors.to_string(),
                format!("{:.1}", f.p50_ms),
                format!("{:.1}", f.p99_ms),
                format!("{:.1}", f.max_ms),
                format!("{:.0}", f.per_sec),
            ]
        })
        .collect();
    output::table(&["SCENARIO", "REQUESTS", "ERRORS", "P50 MS", "P99 MS", "MAX MS", "REQ/S"], &rows)?;
    Ok(if results.iter().any(|f| f.errors > 0) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Up to `n` cursors of consecutive list pages (walked once, not timed).
async fn list_cursors(http: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let mut cursors = vec![String::new()];
    while cursors.len() < n {
        let last = cursors.last().cloned().unwrap_or_default();
        let page: serde_json::Value = http
            .get(format!("{base}/api/v1/clients?limit=50&cursor={last}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        match page["next_cursor"].as_str() {
            Some(c) => cursors.push(c.to_string()),
            None => break,
        }
    }
    Ok(cursors)
}

/// `concurrency` workers requesting random `urls` for `for_how_long`.
async fn load(
    http: &reqwest::Client,
    scenario: &'static str,
    urls: Arc<Vec<String>>,
    concurrency: usize,
    for_how_long: Duration,
) -> Figures {
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, urls) = (http.clone(), urls.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while started.elapsed() < for_how_long {
                let Some(url) = urls.choose(&mut rand::thread_rng()).cloned() else { break };
                let t = Instant::now();
                let ok = match http.get(&url).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(Ok((latencies, e))) = workers.join_next().await {
        all.extend(latencies);
        errors += e;
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        scenario,
        requests: all.len(),
        errors,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        per_sec: all.len() as f64 / wall,
    }
}
