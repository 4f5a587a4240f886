//! `zveno bench`: benchmarks that print the figures quoted in the README.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use super::{api_bench, cost_bench, output, resolve_bench, sync_bench};
use crate::store::{bench, Store};

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// A full sync through the engine and store (what `zveno sync --once --full` does)
    /// against a vendor simulator holding a generated world: API calls vs the floor,
    /// throttled answers, wall time, records/s, and whether every record was stored.
    Sync(sync_bench::SyncBenchArgs),
    /// What a sync costs zveno itself: CPU time per 1,000 records and peak memory of a full
    /// `sync --once` into an empty store, then of the incremental one after 1% of the
    /// records changed, each in a fresh process (the simulators run in this one).
    Cost(cost_bench::CostBenchArgs),
    /// Identity resolution on a generated world synced from the simulators: resolve+merge
    /// throughput in source records/s, peak memory, and an incremental run with 1% of the
    /// records changed against a full re-resolve.
    Resolve(resolve_bench::ResolveBenchArgs),
    /// The HTTP API and web view under load: p50/p99 latency and throughput of the client
    /// list, search and card at N concurrent clients, on a store of a generated world.
    Api(api_bench::ApiBenchArgs),
    /// Store ingest: records/s committing pages (with their cursor) on SQLite and/or PostgreSQL.
    Store {
        /// Records to write.
        #[arg(long, default_value_t = 20_000)]
        records: usize,
        /// Records per page (one transaction each).
        #[arg(long, default_value_t = 100)]
        page_size: usize,
        /// Which backends.
        #[arg(long, value_enum, default_value_t = Backends::Both)]
        backend: Backends,
        /// SQLite store to write to (default: a fresh temporary file).
        #[arg(long, value_name = "URL")]
        sqlite_url: Option<String>,
        /// PostgreSQL store to write to.
        #[arg(
            long,
            value_name = "URL",
            env = "ZVENO_BENCH_POSTGRES_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/zveno_test"
        )]
        postgres_url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which store backends to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backends {
    /// SQLite only.
    Sqlite,
    /// PostgreSQL only.
    Postgres,
    /// Both.
    Both,
}

pub(super) async fn run(what: BenchCommand) -> anyhow::Result<ExitCode> {
    match what {
        BenchCommand::Sync(args) => sync_bench::run(args).await,
        BenchCommand::Cost(args) => cost_bench::run(args).await,
        BenchCommand::Resolve(args) => resolve_bench::run(args).await,
        BenchCommand::Api(args) => api_bench::run(args).await,
        BenchCommand::Store { records, page_size, backend, sqlite_url, postgres_url, json } => {
            let temp = tempfile::tempdir()?;
            let sqlite = sqlite_url.unwrap_or_else(|| format!("sqlite://{}", temp.path().join("bench.db").display()));
            let mut targets = Vec::new();
            if backend != Backends::Postgres {
                targets.push(("sqlite", sqlite));
            }
            if backend != Backends::Sqlite {
                targets.push(("postgres", postgres_url));
            }
            let mut reports = Vec::new();
            for (name, url) in targets {
                eprintln!("bench store: {records} records in pages of {page_size} on {name}…");
                let store = Store::connect(&url).await?;
                store.migrate().await?;
                let report = bench::ingest(&store, records, page_size).await?;
                reports.push(serde_json::json!({
                    "backend": name,
                    "records": report.records,
                    "pages": report.pages,
                    "page_size": page_size,
                    "elapsed_secs": report.elapsed.as_secs_f64(),
                    "records_per_sec": report.records_per_sec.round() as u64,
                }));
            }
            if json {
                output::json(&reports)?;
            } else {
                let rows: Vec<Vec<String>> = reports
                    .iter()
                    .map(|r| {
                        vec![
                            r["backend"].as_str().unwrap_or("?").to_string(),
                            r["records"].to_string(),
                            r["pages"].to_string(),
                            format!("{:.2}s", r["elapsed_secs"].as_f64().unwrap_or(0.0)),
                            r["records_per_sec"].to_string(),
                        ]
                    })
                    .collect();
                output::table(&["BACKEND", "RECORDS", "PAGES", "TIME", "RECORDS/S"], &rows)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
