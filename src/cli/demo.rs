//! `zveno demo`: zveno with no credentials.
//!
//! Generates a sample world, starts a simulator per vendor seeded from it, writes a
//! config (and the simulators' demo credentials, as files) into the data directory, syncs
//! everything once, prints what it found and how to explore, then keeps syncing on a short
//! schedule until Ctrl-C. It writes nothing outside the data directory it names.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use zveno_connector::{Clock, Env, SystemClock};
use zveno_sim::kit::LaunchedSim;
use zveno_sim::world::{World, WorldSpec};

use super::output;
use crate::app::App;
use crate::engine::{run_daemon, Shutdown};
use crate::registry;
use crate::settings;

/// Options of `zveno demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo keeps its store, config and credentials (created if missing).
    #[arg(long, default_value = "zveno-demo", value_name = "DIR")]
    data_dir: PathBuf,
    /// Clients in the sample world.
    #[arg(long, default_value_t = 300)]
    clients: usize,
    /// Seed of the sample world (same seed, same world).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Seconds between syncs after the first one.
    #[arg(long, default_value_t = 30)]
    interval_secs: u64,
    /// Sync once, print the summary and exit (instead of syncing until Ctrl-C).
    #[arg(long)]
    once: bool,
}

pub(super) async fn run(args: DemoArgs, _config: Option<&Path>, env: &Env) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the demo directory {}: {e}", args.data_dir.display()))?;
    let dir = args.data_dir.canonicalize()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let systems = registry::simulated_systems();
    let mut spec = WorldSpec::new(args.seed, args.clients, &systems);
    spec.now = clock.now();
    let world = World::generate(&spec);
    println!(
        "zveno demo: a world of {} clients over {} simulated vendor(s), in {}",
        args.clients,
        systems.len(),
        dir.display()
    );

    let mut sims = Vec::new();
    for system in systems {
        sims.push(registry::launch_simulator(system, world.system(system), clock.clone(), args.seed).await?);
    }
    let config_path = write_config(&dir, &sims)?;
    let settings = settings::load(Some(&config_path), env)?;
    let app = App::build(&settings, clock.clone()).await?;

    let shutdown = Shutdown::new();
    shutdown.listen_for_signals();
    let mut summaries = Vec::new();
    for job in &app.jobs {
        for result in app.engine.sync_job(job, true, &shutdown).await {
            summaries.push(result?);
        }
    }
    println!();
    output::summaries(&summaries);
    print_explore(&config_path, &sims);
    if args.once {
        return Ok(ExitCode::SUCCESS);
    }
    println!("\nSyncing every {} s until Ctrl-C…", args.interval_secs);
    let mut jobs = app.jobs.clone();
    for job in &mut jobs {
        job.schedule.interval = std::time::Duration::from_secs(args.interval_secs.max(1));
    }
    run_daemon(app.engine.clone(), jobs, shutdown).await;
    println!("demo stopped; its data stays in {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes `zveno.toml` pointing at the simulators, with their demo credentials in files
/// next to it, so the user's own `zveno --config …` commands work while the demo runs.
fn write_config(dir: &Path, sims: &[LaunchedSim]) -> anyhow::Result<PathBuf> {
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    let mut connectors = toml::Table::new();
    for sim in sims {
        let mut table = toml::Table::new();
        table.insert("vendor".into(), sim.vendor.into());
        table.insert("base_url".into(), sim.server.url().into());
        let serde_json::Value::Object(options) = &sim.options else {
            anyhow::bail!("simulator {} gave non-table options", sim.vendor);
        };
        for (key, value) in options {
            // `*_env` references become `*_file` ones: the file holds the demo credential.
            if let (Some(stem), Some(var)) = (key.strip_suffix("_env"), value.as_str()) {
                let secret = sim.env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()).unwrap_or_default();
                let file = secrets.join(format!("{}.{stem}", sim.vendor));
                std::fs::write(&file, secret)?;
                table.insert(format!("{stem}_file"), file.display().to_string().into());
            } else {
                table.insert(key.clone(), toml::Value::try_from(value)?);
            }
        }
        connectors.insert(sim.vendor.to_string(), toml::Value::Table(table));
    }
    let mut root = toml::Table::new();
    let mut store = toml::Table::new();
    store.insert("url".into(), format!("sqlite://{}", dir.join("zveno.db").display()).into());
    root.insert("store".into(), toml::Value::Table(store));
    root.insert("connectors".into(), toml::Value::Table(connectors));
    let path = dir.join("zveno.toml");
    let text = format!(
        "# Written by `zveno demo`: the simulators' addresses change on every start.\n{}",
        toml::to_string_pretty(&root)?
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

fn print_explore(config: &Path, sims: &[LaunchedSim]) {
    let config = config.display();
    println!("\nExplore (while the demo runs):");
    println!("  zveno --config {config} runs");
    println!("  zveno --config {config} sync --once");
    println!("\nSimulated vendors (point your own scripts or a vendor SDK at them):");
    for sim in sims {
        println!("  {:<10} {}", sim.vendor, sim.server.url());
        for line in sim.help.lines() {
            println!("             {line}");
        }
    }
}
