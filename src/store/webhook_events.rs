//! Webhook event ids already received, so a retried or replayed delivery acts once.
//!
//! Claiming is one upsert per id that succeeds only when the id is new or its row has
//! expired (`ON CONFLICT … DO UPDATE … WHERE expires_at <= now … RETURNING`), so two
//! daemon instances receiving the same retry at once cannot both claim it. Expired rows
//! are deleted by later claims, which keeps the table at about one retry window of events.

use std::time::Duration;

use sqlx::Row;

use super::{Store, StoreError};

const OP: &str = "claim_webhook_events";

impl Store {
    /// Claims `event_ids` of `connector` for `keep` (how long a vendor may retry): returns
    /// the ids seen for the first time (or whose earlier claim expired), in the order given.
    pub async fn claim_webhook_events(
        &self,
        connector: &str,
        event_ids: &[String],
        keep: Duration,
    ) -> Result<Vec<String>, StoreError> {
        let now = self.now_ms();
        let expires = now.saturating_add(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, connector))?;
        sqlx::query("DELETE FROM webhook_events WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP, connector))?;
        let mut claimed = Vec::new();
        for id in event_ids {
            let row = sqlx::query(
                "INSERT INTO webhook_events (connector, event_id, received_at, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (connector, event_id) DO UPDATE \
                 SET received_at = excluded.received_at, expires_at = excluded.expires_at \
                 WHERE webhook_events.expires_at <= excluded.received_at \
                 RETURNING event_id",
            )
            .bind(connector)
            .bind(id)
            .bind(now)
            .bind(expires)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query(OP, connector))?;
            if let Some(row) = row {
                claimed.push(row.try_get::<String, _>("event_id").map_err(StoreError::query(OP, connector))?);
            }
        }
        tx.commit().await.map_err(StoreError::query(OP, connector))?;
        Ok(claimed)
    }
}
