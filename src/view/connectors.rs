//! Each configured connector's state, built in one place for every reader: `/readyz`,
//! the health page, `GET /api/v1/connectors` and the `zveno_connector_parked`,
//! `zveno_last_success_timestamp_seconds` and `zveno_sync_lag_seconds` metrics.
//!
//! The state comes from the run history in the store (not from this process's memory), so
//! it is right after a restart and the same whichever instance answers. A connector the
//! scheduler has parked (credentials rejected, config wrong) is `parked` with its reason
//! and does not make the service unready: one expired token must not take the view of
//! every other system down. A census held for an operator (too many deletions at once)
//! shows on its kind and, when nothing else is wrong, as the connector's reason.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use zveno_connector::Kind;

use crate::store::{self, CensusHold, KindHealth, RunStatus, Store, StoreError};

/// A connector as configured: what the views list even before its first run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    /// Instance name.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Kinds it syncs.
    pub kinds: Vec<Kind>,
}

/// How a connector is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    /// Its latest run of every kind finished ok.
    Ok,
    /// No run has finished yet.
    Pending,
    /// The latest run of some kind failed; the schedule retries it.
    Failing,
    /// Waiting until `next_run_at`: the vendor throttled it, or it backs off after failures.
    Deferred,
    /// Stopped until an operator acts (`zveno connector resume`; `reason` says why), or,
    /// after a crash, until `next_run_at`.
    Parked,
}

/// One kind of a connector.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindStatus {
    /// `client`, `contact` or `task`.
    #[schema(value_type = String)]
    pub kind: Kind,
    /// The latest run's status (`running`, `ok`, `failed`, `interrupted`).
    #[schema(value_type = Option<String>)]
    pub last_run_status: Option<RunStatus>,
    /// When the latest run started.
    pub last_run_started_at: Option<DateTime<Utc>>,
    /// The latest run's error, if it failed.
    pub last_error: Option<String>,
    /// When the latest successful run finished.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Seconds since then.
    pub lag_seconds: Option<i64>,
    /// Throttled answers over the recent runs.
    pub throttled_recently: u64,
    /// Failed runs among the recent runs.
    pub failed_recently: u64,
    /// A census whose deletions wait for an operator (`zveno census approve`), if any.
    pub census_held: Option<CensusHold>,
}

/// A connector and its kinds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorStatus {
    /// Instance name.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Overall state.
    pub state: ConnectorState,
    /// Why it is parked, deferred or failing.
    pub reason: Option<String>,
    /// When a deferred (or crashed) connector runs again.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Per kind.
    pub kinds: Vec<KindStatus>,
}

/// The state of every configured connector at `now`.
pub async fn statuses(
    store: &Store,
    configured: &[Configured],
    now: DateTime<Utc>,
) -> Result<Vec<ConnectorStatus>, StoreError> {
    // The scheduler's standing of each connector (parked, deferred), from the store.
    let standings = store.connector_states().await?;
    let holds = store.census_holds().await?;
    let mut out = Vec::with_capacity(configured.len());
    for c in configured {
        let mut kinds = Vec::with_capacity(c.kinds.len());
        for &kind in &c.kinds {
            let held = holds.iter().find(|h| h.connector == c.name && h.kind == kind).cloned();
            kinds.push(kind_status(&store.kind_health(&c.name, kind).await?, held, now));
        }
        let standing = standings.iter().find(|s| s.connector == c.name);
        let (state, mut reason) = state_of(&kinds, standing);
        // A held census does not stop the connector, but it needs a person: say so where
        // nothing more urgent is said.
        if reason.is_none() {
            reason = kinds.iter().find_map(|k| k.census_held.as_ref()).map(CensusHold::describe);
        }
        out.push(ConnectorStatus {
            name: c.name.clone(),
            vendor: c.vendor.clone(),
            state,
            reason,
            next_run_at: standing.and_then(|s| s.next_run_at),
            kinds,
        });
    }
    Ok(out)
}

fn kind_status(h: &KindHealth, census_held: Option<CensusHold>, now: DateTime<Utc>) -> KindStatus {
    let last = h.last_run.as_ref();
    KindStatus {
        kind: h.kind,
        last_run_status: last.map(|r| r.status),
        last_run_started_at: last.map(|r| r.started_at),
        last_error: last.filter(|r| r.status == RunStatus::Failed).and_then(|r| r.message.clone()),
        last_success_at: h.last_success,
        lag_seconds: h.last_success.map(|at| (now - at).num_seconds().max(0)),
        throttled_recently: h.throttled_recently,
        failed_recently: h.failed_recently,
        census_held,
    }
}

/// The overall state: the scheduler's parked or deferred standing wins; else failing if any
/// kind's latest finished run failed; pending until every kind has succeeded once; else ok.
fn state_of(kinds: &[KindStatus], standing: Option<&store::ConnectorState>) -> (ConnectorState, Option<String>) {
    match standing.map(|s| s.status) {
        Some(store::ConnectorStatus::Parked) => {
            return (ConnectorState::Parked, standing.and_then(|s| s.reason.clone()))
        }
        Some(store::ConnectorStatus::Deferred) => {
            return (ConnectorState::Deferred, standing.and_then(|s| s.reason.clone()))
        }
        _ => {}
    }
    if let Some(failed) = kinds.iter().find(|k| k.last_run_status == Some(RunStatus::Failed)) {
        return (ConnectorState::Failing, failed.last_error.clone());
    }
    if kinds.iter().any(|k| k.last_success_at.is_none()) {
        return (ConnectorState::Pending, None);
    }
    (ConnectorState::Ok, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: Option<RunStatus>, success: bool) -> KindStatus {
        KindStatus {
            kind: Kind::Client,
            last_run_status: status,
            last_run_started_at: None,
            last_error: (status == Some(RunStatus::Failed)).then(|| "401 Unauthorized".to_string()),
            last_success_at: success.then(Utc::now),
            lag_seconds: None,
            throttled_recently: 0,
            failed_recently: 0,
            census_held: None,
        }
    }

    fn standing(status: store::ConnectorStatus, reason: &str) -> store::ConnectorState {
        store::ConnectorState {
            connector: "crm".into(),
            status,
            reason: Some(reason.into()),
            since: Utc::now(),
            next_run_at: None,
            failures: 1,
            config_fingerprint: None,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_schedulers_standing_wins_then_failing_then_pending() {
        let ok = kind(Some(RunStatus::Ok), true);
        let failed = kind(Some(RunStatus::Failed), true);
        let never = kind(None, false);
        assert_eq!(state_of(std::slice::from_ref(&ok), None), (ConnectorState::Ok, None));
        assert_eq!(state_of(&[ok.clone(), never], None).0, ConnectorState::Pending);
        let failing = state_of(&[ok.clone(), failed.clone()], None);
        assert_eq!(failing, (ConnectorState::Failing, Some("401 Unauthorized".into())));
        let parked = standing(store::ConnectorStatus::Parked, "token expired");
        let state = state_of(std::slice::from_ref(&failed), Some(&parked));
        assert_eq!(state, (ConnectorState::Parked, Some("token expired".into())));
        let deferred = standing(store::ConnectorStatus::Deferred, "429");
        assert_eq!(state_of(&[failed], Some(&deferred)).0, ConnectorState::Deferred);
        let active = standing(store::ConnectorStatus::Active, "");
        assert_eq!(state_of(&[kind(Some(RunStatus::Running), true)], Some(&active)).0, ConnectorState::Ok);
    }
}
