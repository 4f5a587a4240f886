//! What identity resolution reads from `source_records`: lean rows (identity, times,
//! link, the data JSON undecoded) by key, by keyset page, and the dirty queue's versions.
//!
//! Resolution decodes the data itself into the few fields it needs (see
//! `resolve::model`); [`super::StoredRecord`]'s full decode re-validates every phone and
//! domain, which a full resolve of a large store cannot afford.

use std::collections::BTreeMap;

use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use zveno_connector::Kind;

use super::records::{RecordKey, RecordVersion};
use super::sql::{self, lookup_sql, LOOKUPS_PER_STATEMENT};
use super::{Backend, Store, StoreError};

/// The row, and the entity its link names (`NULL` for tasks and unresolved records): a full
/// pass groups records by their former entities, so ids survive (`resolve::plan`).
const COLUMNS: &str = concat!(
    "connector, kind, external_id, updated_at, deleted, url, data, revision, ",
    dirty_column!(),
    ", (SELECT l.entity_id FROM links l WHERE l.connector = source_records.connector \
      AND l.kind = source_records.kind AND l.external_id = source_records.external_id) AS entity_id"
);

/// A source record as resolution reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolutionRow {
    /// Remote modification time, epoch ms.
    pub updated_at: Option<i64>,
    /// Deleted in the vendor.
    pub deleted: bool,
    /// Deep link.
    pub url: Option<String>,
    /// The normalised data as stored (JSON); `None` for payload-less tombstones.
    pub data: Option<String>,
    /// Identity and stored revision (what [`Store::clear_dirty`] takes).
    pub version: RecordVersion,
    /// Whether the row is in the dirty queue.
    pub dirty: bool,
    /// The entity the record was last resolved into.
    pub entity: Option<String>,
}

impl Store {
    /// The rows of `keys` that exist (any order).
    pub async fn resolution_rows(&self, keys: &[RecordKey]) -> Result<Vec<ResolutionRow>, StoreError> {
        const OP: &str = "resolution_rows";
        let mut groups: BTreeMap<(&str, Kind), Vec<&str>> = BTreeMap::new();
        for k in keys {
            groups.entry((k.connector.as_str(), k.kind)).or_default().push(k.external_id.as_str());
        }
        let mut out = Vec::with_capacity(keys.len());
        for ((connector, kind), ids) in groups {
            let target = format!("{connector}/{kind}");
            for chunk in ids.chunks(LOOKUPS_PER_STATEMENT) {
                let sqlite = self.backend == Backend::Sqlite;
                let sql = sql::statement_for(sqlite, "resolution_rows", chunk.len(), || {
                    let lookups = lookup_sql(sqlite, COLUMNS, chunk.len());
                    if sqlite {
                        packed_sql(&lookups)
                    } else {
                        lookups
                    }
                });
                let mut query = sqlx::query(&sql);
                for id in chunk {
                    query = query.bind(connector).bind(kind.as_str()).bind(*id);
                }
                out.extend(self.fetch_rows(query, OP, &target).await?);
            }
        }
        Ok(out)
    }

    /// The connectors holding records of `kind`, in order.
    pub async fn connectors_with(&self, kind: Kind) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT DISTINCT connector FROM source_records WHERE kind = $1 ORDER BY connector")
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("connectors_with", kind))
    }

    /// Up to `limit` rows of `connector`/`kind` (deleted ones included), by external id,
    /// after `after`: page with the last id of the previous call.
    pub async fn resolution_page(
        &self,
        connector: &str,
        kind: Kind,
        after: &str,
        limit: u32,
    ) -> Result<Vec<ResolutionRow>, StoreError> {
        const OP: &str = "resolution_page";
        let target = format!("{connector}/{kind}");
        let sql = format!(
            "SELECT {COLUMNS} FROM source_records \
             WHERE connector = $1 AND kind = $2 AND external_id > $3 ORDER BY external_id LIMIT $4"
        );
        let sqlite = self.backend == Backend::Sqlite;
        let sql = if sqlite { packed_sql(&sql) } else { sql };
        // On SQLite the page is read in packs (see `packed_sql`): a pack's JSON text is
        // copied a few times on its way out of SQLite, and packs of PACK rows keep those
        // copies to a few MiB.
        let step = if sqlite { limit.min(PACK) } else { limit };
        let mut rows = Vec::new();
        let mut from = after.to_string();
        while rows.len() < limit as usize {
            let want = step.min(limit - rows.len() as u32);
            let query = sqlx::query(&sql).bind(connector).bind(kind.as_str()).bind(&from).bind(i64::from(want));
            let mut pack = self.fetch_rows(query, OP, &target).await?;
            // SQLite packs rows in the subquery's order; sorting again (one pass over sorted
            // input) makes that order, which the next `from` comes from, a guarantee rather
            // than an observation. Byte order is SQLite's BINARY collation.
            pack.sort_by(|a, b| a.version.key.external_id.cmp(&b.version.key.external_id));
            let full = pack.len() == want as usize;
            if let Some(last) = pack.last() {
                from = last.version.key.external_id.clone();
            }
            rows.append(&mut pack);
            if !full {
                break;
            }
        }
        Ok(rows)
    }

    /// Runs a [`COLUMNS`] query, on SQLite wrapped by [`packed_sql`].
    async fn fetch_rows<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        op: &'static str,
        target: &str,
    ) -> Result<Vec<ResolutionRow>, StoreError> {
        if self.backend == Backend::Sqlite {
            let text: String = query
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::query(op, target))?
                .try_get(0)
                .map_err(|e| StoreError::corrupt(op, target, e))?;
            let packed: Vec<Packed> = serde_json::from_str(&text).map_err(|e| StoreError::corrupt(op, target, e))?;
            return packed.into_iter().map(|p| p.row().map_err(|e| StoreError::corrupt(op, target, e))).collect();
        }
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query(op, target))?;
        rows.iter().map(|row| decode(row).map_err(|e| StoreError::corrupt(op, target, e))).collect()
    }

    /// Up to `limit` versions from the dirty queue, clients first.
    pub async fn dirty_versions(&self, limit: u32) -> Result<Vec<RecordVersion>, StoreError> {
        const OP: &str = "dirty_versions";
        let rows = sqlx::query(
            "SELECT connector, kind, external_id, revision FROM dirty_records \
             ORDER BY kind, connector, external_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP, "all connectors"))?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind").map_err(|e| e.to_string())?;
                Ok(RecordVersion {
                    key: RecordKey {
                        connector: row.try_get("connector").map_err(|e| e.to_string())?,
                        kind: sql::parse_kind(&kind)?,
                        external_id: row.try_get("external_id").map_err(|e| e.to_string())?,
                    },
                    revision: row.try_get("revision").map_err(|e| e.to_string())?,
                })
            })
            .collect::<Result<_, String>>()
            .map_err(|e| StoreError::corrupt(OP, "source_records", e))
    }

    /// Deletes the entities of `kind` no record links to any more: a full pass rewrites
    /// entities block by block (`resolve::full`), and an entity whose records all went
    /// (deleted in the vendor) belongs to no block.
    pub async fn delete_orphan_entities(&self, kind: Kind) -> Result<u64, StoreError> {
        const OP: &str = "delete_orphan_entities";
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, kind))?;
        let done = sqlx::query(
            "DELETE FROM entities WHERE kind = $1 \
             AND NOT EXISTS (SELECT 1 FROM links WHERE links.entity_id = entities.id)",
        )
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(OP, kind))?;
        tx.commit().await.map_err(StoreError::query(OP, kind))?;
        Ok(done.rows_affected())
    }

    /// How many records wait in the dirty queue.
    pub async fn count_dirty(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dirty_records")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("count_dirty", "all connectors"))?;
        Ok(sql::to_u64(n))
    }
}

/// Rows per [`packed_sql`] statement of a keyset page.
const PACK: u32 = 1_000;

/// `inner` (a query of [`COLUMNS`]) with its rows packed by SQLite into one JSON array of
/// arrays, one value per column in [`COLUMNS`] order.
///
/// Why: sqlx runs SQLite on a worker thread and hands every row over a channel, waking the
/// reading task for each; a full resolution reads some 70,000 rows that way, and the thread
/// hand-offs were about a sixth of its CPU (`.ci/profile`). One row per statement is one
/// hand-off; building and parsing the JSON costs less than that: a full resolution of a
/// 50,611-record store took 4.7–5.2 s of CPU packed against 5.9 s row by row.
fn packed_sql(inner: &str) -> String {
    format!(
        "SELECT json_group_array(json_array(connector, kind, external_id, updated_at, deleted, url, data, \
           revision, dirty, entity_id)) FROM ({inner})"
    )
}

/// One row of [`packed_sql`].
#[derive(Deserialize)]
struct Packed(String, String, String, Option<i64>, i64, Option<String>, Option<String>, i64, i64, Option<String>);

impl Packed {
    fn row(self) -> Result<ResolutionRow, String> {
        let Packed(connector, kind, external_id, updated_at, deleted, url, data, revision, dirty, entity) = self;
        Ok(ResolutionRow {
            updated_at,
            deleted: deleted != 0,
            url,
            data,
            dirty: dirty != 0,
            entity,
            version: RecordVersion {
                key: RecordKey { connector, kind: sql::parse_kind(&kind)?, external_id },
                revision,
            },
        })
    }
}

fn decode(row: &AnyRow) -> Result<ResolutionRow, String> {
    let get_err = |e: sqlx::Error| e.to_string();
    let kind: String = row.try_get("kind").map_err(get_err)?;
    let key = RecordKey {
        connector: row.try_get("connector").map_err(get_err)?,
        kind: sql::parse_kind(&kind)?,
        external_id: row.try_get("external_id").map_err(get_err)?,
    };
    let revision = row.try_get("revision").map_err(get_err)?;
    Ok(ResolutionRow {
        updated_at: row.try_get("updated_at").map_err(get_err)?,
        deleted: row.try_get::<i32, _>("deleted").map_err(get_err)? != 0,
        url: row.try_get("url").map_err(get_err)?,
        data: row.try_get("data").map_err(get_err)?,
        dirty: row.try_get::<i32, _>("dirty").map_err(get_err)? != 0,
        entity: row.try_get("entity_id").map_err(get_err)?,
        version: RecordVersion { key, revision },
    })
}
