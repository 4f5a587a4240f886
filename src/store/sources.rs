//! Which source each connector's cursors and records come from (migration 0007).
//!
//! A connector names its source — the portal, site or account its credentials and base URL
//! reach (see `Connector::source`). Cursors and records are keyed by connector name, so
//! pointing `[connectors.crm]` at a second portal would otherwise resume the first portal's
//! cursor against the second, upsert the second portal's record 12 over the first's record
//! 12, and let the second portal's census tombstone every record of the first as deleted.
//!
//! Instead, [`Store::adopt_source`] notices the switch and, in one transaction, sets the
//! previous source's records aside: copies them whole into `set_aside_records`, then clears
//! them in `source_records` (no data, no remote time, marked deleted with no `deleted_by`
//! and dirty) so resolution detaches them from the unified view and the new source's
//! records of the same ids are written fresh, never compared with the old ones; it drops
//! the connector's cursors and held census results, and records the new source with the
//! time it was adopted, before which no full scan counts for it. Set-aside rows are deleted
//! after the tombstone retention period ([`Store::purge_set_aside`]).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::sql::ms;
use super::{Store, StoreError};

/// What [`Store::adopt_source`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceCheck {
    /// The connector had no source on record (a new connector, or a store from before
    /// migration 0007): this one is adopted as it is, its records kept.
    First,
    /// The same source as before.
    Same,
    /// Another source than before: the old one's records were set aside.
    Switched {
        /// The previous source.
        from: String,
        /// How many of its records were set aside.
        set_aside: u64,
    },
}

impl Store {
    /// The source `connector` last adopted, and when it was adopted.
    pub async fn connector_source(&self, connector: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        const OP: &str = "connector_source";
        let row = sqlx::query("SELECT source, since FROM connector_sources WHERE connector = $1")
            .bind(connector)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(OP, connector))?;
        let Some(row) = row else { return Ok(None) };
        let source: String = row.try_get("source").map_err(|e| StoreError::corrupt(OP, connector, e))?;
        let since: i64 = row.try_get("since").map_err(|e| StoreError::corrupt(OP, connector, e))?;
        let since = super::sql::from_ms(since).map_err(|e| StoreError::corrupt(OP, connector, e))?;
        Ok(Some((source, since)))
    }

    /// Records that `connector` now reads `source`; when it read another source before,
    /// sets that source's records aside and drops the connector's cursors (see the module
    /// docs). Idempotent: several instances noticing the same switch set aside once.
    /// `now` is the engine's clock, the one runs are timed on: `since` is compared with
    /// their start times.
    pub async fn adopt_source(
        &self,
        connector: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<SourceCheck, StoreError> {
        const OP: &str = "adopt_source";
        let q = StoreError::query(OP, connector);
        let now = ms(now);
        let mut tx = self.begin_write().await.map_err(q)?;
        let q = || StoreError::query(OP, connector);
        let previous: Option<String> = sqlx::query_scalar("SELECT source FROM connector_sources WHERE connector = $1")
            .bind(connector)
            .fetch_optional(&mut *tx)
            .await
            .map_err(q())?;
        let check = match previous {
            Some(previous) if previous == source => return Ok(SourceCheck::Same),
            None => SourceCheck::First,
            Some(from) => {
                let set_aside = set_aside(&mut tx, connector, &from, now).await.map_err(q())?;
                SourceCheck::Switched { from, set_aside }
            }
        };
        sqlx::query(
            "INSERT INTO connector_sources (connector, source, since) VALUES ($1, $2, $3) \
             ON CONFLICT (connector) DO UPDATE SET source = excluded.source, since = excluded.since",
        )
        .bind(connector)
        .bind(source)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(q())?;
        tx.commit().await.map_err(q())?;
        Ok(check)
    }

    /// Deletes records set aside before `before` (they were kept for an operator to look
    /// at, not to keep personal data forever). Returns how many went.
    pub async fn purge_set_aside(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM set_aside_records WHERE set_aside_at < $1")
            .bind(ms(before))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("purge_set_aside", "set-aside records"))?;
        Ok(done.rows_affected())
    }

    /// How many records of `connector` are set aside from `source`.
    pub async fn count_set_aside(&self, connector: &str, source: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM set_aside_records WHERE connector = $1 AND source = $2")
            .bind(connector)
            .bind(source)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("count_set_aside", connector))?;
        Ok(super::sql::to_u64(n))
    }
}

/// Moves the records `connector` holds from `from` aside and starts the connector afresh.
async fn set_aside(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    connector: &str,
    from: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    // Rows already cleared by an earlier switch (no data, no remote time) carry nothing.
    let copied = sqlx::query(
        "INSERT INTO set_aside_records \
           (connector, source, kind, external_id, deleted, updated_at, url, raw, data, set_aside_at) \
         SELECT connector, $2, kind, external_id, deleted, updated_at, url, raw, data, $3 \
         FROM source_records WHERE connector = $1 AND (data IS NOT NULL OR updated_at IS NOT NULL) \
         ON CONFLICT (connector, source, kind, external_id) DO UPDATE SET \
           deleted = excluded.deleted, updated_at = excluded.updated_at, url = excluded.url, \
           raw = excluded.raw, data = excluded.data, set_aside_at = excluded.set_aside_at",
    )
    .bind(connector)
    .bind(from)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // Deleted with no `deleted_by`: not a vendor tombstone nor a census verdict, and the
    // new source's record of the same id replaces it (a NULL remote time never wins).
    sqlx::query(
        "UPDATE source_records SET deleted = 1, deleted_by = NULL, data = NULL, raw = '{}', \
           warnings = '[]', url = NULL, updated_at = NULL, last_scan_id = NULL, missed_scans = 0, \
           revision = revision + 1, synced_at = $2 \
         WHERE connector = $1 AND (data IS NOT NULL OR updated_at IS NOT NULL OR deleted = 0)",
    )
    .bind(connector)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for table in ["cursors", "census"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE connector = $1")).bind(connector).execute(&mut **tx).await?;
    }
    Ok(copied)
}
