//! Run history as the service reads it: pages of runs for the API, and each connector's
//! latest run and latest success per kind for the health page, `/readyz` and the sync-lag
//! metrics. Kept apart from `runs.rs`, which writes the history.

use chrono::{DateTime, Utc};
use sqlx::Row;
use zveno_connector::{Kind, SyncMode};

use super::runs::{decode_run, RUN_COLUMNS};
use super::sql::{self, from_ms};
use super::{RunRow, RunStatus, Store, StoreError};

/// A connector's kind, as the health views see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindHealth {
    /// Connector name.
    pub connector: String,
    /// Kind.
    pub kind: Kind,
    /// The newest run (any status).
    pub last_run: Option<RunRow>,
    /// When the newest `ok` run finished.
    pub last_success: Option<DateTime<Utc>>,
    /// Throttled answers over the recent runs counted.
    pub throttled_recently: u64,
    /// Failed runs among the recent runs counted.
    pub failed_recently: u64,
}

/// Runs counted as "recent" on the health page.
pub const RECENT_RUNS: i64 = 20;

impl Store {
    /// Runs newest first, `limit` of them, older than run `before` when given.
    pub async fn runs_page(
        &self,
        limit: u32,
        connector: Option<&str>,
        before: Option<i64>,
    ) -> Result<Vec<RunRow>, StoreError> {
        const OP: &str = "runs_page";
        let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE 1 = 1");
        let mut n = 1;
        if connector.is_some() {
            n += 1;
            sql.push_str(&format!(" AND connector = ${n}"));
        }
        if before.is_some() {
            n += 1;
            sql.push_str(&format!(" AND id < ${n}"));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $1");
        let mut query = sqlx::query(&sql).bind(i64::from(limit));
        if let Some(c) = connector {
            query = query.bind(c);
        }
        if let Some(b) = before {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "runs"))?;
        rows.iter().map(decode_run).collect()
    }

    /// The health of `connector`'s `kind`: its newest run, its newest success, and what
    /// the recent runs met.
    pub async fn kind_health(&self, connector: &str, kind: Kind) -> Result<KindHealth, StoreError> {
        const OP: &str = "kind_health";
        let target = format!("{connector}/{kind}");
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE connector = $1 AND kind = $2 ORDER BY id DESC LIMIT {RECENT_RUNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(connector)
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP, &target))?;
        let recent: Vec<RunRow> = rows.iter().map(decode_run).collect::<Result<_, _>>()?;
        let row =
            sqlx::query("SELECT MAX(finished_at) AS at FROM runs WHERE connector = $1 AND kind = $2 AND status = $3")
                .bind(connector)
                .bind(kind.as_str())
                .bind(RunStatus::Ok.as_str())
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::query(OP, &target))?;
        let at: Option<i64> = row.try_get("at").map_err(|e| StoreError::corrupt(OP, &target, e))?;
        Ok(KindHealth {
            connector: connector.to_string(),
            kind,
            last_success: at.map(from_ms).transpose().map_err(|e| StoreError::corrupt(OP, &target, e))?,
            throttled_recently: recent.iter().map(|r| r.throttled).sum(),
            failed_recently: sql::to_u64(recent.iter().filter(|r| r.status == RunStatus::Failed).count() as i64),
            last_run: recent.into_iter().next(),
        })
    }

    /// How many full runs of `connector`/`kind` failed in a row (among the recent runs,
    /// newest first, up to the newest `ok` full run), and whether the newest finished run
    /// of the kind is one of them: the engine falls back to incremental runs on it.
    pub async fn failed_full_scans(&self, connector: &str, kind: Kind) -> Result<(u32, bool), StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE connector = $1 AND kind = $2 AND status <> 'running' \
             ORDER BY id DESC LIMIT {RECENT_RUNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(connector)
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("failed_full_scans", format!("{connector}/{kind}")))?;
        let runs: Vec<RunRow> = rows.iter().map(decode_run).collect::<Result<_, _>>()?;
        let failed = runs
            .iter()
            .filter(|r| r.mode == SyncMode::Full && r.status != RunStatus::Interrupted)
            .take_while(|r| r.status == RunStatus::Failed)
            .count();
        let newest_failed_full =
            runs.first().is_some_and(|r| r.mode == SyncMode::Full && r.status == RunStatus::Failed);
        Ok((u32::try_from(failed).unwrap_or(u32::MAX), newest_failed_full))
    }

    /// Whether the store answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(StoreError::query("ping", "store"))?;
        Ok(())
    }
}
