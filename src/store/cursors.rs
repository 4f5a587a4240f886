//! Cursors, one row per (connector, kind, mode), and the census state of full scans.
//!
//! The cursor itself is the connector's opaque JSON, stored as text; SQL `NULL` is the
//! starting cursor. The `full` row also carries the scan in progress: its id (bumped when
//! a full page is committed from the starting cursor), when it began, and how many
//! record errors without an id it met, because such a scan cannot prove anything
//! missing and its census is skipped.
//!
//! [`lock`] opens every page transaction with an upsert of the cursor row that changes
//! nothing but returns the row: on PostgreSQL that takes the row lock, so two commits for
//! the same connector, kind and mode serialise instead of both starting a new scan; on
//! SQLite the `BEGIN IMMEDIATE` already serialises writers. One portable statement does
//! both jobs.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};
use zveno_connector::{Cursor, Kind, SyncMode};

use super::sql::from_ms_opt;
use super::{Store, StoreError};

/// The stored state of one cursor row.
#[derive(Debug, Clone)]
pub(super) struct CursorRow {
    /// The cursor JSON; `None` is the start.
    pub cursor: Option<String>,
    pub scan_id: i64,
    pub scan_started_at: Option<i64>,
    pub anonymous_errors: i64,
}

impl CursorRow {
    pub(super) fn at_start(&self) -> bool {
        self.cursor.as_deref().is_none_or(|c| c.trim() == "null")
    }

    /// Whether the stored cursor is `cursor`, compared as JSON (not as text).
    pub(super) fn is(&self, cursor: &Cursor) -> bool {
        match self.cursor.as_deref() {
            _ if self.at_start() => cursor.is_start(),
            Some(text) => serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v == cursor.0),
            None => cursor.is_start(),
        }
    }
}

/// The full-scan state of a connector and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanState {
    /// The current (or last) scan's id; 0 before the first scan.
    pub scan_id: i64,
    /// When the current (or last) scan's first page was committed.
    pub started_at: Option<DateTime<Utc>>,
    /// Whether a scan has committed pages but not its last one.
    pub in_progress: bool,
}

/// The stored text of a cursor; `None` for the starting cursor.
pub(super) fn encode(cursor: &Cursor) -> Option<String> {
    (!cursor.is_start()).then(|| cursor.0.to_string())
}

fn decode(text: Option<&str>) -> Result<Cursor, String> {
    match text {
        None => Ok(Cursor::default()),
        Some(text) => serde_json::from_str(text).map(Cursor).map_err(|e| format!("cursor {text:?}: {e}")),
    }
}

/// Locks (creating at the start if missing) and reads the cursor row inside a page
/// transaction.
pub(super) async fn lock(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    mode: SyncMode,
    now: i64,
) -> Result<CursorRow, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO cursors (connector, kind, mode, cursor, scan_id, scan_anonymous_errors, updated_at) \
         VALUES ($1, $2, $3, NULL, 0, 0, $4) \
         ON CONFLICT (connector, kind, mode) DO UPDATE SET updated_at = cursors.updated_at \
         RETURNING cursor, scan_id, scan_started_at, scan_anonymous_errors",
    )
    .bind(connector)
    .bind(kind.as_str())
    .bind(mode.as_str())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(CursorRow {
        cursor: row.try_get("cursor")?,
        scan_id: row.try_get("scan_id")?,
        scan_started_at: row.try_get("scan_started_at")?,
        anonymous_errors: row.try_get("scan_anonymous_errors")?,
    })
}

/// Writes the cursor row locked by [`lock`].
pub(super) async fn write(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    mode: SyncMode,
    row: &CursorRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE cursors SET cursor = $4, scan_id = $5, scan_started_at = $6, \
         scan_anonymous_errors = $7, updated_at = $8 \
         WHERE connector = $1 AND kind = $2 AND mode = $3",
    )
    .bind(connector)
    .bind(kind.as_str())
    .bind(mode.as_str())
    .bind(row.cursor.as_deref())
    .bind(row.scan_id)
    .bind(row.scan_started_at)
    .bind(row.anonymous_errors)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// The cursor to pull from next; [`Cursor::default()`] (the start) if none is stored.
    pub async fn cursor(&self, connector: &str, kind: Kind, mode: SyncMode) -> Result<Cursor, StoreError> {
        const OP: &str = "cursor";
        let target = format!("{connector}/{kind}/{}", mode.as_str());
        let text: Option<Option<String>> =
            sqlx::query_scalar("SELECT cursor FROM cursors WHERE connector = $1 AND kind = $2 AND mode = $3")
                .bind(connector)
                .bind(kind.as_str())
                .bind(mode.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::query(OP, &target))?;
        decode(text.flatten().as_deref()).map_err(|e| StoreError::corrupt(OP, &target, e))
    }

    /// Stores `cursor` outside a page commit: the engine seeds the first incremental
    /// cursor when a full scan completes, and `Cursor::default()` restarts a stream (for
    /// a full scan, the next committed page begins a new scan).
    pub async fn set_cursor(
        &self,
        connector: &str,
        kind: Kind,
        mode: SyncMode,
        cursor: &Cursor,
    ) -> Result<(), StoreError> {
        let target = format!("{connector}/{kind}/{}", mode.as_str());
        sqlx::query(
            "INSERT INTO cursors (connector, kind, mode, cursor, scan_id, scan_anonymous_errors, updated_at) \
             VALUES ($1, $2, $3, $4, 0, 0, $5) \
             ON CONFLICT (connector, kind, mode) DO UPDATE SET \
               cursor = excluded.cursor, updated_at = excluded.updated_at, \
               scan_anonymous_errors = CASE WHEN excluded.cursor IS NULL THEN 0 \
                                            ELSE cursors.scan_anonymous_errors END",
        )
        .bind(connector)
        .bind(kind.as_str())
        .bind(mode.as_str())
        .bind(encode(cursor))
        .bind(self.now_ms())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("set_cursor", target))?;
        Ok(())
    }

    /// Starts `connector`'s cursors (of `kind`, or of every kind) over: both modes go back
    /// to the start, so the next run is a full scan from its first page (a new scan id)
    /// and the incremental stream is seeded again when it completes. Returns how many
    /// cursor rows were reset. A pull in progress sees its cursor move and stops at its
    /// next page (see `Store::commit_fenced`).
    pub async fn reset_cursors(&self, connector: &str, kind: Option<Kind>) -> Result<u64, StoreError> {
        let target = kind.map_or_else(|| connector.to_string(), |k| format!("{connector}/{k}"));
        let done = sqlx::query(
            "UPDATE cursors SET cursor = NULL, scan_anonymous_errors = 0, updated_at = $3 \
             WHERE connector = $1 AND ($2 IS NULL OR kind = $2)",
        )
        .bind(connector)
        .bind(kind.map(Kind::as_str))
        .bind(self.now_ms())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("reset_cursors", target))?;
        Ok(done.rows_affected())
    }

    /// The full-scan state of `connector`/`kind`.
    pub async fn scan_state(&self, connector: &str, kind: Kind) -> Result<ScanState, StoreError> {
        const OP: &str = "scan_state";
        let target = format!("{connector}/{kind}");
        let row = sqlx::query(
            "SELECT cursor, scan_id, scan_started_at FROM cursors \
             WHERE connector = $1 AND kind = $2 AND mode = 'full'",
        )
        .bind(connector)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query(OP, &target))?;
        let Some(row) = row else {
            return Ok(ScanState { scan_id: 0, started_at: None, in_progress: false });
        };
        let read = |e: sqlx::Error| StoreError::corrupt(OP, &target, e);
        let cursor: Option<String> = row.try_get("cursor").map_err(read)?;
        let started_at: Option<i64> = row.try_get("scan_started_at").map_err(read)?;
        Ok(ScanState {
            scan_id: row.try_get("scan_id").map_err(read)?,
            started_at: from_ms_opt(started_at).map_err(|e| StoreError::corrupt(OP, &target, e))?,
            in_progress: cursor.is_some(),
        })
    }
}
