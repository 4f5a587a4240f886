//! The unified view as the CLI (and later the API) reads it: client entities with their
//! links, a client's contacts, tasks filtered in SQL, and the counts `zveno demo` prints.

use std::collections::HashMap;

use sqlx::Row;
use zveno_connector::{Kind, Priority, TaskStatus};

use super::entities::{status_str, EntityRow, TaskLinkRow};
use super::links::{decode_entity, ENTITY_COLUMNS};
use super::sql::{self, LOOKUPS_PER_STATEMENT};
use super::{Store, StoreError};

/// Which tasks `zveno tasks` lists. Empty fields filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only open tasks overdue at this instant (epoch ms): due before it, or, for a
    /// date-only due date, once that day has ended in the view's zone (see
    /// [`OverdueAt`]).
    pub overdue_at: Option<OverdueAt>,
    /// Only this assignee (compared lower-case).
    pub assignee: Option<String>,
    /// Only tasks of this client entity.
    pub client_id: Option<String>,
    /// Only this status.
    pub status: Option<TaskStatus>,
    /// Only tasks no client was found for.
    pub unattached: bool,
    /// Only tasks without an assignee.
    pub unassigned: bool,
    /// Only tasks after this one in the listing order (keyset pagination).
    pub after: Option<TaskKey>,
    /// At most this many.
    pub limit: Option<u32>,
}

/// When a task counts as overdue.
///
/// Connectors that read a date-only due date without knowing the account's zone store the
/// end of that day in UTC (`23:59:59Z`). Such a task is overdue once that *day* has ended
/// in the view's zone — not at 23:59:59 UTC, earlier east of Greenwich and later west of
/// it: `date_only_cutoff` is the latest such due time whose day has ended (now, shifted
/// by the zone's current offset). Any other due time is overdue once `now` passes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueAt {
    /// Now, epoch ms: anything due before is overdue.
    pub now: i64,
    /// Date-only (`23:59:59Z`) due times at or before this are overdue too.
    pub date_only_cutoff: i64,
}

impl OverdueAt {
    /// At `now` with no zone shift (UTC days).
    pub fn utc(now: i64) -> Self {
        Self { now, date_only_cutoff: now - 1000 }
    }
}

/// A task's place in the listing order: due (undated last), connector, id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskKey {
    /// Due, epoch ms (`i64::MAX` for undated).
    pub due: i64,
    /// Connector.
    pub connector: String,
    /// Vendor id.
    pub external_id: String,
}

/// Milliseconds in a day, and the offset of 23:59:59 within it: how a date-only due time
/// stored in UTC is recognised.
pub const DAY_MS: i64 = 86_400_000;
/// See [`DAY_MS`].
pub const DAY_END_MS: i64 = DAY_MS - 1000;

/// SQL for "open and overdue" with `$now` and `$cutoff` placeholders.
fn overdue_sql(now: usize, cutoff: usize) -> String {
    format!(
        "status IN ('todo', 'in_progress') AND ((due % {DAY_MS} <> {DAY_END_MS} AND due < ${now}) \
         OR (due % {DAY_MS} = {DAY_END_MS} AND due <= ${cutoff}))"
    )
}

/// The listing order's first key: due, undated last.
const DUE_KEY: &str = "COALESCE(due, 9223372036854775807)";

/// Which clients a listing shows. Empty fields filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFilter {
    /// Lower-case substrings of the search text, any of which matches.
    pub search: Vec<String>,
    /// Only this owner (compared lower-case).
    pub owner: Option<String>,
    /// Only clients after this (name, id) in the listing order.
    pub after: Option<(String, String)>,
    /// At most this many.
    pub limit: Option<u32>,
}

const TASK_COLUMNS: &str =
    "connector, external_id, client_id, rule, detail, title, status, priority, assignee, due, url, updated_at";

impl Store {
    /// Client entities whose search text contains any of `search` (lower-case substrings;
    /// none: all) and, when given, whose owner is `owner`; by name.
    pub async fn client_entities(&self, search: &[String], owner: Option<&str>) -> Result<Vec<EntityRow>, StoreError> {
        self.client_page(&ClientFilter {
            search: search.to_vec(),
            owner: owner.map(str::to_string),
            ..ClientFilter::default()
        })
        .await
    }

    /// One page of client entities matching `filter`, by name then id.
    pub async fn client_page(&self, filter: &ClientFilter) -> Result<Vec<EntityRow>, StoreError> {
        const OP: &str = "client_entities";
        let mut sql = format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE kind = 'client'");
        let mut n = 0;
        if !filter.search.is_empty() {
            let alternatives: Vec<String> = filter
                .search
                .iter()
                .map(|_| {
                    n += 1;
                    format!("search LIKE ${n} ESCAPE '\\'")
                })
                .collect();
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
        if filter.owner.is_some() {
            n += 1;
            sql.push_str(&format!(" AND owner = ${n}"));
        }
        if filter.after.is_some() {
            sql.push_str(&format!(" AND (name, id) > (${}, ${})", n + 1, n + 2));
            n += 2;
        }
        sql.push_str(" ORDER BY name, id");
        if filter.limit.is_some() {
            sql.push_str(&format!(" LIMIT ${}", n + 1));
        }
        let mut query = sqlx::query(&sql);
        for s in &filter.search {
            query = query.bind(format!("%{}%", escape_like(s)));
        }
        if let Some(owner) = &filter.owner {
            query = query.bind(owner.to_lowercase());
        }
        if let Some((name, id)) = &filter.after {
            query = query.bind(name).bind(id);
        }
        if let Some(limit) = filter.limit {
            query = query.bind(i64::from(limit));
        }
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "entities"))?;
        rows.iter().map(|row| decode_entity(row).map_err(|e| StoreError::corrupt(OP, "entities", e))).collect()
    }

    /// One entity.
    pub async fn entity(&self, id: &str) -> Result<Option<EntityRow>, StoreError> {
        const OP: &str = "entity";
        let sql = format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(StoreError::query(OP, id))?;
        row.map(|row| decode_entity(&row).map_err(|e| StoreError::corrupt(OP, id, e))).transpose()
    }

    /// The contact entities that have a record following client entity `client_id`.
    pub async fn contacts_of(&self, client_id: &str) -> Result<Vec<EntityRow>, StoreError> {
        const OP: &str = "contacts_of";
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE id IN \
             (SELECT entity_id FROM links WHERE kind = 'contact' AND client_id = $1) ORDER BY name, id"
        );
        let rows =
            sqlx::query(&sql).bind(client_id).fetch_all(&self.pool).await.map_err(StoreError::query(OP, client_id))?;
        rows.iter().map(|row| decode_entity(row).map_err(|e| StoreError::corrupt(OP, client_id, e))).collect()
    }

    /// Tasks matching `filter`, soonest due first (undated last).
    pub async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskLinkRow>, StoreError> {
        const OP: &str = "tasks";
        let mut sql = format!("SELECT {TASK_COLUMNS} FROM task_links WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if filter.overdue_at.is_some() {
            let (now, cutoff) = (next(), next());
            sql.push_str(&format!(" AND {}", overdue_sql(now, cutoff)));
        }
        if filter.assignee.is_some() {
            sql.push_str(&format!(" AND assignee = ${}", next()));
        }
        if filter.client_id.is_some() {
            sql.push_str(&format!(" AND client_id = ${}", next()));
        }
        if filter.status.is_some() {
            sql.push_str(&format!(" AND status = ${}", next()));
        }
        if filter.unattached {
            sql.push_str(" AND client_id IS NULL");
        }
        if filter.unassigned {
            sql.push_str(" AND assignee IS NULL");
        }
        if filter.after.is_some() {
            let (a, b, c) = (next(), next(), next());
            sql.push_str(&format!(" AND ({DUE_KEY}, connector, external_id) > (${a}, ${b}, ${c})"));
        }
        sql.push_str(&format!(" ORDER BY {DUE_KEY}, connector, external_id"));
        if filter.limit.is_some() {
            sql.push_str(&format!(" LIMIT ${}", next()));
        }
        let mut query = sqlx::query(&sql);
        if let Some(at) = filter.overdue_at {
            query = query.bind(at.now).bind(at.date_only_cutoff);
        }
        if let Some(a) = &filter.assignee {
            query = query.bind(a.to_lowercase());
        }
        if let Some(c) = &filter.client_id {
            query = query.bind(c);
        }
        if let Some(s) = filter.status {
            query = query.bind(status_str(s));
        }
        if let Some(after) = &filter.after {
            query = query.bind(after.due).bind(&after.connector).bind(&after.external_id);
        }
        if let Some(limit) = filter.limit {
            query = query.bind(i64::from(limit));
        }
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "task_links"))?;
        rows.iter().map(|row| decode_task(row).map_err(|e| StoreError::corrupt(OP, "task_links", e))).collect()
    }

    /// Open and overdue task counts of each of `clients` (clients without tasks are absent).
    pub async fn task_counts(
        &self,
        clients: &[String],
        at: OverdueAt,
    ) -> Result<HashMap<String, (u64, u64)>, StoreError> {
        const OP: &str = "task_counts";
        let mut out = HashMap::new();
        for chunk in clients.chunks(LOOKUPS_PER_STATEMENT) {
            let sql = format!(
                "SELECT client_id, SUM(CASE WHEN status IN ('todo', 'in_progress') THEN 1 ELSE 0 END) AS open, \
                 SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS overdue FROM task_links \
                 WHERE client_id IN ({}) GROUP BY client_id",
                overdue_sql(1, 2),
                sql::placeholders(3, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(at.now).bind(at.date_only_cutoff);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "task_links"))? {
                let corrupt = |e: sqlx::Error| StoreError::corrupt(OP, "task_links", e);
                let id: String = row.try_get("client_id").map_err(corrupt)?;
                let open: i64 = row.try_get("open").map_err(corrupt)?;
                let overdue: i64 = row.try_get("overdue").map_err(corrupt)?;
                out.insert(id, (sql::to_u64(open), sql::to_u64(overdue)));
            }
        }
        Ok(out)
    }

    /// Assignees with overdue tasks and how many each has, most first (`None`: unassigned).
    pub async fn overdue_by_assignee(&self, at: OverdueAt) -> Result<Vec<(Option<String>, u64)>, StoreError> {
        const OP: &str = "overdue_by_assignee";
        let sql = format!(
            "SELECT assignee, COUNT(*) AS n FROM task_links WHERE {} GROUP BY assignee ORDER BY n DESC, assignee",
            overdue_sql(1, 2)
        );
        let rows = sqlx::query(&sql)
            .bind(at.now)
            .bind(at.date_only_cutoff)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP, "task_links"))?;
        rows.iter()
            .map(|row| {
                let corrupt = |e: sqlx::Error| StoreError::corrupt(OP, "task_links", e);
                let n: i64 = row.try_get("n").map_err(corrupt)?;
                Ok((row.try_get("assignee").map_err(corrupt)?, sql::to_u64(n)))
            })
            .collect()
    }

    /// How many tasks are open, and how many of those overdue.
    pub async fn task_totals(&self, at: OverdueAt) -> Result<(u64, u64), StoreError> {
        const OP: &str = "task_totals";
        let sql = format!(
            "SELECT COALESCE(SUM(CASE WHEN status IN ('todo', 'in_progress') THEN 1 ELSE 0 END), 0) AS open, \
             COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS overdue FROM task_links",
            overdue_sql(1, 2)
        );
        let row = sqlx::query(&sql)
            .bind(at.now)
            .bind(at.date_only_cutoff)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query(OP, "task_links"))?;
        let corrupt = |e: sqlx::Error| StoreError::corrupt(OP, "task_links", e);
        let open: i64 = row.try_get("open").map_err(corrupt)?;
        let overdue: i64 = row.try_get("overdue").map_err(corrupt)?;
        Ok((sql::to_u64(open), sql::to_u64(overdue)))
    }

    /// How many entities of `kind` exist, and how many of them join records from more
    /// than one connector.
    pub async fn entity_counts(&self, kind: Kind) -> Result<(u64, u64), StoreError> {
        const OP: &str = "entity_counts";
        let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entities WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query(OP, kind))?;
        let across: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT entity_id FROM links WHERE kind = $1 GROUP BY entity_id \
             HAVING COUNT(DISTINCT connector) > 1) AS spanning",
        )
        .bind(kind.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query(OP, kind))?;
        Ok((sql::to_u64(all), sql::to_u64(across)))
    }
}

/// `%`, `_` and `\` matched literally in a `LIKE … ESCAPE '\'` pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn decode_task(row: &sqlx::any::AnyRow) -> Result<TaskLinkRow, String> {
    let e = |e: sqlx::Error| e.to_string();
    let status: String = row.try_get("status").map_err(e)?;
    let priority: Option<String> = row.try_get("priority").map_err(e)?;
    Ok(TaskLinkRow {
        connector: row.try_get("connector").map_err(e)?,
        external_id: row.try_get("external_id").map_err(e)?,
        client_id: row.try_get("client_id").map_err(e)?,
        rule: row.try_get("rule").map_err(e)?,
        detail: row.try_get("detail").map_err(e)?,
        title: row.try_get("title").map_err(e)?,
        status: status.parse()?,
        priority: priority
            .map(|p| {
                serde_json::from_value::<Priority>(serde_json::Value::String(p.clone()))
                    .map_err(|_| format!("unknown priority {p:?}"))
            })
            .transpose()?,
        assignee: row.try_get("assignee").map_err(e)?,
        due: row.try_get("due").map_err(e)?,
        url: row.try_get("url").map_err(e)?,
        updated_at: row.try_get("updated_at").map_err(e)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
