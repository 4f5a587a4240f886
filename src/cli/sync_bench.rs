//! `zveno bench sync`: one vendor, one generated world, one full sync through the real
//! engine and store, measured against the floor of API calls.
//!
//! The floor of a kind is `ceil(records / floor_page_size)`, with the records one full-scan
//! request returns at best as the connector declares them in its capabilities.
//! The simulator runs on the real clock with its vendor's real rate limits, so wall time
//! and throttling are what a real account would see.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use zveno_connector::{Clock, Kind, SyncMode, SystemClock};
use zveno_sim::world::{World, WorldSpec};

use super::{output, sandbox};
use crate::app::App;
use crate::engine::Shutdown;
use crate::{registry, settings};

/// Options of `zveno bench sync`.
#[derive(Debug, clap::Args)]
pub struct SyncBenchArgs {
    /// Which vendor's simulator (a `vendor = "..."` value).
    #[arg(long)]
    vendor: String,
    /// Clients in the generated world (Jira: the world's issues follow from it).
    #[arg(long, default_value_t = 20_000)]
    clients: usize,
    /// World seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(args: SyncBenchArgs) -> anyhow::Result<ExitCode> {
    let system = registry::simulated_systems()
        .into_iter()
        .find(|s| registry::system_vendor(*s) == args.vendor)
        .ok_or_else(|| anyhow::anyhow!("no simulator for vendor {:?}", args.vendor))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut spec = WorldSpec::new(args.seed, args.clients, &[system]);
    spec.now = clock.now();
    let data = World::generate(&spec).system(system);
    let dir = tempfile::tempdir()?;
    let sim = registry::launch_simulator(system, data.clone(), clock.clone(), args.seed).await?;
    let config = sandbox::write_config(dir.path(), std::slice::from_ref(&sim))?;
    let env = zveno_connector::Env::from_process();
    let app = App::build(&settings::load(Some(&config), &env)?, clock.clone()).await?;
    let shutdown = Shutdown::new();
    let mut rows = Vec::new();
    let mut complete = true;
    for job in &app.jobs {
        let page_size = job.connector.capabilities().floor_page_size.max(1) as u64;
        for &kind in &job.kinds {
            let expected = match kind {
                Kind::Client => data.companies.len(),
                Kind::Contact => data.contacts.len(),
                Kind::Task => data.tasks.len(),
            } as u64;
            eprintln!("bench sync: {} {kind}: {expected} records…", args.vendor);
            let started = Instant::now();
            let summary = app.engine.sync(&job.connector, kind, SyncMode::Full, &shutdown).await?;
            let wall = started.elapsed().as_secs_f64();
            let stored = app.engine.store().count_records(Some(job.connector.name()), Some(kind), false).await?;
            complete &= stored == expected;
            let floor = expected.div_ceil(page_size).max(1);
            rows.push(serde_json::json!({
                "vendor": args.vendor,
                "kind": kind.as_str(),
                "records": expected,
                "stored": stored,
                "requests": summary.requests,
                "floor": floor,
                "ratio": (summary.requests as f64 / floor as f64 * 1000.0).round() / 1000.0,
                "throttled": summary.throttled,
                "wall_secs": (wall * 10.0).round() / 10.0,
                "records_per_sec": (summary.records as f64 / wall.max(1e-9)).round() as u64,
            }));
        }
    }
    if args.json {
        output::json(&rows)?;
    } else {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                ["kind", "records", "stored", "requests", "floor", "ratio", "throttled", "wall_secs", "records_per_sec"]
                    .iter()
                    .map(|k| r[*k].to_string().trim_matches('"').to_string())
                    .collect()
            })
            .collect();
        output::table(
            &["KIND", "RECORDS", "STORED", "REQUESTS", "FLOOR", "RATIO", "THROTTLED", "WALL S", "RECORDS/S"],
            &cells,
        )?;
    }
    if !complete {
        eprintln!("bench sync: not every record was stored");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
