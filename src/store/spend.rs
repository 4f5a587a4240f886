//! The shared tally of vendor spending (migration 0014): the store's side of
//! [`zveno_connector::SpendLedger`], which the daemon hands to every connector it builds
//! (`Accounts::with_ledger`), so Pipedrive's token ledger counts what every instance on
//! this store spent today, across restarts, instead of what one process saw.
//!
//! One upsert per charge: adding and reading back the total happen in one statement, so
//! two instances charging at once both land and each reads a total that includes its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zveno_connector::{SpendLedger, SpendLedgerError};

use super::sql::{ms, to_i64, to_u64};
use super::{Store, StoreError};

impl Store {
    /// Adds `amount` to what `account` spent in the budget day that started at `day`;
    /// returns the day's total (every instance's charges). `amount` 0 reads it.
    pub async fn add_spend(&self, account: &str, day: DateTime<Utc>, amount: u64) -> Result<u64, StoreError> {
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO spend_ledger (account, day_start, spent, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account, day_start) DO UPDATE SET \
             spent = spend_ledger.spent + excluded.spent, updated_at = excluded.updated_at \
             RETURNING spent",
        )
        .bind(account)
        .bind(ms(day))
        .bind(to_i64(amount))
        .bind(ms(self.clock.now()))
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query("add_spend", account))?;
        Ok(to_u64(total))
    }
}

#[async_trait]
impl SpendLedger for Store {
    async fn add(&self, account: &str, day: DateTime<Utc>, amount: u64) -> Result<u64, SpendLedgerError> {
        self.add_spend(account, day, amount).await.map_err(|e| SpendLedgerError(e.to_string()))
    }
}
