//! The daemon's schedule: every connector under a supervisor task of its own, its kinds in
//! order, on its interval with ±10% jitter (so many instances never align), a full scan
//! whenever the last completed one is older than `full_every`, identity resolution after
//! each sync.
//!
//! Before each run the supervisor asks the store whether the connector may run (see
//! [`super::supervisor`]): a deferred connector waits for its time, a parked one waits for
//! `zveno connector resume` — checked every few seconds, so a resume from another shell or
//! instance takes effect at once. Waits run on the engine's clock, so tests drive the whole
//! schedule on virtual time.

use std::time::Duration;

use chrono::Utc;

use super::supervisor::Admission;
use super::{jittered, Engine, Job, Shutdown};

/// How often a waiting connector looks at the store for a resume.
const POLL: Duration = Duration::from_secs(5);

/// How often the daemon purges the personal data of old tombstones.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Runs every job on its schedule until `shutdown`.
pub async fn run_daemon(engine: Engine, jobs: Vec<Job>, shutdown: Shutdown) {
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        tasks.spawn(async move { purge_tombstones(engine, shutdown).await });
    }
    for job in jobs {
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move { supervise(engine, job, shutdown).await });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            // Runs are panic-proof (see `Engine::run_supervised`); this would be a bug in
            // the loop below, and it must not pass silently.
            tracing::error!(error = %e, "a connector's supervisor ended abnormally; that connector no longer runs");
        }
    }
}

async fn supervise(engine: Engine, job: Job, shutdown: Shutdown) {
    let name = job.connector.name().to_string();
    let mut announced = false;
    while !shutdown.requested() {
        let pause = match engine.admit(&job).await {
            Ok(Admission::Run) => {
                announced = false;
                let supervised = engine.run_supervised(&job, false, &shutdown).await;
                if let Err(e) = engine.resolve().await {
                    // What changed stays in the dirty queue; the next tick resolves it.
                    tracing::warn!(error = %e, "identity resolution failed; will retry on schedule");
                }
                engine.after_sync(&name).await;
                match supervised.state {
                    // Active: the next run is on schedule. Otherwise the store says when.
                    Some(state) if state.next_run_at.is_some() || state.needs_attention() => Duration::ZERO,
                    _ => jittered(job.schedule.interval),
                }
            }
            Ok(Admission::Wait { until, .. }) => {
                let left = (until - engine.clock().now()).to_std().unwrap_or(Duration::ZERO);
                left.min(POLL)
            }
            Ok(Admission::Parked(state)) => {
                if !announced {
                    let since = state.since.with_timezone(&Utc).to_rfc3339();
                    tracing::warn!(
                        connector = %name,
                        %since,
                        "connector is parked: {}; `zveno connector resume {name}` brings it back",
                        state.reason.as_deref().unwrap_or("no reason recorded")
                    );
                    announced = true;
                }
                POLL
            }
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "cannot read the connector's standing; trying again");
                POLL
            }
        };
        if pause.is_zero() {
            continue;
        }
        tracing::debug!(connector = %name, wait_secs = pause.as_secs(), "waiting until the next run");
        tokio::select! {
            () = engine.clock().sleep(pause) => {},
            () = shutdown.wait() => return,
        }
    }
}

/// Deleted records keep no e-mails, phones or raw payloads past the retention period:
/// once an hour, every instance clears what has aged out (an idempotent update, so
/// instances sharing a store need no coordination for it).
async fn purge_tombstones(engine: Engine, shutdown: Shutdown) {
    while !shutdown.requested() {
        let retention =
            chrono::TimeDelta::from_std(engine.options().tombstone_retention).unwrap_or(chrono::TimeDelta::MAX);
        let cutoff = engine.clock().now().checked_sub_signed(retention).unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        match engine.store().purge_tombstones(cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "deleted records past their retention no longer keep personal data"),
            Err(e) => tracing::warn!(error = %e, "cannot purge old tombstones; trying again later"),
        }
        // Records set aside when a connector moved to another source age out the same way.
        match engine.store().purge_set_aside(cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "records set aside past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "cannot purge set-aside records; trying again later"),
        }
        tokio::select! {
            // Real time, not the engine's clock: a virtual clock would make this spin.
            () = tokio::time::sleep(PURGE_EVERY) => {},
            () = shutdown.wait() => return,
        }
    }
}
