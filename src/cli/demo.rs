//! `zveno demo`: zveno with no credentials.
//!
//! Generates a sample world, starts a simulator per vendor seeded from it, writes a
//! config (and the simulators' demo credentials, as files) into the data directory, syncs
//! everything once, prints what it found and how to explore, then keeps syncing on a short
//! schedule until Ctrl-C. It writes nothing outside the data directory it names.
//!
//! Once the first sync has committed it lists the simulators, their URLs and credentials
//! in `simulators.json` (removed at start, so an old file never says a new demo is ready):
//! scripts such as `tests/official_clients` wait for it and point vendor SDKs at them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use zveno_connector::{Clock, Env, SystemClock};
use zveno_sim::kit::LaunchedSim;
use zveno_sim::world::{World, WorldSpec};

use super::{output, sandbox, serve, summary};
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
    /// Sync once, print the summary and exit (instead of serving and syncing until Ctrl-C).
    #[arg(long)]
    once: bool,
    /// Where the web view and API listen (host:port; port 0 picks a free one).
    #[arg(long, default_value = crate::settings::DEFAULT_LISTEN, value_name = "ADDR")]
    listen: std::net::SocketAddr,
}

pub(super) async fn run(args: DemoArgs, _config: Option<&Path>, env: &Env) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the demo directory {}: {e}", args.data_dir.display()))?;
    let dir = args.data_dir.canonicalize()?;
    let simulators_file = dir.join(sandbox::SIMULATORS_FILE);
    match std::fs::remove_file(&simulators_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            anyhow::bail!("cannot remove the old {}: {e}", simulators_file.display())
        }
        _ => {}
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let systems = registry::simulated_systems();
    let mut spec = WorldSpec::new(args.seed, args.clients, &systems);
    spec.now = clock.now();
    let world = World::generate(&spec);
    out!(
        "zveno demo: a world of {} clients over {} simulated vendor(s), in {}",
        args.clients,
        systems.len(),
        dir.display()
    );

    let mut sims = Vec::new();
    for system in systems {
        sims.push(registry::launch_simulator(system, world.system(system), clock.clone(), args.seed).await?);
    }
    let config_path = sandbox::write_config(&dir, &sims)?;
    let settings = settings::load(Some(&config_path), env)?;
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals();
    let (app, running) = if args.once {
        (App::build(&settings, clock.clone()).await?, None)
    } else {
        let (app, running) = serve::start(&settings, args.listen, clock.clone(), &shutdown).await?;
        (app, Some(running))
    };
    let mut summaries = Vec::new();
    for job in &app.jobs {
        for result in app.engine.sync_job(job, true, &shutdown).await {
            summaries.push(result?);
        }
    }
    out!();
    output::summaries(&summaries)?;
    if let Some(report) = app.engine.resolve().await? {
        summary::print(app.engine.store(), &config_path, &report, settings.view.timezone).await?;
    }
    let simulators_file = sandbox::write_simulators(&dir, &config_path, &sims)?;
    print_explore(&config_path, &simulators_file, &sims)?;
    let Some(running) = running else { return Ok(ExitCode::SUCCESS) };
    out!("\nWeb view and API (open in a browser): http://{}/", running.addr);
    out!("  health http://{0}/health   metrics http://{0}/metrics   API http://{0}/api/v1/clients", running.addr);
    out!("\nSyncing every {} s until Ctrl-C…", args.interval_secs);
    let mut jobs = app.jobs.clone();
    for job in &mut jobs {
        job.schedule.interval = std::time::Duration::from_secs(args.interval_secs.max(1));
    }
    run_daemon(app.engine.clone(), jobs, shutdown.clone()).await;
    shutdown.request();
    let _ = running.task.await;
    out!("demo stopped; its data stays in {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn print_explore(config: &Path, simulators_file: &Path, sims: &[LaunchedSim]) -> anyhow::Result<()> {
    let config = config.display();
    out!("\nExplore (while the demo runs):");
    out!("  zveno --config {config} runs");
    out!("  zveno --config {config} sync --once");
    out!(
        "\nSimulated vendors (point your own scripts or a vendor SDK at them; as JSON in {}):",
        simulators_file.display()
    );
    for sim in sims {
        out!("  {:<10} {}", sim.vendor, sim.server.url());
        for line in sim.help.lines() {
            out!("             {line}");
        }
    }
    Ok(())
}
