//! Operators' decisions: `zveno link A B` and `zveno unlink A`.
//!
//! Decisions are rows, not flags on links, so they outlive every re-resolve (links are
//! rewritten by each run; overrides only by the operator). The newest decision about a
//! record wins: linking A with B withdraws earlier unlinks of A and B; unlinking A
//! withdraws every earlier decision involving A. So the table never holds contradictions,
//! and resolution applies all of it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use zveno_connector::Kind;

use super::records::RecordKey;
use super::sql;
use super::{Store, StoreError};

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    /// The record decided about.
    pub record: RecordKey,
    /// For a link, the record it is joined with; `None` for an unlink.
    pub linked_with: Option<RecordKey>,
    /// When the operator decided.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Records that `a` and `b` (of one kind) are the same entity.
    pub async fn add_link(&self, a: &RecordKey, b: &RecordKey) -> Result<(), StoreError> {
        const OP: &str = "add_link";
        let target = format!("{a} + {b}");
        if a.kind != b.kind || !matches!(a.kind, Kind::Client | Kind::Contact) {
            return Err(StoreError::invalid(OP, &target, "only two clients or two contacts can be linked"));
        }
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, &target))?;
        for (x, y) in [(a, b), (b, a)] {
            sqlx::query(
                "DELETE FROM overrides WHERE kind = $1 AND connector = $2 AND external_id = $3 \
                 AND (action = 'unlink' OR (other_connector = $4 AND other_external_id = $5))",
            )
            .bind(x.kind.as_str())
            .bind(&x.connector)
            .bind(&x.external_id)
            .bind(&y.connector)
            .bind(&y.external_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP, &target))?;
        }
        sqlx::query(
            "INSERT INTO overrides (action, kind, connector, external_id, other_connector, other_external_id, \
             created_at) VALUES ('link', $1, $2, $3, $4, $5, $6)",
        )
        .bind(a.kind.as_str())
        .bind(&a.connector)
        .bind(&a.external_id)
        .bind(&b.connector)
        .bind(&b.external_id)
        .bind(self.now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(OP, &target))?;
        tx.commit().await.map_err(StoreError::query(OP, &target))
    }

    /// Records that `a` must stand alone: every earlier decision about it is withdrawn.
    pub async fn add_unlink(&self, a: &RecordKey) -> Result<(), StoreError> {
        const OP: &str = "add_unlink";
        if !matches!(a.kind, Kind::Client | Kind::Contact) {
            return Err(StoreError::invalid(OP, a, "only clients and contacts can be unlinked"));
        }
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, a))?;
        sqlx::query(
            "DELETE FROM overrides WHERE kind = $1 AND ((connector = $2 AND external_id = $3) \
             OR (other_connector = $2 AND other_external_id = $3))",
        )
        .bind(a.kind.as_str())
        .bind(&a.connector)
        .bind(&a.external_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(OP, a))?;
        sqlx::query(
            "INSERT INTO overrides (action, kind, connector, external_id, created_at) VALUES ('unlink', $1, $2, $3, $4)",
        )
        .bind(a.kind.as_str())
        .bind(&a.connector)
        .bind(&a.external_id)
        .bind(self.now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(OP, a))?;
        tx.commit().await.map_err(StoreError::query(OP, a))
    }

    /// Every decision about records of `kind`, oldest first.
    pub async fn overrides(&self, kind: Kind) -> Result<Vec<Override>, StoreError> {
        const OP: &str = "overrides";
        let rows = sqlx::query(
            "SELECT connector, external_id, other_connector, other_external_id, created_at FROM overrides \
             WHERE kind = $1 ORDER BY id",
        )
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP, kind))?;
        rows.iter()
            .map(|row| -> Result<Override, String> {
                let e = |e: sqlx::Error| e.to_string();
                let record = |c: &str, id: &str| -> Result<Option<RecordKey>, String> {
                    let connector: Option<String> = row.try_get(c).map_err(e)?;
                    let external_id: Option<String> = row.try_get(id).map_err(e)?;
                    Ok(connector.zip(external_id).map(|(connector, external_id)| RecordKey {
                        connector,
                        kind,
                        external_id,
                    }))
                };
                Ok(Override {
                    record: record("connector", "external_id")?.ok_or("override without a record")?,
                    linked_with: record("other_connector", "other_external_id")?,
                    created_at: sql::from_ms(row.try_get("created_at").map_err(e)?)?,
                })
            })
            .collect::<Result<_, String>>()
            .map_err(|e| StoreError::corrupt(OP, "overrides", e))
    }
}
