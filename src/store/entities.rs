//! Writing resolution's results: entities (golden records), links (record → entity, with
//! rule, score and evidence), task attachments and the key index, together with the
//! dirty-queue versions they answer, in one transaction.
//!
//! One [`ResolutionWrite`] is one transaction: an incremental run writes everything it
//! re-resolved at once, so readers see the old clusters or the new ones, never half; a
//! full re-resolve of a large store writes in chunks (so concurrent page commits are never
//! kept waiting long) and replaces rows in place rather than emptying tables first.
//! Clearing the versions in the same transaction makes the pair crash-safe: results
//! without a cleared queue are recomputed, never lost.

use std::collections::BTreeMap;

use sqlx::AnyConnection;
use zveno_connector::{Kind, Priority, TaskStatus};

use super::records::{clear_dirty_in, RecordKey, RecordVersion};
use super::resolve_keys::replace_keys;
use super::sql::{placeholders, row_placeholders, statement};
use super::{Store, StoreError};

const OP: &str = "write_resolution";

/// Bound parameters per statement. sqlx's SQLite driver looks each `$n` up in SQLite's
/// parameter list, which is a linear scan, so binding costs grow with the square of a
/// statement's parameters — at 3,000 they dominated a full resolve (`perf`: 34% in
/// `sqlite3_bind_parameter_name`). Statements here now bind positionally on SQLite
/// (`sql::positional`), which removes that cost; the cap stays modest for PostgreSQL's
/// planning of very long statements.
const PARAMS_PER_STATEMENT: usize = 400;

/// Rows of `width` columns per multi-row statement.
pub(super) fn rows_per_statement(width: usize) -> usize {
    (PARAMS_PER_STATEMENT / width.max(1)).max(1)
}

/// A golden record.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRow {
    /// Stable id (`cl-…` clients, `ct-…` contacts).
    pub id: String,
    /// Client or contact.
    pub kind: Kind,
    /// Display name.
    pub name: String,
    /// Lower-case owner.
    pub owner: Option<String>,
    /// Lower-case search text.
    pub search: String,
    /// Field values, as JSON object text: written by resolution straight from its typed
    /// values and read back into them by the view (`view::golden`), never through a
    /// `serde_json::Value` tree (building and printing one was ~4% of a full resolution).
    pub golden: String,
    /// Field provenance, as JSON object text (as `golden`).
    pub provenance: String,
    /// Number of source records.
    pub sources: i64,
    /// Latest remote modification among its records.
    pub updated_at: Option<i64>,
}

/// A record's membership in an entity, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    /// The record (client or contact).
    pub key: RecordKey,
    /// Its entity.
    pub entity_id: String,
    /// The rule (`tax_id`, `name`, `manual`, `single`, …).
    pub rule: String,
    /// The rule's score.
    pub score: f64,
    /// The shared value.
    pub evidence: String,
    /// The record it was matched with, `connector:kind:external_id`.
    pub via: Option<String>,
    /// Deep link.
    pub url: Option<String>,
    /// Contacts: the client entity followed.
    pub client_id: Option<String>,
}

/// A task and the client it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLinkRow {
    /// Connector.
    pub connector: String,
    /// The vendor's id.
    pub external_id: String,
    /// Client entity; `None` is unattached.
    pub client_id: Option<String>,
    /// How it was attached (`association`, `hint_domain`, …, `unattached`).
    pub rule: String,
    /// The reference used, or why none resolved.
    pub detail: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: TaskStatus,
    /// Priority.
    pub priority: Option<Priority>,
    /// Lower-case assignee.
    pub assignee: Option<String>,
    /// Due, epoch ms.
    pub due: Option<i64>,
    /// Deep link.
    pub url: Option<String>,
    /// Remote modification time.
    pub updated_at: Option<i64>,
}

/// One transaction's worth of results. Deletions run first, then upserts.
#[derive(Debug, Default)]
pub struct ResolutionWrite {
    /// Entities that no longer exist.
    pub delete_entities: Vec<String>,
    /// Links of records that are gone (deleted in the vendor).
    pub delete_links: Vec<RecordKey>,
    /// Tasks that are gone.
    pub delete_tasks: Vec<RecordKey>,
    /// Entities to insert or replace.
    pub entities: Vec<EntityRow>,
    /// Links to insert or replace.
    pub links: Vec<LinkRow>,
    /// Contacts re-attached without being re-clustered: `links.client_id` only.
    pub contact_clients: Vec<(RecordKey, Option<String>)>,
    /// Task attachments to insert or replace.
    pub tasks: Vec<TaskLinkRow>,
    /// Records whose index keys are replaced by these.
    pub keys: Vec<(RecordKey, Vec<String>)>,
    /// Dirty-queue versions these results answer.
    pub processed: Vec<RecordVersion>,
}

impl Store {
    /// Writes `w` in one transaction.
    pub async fn write_resolution(&self, w: &ResolutionWrite) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, "begin"))?;
        let now = self.now_ms();
        delete_by_ids(&mut tx, "entities", "id", &w.delete_entities).await?;
        delete_records(&mut tx, "links", true, &w.delete_links).await?;
        delete_records(&mut tx, "task_links", false, &w.delete_tasks).await?;
        for chunk in w.entities.chunks(rows_per_statement(10)) {
            upsert_entities(&mut tx, chunk, now).await?;
        }
        for chunk in w.links.chunks(rows_per_statement(11)) {
            upsert_links(&mut tx, chunk, now).await?;
        }
        for (key, client) in &w.contact_clients {
            sqlx::query("UPDATE links SET client_id = $4 WHERE connector = $1 AND kind = $2 AND external_id = $3")
                .bind(&key.connector)
                .bind(key.kind.as_str())
                .bind(&key.external_id)
                .bind(client.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP, "links"))?;
        }
        for chunk in w.tasks.chunks(rows_per_statement(12)) {
            upsert_tasks(&mut tx, chunk).await?;
        }
        replace_keys(&mut tx, &w.keys).await?;
        clear_dirty_in(&mut tx, &w.processed).await?;
        tx.commit().await.map_err(StoreError::query(OP, "commit"))
    }
}

async fn delete_by_ids(
    conn: &mut AnyConnection,
    table: &'static str,
    column: &str,
    ids: &[String],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = statement(conn, table, chunk.len(), || {
            format!("DELETE FROM {table} WHERE {column} IN ({})", placeholders(1, chunk.len()))
        });
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(&mut *conn).await.map_err(StoreError::query(OP, table))?;
    }
    Ok(())
}

/// Deletes rows of `table` keyed by record; `with_kind` when the table has a kind column
/// (always the same for one table: its statement texts are kept by table name).
pub(super) async fn delete_records(
    conn: &mut AnyConnection,
    table: &'static str,
    with_kind: bool,
    keys: &[RecordKey],
) -> Result<(), StoreError> {
    let mut groups: BTreeMap<(&str, Kind), Vec<&str>> = BTreeMap::new();
    for k in keys {
        groups.entry((k.connector.as_str(), k.kind)).or_default().push(k.external_id.as_str());
    }
    for ((connector, kind), ids) in groups {
        for chunk in ids.chunks(rows_per_statement(1)) {
            let sql = statement(conn, table, chunk.len(), || {
                let (kind_clause, first) = if with_kind { (" AND kind = $2", 3) } else { ("", 2) };
                format!(
                    "DELETE FROM {table} WHERE connector = $1{kind_clause} AND external_id IN ({})",
                    placeholders(first, chunk.len())
                )
            });
            let mut query = sqlx::query(&sql).bind(connector);
            if with_kind {
                query = query.bind(kind.as_str());
            }
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *conn).await.map_err(StoreError::query(OP, format!("{table} {connector}/{kind}")))?;
        }
    }
    Ok(())
}

async fn upsert_entities(conn: &mut AnyConnection, rows: &[EntityRow], now: i64) -> Result<(), StoreError> {
    let sql = statement(conn, "upsert_entities", rows.len(), || {
        format!(
            "INSERT INTO entities (id, kind, name, owner, search, golden, provenance, sources, updated_at, \
               resolved_at) \
             VALUES {} ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
             owner = excluded.owner, search = excluded.search, golden = excluded.golden, \
             provenance = excluded.provenance, sources = excluded.sources, updated_at = excluded.updated_at, \
             resolved_at = excluded.resolved_at",
            row_placeholders(rows.len(), 10)
        )
    });
    let mut query = sqlx::query(&sql);
    for r in rows {
        query = query
            .bind(&r.id)
            .bind(r.kind.as_str())
            .bind(&r.name)
            .bind(r.owner.as_deref())
            .bind(&r.search)
            .bind(&r.golden)
            .bind(&r.provenance)
            .bind(r.sources)
            .bind(r.updated_at)
            .bind(now);
    }
    query.execute(&mut *conn).await.map_err(StoreError::query(OP, "entities"))?;
    Ok(())
}

async fn upsert_links(conn: &mut AnyConnection, rows: &[LinkRow], now: i64) -> Result<(), StoreError> {
    let sql = statement(conn, "upsert_links", rows.len(), || {
        format!(
            "INSERT INTO links (connector, kind, external_id, entity_id, rule, score, evidence, via, url, \
               client_id, linked_at) \
             VALUES {} ON CONFLICT (connector, kind, external_id) DO UPDATE SET entity_id = excluded.entity_id, \
             rule = excluded.rule, score = excluded.score, evidence = excluded.evidence, via = excluded.via, \
             url = excluded.url, client_id = excluded.client_id, linked_at = excluded.linked_at",
            row_placeholders(rows.len(), 11)
        )
    });
    let mut query = sqlx::query(&sql);
    for r in rows {
        query = query
            .bind(&r.key.connector)
            .bind(r.key.kind.as_str())
            .bind(&r.key.external_id)
            .bind(&r.entity_id)
            .bind(&r.rule)
            .bind(r.score)
            .bind(&r.evidence)
            .bind(r.via.as_deref())
            .bind(r.url.as_deref())
            .bind(r.client_id.as_deref())
            .bind(now);
    }
    query.execute(&mut *conn).await.map_err(StoreError::query(OP, "links"))?;
    Ok(())
}

async fn upsert_tasks(conn: &mut AnyConnection, rows: &[TaskLinkRow]) -> Result<(), StoreError> {
    let sql = statement(conn, "upsert_tasks", rows.len(), || {
        format!(
            "INSERT INTO task_links (connector, external_id, client_id, rule, detail, title, status, priority, \
               assignee, due, url, updated_at) \
             VALUES {} ON CONFLICT (connector, external_id) DO UPDATE SET client_id = excluded.client_id, \
             rule = excluded.rule, detail = excluded.detail, title = excluded.title, status = excluded.status, \
             priority = excluded.priority, assignee = excluded.assignee, due = excluded.due, url = excluded.url, \
             updated_at = excluded.updated_at",
            row_placeholders(rows.len(), 12)
        )
    });
    let mut query = sqlx::query(&sql);
    for r in rows {
        query = query
            .bind(&r.connector)
            .bind(&r.external_id)
            .bind(r.client_id.as_deref())
            .bind(&r.rule)
            .bind(&r.detail)
            .bind(&r.title)
            .bind(status_str(r.status))
            .bind(r.priority.map(priority_str))
            .bind(r.assignee.as_deref())
            .bind(r.due)
            .bind(r.url.as_deref())
            .bind(r.updated_at);
    }
    query.execute(&mut *conn).await.map_err(StoreError::query(OP, "task_links"))?;
    Ok(())
}

/// The stored name of a status (the model's serde name).
pub(super) fn status_str(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Todo => "todo",
        TaskStatus::InProgress => "in_progress",
        TaskStatus::Done => "done",
        TaskStatus::Cancelled => "cancelled",
    }
}

/// The stored name of a priority (the model's serde name).
pub(super) fn priority_str(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "low",
        Priority::Medium => "medium",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_the_models_serde_names() {
        for s in [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done, TaskStatus::Cancelled] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(status_str(s))));
        }
        for p in [Priority::Low, Priority::Medium, Priority::High, Priority::Urgent] {
            assert_eq!(serde_json::to_value(p).ok(), Some(serde_json::json!(priority_str(p))));
        }
    }
}
