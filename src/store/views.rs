//! The unified view as the CLI (and later the API) reads it: client entities with their
//! links, a client's contacts, tasks filtered in SQL, and the counts `zveno demo` prints.

use sqlx::Row;
use zveno_connector::{Kind, Priority, TaskStatus};

use super::entities::{status_str, EntityRow, TaskLinkRow};
use super::links::{decode_entity, ENTITY_COLUMNS};
use super::sql;
use super::{Store, StoreError};

/// Which tasks `zveno tasks` lists. Empty fields filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only open tasks due before this instant (epoch ms).
    pub overdue_at: Option<i64>,
    /// Only this assignee (compared lower-case).
    pub assignee: Option<String>,
    /// Only tasks of this client entity.
    pub client_id: Option<String>,
    /// Only this status.
    pub status: Option<TaskStatus>,
    /// Only tasks no client was found for.
    pub unattached: bool,
}

const TASK_COLUMNS: &str =
    "connector, external_id, client_id, rule, detail, title, status, priority, assignee, due, url, updated_at";

impl Store {
    /// Client entities whose search text contains any of `search` (lower-case substrings;
    /// none: all) and, when given, whose owner is `owner`; by name.
    pub async fn client_entities(&self, search: &[String], owner: Option<&str>) -> Result<Vec<EntityRow>, StoreError> {
        const OP: &str = "client_entities";
        let mut sql = format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE kind = 'client'");
        let mut n = 0;
        if !search.is_empty() {
            let alternatives: Vec<String> = search
                .iter()
                .map(|_| {
                    n += 1;
                    format!("search LIKE ${n} ESCAPE '\\'")
                })
                .collect();
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
        if owner.is_some() {
            n += 1;
            sql.push_str(&format!(" AND owner = ${n}"));
        }
        sql.push_str(" ORDER BY name, id");
        let mut query = sqlx::query(&sql);
        for s in search {
            query = query.bind(format!("%{}%", escape_like(s)));
        }
        if let Some(owner) = owner {
            query = query.bind(owner.to_lowercase());
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
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE kind = 'contact' AND id IN \
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
            sql.push_str(&format!(" AND status IN ('todo', 'in_progress') AND due < ${}", next()));
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
        sql.push_str(" ORDER BY due IS NULL, due, connector, external_id");
        let mut query = sqlx::query(&sql);
        if let Some(at) = filter.overdue_at {
            query = query.bind(at);
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
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "task_links"))?;
        rows.iter().map(|row| decode_task(row).map_err(|e| StoreError::corrupt(OP, "task_links", e))).collect()
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
