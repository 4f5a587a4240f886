//! `zveno migrate` and `zveno sync --once` (which resolves identities after pulling).

use std::process::ExitCode;
use std::sync::Arc;

use zveno_connector::SystemClock;

use super::output;
use crate::app::App;
use crate::engine::{EngineError, Shutdown};
use crate::settings::Settings;
use crate::store::Store;

pub(super) async fn migrate(store_url: &str) -> anyhow::Result<ExitCode> {
    let store = Store::connect(store_url).await?;
    store.migrate().await?;
    out!("store migrated ({})", super::check::redact_url(store_url));
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
    let mut summaries = Vec::new();
    let mut failed = false;
    for job in &jobs {
        for result in app.engine.sync_job(job, full, &shutdown).await {
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
    }
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
