//! The id census's bookkeeping: when each connector and kind last had one, which stored
//! records a census did not list, tombstoning the confirmed ones, and results held for an
//! operator.
//!
//! The rule that protects live records: a census — an id census, or the census a completed
//! full scan makes — that would tombstone more than [`hold_threshold`] of a kind's live
//! records is *held*, not applied. A token that lost access to half of a CRM, or a JQL that
//! an admin narrowed, answers every list and lookup cleanly and looks exactly like a mass
//! deletion; only a person can tell. The held ids wait in the `census` table until
//! `zveno census approve` (or the admin API) tombstones them, and a later census that no
//! longer crosses the threshold replaces the hold with its own, smaller result.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;
use zveno_connector::Kind;

use super::sql::{from_ms, from_ms_opt, ms, parse_kind, placeholders, to_i64, to_u64, LOOKUPS_PER_STATEMENT};
use super::{Store, StoreError};

/// The most records one census may tombstone without an operator: 5% of the kind's live
/// records, and never less than 50 (a small CRM losing a few dozen records in a day is
/// ordinary cleanup, not a token gone wrong).
pub fn hold_threshold(live: u64) -> u64 {
    (live / 20).max(50)
}

/// A census result waiting for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CensusHold {
    /// Connector instance name.
    pub connector: String,
    /// Kind.
    #[schema(value_type = String)]
    pub kind: Kind,
    /// When it was held.
    pub held_at: DateTime<Utc>,
    /// Live records of the kind when it was held.
    pub live: u64,
    /// Records it would tombstone.
    pub count: u64,
    /// The most it could have tombstoned without being held.
    pub threshold: u64,
}

impl CensusHold {
    /// One line saying what is held and how to release it.
    pub fn describe(&self) -> String {
        format!(
            "{0}/{1}: deletion of {2} of {3} {1} records held since {4} (more than the {5} allowed without an \
             operator; a token that lost access looks the same) — check the connector's access, then \
             `zveno census approve {0} {1}`",
            self.connector,
            self.kind,
            self.count,
            self.live,
            self.held_at.format("%Y-%m-%d %H:%M:%S UTC"),
            self.threshold
        )
    }
}

/// What settling a census did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "records")]
pub enum Settled {
    /// These many records were tombstoned (and any earlier hold dropped).
    Tombstoned(u64),
    /// These many records would have been tombstoned: held for an operator.
    Held(u64),
}

const OP: &str = "census";

impl Store {
    /// When the last completed id census of `connector`/`kind` started.
    pub async fn last_census(&self, connector: &str, kind: Kind) -> Result<Option<DateTime<Utc>>, StoreError> {
        let target = format!("{connector}/{kind}");
        let at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT last_at FROM census WHERE connector = $1 AND kind = $2")
                .bind(connector)
                .bind(kind.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::query(OP, &target))?;
        from_ms_opt(at.flatten()).map_err(|e| StoreError::corrupt(OP, &target, e))
    }

    /// Live records of `connector`/`kind` first stored before `before` (the census's start:
    /// a record created while the census paged may be missing from it) that `seen` does
    /// not hold, and how many live records there are in all.
    pub async fn census_missing(
        &self,
        connector: &str,
        kind: Kind,
        seen: &HashSet<String>,
        before: DateTime<Utc>,
    ) -> Result<(Vec<String>, u64), StoreError> {
        let target = format!("{connector}/{kind}");
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT external_id, first_seen_at FROM source_records \
             WHERE connector = $1 AND kind = $2 AND deleted = 0 ORDER BY external_id",
        )
        .bind(connector)
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP, &target))?;
        let live = rows.len() as u64;
        let before = ms(before);
        let missing =
            rows.into_iter().filter(|(id, first)| *first < before && !seen.contains(id)).map(|(id, _)| id).collect();
        Ok((missing, live))
    }

    /// Applies a completed id census of `connector`/`kind` that began at `started`:
    /// tombstones `gone` (records it did not list and a lookup confirmed gone), or holds
    /// them when they are more than [`hold_threshold`] of the `live` records.
    pub async fn settle_census(
        &self,
        connector: &str,
        kind: Kind,
        started: DateTime<Utc>,
        gone: &[String],
        live: u64,
    ) -> Result<Settled, StoreError> {
        let target = format!("{connector}/{kind}");
        let q = |cause| StoreError::Query { op: OP, target: target.clone(), cause };
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(q)?;
        let settled = settle(&mut tx, connector, kind, gone, live, now).await.map_err(q)?;
        sqlx::query("UPDATE census SET last_at = $3, updated_at = $4 WHERE connector = $1 AND kind = $2")
            .bind(connector)
            .bind(kind.as_str())
            .bind(ms(started))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(q)?;
        tx.commit().await.map_err(q)?;
        Ok(settled)
    }

    /// Every held census result, oldest first.
    pub async fn census_holds(&self) -> Result<Vec<CensusHold>, StoreError> {
        let rows = sqlx::query(
            "SELECT connector, kind, held_at, held_live, held_ids FROM census \
             WHERE held_at IS NOT NULL ORDER BY held_at, connector, kind",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP, "holds"))?;
        rows.iter().map(|row| decode_hold(row).map(|(hold, _)| hold)).collect()
    }

    /// Releases the held census of `connector`/`kind`: tombstones its records that are
    /// still live and were not stored again since it was held (a record a later pull saw
    /// exists), and drops the hold. `None` when nothing was held.
    pub async fn approve_census(&self, connector: &str, kind: Kind) -> Result<Option<u64>, StoreError> {
        let target = format!("{connector}/{kind}");
        let q = |cause| StoreError::Query { op: OP, target: target.clone(), cause };
        let mut tx = self.begin_write().await.map_err(q)?;
        let row = sqlx::query(
            "SELECT connector, kind, held_at, held_live, held_ids FROM census \
             WHERE connector = $1 AND kind = $2 AND held_at IS NOT NULL",
        )
        .bind(connector)
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(q)?;
        let Some(row) = row else { return Ok(None) };
        let (hold, ids) = decode_hold(&row)?;
        let now = self.now_ms();
        let tombstoned = tombstone(&mut tx, connector, kind, &ids, Some(ms(hold.held_at)), now).await.map_err(q)?;
        release(&mut tx, connector, kind, now).await.map_err(q)?;
        tx.commit().await.map_err(q)?;
        Ok(Some(tombstoned))
    }
}

/// Tombstones `gone`, or holds it when it crosses the threshold, inside a transaction; the
/// full scan's census (`page.rs`) settles through here too.
pub(super) async fn settle(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    gone: &[String],
    live: u64,
    now: i64,
) -> Result<Settled, sqlx::Error> {
    sqlx::query(
        "INSERT INTO census (connector, kind, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (connector, kind) DO NOTHING",
    )
    .bind(connector)
    .bind(kind.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let count = gone.len() as u64;
    if count > hold_threshold(live) {
        let ids = serde_json::to_string(gone).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "UPDATE census SET held_at = $3, held_live = $4, held_ids = $5, updated_at = $3 \
             WHERE connector = $1 AND kind = $2",
        )
        .bind(connector)
        .bind(kind.as_str())
        .bind(now)
        .bind(to_i64(live))
        .bind(ids)
        .execute(&mut *conn)
        .await?;
        tracing::warn!(connector, kind = kind.as_str(), count, live, "census would tombstone too many records; held");
        return Ok(Settled::Held(count));
    }
    let tombstoned = tombstone(conn, connector, kind, gone, None, now).await?;
    release(conn, connector, kind, now).await?;
    Ok(Settled::Tombstoned(tombstoned))
}

/// Marks `ids` deleted by the census where they are live (and, with `unchanged_since`, not
/// stored again after that instant).
async fn tombstone(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    ids: &[String],
    unchanged_since: Option<i64>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut tombstoned = 0;
    for chunk in ids.chunks(LOOKUPS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE source_records SET deleted = 1, deleted_by = 'census', \
             revision = revision + 1, synced_at = $3 \
             WHERE connector = $1 AND kind = $2 AND deleted = 0 AND synced_at <= $4 AND external_id IN ({})",
            placeholders(5, chunk.len())
        );
        let mut query =
            sqlx::query(&sql).bind(connector).bind(kind.as_str()).bind(now).bind(unchanged_since.unwrap_or(now));
        for id in chunk {
            query = query.bind(id.as_str());
        }
        tombstoned += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(tombstoned)
}

async fn release(conn: &mut AnyConnection, connector: &str, kind: Kind, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE census SET held_at = NULL, held_live = NULL, held_ids = NULL, updated_at = $3 \
         WHERE connector = $1 AND kind = $2",
    )
    .bind(connector)
    .bind(kind.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn decode_hold(row: &AnyRow) -> Result<(CensusHold, Vec<String>), StoreError> {
    let bad = |e: String| StoreError::corrupt(OP, "holds", e);
    let column = |name: &str, e: sqlx::Error| bad(format!("column {name}: {e}"));
    let connector: String = row.try_get("connector").map_err(|e| column("connector", e))?;
    let kind: String = row.try_get("kind").map_err(|e| column("kind", e))?;
    let held_at: i64 = row.try_get("held_at").map_err(|e| column("held_at", e))?;
    let live: Option<i64> = row.try_get("held_live").map_err(|e| column("held_live", e))?;
    let ids: Option<String> = row.try_get("held_ids").map_err(|e| column("held_ids", e))?;
    let ids: Vec<String> = serde_json::from_str(ids.as_deref().unwrap_or("[]")).map_err(|e| bad(e.to_string()))?;
    let live = to_u64(live.unwrap_or(0));
    let hold = CensusHold {
        connector,
        kind: parse_kind(&kind).map_err(bad)?,
        held_at: from_ms(held_at).map_err(bad)?,
        live,
        count: ids.len() as u64,
        threshold: hold_threshold(live),
    };
    Ok((hold, ids))
}
