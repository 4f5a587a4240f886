//! Spending against a vendor account's daily budget, kept where every instance sees it.
//!
//! Some budgets are only known by counting: Pipedrive charges tokens from a company's daily
//! budget and no header says what is left, so a connector keeps its own ledger. Kept in one
//! process's memory, that ledger starts at zero after a restart and a second instance on the
//! same company counts only its own calls: together they overrun the reserve meant for the
//! company's people. A [`SpendLedger`] is the shared tally: the daemon hands one backed by
//! its store to every connector through [`crate::Accounts::with_ledger`] (in the
//! [`crate::BuildContext`]), so a vendor crate never touches the store, and every instance
//! on one store adds to, and reads, one total per account and day.
//!
//! No ledger (tests, `zveno check`): connectors count in memory, as before.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The shared tally of what each account spent in each budget day.
#[async_trait]
pub trait SpendLedger: Send + Sync + fmt::Debug {
    /// Adds `amount` to what `account` (an [`crate::account_key`], never a secret) spent in
    /// the budget day that started at `day`, and returns the day's total as recorded by
    /// every instance, this call included. `amount` 0 reads the total.
    async fn add(&self, account: &str, day: DateTime<Utc>, amount: u64) -> Result<u64, SpendLedgerError>;
}

/// The shared tally could not be read or written (the store is unreachable). Connectors
/// carry on with their own count: a ledger outage must not stop pulls.
#[derive(Debug, Clone, thiserror::Error)]
#[error("spend ledger unavailable: {0}")]
pub struct SpendLedgerError(pub String);
