//! Run history: one row per pull of a connector's kind, opened when the run starts (so a
//! crash leaves a visible `running` row) and closed with its status and counters.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use zveno_connector::{Kind, SyncMode};

use super::sql::{self, from_ms, from_ms_opt, ms, to_i64, to_u64};
use super::{Store, StoreError};

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished (or the process died).
    Running,
    /// Every page was committed.
    Ok,
    /// Stopped by an error.
    Failed,
    /// Stopped by a shutdown or lost lease before finishing.
    Interrupted,
}

impl RunStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(Self::Running),
            "ok" => Ok(Self::Ok),
            "failed" => Ok(Self::Failed),
            "interrupted" => Ok(Self::Interrupted),
            other => Err(format!("unknown run status {other:?}")),
        }
    }
}

/// How a run ended, for [`Store::finish_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// `Ok`, `Failed` or `Interrupted` (not `Running`).
    pub status: RunStatus,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Pages committed.
    pub pages: u64,
    /// Records committed.
    pub records: u64,
    /// Records that could not be normalised.
    pub record_errors: u64,
    /// Records the completed census of a full scan tombstoned.
    pub tombstoned: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Throttling responses received.
    pub throttled: u64,
    /// Requests retried.
    pub retried: u64,
    /// Requests that finally failed.
    pub failed_requests: u64,
    /// Requests made smaller or later because the vendor reported nearing a limit.
    pub slowed: u64,
    /// A human-readable summary or the error.
    pub message: Option<String>,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRow {
    /// The run id.
    pub id: i64,
    /// Connector instance name.
    pub connector: String,
    /// Kind pulled.
    pub kind: Kind,
    /// Full or incremental.
    pub mode: SyncMode,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended, if it did.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub status: RunStatus,
    /// Pages committed.
    pub pages: u64,
    /// Records committed.
    pub records: u64,
    /// Records that could not be normalised.
    pub record_errors: u64,
    /// Records the completed census of a full scan tombstoned.
    pub tombstoned: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Throttling responses received.
    pub throttled: u64,
    /// Requests retried.
    pub retried: u64,
    /// Requests that finally failed.
    pub failed_requests: u64,
    /// Requests made smaller or later because the vendor reported nearing a limit.
    pub slowed: u64,
    /// Summary or error.
    pub message: Option<String>,
}

pub(super) const RUN_COLUMNS: &str = "id, connector, kind, mode, started_at, finished_at, status, pages, \
     records, record_errors, tombstoned, requests, throttled, retried, failed_requests, slowed, message";

impl Store {
    /// Opens a run (status `running`) and returns its id.
    pub async fn start_run(
        &self,
        connector: &str,
        kind: Kind,
        mode: SyncMode,
        started_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO runs (connector, kind, mode, started_at, status) \
             VALUES ($1, $2, $3, $4, 'running') RETURNING id",
        )
        .bind(connector)
        .bind(kind.as_str())
        .bind(mode.as_str())
        .bind(ms(started_at))
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query("start_run", format!("{connector}/{kind}")))
    }

    /// Closes run `run_id` with its status, counters, message and end time.
    pub async fn finish_run(&self, run_id: i64, outcome: &RunOutcome) -> Result<(), StoreError> {
        const OP: &str = "finish_run";
        let target = format!("run {run_id}");
        if outcome.status == RunStatus::Running {
            return Err(StoreError::invalid(OP, &target, "a finished run needs status ok, failed or interrupted"));
        }
        let done = sqlx::query(
            "UPDATE runs SET status = $2, finished_at = $3, pages = $4, records = $5, \
             record_errors = $6, requests = $7, throttled = $8, retried = $9, \
             failed_requests = $10, message = $11, slowed = $12, tombstoned = $13 WHERE id = $1",
        )
        .bind(run_id)
        .bind(outcome.status.as_str())
        .bind(ms(outcome.finished_at))
        .bind(to_i64(outcome.pages))
        .bind(to_i64(outcome.records))
        .bind(to_i64(outcome.record_errors))
        .bind(to_i64(outcome.requests))
        .bind(to_i64(outcome.throttled))
        .bind(to_i64(outcome.retried))
        .bind(to_i64(outcome.failed_requests))
        .bind(outcome.message.as_deref())
        .bind(to_i64(outcome.slowed))
        .bind(to_i64(outcome.tombstoned))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(OP, &target))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { op: OP, target });
        }
        Ok(())
    }

    /// The `limit` most recent runs, newest first, optionally of one connector.
    pub async fn runs(&self, limit: u32, connector: Option<&str>) -> Result<Vec<RunRow>, StoreError> {
        const OP: &str = "runs";
        let filter = if connector.is_some() { "WHERE connector = $2" } else { "" };
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs {filter} ORDER BY started_at DESC, id DESC LIMIT $1");
        let mut query = sqlx::query(&sql).bind(i64::from(limit));
        if let Some(connector) = connector {
            query = query.bind(connector);
        }
        let rows =
            query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, connector.unwrap_or("all connectors")))?;
        rows.iter().map(decode_run).collect()
    }

    /// When the last run of `connector`/`kind`/`mode` that finished `ok` started: the
    /// engine schedules full scans from it.
    pub async fn last_completed(
        &self,
        connector: &str,
        kind: Kind,
        mode: SyncMode,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        const OP: &str = "last_completed";
        let target = format!("{connector}/{kind}/{}", mode.as_str());
        let started: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(started_at) FROM runs WHERE connector = $1 AND kind = $2 AND mode = $3 AND status = $4",
        )
        .bind(connector)
        .bind(kind.as_str())
        .bind(mode.as_str())
        .bind(RunStatus::Ok.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query(OP, &target))?;
        started.map(from_ms).transpose().map_err(|e| StoreError::corrupt(OP, &target, e))
    }
}

pub(super) fn decode_run(row: &AnyRow) -> Result<RunRow, StoreError> {
    const OP: &str = "runs";
    let id: i64 = row.try_get("id").map_err(|e| StoreError::corrupt(OP, "runs", e))?;
    let target = format!("run {id}");
    let bad = |e: String| StoreError::corrupt(OP, &target, e);
    let get_i64 =
        |name: &str| -> Result<i64, StoreError> { row.try_get(name).map_err(|e| bad(format!("column {name}: {e}"))) };
    let get_text = |name: &str| -> Result<String, StoreError> {
        row.try_get(name).map_err(|e| bad(format!("column {name}: {e}")))
    };
    let finished_at: Option<i64> = row.try_get("finished_at").map_err(|e| bad(format!("column finished_at: {e}")))?;
    Ok(RunRow {
        id,
        connector: get_text("connector")?,
        kind: sql::parse_kind(&get_text("kind")?).map_err(bad)?,
        mode: sql::parse_mode(&get_text("mode")?).map_err(bad)?,
        started_at: from_ms(get_i64("started_at")?).map_err(bad)?,
        finished_at: from_ms_opt(finished_at).map_err(bad)?,
        status: get_text("status")?.parse().map_err(bad)?,
        pages: to_u64(get_i64("pages")?),
        records: to_u64(get_i64("records")?),
        record_errors: to_u64(get_i64("record_errors")?),
        tombstoned: to_u64(get_i64("tombstoned")?),
        requests: to_u64(get_i64("requests")?),
        throttled: to_u64(get_i64("throttled")?),
        retried: to_u64(get_i64("retried")?),
        failed_requests: to_u64(get_i64("failed_requests")?),
        slowed: to_u64(get_i64("slowed")?),
        message: row.try_get("message").map_err(|e| bad(format!("column message: {e}")))?,
    })
}
