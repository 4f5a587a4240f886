//! Connector standing: whether each connector runs, and why not.
//!
//! The scheduler writes it after every run (see `engine::supervisor`); `zveno connectors`,
//! `zveno runs` and the HTTP service read it; `zveno connector resume` clears it. It lives
//! in the store, not in the daemon's memory, because it must survive restarts (a parked
//! connector stays parked) and be shared by every instance on one store (a revoked token is
//! revoked for all of them) — leases (one holder per connector and kind) are a separate
//! table and do not change what is recorded here.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{from_ms, from_ms_opt, ms, to_i64, to_u64};
use super::{Store, StoreError};

/// Whether a connector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorStatus {
    /// Runs on its schedule.
    Active,
    /// Waits until `next_run_at`: the vendor throttled it, or it backs off after failures.
    Deferred,
    /// Stopped with a reason until a person resumes it (or its configuration changes); after
    /// a panic, until `next_run_at`, when it restarts by itself.
    Parked,
}

impl ConnectorStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deferred => "deferred",
            Self::Parked => "parked",
        }
    }
}

impl fmt::Display for ConnectorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConnectorStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "deferred" => Ok(Self::Deferred),
            "parked" => Ok(Self::Parked),
            other => Err(format!("unknown connector state {other:?}")),
        }
    }
}

/// A connector's standing, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorState {
    /// Connector instance name.
    pub connector: String,
    /// Whether it runs.
    pub status: ConnectorStatus,
    /// Why it is deferred or parked (the error, with what to do about it).
    pub reason: Option<String>,
    /// When it entered this status.
    pub since: DateTime<Utc>,
    /// Deferred: when it may run again. Parked: when it restarts by itself (after a panic);
    /// `None` means until a person resumes it.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Failed runs in a row.
    pub failures: u32,
    /// Fingerprint of the configuration it was in when this was written.
    pub config_fingerprint: Option<String>,
    /// When this was written.
    pub updated_at: DateTime<Utc>,
}

impl ConnectorState {
    /// Whether only a person (`zveno connector resume`, or a configuration change) can
    /// bring the connector back.
    pub fn needs_attention(&self) -> bool {
        self.status == ConnectorStatus::Parked && self.next_run_at.is_none()
    }
}

/// A new standing, for [`Store::set_connector_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The new status.
    pub status: ConnectorStatus,
    /// Why (for deferred and parked).
    pub reason: Option<String>,
    /// See [`ConnectorState::next_run_at`].
    pub next_run_at: Option<DateTime<Utc>>,
    /// Failed runs in a row.
    pub failures: u32,
    /// The configuration's fingerprint, when known.
    pub config_fingerprint: Option<String>,
}

impl StateChange {
    /// Active, no failures: what a successful run records.
    pub fn active(config_fingerprint: Option<String>) -> Self {
        Self { status: ConnectorStatus::Active, reason: None, next_run_at: None, failures: 0, config_fingerprint }
    }
}

const COLUMNS: &str = "connector, state, reason, since, next_run_at, failures, config_fingerprint, updated_at";

impl Store {
    /// Every connector's standing, by name. Connectors that never ran have no row.
    pub async fn connector_states(&self) -> Result<Vec<ConnectorState>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM connector_state ORDER BY connector"))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("connector_states", "all connectors"))?;
        rows.iter().map(decode).collect()
    }

    /// `connector`'s standing, if it ever ran.
    pub async fn connector_state(&self, connector: &str) -> Result<Option<ConnectorState>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM connector_state WHERE connector = $1"))
            .bind(connector)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("connector_state", connector))?;
        row.as_ref().map(decode).transpose()
    }

    /// Records `connector`'s new standing and returns it. `since` moves only when the
    /// status changes, so a connector failing for an hour shows "deferred since" the first
    /// failure.
    pub async fn set_connector_state(
        &self,
        connector: &str,
        change: &StateChange,
    ) -> Result<ConnectorState, StoreError> {
        const OP: &str = "set_connector_state";
        let now = ms(self.clock.now());
        let row = sqlx::query(&format!(
            "INSERT INTO connector_state ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $4) \
             ON CONFLICT (connector) DO UPDATE SET \
               since = CASE WHEN connector_state.state = excluded.state \
                            THEN connector_state.since ELSE excluded.since END, \
               state = excluded.state, reason = excluded.reason, next_run_at = excluded.next_run_at, \
               failures = excluded.failures, config_fingerprint = excluded.config_fingerprint, \
               updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        ))
        .bind(connector)
        .bind(change.status.as_str())
        .bind(change.reason.as_deref())
        .bind(now)
        .bind(change.next_run_at.map(ms))
        .bind(to_i64(u64::from(change.failures)))
        .bind(change.config_fingerprint.as_deref())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query(OP, connector))?;
        decode(&row)
    }

    /// Parks `connector` with `reason`: it does not run until [`Store::resume`] (or, with
    /// `restart_at`, until then).
    pub async fn park(
        &self,
        connector: &str,
        reason: &str,
        restart_at: Option<DateTime<Utc>>,
        failures: u32,
        config_fingerprint: Option<String>,
    ) -> Result<ConnectorState, StoreError> {
        let change = StateChange {
            status: ConnectorStatus::Parked,
            reason: Some(reason.to_string()),
            next_run_at: restart_at,
            failures,
            config_fingerprint,
        };
        self.set_connector_state(connector, &change).await
    }

    /// Makes `connector` active again, clearing its reason and failures. Returns its
    /// standing before, `None` when it never ran (there was nothing to resume).
    pub async fn resume(&self, connector: &str) -> Result<Option<ConnectorState>, StoreError> {
        let Some(before) = self.connector_state(connector).await? else {
            return Ok(None);
        };
        let change = StateChange::active(before.config_fingerprint.clone());
        self.set_connector_state(connector, &change).await?;
        Ok(Some(before))
    }
}

fn decode(row: &AnyRow) -> Result<ConnectorState, StoreError> {
    const OP: &str = "connector_state";
    let connector: String = row.try_get("connector").map_err(|e| StoreError::corrupt(OP, "connector_state", e))?;
    let bad = |e: String| StoreError::corrupt(OP, &connector, e);
    let column = |name: &str, e: sqlx::Error| bad(format!("column {name}: {e}"));
    let status: String = row.try_get("state").map_err(|e| column("state", e))?;
    let since: i64 = row.try_get("since").map_err(|e| column("since", e))?;
    let next_run_at: Option<i64> = row.try_get("next_run_at").map_err(|e| column("next_run_at", e))?;
    let failures: i64 = row.try_get("failures").map_err(|e| column("failures", e))?;
    let updated_at: i64 = row.try_get("updated_at").map_err(|e| column("updated_at", e))?;
    Ok(ConnectorState {
        status: status.parse().map_err(bad)?,
        reason: row.try_get("reason").map_err(|e| column("reason", e))?,
        since: from_ms(since).map_err(bad)?,
        next_run_at: from_ms_opt(next_run_at).map_err(bad)?,
        failures: u32::try_from(to_u64(failures)).unwrap_or(u32::MAX),
        config_fingerprint: row.try_get("config_fingerprint").map_err(|e| column("config_fingerprint", e))?,
        updated_at: from_ms(updated_at).map_err(bad)?,
        connector,
    })
}
