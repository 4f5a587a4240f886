//! `zveno bench resolve`: identity resolution on a generated world of about `--records`
//! source records, synced from the HubSpot, Bitrix24 and Jira simulators.
//!
//! Preparing the store (world, simulators on a virtual clock so vendor rate limits cost no
//! wall time, a full sync) happens in this process; each measured step runs in a fresh
//! child process (`--measure CONFIG --step S`), so its peak memory is its own and not the
//! simulators' or an earlier step's. See `resolve::bench` for what is measured.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use zveno_connector::{Clock, Env, ManualClock};
use zveno_sim::world::{World, WorldSpec};

use super::{output, sandbox};
use crate::app::App;
use crate::engine::Shutdown;
use crate::resolve::bench::{self, Step};
use crate::resolve::Resolver;
use crate::store::Store;
use crate::{registry, settings};

/// Source records per client in generated worlds over the three simulated vendors
/// (measured: 65,192 records for 10,000 clients).
const RECORDS_PER_CLIENT: f64 = 6.5;

/// Options of `zveno bench resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveBenchArgs {
    /// About how many source records (clients, contacts and tasks) the world holds.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// World seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Run one step on the store of this config and print JSON (what the benchmark runs
    /// in its child processes).
    #[arg(long, value_name = "CONFIG", requires = "step")]
    measure: Option<PathBuf>,
    /// The step `--measure` runs: first, change, incremental or full.
    #[arg(long, value_parser = parse_step)]
    step: Option<Step>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

const STEPS: [Step; 4] = [Step::First, Step::Change, Step::Incremental, Step::Full];

fn parse_step(s: &str) -> Result<Step, String> {
    STEPS
        .into_iter()
        .find(|step| serde_json::to_value(step).ok().and_then(|v| v.as_str().map(|v| v == s)).unwrap_or(false))
        .ok_or_else(|| format!("unknown step {s:?} (expected first, change, incremental or full)"))
}

/// Generates a world of `clients` over the simulated vendors, syncs it into a store in
/// `dir` (simulators on a virtual clock, so vendor rate limits cost no wall time) and
/// returns the config pointing at that store. Not timed: benchmarks measure what follows.
pub(super) async fn synced_world(dir: &Path, clients: usize, seed: u64, env: &Env) -> anyhow::Result<PathBuf> {
    let systems = registry::simulated_systems();
    let world = World::generate(&WorldSpec::new(seed, clients, &systems));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(world.spec.now));
    let mut sims = Vec::new();
    for system in systems {
        sims.push(registry::launch_simulator(system, world.system(system), clock.clone(), seed).await?);
    }
    let config = sandbox::write_config(dir, &sims)?;
    let app = App::build(&settings::load(Some(&config), env)?, clock).await?;
    eprintln!("bench: {clients} clients; syncing them from the simulators (not timed)…");
    let shutdown = Shutdown::new();
    for job in &app.jobs {
        for run in app.engine.sync_job(job, true, &shutdown).await {
            run?;
        }
    }
    Ok(config)
}

pub(super) async fn run(args: ResolveBenchArgs) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    if let (Some(config), Some(step)) = (&args.measure, args.step) {
        let settings = settings::load_resolution(Some(config), &env)?;
        let store = Store::connect(&settings.store_url).await?;
        store.migrate().await?;
        let resolver = Resolver::new(store, settings.reconcile, settings.systems);
        output::json(&bench::run(&resolver, step).await?)?;
        return Ok(ExitCode::SUCCESS);
    }

    let clients = (args.records as f64 / RECORDS_PER_CLIENT).ceil() as usize;
    let dir = tempfile::tempdir()?;
    let config = synced_world(dir.path(), clients, args.seed, &env).await?;

    let mut results = Vec::new();
    for step in STEPS {
        let name = serde_json::to_value(step)?.as_str().unwrap_or_default().to_string();
        eprintln!("bench resolve: {name} (in a fresh process)…");
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["--log-level", "warn", "bench", "resolve", "--measure"])
            .arg(&config)
            .args(["--step", &name])
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            anyhow::bail!("the measuring process failed ({})", out.status);
        }
        results.push(serde_json::from_slice::<serde_json::Value>(&out.stdout)?);
    }
    if args.json {
        output::json(&results)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let f = |key: &str| r[key].as_f64().unwrap_or(0.0);
            let resolution = !r["report"].is_null();
            let full = r["report"]["mode"].as_str() == Some("full");
            vec![
                r["step"].as_str().unwrap_or("?").to_string(),
                r["report"]["mode"].as_str().unwrap_or("-").to_string(),
                r["records"].to_string(),
                r["changed"].to_string(),
                if resolution { r["report"]["clients"].to_string() } else { "-".into() },
                format!("{:.2} s", f("secs")),
                if full { format!("{:.0}", f("records_per_sec")) } else { "-".into() },
                r["peak_mib"].as_f64().map_or_else(|| "-".to_string(), |m| format!("{m:.0}")),
            ]
        })
        .collect();
    output::table(&["STEP", "MODE", "RECORDS", "CHANGED", "CLIENTS RESOLVED", "TIME", "RECORDS/S", "PEAK MIB"], &rows)?;
    Ok(ExitCode::SUCCESS)
}
