//! `zveno bench cost`: what a sync costs zveno itself — CPU time per 1,000 records and peak
//! memory — through the real connectors, engine, store and resolution.
//!
//! This process generates a world, starts the vendor simulators (real clock, the vendors'
//! real rate limits) and writes a config pointing at them; each measured step then runs in
//! a fresh child process (`--measure CONFIG --step S`) doing exactly what `zveno sync
//! --once` does — every connector's kinds, then identity resolution — and reporting its
//! own CPU time (user + system, every thread) and peak resident memory (`VmHWM`). The
//! simulators' work is not in the figures: they run here, in the parent.
//!
//! Steps: `full` (a first full sync into an empty store, what `sync --once --full` does),
//! then [`CHANGE_EVERY`]-th records of every kind change in the simulators, then
//! `incremental` (the next `sync --once`: incremental pulls, the id census where due, the
//! incremental resolution). `--wrap` runs the measured steps under a profiler.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use zveno_connector::{Clock, Env, Kind, SystemClock};
use zveno_sim::kit::BenchSim;
use zveno_sim::world::{World, WorldSpec};

use super::output;
use super::sandbox::{self, SimAddress};
use super::sync::run_jobs;
use crate::app::App;
use crate::engine::Shutdown;
use crate::registry;
use crate::resolve::ResolveReport;
use crate::settings;

/// One record in this many changes between the full and the incremental step (1%).
const CHANGE_EVERY: usize = 100;

/// Source records per client in a world over HubSpot, Bitrix24 and Jira (measured: 65,192
/// records for 10,000 clients); one vendor holds about a third of them.
const RECORDS_PER_CLIENT: f64 = 6.5;

/// How long the simulators' search indexes take to show a change (HubSpot's and Jira's
/// simulated index lag is 2 s), with a margin.
const INDEX_LAG: Duration = Duration::from_secs(4);

/// Options of `zveno bench cost`.
#[derive(Debug, clap::Args)]
pub struct CostBenchArgs {
    /// The simulated vendors of the world, comma-separated (`vendor =` names; default: every
    /// vendor `zveno demo` simulates). The README's figures name the ones they used.
    #[arg(long, value_delimiter = ',')]
    vendors: Vec<String>,
    /// About how many source records (clients, contacts and tasks) the world holds.
    #[arg(long, default_value_t = 50_000)]
    records: usize,
    /// Clients in the world (instead of deriving them from `--records`).
    #[arg(long)]
    clients: Option<usize>,
    /// World seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Store on this PostgreSQL server, in a fresh schema dropped afterwards (default: a
    /// fresh SQLite file).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Run each measured step under this command, e.g. `perf record -g -o perf-{step}.data
    /// --` (split on spaces, `{step}` replaced by the step's name; the step's own command
    /// line is appended). `.ci/profile` uses it.
    #[arg(long, value_name = "COMMAND")]
    wrap: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Run one step on the store of this config and print JSON (what the benchmark runs in
    /// its child processes).
    #[arg(long, value_name = "CONFIG", requires = "step")]
    measure: Option<PathBuf>,
    /// The step `--measure` runs: full or incremental.
    #[arg(long, value_parser = ["full", "incremental"])]
    step: Option<String>,
}

/// What one measured step did and cost.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct Measured {
    step: String,
    /// Records the runs pulled.
    records: u64,
    /// Pages committed.
    pages: u64,
    /// HTTP requests of the runs (census included).
    requests: u64,
    /// Throttled answers.
    throttled: u64,
    /// Wall time of the whole step.
    wall_secs: f64,
    /// User + system CPU time of the step's process.
    cpu_secs: f64,
    /// Of which the pulls (connectors, engine, store), before resolution started.
    sync_cpu_secs: f64,
    /// Peak resident memory when the pulls ended, before resolution started.
    sync_peak_mib: f64,
    /// Peak resident memory of the step's process.
    peak_mib: f64,
    /// The resolution that followed the pulls.
    resolution: Option<ResolveReport>,
    /// Whether every run and the resolution succeeded.
    ok: bool,
}

impl Measured {
    /// CPU milliseconds per 1,000 records pulled.
    fn cpu_ms_per_1k(&self) -> f64 {
        self.per_1k(self.cpu_secs)
    }

    /// `secs` of CPU in milliseconds per 1,000 records pulled.
    fn per_1k(&self, secs: f64) -> f64 {
        secs * 1000.0 / (self.records.max(1) as f64 / 1000.0)
    }
}

pub(super) async fn run(args: CostBenchArgs) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    if let (Some(config), Some(step)) = (&args.measure, &args.step) {
        let measured = measure(config, step, &env).await?;
        let ok = measured.ok;
        output::json(&measured)?;
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }

    let mut systems = Vec::new();
    for vendor in &args.vendors {
        let system = registry::simulated_systems()
            .into_iter()
            .find(|s| registry::system_vendor(*s) == vendor.trim())
            .ok_or_else(|| anyhow::anyhow!("no simulator for vendor {vendor:?}"))?;
        systems.push(system);
    }
    if systems.is_empty() {
        systems = registry::simulated_systems();
    }
    let names: Vec<&str> = systems.iter().map(|s| registry::system_vendor(*s)).collect();
    let per_client = RECORDS_PER_CLIENT * systems.len() as f64 / 3.0;
    let clients = args.clients.unwrap_or_else(|| (args.records as f64 / per_client).ceil() as usize);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut spec = WorldSpec::new(args.seed, clients, &systems);
    // The world's records last changed a day ago: outside every incremental overlap window.
    spec.now = clock.now() - chrono::Duration::days(1);
    let world = World::generate(&spec);
    let mut sims = Vec::new();
    for &system in &systems {
        sims.push(registry::launch_bench_simulator(system, world.system(system), clock.clone(), args.seed).await?);
    }
    drop(world);
    let held: u64 = sims.iter().map(|s| Kind::ALL.iter().map(|k| s.records.count(*k) as u64).sum::<u64>()).sum();
    let dir = tempfile::tempdir()?;
    let schema = match &args.postgres {
        Some(url) => Some(PgSchema::create(url).await?),
        None => None,
    };
    let addresses: Vec<SimAddress<'_>> =
        sims.iter().map(|s| SimAddress { vendor: s.vendor, url: &s.url, options: &s.options, env: &s.env }).collect();
    let config = sandbox::write_config_for(dir.path(), &addresses, schema.as_ref().map(|s| s.url.as_str()))?;
    let backend = if schema.is_some() { "postgres" } else { "sqlite" };
    eprintln!(
        "bench cost: {} clients over {}, {held} records in the simulators, store on {backend}",
        clients,
        names.join("+")
    );

    let mut results = Vec::new();
    let mut ok = true;
    for step in ["full", "incremental"] {
        if step == "incremental" {
            let changed = change(&sims);
            eprintln!("bench cost: changed {changed} records in the simulators");
            tokio::time::sleep(INDEX_LAG).await;
        }
        eprintln!("bench cost: {step} sync (in a fresh process)…");
        let measured = spawn_step(&config, step, args.wrap.as_deref())?;
        ok &= measured.ok;
        results.push(measured);
    }
    if let Some(schema) = schema {
        schema.drop().await?;
    }
    report(&results, held, backend, args.json)?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Changes every [`CHANGE_EVERY`]-th record of every kind in every simulator; returns how
/// many.
fn change(sims: &[BenchSim]) -> usize {
    let mut changed = 0;
    for sim in sims {
        for kind in Kind::ALL {
            let n = sim.records.count(kind) / CHANGE_EVERY;
            if n > 0 {
                changed += sim.records.touch(kind, n).len();
            }
        }
    }
    changed
}

/// Runs one step in a fresh process (under `wrap`, if given) and reads what it measured.
fn spawn_step(config: &Path, step: &str, wrap: Option<&str>) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe()?;
    let exe = exe.display().to_string();
    let config = config.display().to_string();
    let wrap = wrap.map(|w| w.replace("{step}", step)).unwrap_or_default();
    let mut argv: Vec<&str> = wrap.split_whitespace().collect();
    argv.extend([exe.as_str(), "--log-level", "warn", "bench", "cost", "--measure", &config, "--step", step]);
    let (program, rest) = argv.split_first().ok_or_else(|| anyhow::anyhow!("empty command"))?;
    let out = std::process::Command::new(program).args(rest).stderr(std::process::Stdio::inherit()).output()?;
    serde_json::from_slice(&out.stdout)
        .map_err(|e| anyhow::anyhow!("the {step} step ({}) printed no measurement: {e}", out.status))
}

/// The `--measure` side: `zveno sync --once` on `config`, then this process's CPU and peak.
async fn measure(config: &Path, step: &str, env: &Env) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let settings = settings::load(Some(config), env)?;
    let app = App::build(&settings, Arc::new(SystemClock::new())).await?;
    let shutdown = Shutdown::new();
    let (summaries, failed) = run_jobs(&app, &app.jobs, step == "full", &shutdown).await?;
    let sync_cpu_secs = crate::usage::cpu_secs().unwrap_or(0.0);
    let sync_peak_mib = crate::usage::peak_mib().unwrap_or(0.0);
    let resolution = app.engine.resolve().await;
    let wall_secs = started.elapsed().as_secs_f64();
    let resolved_ok = resolution.is_ok();
    if let Err(e) = &resolution {
        eprintln!("error: {e}");
    }
    Ok(Measured {
        step: step.to_string(),
        records: summaries.iter().map(|s| s.records).sum(),
        pages: summaries.iter().map(|s| s.pages).sum(),
        requests: summaries.iter().map(|s| s.requests + s.census_requests).sum(),
        throttled: summaries.iter().map(|s| s.throttled).sum(),
        wall_secs,
        cpu_secs: crate::usage::cpu_secs().unwrap_or(0.0),
        sync_cpu_secs,
        sync_peak_mib,
        peak_mib: crate::usage::peak_mib().unwrap_or(0.0),
        resolution: resolution.ok().flatten(),
        ok: !failed && resolved_ok,
    })
}

fn report(results: &[Measured], held: u64, backend: &str, json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|m| {
                let mut v = serde_json::to_value(m).unwrap_or_default();
                v["backend"] = backend.into();
                v["world_records"] = held.into();
                v["cpu_ms_per_1k"] = ((m.cpu_ms_per_1k() * 10.0).round() / 10.0).into();
                v
            })
            .collect();
        return output::json(&rows);
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|m| {
            vec![
                m.step.clone(),
                backend.to_string(),
                m.records.to_string(),
                m.requests.to_string(),
                m.throttled.to_string(),
                m.resolution.as_ref().map_or("-".to_string(), |r| format!("{:?} {}", r.mode, r.changed).to_lowercase()),
                format!("{:.1} s", m.wall_secs),
                format!("{:.2} s", m.cpu_secs),
                format!("{:.0}", m.cpu_ms_per_1k()),
                format!("{:.0}", m.per_1k(m.sync_cpu_secs)),
                format!("{:.0}", m.peak_mib),
                format!("{:.0}", m.sync_peak_mib),
            ]
        })
        .collect();
    output::table(
        &[
            "STEP",
            "STORE",
            "RECORDS",
            "REQUESTS",
            "THROTTLED",
            "RESOLVED",
            "WALL",
            "CPU",
            "CPU MS/1K",
            "OF WHICH PULLS",
            "PEAK MIB",
            "PEAK BEFORE RESOLVE",
        ],
        &rows,
    )?;
    Ok(())
}

/// A fresh PostgreSQL schema for one benchmark, selected through the URL's `options`.
struct PgSchema {
    server: String,
    name: String,
    url: String,
}

impl PgSchema {
    async fn create(server: &str) -> anyhow::Result<PgSchema> {
        let name = format!("zveno_bench_{}", std::process::id());
        admin(server, &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")).await?;
        let mut url = url::Url::parse(server)?;
        url.query_pairs_mut().append_pair("options", &format!("-csearch_path={name}"));
        Ok(PgSchema { server: server.to_string(), name, url: url.to_string() })
    }

    async fn drop(self) -> anyhow::Result<()> {
        admin(&self.server, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)).await
    }
}

/// Runs `sql` on its own connection to the PostgreSQL server at `url`.
async fn admin(url: &str, sql: &str) -> anyhow::Result<()> {
    use sqlx::{Connection as _, Executor as _};
    let mut conn = sqlx::PgConnection::connect(url).await?;
    conn.execute(sql).await?;
    conn.close().await?;
    Ok(())
}
