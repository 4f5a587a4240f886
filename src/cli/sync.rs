//! `zveno migrate` and `zveno sync --once` (which resolves identities after pulling).

use std::process::ExitCode;
use std::sync::Arc;

use zveno_connector::SystemClock;

use super::output;
use crate::app::App;
use crate::engine::{Admission, EngineError, Job, JobOutcome, RunSummary, Shutdown};
use crate::settings::Settings;
use crate::store::Store;

pub(super) async fn migrate(store_url: &str) -> anyhow::Result<ExitCode> {
    let store = Store::connect(store_url).await?;
    store.migrate().await?;
    out!("store migrated ({})", zveno_connector::redact_text(store_url));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn once(
    settings: &Settings,
    connector: Option<&str>,
    full: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let app = App::build(settings, Arc::new(SystemClock::new())).await?;
    let jobs = app.select(connector)?;
    if jobs.is_empty() {
        anyhow::bail!("no connectors configured: add [connectors.<name>] to the config (see config/examples/)");
    }
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals();
    let (summaries, mut failed) = run_jobs(&app, &jobs, full, &shutdown).await?;
    // Resolve what the runs changed (even after a failed run: what did land is worth it).
    let resolved = app.engine.resolve().await;
    if json {
        output::json(&summaries)?;
    } else {
        output::summaries(&summaries)?;
    }
    match resolved {
        Ok(Some(report)) if !json => output::resolution(&report)?,
        Ok(_) => {}
        Err(e) => {
            failed = true;
            eprintln!("error: {e}");
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Runs every kind of `jobs` once, as `zveno sync --once` does (parked connectors are
/// skipped), printing each failure to stderr. Returns the summaries of the runs and
/// whether any failed.
pub(super) async fn run_jobs(
    app: &App,
    jobs: &[Job],
    full: bool,
    shutdown: &Shutdown,
) -> anyhow::Result<(Vec<RunSummary>, bool)> {
    let mut summaries = Vec::new();
    let mut failed = false;
    for job in jobs {
        // A parked connector is not called: its credentials or configuration are known to
        // be wrong. (A deferred one runs: the operator asked for a run now.)
        if let Admission::Parked(state) = app.engine.admit(job).await? {
            failed = true;
            let name = job.connector.name();
            eprintln!(
                "error: {name} is parked since {}: {}\n  fix it, then run `zveno connector resume {name}` \
                 (a changed configuration or secret resumes it by itself)",
                state.since.format("%Y-%m-%d %H:%M:%S UTC"),
                state.reason.as_deref().unwrap_or("no reason recorded")
            );
            continue;
        }
        let supervised = app.engine.run_supervised(job, full, shutdown).await;
        for result in supervised.results {
            match result {
                Ok(s) => summaries.push(s),
                Err(EngineError::Connector { connector, kind, source }) => {
                    failed = true;
                    eprintln!("error: {connector}/{kind}: {}", super::hint::connector(&connector, &source));
                }
                Err(e) => {
                    failed = true;
                    eprintln!("error: {e}");
                }
            }
        }
        match supervised.outcome {
            JobOutcome::Panicked(message) => {
                failed = true;
                eprintln!("error: {message}");
            }
            JobOutcome::NeedsPerson(_) => {
                let name = job.connector.name();
                eprintln!("  {name} is now parked: after fixing it, run `zveno connector resume {name}`");
            }
            _ => {}
        }
    }
    Ok((summaries, failed))
}
