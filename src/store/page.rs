//! Committing a pulled page: records, census bookkeeping and the cursor that follows
//! them, in one transaction.
//!
//! A commit runs in four steps inside that transaction:
//!
//! 1. lock and read the cursor row (`cursors::lock`); a full page committed from the
//!    starting cursor begins a new scan;
//! 2. read what is stored for the page's ids (primary-key lookups, 100 per statement:
//!    see `sql::lookup_sql`) and decide each record with the pure
//!    [`super::verdict::judge`]; records that repeat within the page are decided in order
//!    against the page's own earlier versions;
//! 3. write only inserted and changed rows, 250 per multi-row `INSERT ... ON CONFLICT DO
//!    UPDATE` (anonymous `?` parameters on SQLite, see `sql::positional`), whose `WHERE`
//!    repeats the never-older rule so that even a writer the cursor lock does not cover
//!    (a full and an incremental pull of the same kind at once) cannot move a record
//!    back; on full pages, stamp the unchanged and stale ones as seen by this scan;
//! 4. on the last page of a full scan, run the census (live records this scan did not
//!    see miss one more scan; those at two become tombstones) and reset the cursor; then
//!    write the cursor.
//!
//! Every write of a record resets its missed scans: any pull that returns a record
//! proves it exists. A tombstone without a payload keeps the record's last data: the
//! `CASE WHEN excluded.data IS NULL` arms of the upsert keep the stored payload columns.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::{AddAssign, Range};

use serde::Serialize;
use sqlx::{AnyConnection, Row};
use zveno_connector::{Kind, Page, SourceRecord, SyncMode};

use super::census::{settle, Settled};
use super::cursors::{self, CursorRow};
use super::leases::{self, Fence};
use super::records::DeletedBy;
use super::sql::{
    keyed_update_sql, lookup_sql, ms, placeholders, statement, LOOKUPS_PER_STATEMENT, ROWS_PER_STATEMENT,
};
use super::verdict::{judge, later, Incoming, Stored, Verdict};
use super::{Store, StoreError};

const OP: &str = "commit_page";

/// Parameters per upserted row.
const ROW_PARAMS: usize = 15;

/// What committing a page did, record by record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PageOutcome {
    /// Records stored for the first time (tombstones of unknown records included).
    pub inserted: u64,
    /// Records replaced by a newer version, deleted by a tombstone or revived.
    pub updated: u64,
    /// Records identical to the stored version (no write).
    pub unchanged: u64,
    /// Records older than the stored version (no write).
    pub stale: u64,
    /// Records the census of a completed full scan marked deleted.
    pub tombstoned: u64,
    /// Records the census of a completed full scan would have marked deleted, held for an
    /// operator because they were too many (see `census::hold_threshold`).
    pub held: u64,
}

impl PageOutcome {
    /// Rows written: what identity resolution will have to look at.
    pub fn written(&self) -> u64 {
        self.inserted + self.updated + self.tombstoned
    }
}

impl AddAssign for PageOutcome {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.stale += other.stale;
        self.tombstoned += other.tombstoned;
        self.held += other.held;
    }
}

/// A row to upsert.
#[derive(Debug)]
struct Write<'a> {
    /// The accepted version: its deletion flag, link and creation time are stored.
    envelope: &'a SourceRecord,
    /// Where the payload columns come from; `None` keeps the stored payload (a tombstone
    /// without one).
    payload: Option<&'a SourceRecord>,
    /// The remote timestamp to store.
    updated_at: Option<i64>,
}

/// What to do with a page.
#[derive(Debug, Default)]
struct Plan<'a> {
    /// Final row per written id, in id order (a stable lock order on PostgreSQL).
    writes: BTreeMap<&'a str, Write<'a>>,
    outcome: PageOutcome,
}

/// Decides every record of a page against what is stored (pure).
fn plan<'a>(records: &'a [SourceRecord], stored: &HashMap<String, Stored>) -> Plan<'a> {
    let mut plan = Plan::default();
    // The page's own accepted versions, which later duplicates are judged against.
    let mut overlay: HashMap<&str, Stored> = HashMap::new();
    for record in records {
        let id = record.external_id.as_str();
        let current = overlay.get(id).or_else(|| stored.get(id));
        let incoming = Incoming {
            updated_at: record.updated_at.map(ms),
            payload_hash: &record.payload_hash,
            deleted: record.deleted,
        };
        match judge(current, incoming) {
            Verdict::Unchanged => plan.outcome.unchanged += 1,
            Verdict::Stale => plan.outcome.stale += 1,
            verdict @ (Verdict::Insert | Verdict::Update) => {
                if verdict == Verdict::Insert {
                    plan.outcome.inserted += 1;
                } else {
                    plan.outcome.updated += 1;
                }
                let payload = if record.data.is_some() || !record.deleted {
                    Some(record)
                } else {
                    plan.writes.get(id).and_then(|w| w.payload)
                };
                let updated_at = later(incoming.updated_at, current.and_then(|c| c.updated_at));
                let payload_hash = match (payload, current) {
                    (Some(p), _) => p.payload_hash.clone(),
                    (None, Some(c)) => c.payload_hash.clone(),
                    (None, None) => record.payload_hash.clone(),
                };
                overlay.insert(id, Stored { updated_at, payload_hash, deleted: record.deleted, census_deleted: false });
                plan.writes.insert(id, Write { envelope: record, payload, updated_at });
            }
        }
    }
    plan
}

fn fenced(target: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Fenced { op: OP, target: target.to_string(), reason: reason.to_string() }
}

/// Refuses records that do not belong in this commit, before anything is written.
fn validate(connector: &str, kind: Kind, records: &[SourceRecord]) -> Result<(), StoreError> {
    let target = format!("{connector}/{kind}");
    for r in records {
        let problem = if r.connector != connector {
            Some(format!("belongs to connector {:?}", r.connector))
        } else if r.kind != kind {
            Some(format!("is a {} record", r.kind))
        } else if let Some(data) = r.data.as_ref().filter(|d| d.kind() != kind) {
            Some(format!("carries {} data", data.kind()))
        } else if !r.deleted && r.data.is_none() {
            Some("is live but carries no data".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(StoreError::invalid(OP, &target, format_args!("record {:?} {problem}", r.external_id)));
        }
    }
    Ok(())
}

impl Store {
    /// Writes a pulled page and the cursor that follows it in ONE transaction: either
    /// both are stored or neither is.
    ///
    /// For a full scan, the page's records are stamped as seen by the current scan, and
    /// the last page (`more == false`) runs the census and resets the cursor so the next
    /// full run starts a new scan. Incremental pages never tombstone by absence.
    ///
    /// Without a fence: for seeding and single-writer tools. The engine commits with
    /// [`Store::commit_fenced`].
    pub async fn commit_page(
        &self,
        connector: &str,
        kind: Kind,
        mode: SyncMode,
        page: &Page,
    ) -> Result<PageOutcome, StoreError> {
        self.commit(connector, kind, mode, page, None).await
    }

    /// [`Store::commit_page`] under a lease: in the same transaction, the lease is renewed
    /// only while `fence`'s token is current, and the stored cursor must still be the one
    /// the page was pulled from. A page failing either check is refused with
    /// [`StoreError::Fenced`], logged and counted against the lease, and nothing is
    /// written: a stalled instance whose lease another took over, or a pull racing a
    /// `zveno cursor reset`, can never move a cursor or feed a census.
    pub async fn commit_fenced(
        &self,
        connector: &str,
        kind: Kind,
        mode: SyncMode,
        page: &Page,
        fence: &Fence<'_>,
    ) -> Result<PageOutcome, StoreError> {
        let result = self.commit(connector, kind, mode, page, Some(fence)).await;
        if let Err(e @ StoreError::Fenced { .. }) = &result {
            tracing::warn!(connector, kind = kind.as_str(), token = fence.lease.token, error = %e, "page refused");
            self.count_rejection(fence.lease).await?;
        }
        result
    }

    async fn commit(
        &self,
        connector: &str,
        kind: Kind,
        mode: SyncMode,
        page: &Page,
        fence: Option<&Fence<'_>>,
    ) -> Result<PageOutcome, StoreError> {
        validate(connector, kind, &page.records)?;
        let target = format!("{connector}/{kind}");
        let q = |cause| StoreError::Query { op: OP, target: target.clone(), cause };
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(q)?;

        if let Some(fence) = fence {
            if !leases::renew_in(&mut tx, fence.lease, now).await.map_err(q)? {
                return Err(fenced(&target, format_args!("lease token {} is no longer current", fence.lease.token)));
            }
        }
        let mut cursor = cursors::lock(&mut tx, connector, kind, mode, now).await.map_err(q)?;
        if let Some(fence) = fence {
            if !cursor.is(fence.from) {
                return Err(fenced(&target, "the cursor moved since the page was pulled"));
            }
        }
        let full = mode == SyncMode::Full;
        if full && cursor.at_start() {
            cursor.scan_id += 1;
            cursor.scan_started_at = Some(now);
            cursor.anonymous_errors = 0;
        }
        let scan_id = full.then_some(cursor.scan_id);

        // On a full page the ids of records that failed to normalise are looked up too:
        // they were listed, so they count as seen when they exist.
        let error_ids = page.errors.iter().filter_map(|e| e.external_id.as_deref()).filter(|_| full);
        let ids: BTreeSet<&str> = page.records.iter().map(|r| r.external_id.as_str()).chain(error_ids).collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        let stored = load_stored(&mut tx, connector, kind, &ids).await.map_err(q)?;
        let plan = plan(&page.records, &stored);
        let mut outcome = plan.outcome;
        upsert(&mut tx, connector, kind, now, scan_id, &plan.writes, &stored, &target).await?;

        if let Some(scan_id) = scan_id {
            // Everything listed that exists and was not just rewritten.
            let seen: Vec<&str> =
                ids.iter().copied().filter(|id| !plan.writes.contains_key(id) && stored.contains_key(*id)).collect();
            mark_seen(&mut tx, connector, kind, scan_id, &seen).await.map_err(q)?;
            let anonymous = page.errors.iter().filter(|e| e.external_id.is_none()).count();
            cursor.anonymous_errors += i64::try_from(anonymous).unwrap_or(i64::MAX);
        }

        let next = if full && !page.more {
            if cursor.anonymous_errors == 0 {
                match census(&mut tx, connector, kind, cursor.scan_id, now).await.map_err(q)? {
                    Settled::Tombstoned(n) => outcome.tombstoned = n,
                    Settled::Held(n) => outcome.held = n,
                }
            } else {
                tracing::warn!(
                    connector,
                    kind = kind.as_str(),
                    scan_id = cursor.scan_id,
                    errors = cursor.anonymous_errors,
                    "full scan met records without an id; skipping delete detection for this scan"
                );
            }
            CursorRow { cursor: None, anonymous_errors: 0, ..cursor }
        } else {
            CursorRow { cursor: cursors::encode(&page.cursor), ..cursor }
        };
        cursors::write(&mut tx, connector, kind, mode, &next, now).await.map_err(q)?;
        tx.commit().await.map_err(q)?;
        Ok(outcome)
    }
}

impl Store {
    /// Writes records read outside a pull — fetched by id after a webhook, or tombstones a
    /// webhook reported — under the same never-older rule as a page, without touching any
    /// cursor or scan: they prove nothing about what a scan saw.
    pub async fn commit_records(
        &self,
        connector: &str,
        kind: Kind,
        records: &[SourceRecord],
    ) -> Result<PageOutcome, StoreError> {
        validate(connector, kind, records)?;
        let target = format!("{connector}/{kind}");
        let q = |cause| StoreError::Query { op: OP, target: target.clone(), cause };
        let ids: Vec<&str> =
            records.iter().map(|r| r.external_id.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
        let mut tx = self.begin_write().await.map_err(q)?;
        let stored = load_stored(&mut tx, connector, kind, &ids).await.map_err(q)?;
        let plan = plan(records, &stored);
        upsert(&mut tx, connector, kind, self.now_ms(), None, &plan.writes, &stored, &target).await?;
        tx.commit().await.map_err(q)?;
        Ok(plan.outcome)
    }
}

/// What is stored for `ids` (see [`lookup_sql`] for why lookups are per id).
async fn load_stored(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    ids: &[&str],
) -> Result<HashMap<String, Stored>, sqlx::Error> {
    let mut stored = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(LOOKUPS_PER_STATEMENT) {
        let sqlite = conn.backend_name() == "SQLite";
        let sql = statement(conn, "load_stored", chunk.len(), || {
            lookup_sql(sqlite, "external_id, updated_at, payload_hash, deleted, deleted_by", chunk.len())
        });
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(connector).bind(kind.as_str()).bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let deleted_by: Option<String> = row.try_get("deleted_by")?;
            stored.insert(
                row.try_get("external_id")?,
                Stored {
                    updated_at: row.try_get("updated_at")?,
                    payload_hash: row.try_get("payload_hash")?,
                    deleted: row.try_get::<i32, _>("deleted")? != 0,
                    // Not the vendor's word: a census verdict, or a record set aside when the
                    // connector moved to another source (no `deleted_by`, see `sources.rs`).
                    census_deleted: deleted_by.as_deref() != Some(DeletedBy::Vendor.as_str()),
                },
            );
        }
    }
    Ok(stored)
}

/// The bound values of one upserted row; the JSON columns are ranges of the chunk's
/// shared text (see [`upsert`]).
struct RowValues<'a> {
    external_id: &'a str,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    deleted: i32,
    deleted_by: Option<&'static str>,
    url: Option<&'a str>,
    payload_hash: &'a str,
    raw: Range<usize>,
    data: Option<Range<usize>>,
    warnings: Range<usize>,
}

/// Writes `value` as JSON at the end of `out`, returning where it is.
fn json_into(out: &mut Vec<u8>, value: &impl Serialize) -> Result<Range<usize>, serde_json::Error> {
    let start = out.len();
    serde_json::to_writer(&mut *out, value)?;
    Ok(start..out.len())
}

fn row_values<'a>(write: &Write<'a>, text: &mut Vec<u8>, target: &str) -> Result<RowValues<'a>, StoreError> {
    let envelope = write.envelope;
    let source = write.payload.unwrap_or(envelope);
    let bad = |what: &str, e: serde_json::Error| {
        StoreError::invalid(
            OP,
            target,
            format_args!("record {:?} {what} does not serialise: {e}", envelope.external_id),
        )
    };
    let raw = match source.raw_text.get() {
        Some(kept) => {
            let start = text.len();
            text.extend_from_slice(kept.as_bytes());
            start..text.len()
        }
        None => json_into(text, &source.raw).map_err(|e| bad("raw payload", e))?,
    };
    let data = write.payload.and_then(|p| p.data.as_ref()).map(|d| json_into(text, d)).transpose();
    let data = data.map_err(|e| bad("data", e))?;
    let warnings = json_into(text, &source.warnings).map_err(|e| bad("warnings", e))?;
    Ok(RowValues {
        external_id: &envelope.external_id,
        created_at: envelope.created_at.or(source.created_at).map(ms),
        updated_at: write.updated_at,
        deleted: i32::from(envelope.deleted),
        deleted_by: envelope.deleted.then_some(DeletedBy::Vendor.as_str()),
        url: envelope.url.as_deref().or(source.url.as_deref()),
        payload_hash: &source.payload_hash,
        raw,
        data,
        warnings,
    })
}

/// Inserts or updates the planned rows, [`ROWS_PER_STATEMENT`] per statement, and puts
/// the new ones (not in `stored`) in the dirty queue.
///
/// The JSON columns of a chunk are written into one buffer that every chunk of the page
/// reuses, instead of a `String` (grown by doubling) per column and row.
#[allow(clippy::too_many_arguments)] // two call sites, each argument a different thing
async fn upsert(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    now: i64,
    scan_id: Option<i64>,
    writes: &BTreeMap<&str, Write<'_>>,
    stored: &HashMap<String, Stored>,
    target: &str,
) -> Result<(), StoreError> {
    let writes: Vec<&Write<'_>> = writes.values().collect();
    let mut buffer = Vec::new();
    for chunk in writes.chunks(ROWS_PER_STATEMENT) {
        buffer.clear();
        let rows = chunk.iter().map(|w| row_values(w, &mut buffer, target)).collect::<Result<Vec<_>, _>>()?;
        // serde_json writes UTF-8; checked once per chunk rather than trusted.
        let text = String::from_utf8(buffer).map_err(|e| StoreError::invalid(OP, target, e))?;
        let sql = statement(conn, "upsert", chunk.len(), || upsert_sql(chunk.len()));
        let mut query = sqlx::query(&sql);
        for r in &rows {
            query = query
                .bind(connector)
                .bind(kind.as_str())
                .bind(r.external_id)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(r.deleted)
                .bind(r.deleted_by)
                .bind(r.url)
                .bind(r.payload_hash)
                .bind(&text[r.raw.clone()])
                .bind(r.data.clone().map(|d| &text[d]))
                .bind(&text[r.warnings.clone()])
                .bind(now)
                .bind(now)
                .bind(scan_id);
        }
        query.execute(&mut *conn).await.map_err(StoreError::query(OP, target))?;
        buffer = text.into_bytes();
        let new: Vec<&str> = rows.iter().map(|r| r.external_id).filter(|id| !stored.contains_key(*id)).collect();
        enqueue_new(conn, connector, kind, &new).await.map_err(StoreError::query(OP, target))?;
    }
    Ok(())
}

/// Puts records just inserted (at revision 1) in the dirty queue.
///
/// Why here and not by a trigger, as updates are (migration 0016): a full sync inserts
/// every record, and a row trigger runs a sub-program per row — in a 50,611-record store
/// some 0.35 s of CPU, where this one statement per chunk takes about a third of that.
/// An update's new revision is only known to the database, so updates keep the trigger.
async fn enqueue_new(conn: &mut AnyConnection, connector: &str, kind: Kind, ids: &[&str]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = statement(conn, "enqueue_new", ids.len(), || {
        let values = (0..ids.len())
            .map(|i| format!("(${}, ${}, ${}, 1)", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO dirty_records (kind, connector, external_id, revision) VALUES {values} \
             ON CONFLICT (kind, connector, external_id) DO UPDATE SET revision = excluded.revision"
        )
    });
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(kind.as_str()).bind(connector).bind(*id);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// The multi-row upsert for `rows` rows. Each row binds, in order: connector, kind, the
/// row's own values, now (twice: first seen and synced) and the scan id (NULL for
/// incremental pages, which keep the stored one). Nothing is shared between rows, so the
/// placeholders run in order and SQLite binds them positionally (see `sql::positional`).
fn upsert_sql(rows: usize) -> String {
    let mut values = String::with_capacity(rows * 120);
    for i in 0..rows {
        if i > 0 {
            values.push_str(",\n");
        }
        values.push_str(&format!("({}, 0, 1)", placeholders(1 + i * ROW_PARAMS, ROW_PARAMS)));
    }
    format!(
        "INSERT INTO source_records (connector, kind, \
           external_id, created_at, updated_at, deleted, deleted_by, url, payload_hash, raw, data, warnings, \
           first_seen_at, synced_at, last_scan_id, missed_scans, revision)
         VALUES {values}
         ON CONFLICT (connector, kind, external_id) DO UPDATE SET
           created_at = COALESCE(excluded.created_at, source_records.created_at),
           updated_at = excluded.updated_at,
           deleted = excluded.deleted,
           deleted_by = excluded.deleted_by,
           url = COALESCE(excluded.url, source_records.url),
           payload_hash = CASE WHEN excluded.data IS NULL THEN source_records.payload_hash ELSE excluded.payload_hash END,
           raw = CASE WHEN excluded.data IS NULL THEN source_records.raw ELSE excluded.raw END,
           data = COALESCE(excluded.data, source_records.data),
           warnings = CASE WHEN excluded.data IS NULL THEN source_records.warnings ELSE excluded.warnings END,
           synced_at = excluded.synced_at,
           last_scan_id = COALESCE(excluded.last_scan_id, source_records.last_scan_id),
           missed_scans = 0,
           revision = source_records.revision + 1
         WHERE source_records.updated_at IS NULL
            OR (excluded.updated_at IS NOT NULL AND excluded.updated_at >= source_records.updated_at)"
    )
}

/// Stamps stored records of a full page that were not rewritten as seen by `scan_id`.
/// `ids` exist: they were read in this transaction (see [`keyed_update_sql`]).
async fn mark_seen(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    scan_id: i64,
    ids: &[&str],
) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = statement(conn, "mark_seen", chunk.len(), || {
            keyed_update_sql(
                chunk.len(),
                "last_scan_id = excluded.last_scan_id, missed_scans = 0",
                "source_records.last_scan_id IS NULL \
                 OR source_records.last_scan_id <> excluded.last_scan_id \
                 OR source_records.missed_scans <> 0",
            )
        });
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(connector).bind(kind.as_str()).bind(*id).bind(scan_id).bind(0_i64);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The census of a completed scan: live records it did not see miss one more scan, and
/// those that have now missed two become tombstones — unless they are too many, when they
/// are held for an operator (see `census::settle`).
///
/// A scan that saw *nothing* is not evidence of mass deletion: an expired permission or a
/// narrowed JQL makes a vendor return an empty list just as cleanly. Such a scan skips the
/// census (with a warning) rather than start tombstoning every record.
///
/// Two passes over the kind's rows rather than four: the counts of seen and live records
/// share one, and the update returns what it counted up (a record this scan saw has no
/// missed scans, so the records at two are exactly those among the returned). Each pass
/// reads every row of the kind, 1 to 1.5 KiB apiece: in a 50,611-record full sync the
/// four took 0.30 s of its 2.8 s of SQL, the two 0.155 s.
async fn census(
    conn: &mut AnyConnection,
    connector: &str,
    kind: Kind,
    scan_id: i64,
    now: i64,
) -> Result<Settled, sqlx::Error> {
    let counts = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN last_scan_id = $3 THEN 1 ELSE 0 END), 0) AS seen, \
                COALESCE(SUM(CASE WHEN deleted = 0 THEN 1 ELSE 0 END), 0) AS live \
         FROM source_records WHERE connector = $1 AND kind = $2",
    )
    .bind(connector)
    .bind(kind.as_str())
    .bind(scan_id)
    .fetch_one(&mut *conn)
    .await?;
    let (seen, live): (i64, i64) = (counts.try_get("seen")?, counts.try_get("live")?);
    if seen == 0 {
        tracing::warn!(
            connector,
            kind = kind.as_str(),
            scan_id,
            "full scan listed no records at all; not treating that as deletes (check permissions and filters)"
        );
        return Ok(Settled::Tombstoned(0));
    }
    let missed = sqlx::query(
        "UPDATE source_records SET missed_scans = missed_scans + 1 \
         WHERE connector = $1 AND kind = $2 AND deleted = 0 \
         AND (last_scan_id IS NULL OR last_scan_id <> $3) \
         RETURNING external_id, missed_scans",
    )
    .bind(connector)
    .bind(kind.as_str())
    .bind(scan_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut gone = Vec::new();
    for row in missed {
        if row.try_get::<i64, _>("missed_scans")? >= 2 {
            gone.push(row.try_get::<String, _>("external_id")?);
        }
    }
    gone.sort_unstable();
    settle(conn, connector, kind, &gone, u64::try_from(live).unwrap_or(0), now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use zveno_connector::{Client, RecordData};

    fn live(id: &str, at: i64, name: &str) -> SourceRecord {
        let client = Client { name: name.to_string(), ..Client::default() };
        SourceRecord::new("c", id, RecordData::Client(client), serde_json::json!({ "id": id, "name": name }))
            .with_times(None, chrono::DateTime::from_timestamp_millis(at))
    }

    #[test]
    fn duplicates_within_a_page_are_decided_in_order() {
        let records = vec![live("a", 10, "first"), live("a", 20, "second"), live("a", 15, "older"), live("b", 5, "b")];
        let plan = plan(&records, &HashMap::new());
        assert_eq!(plan.outcome, PageOutcome { inserted: 2, updated: 1, stale: 1, ..PageOutcome::default() });
        let a = plan.writes.get("a").map(|w| w.envelope.updated_at);
        assert_eq!(a, Some(chrono::DateTime::from_timestamp_millis(20)));
    }

    #[test]
    fn a_payloadless_tombstone_after_a_live_version_keeps_that_version_payload() {
        let records = vec![live("a", 10, "kept"), SourceRecord::tombstone("c", Kind::Client, "a", None)];
        let plan = plan(&records, &HashMap::new());
        let write = plan.writes.get("a");
        assert_eq!(write.map(|w| w.envelope.deleted), Some(true));
        assert_eq!(write.and_then(|w| w.payload).map(|p| p.external_id.as_str()), Some("a"));
        assert_eq!(write.and_then(|w| w.updated_at), Some(10));
    }

    #[test]
    fn unchanged_records_are_not_written() {
        let records = vec![live("a", 10, "same")];
        let stored = HashMap::from([(
            "a".to_string(),
            Stored {
                updated_at: Some(10),
                payload_hash: records[0].payload_hash.clone(),
                deleted: false,
                census_deleted: false,
            },
        )]);
        let plan = plan(&records, &stored);
        assert_eq!(plan.outcome.unchanged, 1);
        assert!(plan.writes.is_empty());
    }

    #[test]
    fn records_of_another_connector_or_kind_are_refused() {
        let mut page = Page { records: vec![live("a", 1, "x")], ..Page::default() };
        assert!(validate("c", Kind::Client, &page.records).is_ok());
        let err = validate("other", Kind::Client, &page.records).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("commit_page other/client: record \"a\" belongs to connector \"c\""));
        assert!(validate("c", Kind::Task, &page.records).is_err());
        page.records[0].data = None;
        assert!(validate("c", Kind::Client, &page.records).is_err());
    }
}
