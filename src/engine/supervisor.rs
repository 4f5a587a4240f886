//! Supervision: whether a connector may run, and what a run's outcome means for it.
//!
//! Decisions branch on [`ErrorKind`] alone, never on vendor text:
//!
//! | the run ended with                  | the connector is | it runs again                          |
//! |-------------------------------------|------------------|----------------------------------------|
//! | success (bad records included)      | active           | on its schedule                        |
//! | `Auth`, `Config`                    | parked           | after `zveno connector resume NAME`, or at a start after its configuration (or a secret it references) changed |
//! | `RateLimited { retry_after }`       | deferred         | after the vendor's wait (at most a day), else after the back-off |
//! | any other error (`Transient`, ...)  | deferred         | after the back-off                     |
//! | a panic                             | parked           | by itself, after the back-off          |
//!
//! The back-off after `n` failed runs in a row is the interval × 2^(n-1), at most an hour
//! (or the interval, if that is longer), jittered like every scheduled run. A panic anywhere
//! in a run — in the connector, the store or the engine — is caught here (and, for a pull,
//! already in the engine, so the run row is closed), recorded with its message, and never
//! takes the other connectors or the process down. Standing lives in the store
//! (`connector_state`), so it survives restarts and every instance sees it.

use std::any::Any;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use zveno_connector::ErrorKind;

use super::{jittered, Engine, EngineError, Job, RunSummary, Shutdown};
use crate::store::{ConnectorState, ConnectorStatus, StateChange};

/// The longest back-off between failed runs (unless the interval is longer).
pub const MAX_RUN_BACKOFF: Duration = Duration::from_secs(3600);
/// The longest a vendor's wait defers a connector.
pub const MAX_DEFER: Duration = zveno_connector::http::MAX_DEFER;

/// Whether a job may run now.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Yes.
    Run,
    /// Not before `until` (deferred, or parked after a panic until its restart).
    Wait {
        /// When it may run.
        until: DateTime<Utc>,
        /// Why it waits.
        reason: Option<String>,
    },
    /// Parked until a person resumes it.
    Parked(ConnectorState),
}

/// How a job's run ended, as the scheduler weighs it (the worst kind's outcome wins).
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// Every kind ran (records the connector could not read are not its failure).
    Ok,
    /// Credentials or configuration are wrong: a person must act.
    NeedsPerson(String),
    /// The connector panicked.
    Panicked(String),
    /// The vendor throttled beyond what the HTTP client waits out.
    RateLimited {
        /// The vendor's wait, when it gave one.
        retry_after: Option<Duration>,
        /// The error.
        message: String,
    },
    /// Anything else: a transient failure, an unreadable answer, the store.
    Failed(String),
}

impl JobOutcome {
    /// The outcome of a job's runs.
    pub fn of(results: &[Result<RunSummary, EngineError>]) -> Self {
        let mut worst = JobOutcome::Ok;
        for error in results.iter().filter_map(|r| r.as_ref().err()) {
            let outcome = Self::of_error(error);
            if outcome.severity() > worst.severity() {
                worst = outcome;
            }
        }
        worst
    }

    fn of_error(error: &EngineError) -> Self {
        let message = error.to_string();
        match error {
            EngineError::Panicked { .. } => Self::Panicked(message),
            EngineError::Connector { source, .. } => match source.kind() {
                ErrorKind::Auth | ErrorKind::Config => Self::NeedsPerson(message),
                ErrorKind::RateLimited { retry_after } => Self::RateLimited { retry_after, message },
                _ => Self::Failed(message),
            },
            // Another instance pulls it: nothing is wrong with the connector.
            EngineError::Leased { .. } | EngineError::LeaseLost { .. } => Self::Ok,
            EngineError::Store(_) | EngineError::Resolve(_) | EngineError::Pagination { .. } => Self::Failed(message),
        }
    }

    fn severity(&self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Failed(_) => 1,
            Self::RateLimited { .. } => 2,
            Self::Panicked(_) => 3,
            Self::NeedsPerson(_) => 4,
        }
    }

    /// Whether the error ends the job's remaining kinds too: the credentials, the
    /// configuration or the account's quota are the same for every kind.
    pub fn stops_the_job(error: &EngineError) -> bool {
        matches!(Self::of_error(error), Self::NeedsPerson(_) | Self::Panicked(_) | Self::RateLimited { .. })
    }
}

/// A supervised run of one job.
#[derive(Debug)]
pub struct Supervised {
    /// Each kind's run (empty when the job panicked outside a pull).
    pub results: Vec<Result<RunSummary, EngineError>>,
    /// What they amount to.
    pub outcome: JobOutcome,
    /// The connector's standing after it, when the store took it.
    pub state: Option<ConnectorState>,
}

/// What `outcome` makes of a connector whose standing was `previous`.
pub fn decide(
    outcome: &JobOutcome,
    previous: Option<&ConnectorState>,
    interval: Duration,
    now: DateTime<Utc>,
    fingerprint: &str,
) -> StateChange {
    let failures = previous.map_or(0, |p| p.failures).saturating_add(1);
    let at = |wait: Duration| now + TimeDelta::from_std(wait.min(MAX_DEFER)).unwrap_or(TimeDelta::zero());
    let backoff = || at(jittered(run_backoff(interval, failures)));
    let (status, reason, next_run_at) = match outcome {
        JobOutcome::Ok => return StateChange::active(Some(fingerprint.to_string())),
        JobOutcome::NeedsPerson(message) => (ConnectorStatus::Parked, message.clone(), None),
        JobOutcome::Panicked(message) => (ConnectorStatus::Parked, message.clone(), Some(backoff())),
        JobOutcome::RateLimited { retry_after: Some(wait), message } => {
            (ConnectorStatus::Deferred, message.clone(), Some(at(*wait)))
        }
        JobOutcome::RateLimited { retry_after: None, message } | JobOutcome::Failed(message) => {
            (ConnectorStatus::Deferred, message.clone(), Some(backoff()))
        }
    };
    StateChange {
        status,
        reason: Some(reason),
        next_run_at,
        failures,
        config_fingerprint: Some(fingerprint.to_string()),
    }
}

/// The wait before the next run after `failures` failed runs in a row.
pub fn run_backoff(interval: Duration, failures: u32) -> Duration {
    let cap = MAX_RUN_BACKOFF.max(interval);
    interval.saturating_mul(1u32 << failures.saturating_sub(1).min(20)).min(cap)
}

/// Whether a connector in standing `state` may run at `now` with configuration `fingerprint`.
pub fn admission(state: Option<&ConnectorState>, now: DateTime<Utc>, fingerprint: &str) -> Admission {
    let Some(state) = state else { return Admission::Run };
    match (state.status, state.next_run_at) {
        (ConnectorStatus::Active, _) => Admission::Run,
        (_, Some(until)) if until > now => Admission::Wait { until, reason: state.reason.clone() },
        (_, Some(_)) => Admission::Run,
        (ConnectorStatus::Parked, None) if state.config_fingerprint.as_deref() != Some(fingerprint) => Admission::Run,
        _ => Admission::Parked(state.clone()),
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

impl Engine {
    /// Whether `job` may run now, from its standing in the store. A connector parked for
    /// its credentials or configuration is resumed here when its configuration (or a
    /// secret it references) changed since.
    pub async fn admit(&self, job: &Job) -> Result<Admission, EngineError> {
        let name = job.connector.name();
        let state = self.store.connector_state(name).await?;
        let admitted = admission(state.as_ref(), self.clock.now(), &job.fingerprint);
        if let (Admission::Run, Some(state)) = (&admitted, &state) {
            if state.needs_attention() {
                tracing::info!(
                    connector = name,
                    "the configuration changed since the connector was parked; resuming it"
                );
                self.store.resume(name).await?;
            }
        }
        Ok(admitted)
    }

    /// Runs every kind of `job` once — in a task of its own, so a panic anywhere in it is
    /// caught — and records in the store what the outcome means for the connector.
    pub async fn run_supervised(&self, job: &Job, force_full: bool, shutdown: &Shutdown) -> Supervised {
        let name = job.connector.name().to_string();
        let (engine, task_job, task_shutdown) = (self.clone(), job.clone(), shutdown.clone());
        let run = tokio::spawn(async move { engine.sync_job(&task_job, force_full, &task_shutdown).await });
        let (results, outcome) = match run.await {
            Ok(results) => {
                let outcome = JobOutcome::of(&results);
                (results, outcome)
            }
            Err(e) if e.is_panic() => {
                let message = format!("{name}: panicked: {}", panic_message(&*e.into_panic()));
                (Vec::new(), JobOutcome::Panicked(message))
            }
            Err(e) => (Vec::new(), JobOutcome::Failed(format!("{name}: the run was cancelled: {e}"))),
        };
        let state = match self.settle(job, &outcome).await {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::error!(connector = %name, error = %e, "cannot record the connector's standing");
                None
            }
        };
        Supervised { results, outcome, state }
    }

    /// Records what `outcome` means for `job`'s connector, and says so in the log.
    async fn settle(&self, job: &Job, outcome: &JobOutcome) -> Result<ConnectorState, EngineError> {
        let name = job.connector.name();
        let previous = self.store.connector_state(name).await?;
        let change = decide(outcome, previous.as_ref(), job.schedule.interval, self.clock.now(), &job.fingerprint);
        let state = self.store.set_connector_state(name, &change).await?;
        let reason = state.reason.as_deref().unwrap_or("");
        let next = state.next_run_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        match (state.status, outcome) {
            (ConnectorStatus::Active, _) => {
                if previous.is_some_and(|p| p.status != ConnectorStatus::Active) {
                    tracing::info!(connector = name, "connector is running normally again");
                }
            }
            (ConnectorStatus::Parked, JobOutcome::Panicked(_)) => tracing::error!(
                connector = name,
                restart_at = %next,
                failures = state.failures,
                "connector panicked; parked and restarted with back-off: {reason}"
            ),
            (ConnectorStatus::Parked, _) => tracing::error!(
                connector = name,
                "connector parked: {reason}. Fix it, then run `zveno connector resume {name}` \
                 (or restart zveno with the corrected configuration)"
            ),
            (ConnectorStatus::Deferred, _) => tracing::warn!(
                connector = name,
                next_run_at = %next,
                failures = state.failures,
                "connector deferred: {reason}"
            ),
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    fn state(status: ConnectorStatus, next: Option<DateTime<Utc>>, fingerprint: &str) -> ConnectorState {
        ConnectorState {
            connector: "crm".into(),
            status,
            reason: Some("why".into()),
            since: now(),
            next_run_at: next,
            failures: 2,
            config_fingerprint: Some(fingerprint.into()),
            updated_at: now(),
        }
    }

    #[test]
    fn the_backoff_between_runs_doubles_and_is_capped() {
        let minute = Duration::from_secs(60);
        assert_eq!(run_backoff(minute, 1), minute);
        assert_eq!(run_backoff(minute, 3), 4 * minute);
        assert_eq!(run_backoff(minute, 50), MAX_RUN_BACKOFF);
        assert_eq!(run_backoff(2 * MAX_RUN_BACKOFF, 5), 2 * MAX_RUN_BACKOFF, "never shorter than the schedule");
    }

    #[test]
    fn outcomes_become_standings_by_error_kind() {
        let minute = Duration::from_secs(60);
        let parked = decide(&JobOutcome::NeedsPerson("401".into()), None, minute, now(), "f");
        assert_eq!((parked.status, parked.next_run_at), (ConnectorStatus::Parked, None));
        let limited =
            JobOutcome::RateLimited { retry_after: Some(Duration::from_secs(1e9 as u64)), message: "".into() };
        let deferred = decide(&limited, None, minute, now(), "f");
        assert_eq!(deferred.status, ConnectorStatus::Deferred);
        assert_eq!(deferred.next_run_at, Some(now() + TimeDelta::days(1)), "clamped to a day");
        let previous = state(ConnectorStatus::Deferred, None, "f");
        let failed = decide(&JobOutcome::Failed("502".into()), Some(&previous), minute, now(), "f");
        assert_eq!(failed.failures, 3);
        let wait = failed.next_run_at.unwrap() - now();
        assert!(wait >= TimeDelta::seconds(216) && wait <= TimeDelta::seconds(264), "4 min ± 10%: {wait}");
        let panicked = decide(&JobOutcome::Panicked("boom".into()), None, minute, now(), "f");
        assert_eq!(panicked.status, ConnectorStatus::Parked);
        assert!(panicked.next_run_at.is_some(), "a panic restarts by itself");
        let ok = decide(&JobOutcome::Ok, Some(&previous), minute, now(), "f");
        assert_eq!((ok.status, ok.failures, ok.reason), (ConnectorStatus::Active, 0, None));
    }

    #[test]
    fn parked_connectors_wait_for_a_person_or_a_new_configuration() {
        let later = now() + TimeDelta::minutes(5);
        assert_eq!(admission(None, now(), "f"), Admission::Run);
        let parked = state(ConnectorStatus::Parked, None, "f");
        assert_eq!(admission(Some(&parked), now(), "f"), Admission::Parked(parked.clone()));
        assert_eq!(admission(Some(&parked), now(), "changed"), Admission::Run);
        let deferred = state(ConnectorStatus::Deferred, Some(later), "f");
        assert!(matches!(admission(Some(&deferred), now(), "f"), Admission::Wait { until, .. } if until == later));
        assert_eq!(admission(Some(&deferred), later, "f"), Admission::Run);
        let restarting = state(ConnectorStatus::Parked, Some(later), "f");
        assert!(matches!(admission(Some(&restarting), now(), "f"), Admission::Wait { .. }));
        assert_eq!(admission(Some(&restarting), later, "f"), Admission::Run);
    }
}
