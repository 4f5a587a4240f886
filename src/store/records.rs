//! Reading source records back: one by key, a keyset-paged listing, counts, and the
//! dirty queue identity resolution drains.
//!
//! The dirty queue is the table `dirty_records`: a row per queued record, holding the
//! `revision` it was queued at. Every write bumps a record's revision, and the schema's
//! triggers queue it at the new one (migration 0016). [`Store::clear_dirty`] takes the
//! revisions the engine read and removes only entries still at that revision, so a page
//! committed while the engine was resolving (which queues the record again) is never lost.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Decode, Row, Type};
use zveno_connector::{Kind, RawText, RecordData, SourceRecord};

use super::sql::{self, from_ms, from_ms_opt, row_placeholders, LOOKUPS_PER_STATEMENT};
use super::{Store, StoreError};

/// Every column of `source_records`, in the order [`decode`] reads them.
pub(super) const COLUMNS: &str = concat!(
    "connector, kind, external_id, created_at, updated_at, \
     deleted, deleted_by, url, payload_hash, raw, data, warnings, first_seen_at, synced_at, \
     last_scan_id, missed_scans, revision, ",
    dirty_column!()
);

/// The identity of a source record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct RecordKey {
    /// Connector instance name.
    pub connector: String,
    /// Kind.
    pub kind: Kind,
    /// The vendor's id.
    pub external_id: String,
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.connector, self.kind, self.external_id)
    }
}

/// A record key at a revision: what [`Store::clear_dirty`] takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RecordVersion {
    /// The record.
    pub key: RecordKey,
    /// The revision that was processed.
    pub revision: i64,
}

/// Why a stored record is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletedBy {
    /// The vendor reported it deleted or archived (a tombstone).
    Vendor,
    /// It was missing from two consecutive complete full scans.
    Census,
}

impl DeletedBy {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Vendor => "vendor",
            Self::Census => "census",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "vendor" => Ok(Self::Vendor),
            "census" => Ok(Self::Census),
            other => Err(format!("unknown deletion source {other:?}")),
        }
    }
}

/// A source record as stored, with the store's bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// The record. A deleted record keeps the last data it was seen with.
    pub record: SourceRecord,
    /// Why it is deleted, when it is.
    pub deleted_by: Option<DeletedBy>,
    /// When the store first wrote it.
    pub first_seen_at: DateTime<Utc>,
    /// When the stored version was written.
    pub synced_at: DateTime<Utc>,
    /// The last full scan that saw it.
    pub last_scan_id: Option<i64>,
    /// Consecutive complete full scans it was missing from.
    pub missed_scans: u32,
    /// Whether identity resolution has yet to process this revision.
    pub dirty: bool,
    /// Bumped by every write.
    pub revision: i64,
}

impl StoredRecord {
    /// The record's identity.
    pub fn key(&self) -> RecordKey {
        RecordKey {
            connector: self.record.connector.clone(),
            kind: self.record.kind,
            external_id: self.record.external_id.clone(),
        }
    }

    /// The record's identity at its current revision.
    pub fn version(&self) -> RecordVersion {
        RecordVersion { key: self.key(), revision: self.revision }
    }
}

impl Store {
    /// The stored record, or `None`.
    pub async fn record(
        &self,
        connector: &str,
        kind: Kind,
        external_id: &str,
    ) -> Result<Option<StoredRecord>, StoreError> {
        const OP: &str = "record";
        let target = format!("{connector}/{kind}/{external_id}");
        let sql = format!(
            "SELECT {COLUMNS} FROM source_records \
             WHERE connector = $1 AND kind = $2 AND external_id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(connector)
            .bind(kind.as_str())
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(OP, &target))?;
        row.map(|row| decode(&row, OP)).transpose()
    }

    /// Up to `limit` records of `connector`/`kind` (deleted ones included), ordered by
    /// external id, starting after `after`: page with the last id of the previous call.
    pub async fn list_records(
        &self,
        connector: &str,
        kind: Kind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        const OP: &str = "list_records";
        let sql = format!(
            "SELECT {COLUMNS} FROM source_records \
             WHERE connector = $1 AND kind = $2 AND external_id > $3 \
             ORDER BY external_id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(connector)
            .bind(kind.as_str())
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP, format!("{connector}/{kind}")))?;
        rows.iter().map(|row| decode(row, OP)).collect()
    }

    /// Clears the payload of records deleted before `before` — the normalised data (names,
    /// e-mails, phones) and the raw vendor answer — keeping the tombstone itself (ids,
    /// times, hash), so a deleted record stays deleted and keeps no personal data. Returns
    /// how many were cleared.
    pub async fn purge_tombstones(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE source_records SET data = NULL, raw = '{}', warnings = '[]' \
             WHERE deleted = 1 AND synced_at < $1 AND (data IS NOT NULL OR raw <> '{}')",
        )
        .bind(before.timestamp_millis())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("purge_tombstones", "deleted records"))?;
        Ok(done.rows_affected())
    }

    /// How many records are stored, optionally for one connector and/or kind.
    pub async fn count_records(
        &self,
        connector: Option<&str>,
        kind: Option<Kind>,
        include_deleted: bool,
    ) -> Result<u64, StoreError> {
        let mut sql = String::from("SELECT COUNT(*) FROM source_records WHERE 1 = 1");
        let mut n = 0;
        if connector.is_some() {
            n += 1;
            sql.push_str(&format!(" AND connector = ${n}"));
        }
        if kind.is_some() {
            n += 1;
            sql.push_str(&format!(" AND kind = ${n}"));
        }
        if !include_deleted {
            sql.push_str(" AND deleted = 0");
        }
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        if let Some(connector) = connector {
            query = query.bind(connector);
        }
        if let Some(kind) = kind {
            query = query.bind(kind.as_str());
        }
        let target = format!("{}/{}", connector.unwrap_or("*"), kind.map_or("*", Kind::as_str));
        let count = query.fetch_one(&self.pool).await.map_err(StoreError::query("count_records", target))?;
        Ok(sql::to_u64(count))
    }

    /// Up to `limit` records identity resolution has not processed yet, clients first
    /// (then contacts, then tasks, as they link to clients), deleted ones included.
    pub async fn dirty_records(&self, limit: u32) -> Result<Vec<StoredRecord>, StoreError> {
        const OP: &str = "dirty_records";
        let sql = format!(
            "SELECT {COLUMNS} FROM source_records WHERE (kind, connector, external_id) IN \
               (SELECT kind, connector, external_id FROM dirty_records \
                ORDER BY kind, connector, external_id LIMIT $1) \
             ORDER BY kind, connector, external_id"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP, "all connectors"))?;
        rows.iter().map(|row| decode(row, OP)).collect()
    }

    /// Marks records processed. A record written again since `versions` were read keeps
    /// its place in the queue. Returns how many entries were cleared.
    pub async fn clear_dirty(&self, versions: &[RecordVersion]) -> Result<u64, StoreError> {
        if versions.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await.map_err(StoreError::query(CLEAR_DIRTY, "all connectors"))?;
        let cleared = clear_dirty_in(&mut tx, versions).await?;
        tx.commit().await.map_err(StoreError::query(CLEAR_DIRTY, "all connectors"))?;
        Ok(cleared)
    }
}

const CLEAR_DIRTY: &str = "clear_dirty";

/// [`Store::clear_dirty`] inside the caller's write transaction, so resolution can clear
/// the queue in the transaction that stores its results.
pub(super) async fn clear_dirty_in(tx: &mut AnyConnection, versions: &[RecordVersion]) -> Result<u64, StoreError> {
    const OP: &str = CLEAR_DIRTY;
    let mut groups: BTreeMap<(&str, Kind), Vec<(&str, i64)>> = BTreeMap::new();
    for v in versions {
        groups
            .entry((v.key.connector.as_str(), v.key.kind))
            .or_default()
            .push((v.key.external_id.as_str(), v.revision));
    }
    let sqlite = tx.backend_name() == "SQLite";
    let mut cleared = 0;
    for ((connector, kind), items) in &groups {
        let target = format!("{connector}/{kind}");
        for chunk in items.chunks(LOOKUPS_PER_STATEMENT) {
            let sql = sql::statement(tx, CLEAR_DIRTY, chunk.len(), || clear_dirty_sql(sqlite, chunk.len()));
            let mut query = sqlx::query(&sql);
            for (id, revision) in chunk {
                query = query.bind(kind.as_str()).bind(*connector).bind(*id).bind(*revision);
            }
            cleared += query.execute(&mut *tx).await.map_err(StoreError::query(OP, &target))?.rows_affected();
        }
    }
    Ok(cleared)
}

/// Removes `count` records from the dirty queue, each only while its entry still holds
/// the revision read (one written again since stays queued); bind kind, connector, id and
/// revision per record. Each backend's form is the one it plans as a primary-key probe per
/// record: SQLite the row-value `IN` list (an `UPDATE ... FROM (VALUES ...)` was planned
/// as a walk of the whole queue), PostgreSQL a join with the `VALUES` list (an `OR` of
/// keys is planned as a scan of the connector's whole range of the queue).
fn clear_dirty_sql(sqlite: bool, count: usize) -> String {
    let values = row_placeholders(count, 4);
    if sqlite {
        return format!(
            "DELETE FROM dirty_records WHERE (kind, connector, external_id, revision) IN (VALUES {values})"
        );
    }
    format!(
        "DELETE FROM dirty_records d USING (VALUES {values}) AS v (kind, connector, external_id, revision) \
         WHERE d.kind = v.kind AND d.connector = v.connector AND d.external_id = v.external_id \
         AND d.revision = v.revision"
    )
}

/// Reads one column, reporting an undecodable value as corrupt data of `target`.
fn col<'r, T>(row: &'r AnyRow, name: &str, op: &'static str, target: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get(name).map_err(|e| StoreError::corrupt(op, target, format_args!("column {name}: {e}")))
}

/// Decodes a row selected with [`COLUMNS`].
pub(super) fn decode(row: &AnyRow, op: &'static str) -> Result<StoredRecord, StoreError> {
    let connector: String = col(row, "connector", op, "source_records")?;
    let external_id: String = col(row, "external_id", op, &connector)?;
    let kind_text: String = col(row, "kind", op, &external_id)?;
    let target = format!("{connector}/{kind_text}/{external_id}");
    let t = target.as_str();
    let bad = |reason: String| StoreError::corrupt(op, t, reason);
    let kind = sql::parse_kind(&kind_text).map_err(bad)?;
    let raw: String = col(row, "raw", op, t)?;
    let raw = serde_json::from_str(&raw).map_err(|e| bad(format!("raw payload: {e}")))?;
    let data: Option<String> = col(row, "data", op, t)?;
    let data =
        data.map(|d| serde_json::from_str::<RecordData>(&d)).transpose().map_err(|e| bad(format!("data: {e}")))?;
    let warnings: String = col(row, "warnings", op, t)?;
    let warnings = serde_json::from_str(&warnings).map_err(|e| bad(format!("warnings: {e}")))?;
    let deleted_by: Option<String> = col(row, "deleted_by", op, t)?;
    let deleted_by = deleted_by.as_deref().map(DeletedBy::parse).transpose().map_err(bad)?;
    let record = SourceRecord {
        connector,
        kind,
        external_id,
        created_at: from_ms_opt(col(row, "created_at", op, t)?).map_err(bad)?,
        updated_at: from_ms_opt(col(row, "updated_at", op, t)?).map_err(bad)?,
        deleted: col::<i32>(row, "deleted", op, t)? != 0,
        url: col(row, "url", op, t)?,
        payload_hash: col(row, "payload_hash", op, t)?,
        raw,
        raw_text: RawText::default(),
        data,
        warnings,
    };
    let missed: i64 = col(row, "missed_scans", op, t)?;
    Ok(StoredRecord {
        deleted_by,
        first_seen_at: from_ms(col(row, "first_seen_at", op, t)?).map_err(bad)?,
        synced_at: from_ms(col(row, "synced_at", op, t)?).map_err(bad)?,
        last_scan_id: col(row, "last_scan_id", op, t)?,
        missed_scans: u32::try_from(missed).unwrap_or(u32::MAX),
        dirty: col::<i32>(row, "dirty", op, t)? != 0,
        revision: col(row, "revision", op, t)?,
        record,
    })
}
