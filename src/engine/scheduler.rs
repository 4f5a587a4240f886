//! The daemon's schedule: every connector in its own task, its kinds in order, on its
//! interval with ±10% jitter (so many instances never align), a full scan whenever the
//! last completed one is older than `full_every`, identity resolution after each sync.

use std::time::Duration;

use rand::Rng as _;

use super::{Engine, Job, Shutdown};

/// Runs every job on its schedule until `shutdown`.
pub async fn run_daemon(engine: Engine, jobs: Vec<Job>, shutdown: Shutdown) {
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move { run_job(engine, job, shutdown).await });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a connector task ended abnormally");
        }
    }
}

async fn run_job(engine: Engine, job: Job, shutdown: Shutdown) {
    loop {
        for result in engine.sync_job(&job, false, &shutdown).await {
            if let Err(e) = result {
                // The run is recorded as failed in the store; the next tick tries again.
                tracing::warn!(connector = job.connector.name(), error = %e, "sync failed; will retry on schedule");
            }
        }
        if let Err(e) = engine.resolve().await {
            // What changed stays in the dirty queue; the next tick resolves it.
            tracing::warn!(error = %e, "identity resolution failed; will retry on schedule");
        }
        if shutdown.requested() {
            return;
        }
        let wait = jittered(job.schedule.interval);
        tracing::debug!(connector = job.connector.name(), wait_secs = wait.as_secs(), "sleeping until the next run");
        tokio::select! {
            () = tokio::time::sleep(wait) => {},
            () = shutdown.wait() => return,
        }
    }
}

fn jittered(interval: Duration) -> Duration {
    let factor = rand::thread_rng().gen_range(0.9..=1.1);
    interval.mul_f64(factor)
}
